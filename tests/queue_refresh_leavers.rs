//! A refresh of the queue from the scope group removes the people who left the group: the real
//! engine in demo mode (fake tenant, software keys) driven through Command / Event, and the
//! `prefetch` binary, both checked against the journal.
//!
//! The fake tenant cannot take a member out of a group, so leaving is played by the station's
//! scope: with `includeNestedGroups` the people of the nested group "FIDO2 - Wave 2" are
//! members; the station restarted without it lists them no more, exactly as if they had been
//! removed from the group.

mod kit;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use graph::fake::{FakeConfig, Faults};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Command, Event, PersonStatus, QueueRefreshSummary};
use passkey_kiosk::engine::EngineHandle;
use passkey_kiosk::report::users_to_register;
use passkey_kiosk::store::{AuditEntry, Enrollment, Journal};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::State;

use kit::bin::prefetch_ok;
use kit::config;
use kit::demo::start_engine;
use kit::events::{refreshed, Log};

/// The refresh's outcome, after `Command::RefreshQueue`.
fn refresh(log: &mut Log, engine: &EngineHandle) -> QueueRefreshSummary {
    engine.send(Command::RefreshQueue);
    log.until(engine, "the refresh's outcome", refreshed)
}

/// The journal's queue: user id → challenge.
fn journal_queue(path: &Path) -> BTreeMap<String, String> {
    Journal::open(path)
        .unwrap()
        .queue()
        .unwrap()
        .into_iter()
        .map(|q| (q.user_id, q.challenge.options.challenge))
        .collect()
}

fn enrollments(path: &Path) -> Vec<Enrollment> {
    Journal::open(path).unwrap().enrollments().unwrap()
}

fn audit(path: &Path) -> Vec<AuditEntry> {
    Journal::open(path).unwrap().audit_log().unwrap()
}

fn upn_of(world: &DemoWorld, id: &str) -> String {
    world
        .tenant
        .users()
        .into_iter()
        .find(|u| u.id == id)
        .unwrap()
        .upn
}

#[test]
fn a_refresh_removes_the_leavers_but_not_the_enrolled_nor_members_whose_fetch_failed() {
    // The journal was prefetched with the direct members; the station includes nested groups.
    let mut world = DemoWorld::start(None, 6).unwrap();
    let journal = world.config.journal_path.clone();
    let direct: HashSet<String> = journal_queue(&journal).into_keys().collect();
    assert_eq!(direct.len(), 6);
    world.config.include_nested_groups = true;
    let (engine, mut log, _, _) = start_engine(&world);
    let summary = refresh(&mut log, &engine);
    assert_eq!(summary.error, None, "{summary:?}");
    assert_eq!((summary.added, summary.removed), (3, 0), "{summary:?}");
    let mut nested: Vec<String> = journal_queue(&journal)
        .into_keys()
        .filter(|id| !direct.contains(id))
        .collect();
    nested.sort_by_key(|id| upn_of(&world, id));
    assert_eq!(nested.len(), 3);

    // One of the nested group's people gets a key.
    let enrolled = nested[0].clone();
    engine.send(Command::Enroll {
        user_id: enrolled.clone(),
    });
    engine.send(Command::InsertSoftKey);
    let job = log.until(&engine, "the key issued", |e| match e {
        Event::Failed { error, .. } => panic!("enrollment failed: {error:?}"),
        Event::Finished { job, .. } => Some(*job),
        _ => None,
    });
    engine.send(Command::PinDelivered { job });
    log.until(&engine, "enrolled", |e| match e {
        Event::PersonChanged(p) if p.user_id == enrolled && p.status == PersonStatus::Enrolled => {
            Some(())
        }
        _ => None,
    });
    drop(engine);
    let records = enrollments(&journal);
    assert_eq!(records.len(), 1, "{records:?}");

    // The station restarts without nested groups: the nested group's people left the scope.
    // First every options fetch fails (a challenge timeout Graph refuses), then Graph is down.
    world.config.include_nested_groups = false;
    world.config.challenge_timeout_minutes = 1;
    let (engine, mut log, _, _) = start_engine(&world);
    let before = journal_queue(&journal);
    assert_eq!(before.len(), 9);

    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let summary = refresh(&mut log, &engine);
    assert!(summary.error.is_some(), "{summary:?}");
    assert_eq!(summary.removed, 0, "{summary:?}");
    assert_eq!(
        journal_queue(&journal),
        before,
        "a failed refresh removes nobody"
    );
    world.tenant.set_faults(Faults::default());

    let seen_before = log.seen.len();
    let summary = refresh(&mut log, &engine);
    assert_eq!(summary.error, None, "{summary:?}");
    assert_eq!(summary.failures.len(), 6, "every fetch failed: {summary:?}");
    assert_eq!(summary.updated, 0, "{summary:?}");
    assert_eq!(summary.removed, 2, "{summary:?}");
    // The members whose fetch failed keep what the queue held; the enrolled leaver stays with
    // their records; the two other leavers are gone.
    let after = journal_queue(&journal);
    let mut want = before.clone();
    want.remove(&nested[1]);
    want.remove(&nested[2]);
    assert_eq!(after, want);
    assert_eq!(
        enrollments(&journal),
        records,
        "enrollment records untouched"
    );
    let entry = audit(&journal)
        .into_iter()
        .rfind(|a| a.action == "queue-refresh")
        .unwrap();
    let (left1, left2) = (upn_of(&world, &nested[1]), upn_of(&world, &nested[2]));
    assert!(
        entry
            .result
            .contains(&format!("2 removed (left the group: {left1}, {left2})")),
        "{entry:?}"
    );
    assert!(entry
        .result
        .starts_with("ok: 0 updated (0 new), 0 left as they were, 6 failed"));

    // The engine sent the new queue; the kiosk's state drops the leavers.
    let queue = log.seen[seen_before..]
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Queue(q) => Some(q.clone()),
            _ => None,
        })
        .expect("a new queue after the refresh");
    assert_eq!(queue.len(), 7);
    let mut state = State::new(OperatorAuth::Demo, true);
    for e in log.seen.iter().cloned() {
        state.apply(e);
    }
    assert_eq!(state.queue.len(), 7);
    assert!(state.queue.by_user_id(&nested[1]).is_none());
    assert!(state.queue.by_user_id(&nested[2]).is_none());
    assert_eq!(
        state.queue.by_user_id(&enrolled).map(|p| p.status),
        Some(PersonStatus::Enrolled)
    );
    state.queue.set_query(&left1);
    assert!(state.queue.matches().is_empty(), "not found by a search");
    state.queue.set_query("");
    assert_eq!(state.queue.matches().len(), 7);
    let (line, bad) = state.queue_refresh.status_line(&state.texts()).unwrap();
    assert!(line.contains(", 2 removed (left the group)"), "{line}");
    assert!(bad, "the failed fetches are still reported: {line}");
    drop(engine);

    // Graph answers again: everyone left is refreshed, nobody else goes.
    world.config.challenge_timeout_minutes = 60;
    let (engine, mut log, _, _) = start_engine(&world);
    let summary = refresh(&mut log, &engine);
    assert_eq!(summary.error, None, "{summary:?}");
    assert!(summary.failures.is_empty(), "{summary:?}");
    assert_eq!(
        (summary.updated, summary.kept, summary.removed),
        (6, 0, 0),
        "{summary:?}"
    );
    let after: HashSet<String> = journal_queue(&journal).into_keys().collect();
    let mut want = direct.clone();
    want.insert(enrolled.clone());
    assert_eq!(after, want);
    let mut state = State::new(OperatorAuth::Demo, true);
    for e in log.seen.iter().cloned() {
        state.apply(e);
    }
    let (line, bad) = state.queue_refresh.status_line(&state.texts()).unwrap();
    assert!(!bad && !line.contains("removed"), "{line}");
    assert_eq!(enrollments(&journal), records);
}

