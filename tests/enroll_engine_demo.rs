//! The real engine in demo mode (fake tenant, software keys), driven through its Command /
//! Event interface: Retry after a Graph outage hands over the random PIN, the queue shows
//! the person in progress then enrolled, and the journal's history reaches the UI (also
//! after a restart). Nothing here looks inside the engine.

mod kit;

use graph::fake::Faults;
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::api::{Command, Event, HistoryEntry, Person, PersonStatus};
use passkey_kiosk::store::{EnrollmentState, Journal};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::State;

use kit::demo::start_engine;
use kit::events::{failed, finished, refreshed, Log};

fn status_of(user_id: &str, want: PersonStatus) -> impl Fn(&Event) -> Option<()> + '_ {
    move |e| match e {
        Event::PersonChanged(p) if p.user_id == user_id && p.status == want => Some(()),
        _ => None,
    }
}

fn history_row<'a>(
    upn: &'a str,
    state: EnrollmentState,
) -> impl Fn(&Event) -> Option<HistoryEntry> + 'a {
    move |e| match e {
        Event::History(h) => h
            .iter()
            .rev()
            .find(|r| r.upn == upn && r.state == state)
            .cloned(),
        _ => None,
    }
}

/// The PIN column of the person's keysRegistered.csv row.
fn csv_pin(world: &DemoWorld, upn: &str) -> String {
    let csv = std::fs::read_to_string(world.dir.join("keysRegistered.csv")).unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("{upn},")))
        .unwrap_or_else(|| panic!("no row for {upn}:\n{csv}"));
    line.rsplit(',').next().unwrap().to_owned()
}

#[test]
fn retry_after_a_graph_503_hands_over_the_random_pin_and_the_queue_follows() {
    let world = DemoWorld::start(None, 6).unwrap();
    let (engine, mut log, queue, _) = start_engine(&world);
    let person = queue
        .iter()
        .find(|p| p.status == PersonStatus::Ready)
        .expect("someone ready")
        .clone();
    let before = world.tenant.registrations(&person.upn).len();

    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    log.until(
        &engine,
        "in progress while waiting for the key",
        status_of(&person.user_id, PersonStatus::InProgress),
    );

    // Every Graph request fails with a 5xx until the tenant recovers.
    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    engine.send(Command::InsertSoftKey);
    let (job, error) = log.until(&engine, "the failure", failed);
    assert!(error.retry_possible, "{error:?}");
    assert!(
        log.seen
            .iter()
            .all(|e| !matches!(e, Event::Finished { .. })),
        "{:#?}",
        log.seen
    );
    log.until(
        &engine,
        "failed in the queue",
        status_of(&person.user_id, PersonStatus::Failed),
    );
    let row = log.until(
        &engine,
        "the unsettled row in the history",
        history_row(&person.upn, EnrollmentState::Registering),
    );
    assert!(row.last_error.is_some(), "{row:?}");
    assert_eq!(world.tenant.registrations(&person.upn).len(), before);

    world.tenant.set_faults(Faults::default());
    engine.send(Command::Retry { job });
    let (done_job, issued) = log.until(&engine, "the key issued after Retry", |e| {
        if let Event::Failed { error, .. } = e {
            panic!("Retry failed: {error:?}");
        }
        finished(e)
    });
    assert_eq!(done_job, job);
    assert_eq!(issued.upn, person.upn);
    let pin = issued
        .pin
        .clone()
        .expect("the random PIN survives the outage");
    // The kiosk hands it over on screen; the CSV's PIN column stays empty.
    assert_eq!(csv_pin(&world, &person.upn), "", "no PIN in the CSV");
    let kept = passkey_kiosk::store::Journal::open(&world.config.journal_path)
        .unwrap()
        .enrollments_of(&person.user_id)
        .unwrap()
        .into_iter()
        .rev()
        .find_map(|e| e.pin)
        .expect("kept in the journal until delivered");
    assert_eq!(pin.expose(), kept.as_str(), "the PIN on the key");
    log.until(
        &engine,
        "enrolled in the queue",
        status_of(&person.user_id, PersonStatus::Enrolled),
    );
    let row = log.until(
        &engine,
        "the recorded row in the history",
        history_row(&person.upn, EnrollmentState::Recorded),
    );
    assert_eq!(row.method_id.as_deref(), Some(issued.method_id.as_str()));
    assert_eq!(
        row.display_name.as_deref(),
        Some(person.display_name.as_str())
    );
    let registered = world.tenant.registrations(&person.upn);
    assert_eq!(
        registered.len(),
        before + 1,
        "registered once: {registered:?}"
    );

    // The PIN is never part of the history.
    let all = format!(
        "{:?}",
        log.seen
            .iter()
            .filter(|e| matches!(e, Event::History(_)))
            .collect::<Vec<_>>()
    );
    assert!(!all.contains(pin.expose()), "{all}");
    engine.send(Command::PinDelivered { job });
}

#[test]
fn a_finished_enrollment_shows_enrolled_and_the_next_run_starts_with_it_in_the_history() {
    let world = DemoWorld::start(None, 4).unwrap();
    let (engine, mut log, queue, history) = start_engine(&world);
    assert!(history.is_empty(), "{history:?}");
    let person = queue
        .iter()
        .find(|p| p.status == PersonStatus::Ready)
        .expect("someone ready")
        .clone();
    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    log.until(
        &engine,
        "in progress",
        status_of(&person.user_id, PersonStatus::InProgress),
    );
    engine.send(Command::InsertSoftKey);
    let (_, issued) = log.until(&engine, "the key issued", |e| {
        if let Event::Failed { error, .. } = e {
            panic!("enrollment failed: {error:?}");
        }
        finished(e)
    });
    let pin = issued.pin.clone().expect("demo uses random PINs");
    log.until(
        &engine,
        "enrolled",
        status_of(&person.user_id, PersonStatus::Enrolled),
    );
    // Nobody else changed.
    for e in &log.seen {
        if let Event::PersonChanged(p) = e {
            assert_eq!(p.user_id, person.user_id, "{p:?}");
        }
    }
    drop(engine);

    // A new run of the station, on the same journal.
    let (engine, _log, queue, history) = start_engine(&world);
    let row = history
        .iter()
        .find(|r| r.upn == person.upn)
        .unwrap_or_else(|| panic!("{history:?}"));
    assert!(row.issued(), "{row:?}");
    assert_eq!(row.method_id.as_deref(), Some(issued.method_id.as_str()));
    assert_eq!(row.serial, issued.serial);
    assert_eq!(
        row.display_name.as_deref(),
        Some(person.display_name.as_str())
    );
    assert!(!format!("{history:?}").contains(pin.expose()));
    let journal = Journal::open(&world.config.journal_path).unwrap();
    assert_eq!(history.len(), journal.enrollments().unwrap().len());
    assert_eq!(
        queue
            .iter()
            .find(|p| p.user_id == person.user_id)
            .map(|p| p.status),
        Some(PersonStatus::Enrolled)
    );

    // The kiosk state takes the journal's rows over.
    let mut state = State::new(OperatorAuth::Demo, true);
    state.apply(Event::History(history.clone()));
    assert_eq!(state.history, history);
    drop(engine);
}

/// The last `Event::Queue` seen so far.
fn last_queue(log: &Log) -> Vec<Person> {
    log.seen
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Queue(q) => Some(q.clone()),
            _ => None,
        })
        .expect("a queue was sent")
}

/// (user id, UPN, display name), sorted.
fn identities(people: &[Person]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = people
        .iter()
        .map(|p| (p.user_id.clone(), p.upn.clone(), p.display_name.clone()))
        .collect();
    v.sort();
    v
}

/// The journal's queue: user id → (challenge, recorded existing method ids).
fn journal_queue(world: &DemoWorld) -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    Journal::open(&world.config.journal_path)
        .unwrap()
        .queue()
        .unwrap()
        .into_iter()
        .map(|q| {
            (
                q.user_id,
                (q.challenge.options.challenge, q.existing_method_ids),
            )
        })
        .collect()
}