/// A config for the `prefetch` binary, in the proof of concept's shape.
fn write_config(dir: &Path, t: &graph::fake::FakeTenantHandle, nested: bool) -> std::path::PathBuf {
    config::write_config(dir, t, serde_json::json!({"includeNestedGroups": nested}))
}

#[test]
fn the_prefetch_command_removes_the_leavers_from_the_journal_queue_too() {
    let t = graph::fake::spawn_in_thread(FakeConfig {
        users: 6,
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Config::load(&write_config(dir.path(), &t, false))
        .unwrap()
        .journal_path;
    let out = prefetch_ok(&dir.path().join("configs.json"), &[]);
    assert!(
        out.contains("removed from the queue:    0 (left the group)"),
        "{out}"
    );
    let direct: HashSet<String> = journal_queue(&journal).into_keys().collect();
    let config = write_config(dir.path(), &t, true);
    prefetch_ok(&config, &[]);
    let mut nested: Vec<String> = journal_queue(&journal)
        .into_keys()
        .filter(|id| !direct.contains(id))
        .collect();
    nested.sort();
    assert_eq!(nested.len(), 3);
    // An enrollment of one of them is open in the journal (a station is enrolling them).
    let open = Journal::open(&journal)
        .unwrap()
        .begin_enrollment(&nested[0], "someone@contoso.example", None, None)
        .unwrap();
    // And one of a direct member: their queue row (the options their enrollment uses) must
    // stay as it is, as the kiosk's refresh leaves it.
    let before = journal_queue(&journal);
    let busy = direct.iter().min().unwrap().clone();
    let busy_enrollment = Journal::open(&journal)
        .unwrap()
        .begin_enrollment(&busy, "busy@contoso.example", None, None)
        .unwrap();

    let config = write_config(dir.path(), &t, false);
    let out = prefetch_ok(&config, &[]);
    assert!(
        out.contains("removed from the queue:    2 (left the group)"),
        "{out}"
    );
    assert!(
        out.contains("left as they were:         1 (enrolled"),
        "{out}"
    );
    let now = journal_queue(&journal);
    assert_eq!(
        now[&busy], before[&busy],
        "the busy member's options were replaced"
    );
    let refreshed = direct.iter().find(|id| **id != busy).unwrap();
    assert_ne!(
        now[refreshed], before[refreshed],
        "the others get fresh challenges"
    );
    let after: HashSet<String> = journal_queue(&journal).into_keys().collect();
    let mut want = direct.clone();
    want.insert(nested[0].clone());
    assert_eq!(after, want);
    let records = enrollments(&journal);
    assert_eq!(records.len(), 2);
    assert!(records.iter().any(|r| r.id == open));
    assert!(records.iter().any(|r| r.id == busy_enrollment));
    let entry = audit(&journal).pop().unwrap();
    assert_eq!(entry.action, "prefetch");
    assert!(
        entry
            .result
            .starts_with("ok: 6 users; 2 removed (left the group: "),
        "{entry:?}"
    );

    // usersToRegister.csv is the proof of concept's, with the members only.
    let raw = std::fs::read_to_string(dir.path().join("usersToRegister.csv")).unwrap();
    assert_eq!(
        raw.lines().next(),
        Some(users_to_register::HEADER.join(",").as_str())
    );
    let (rows, errors) = users_to_register::read(raw.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(rows.len(), 6);
}