#[test]
fn an_empty_journal_gets_the_whole_group_live_at_start_and_a_refresh_leaves_the_enrolled_alone() {
    let mut world = DemoWorld::start_without_queue(None, 9).unwrap();
    world.config.include_nested_groups = true;
    world.config.delete_existing_credentials = true;
    assert!(journal_queue(&world).is_empty());

    let (engine, mut log, queue, _) = start_engine(&world);
    assert!(queue.is_empty(), "{queue:?}");
    let summary = log.until(&engine, "the live queue at start", refreshed);
    assert_eq!(summary.error, None, "{summary:?}");
    assert!(summary.failures.is_empty(), "{summary:?}");
    assert!(
        log.seen
            .iter()
            .any(|e| matches!(e, Event::QueueRefresh { total: Some(t), done } if done == t)),
        "progress up to the whole group: {:#?}",
        log.seen
    );

    // Every user of the group (nested groups included, guests left out), as the fake has them.
    let members: Vec<_> = world
        .tenant
        .users()
        .into_iter()
        .filter(|u| !u.is_guest)
        .collect();
    let mut want: Vec<_> = members
        .iter()
        .map(|u| (u.id.clone(), u.upn.clone(), u.display_name.clone()))
        .collect();
    want.sort();
    let queue = last_queue(&log);
    assert_eq!(identities(&queue), want);
    assert!(
        queue.iter().all(|p| p.status == PersonStatus::Ready),
        "{queue:?}"
    );
    assert_eq!(
        (summary.updated, summary.added, summary.kept),
        (want.len(), want.len(), 0)
    );
    assert!(
        summary.skipped_members >= world.tenant.users().len() - want.len(),
        "the guest is skipped: {summary:?}"
    );

    // deleteExistingUserFIDOCredentials: everyone's existing methods are recorded.
    let rows = journal_queue(&world);
    for u in &members {
        let have: Vec<String> = world
            .tenant
            .registrations(&u.id)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(rows[&u.id].1, have, "{}", u.upn);
    }
    assert!(rows.values().any(|(_, ids)| !ids.is_empty()), "{rows:?}");

    // Enroll one person, then refresh again (the tenant gained nobody).
    let person = queue[0].clone();
    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    engine.send(Command::InsertSoftKey);
    let (_, issued) = log.until(&engine, "the key issued", |e| {
        if let Event::Failed { error, .. } = e {
            panic!("enrollment failed: {error:?}");
        }
        finished(e)
    });
    log.until(
        &engine,
        "enrolled",
        status_of(&person.user_id, PersonStatus::Enrolled),
    );
    let before = journal_queue(&world);

    let seen_before = log.seen.len();
    engine.send(Command::RefreshQueue);
    let summary = log.until(&engine, "the refresh's outcome", refreshed);
    assert_eq!(summary.error, None, "{summary:?}");
    assert_eq!(
        (summary.updated, summary.added, summary.kept),
        (want.len() - 1, 0, 1),
        "{summary:?}"
    );
    let queue = last_queue(&log);
    assert!(
        log.seen[seen_before..]
            .iter()
            .any(|e| matches!(e, Event::Queue(_))),
        "a new queue after the refresh"
    );
    assert_eq!(identities(&queue), want);
    for p in &queue {
        let want_status = if p.user_id == person.user_id {
            PersonStatus::Enrolled
        } else {
            PersonStatus::Ready
        };
        assert_eq!(p.status, want_status, "{p:?}");
    }
    // The enrolled person's row is as their enrollment left it (their new key is not recorded
    // as an "existing" method to delete); everyone else got fresh options.
    let after = journal_queue(&world);
    assert_eq!(after[&person.user_id], before[&person.user_id]);
    assert!(!after[&person.user_id].1.contains(&issued.method_id));
    for (id, (challenge, _)) in &after {
        if *id != person.user_id {
            assert_ne!(*challenge, before[id].0, "fresh options for {id}");
        }
    }
    let audit = Journal::open(&world.config.journal_path)
        .unwrap()
        .audit_log()
        .unwrap();
    assert_eq!(
        audit.iter().filter(|a| a.action == "queue-refresh").count(),
        2,
        "{audit:?}"
    );
}

#[test]
fn a_failed_refresh_shows_graphs_request_id_and_keeps_the_queue() {
    let world = DemoWorld::start(None, 5).unwrap();
    let (engine, mut log, queue, _) = start_engine(&world);
    assert!(!queue.is_empty());
    let before = journal_queue(&world);

    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let seen_before = log.seen.len();
    engine.send(Command::RefreshQueue);
    let summary = log.until(&engine, "the failed refresh", refreshed);
    let error = summary.error.clone().expect("the refresh failed");
    let request_id = error.request_id.clone().expect("Graph's request-id");
    assert!(!request_id.is_empty());
    assert!(error.code.starts_with("graph-5"), "{error:?}");
    assert!(error.retry_possible, "{error:?}");
    assert_eq!(summary.updated, 0);
    // The old queue stands: no new queue was sent and the journal is untouched.
    assert!(
        log.seen[seen_before..]
            .iter()
            .all(|e| !matches!(e, Event::Queue(_))),
        "{:#?}",
        &log.seen[seen_before..]
    );
    assert_eq!(journal_queue(&world), before);

    // What the operator sees: the banner and the queue screen's status line, with the id.
    let mut state = State::new(OperatorAuth::Demo, true);
    for e in log.seen.iter().cloned() {
        state.apply(e);
    }
    let shown: Vec<Person> = state
        .queue
        .matches()
        .iter()
        .filter_map(|&i| state.queue.person(i).cloned())
        .collect();
    assert_eq!(identities(&shown), identities(&queue));
    assert_eq!(
        state.problem.as_ref().and_then(|p| p.request_id.clone()),
        Some(request_id.clone())
    );
    let (line, bad) = state
        .queue_refresh
        .status_line(&state.texts())
        .expect("a status line");
    assert!(bad && line.contains(&request_id), "{line}");
    let audit = Journal::open(&world.config.journal_path)
        .unwrap()
        .audit_log()
        .unwrap();
    let entry = audit
        .iter()
        .rfind(|a| a.action == "queue-refresh")
        .expect("audited");
    assert!(entry.request_ids.contains(&request_id), "{entry:?}");

    // Graph recovers: the next refresh works.
    world.tenant.set_faults(Faults::default());
    engine.send(Command::RefreshQueue);
    let summary = log.until(&engine, "the refresh after recovery", refreshed);
    assert_eq!(summary.error, None, "{summary:?}");
    assert_eq!(summary.updated, queue.len());
}
