//! The audit trail: entries name the operator who started the work (not whoever is signed in
//! when a background step ends), a failed audit write reaches the operator (engine: an
//! `audit-failed` problem; CLI: a non-zero exit), `export --audit --verify` finds a changed or
//! deleted entry, and `export` never overwrites a file without `--force`.

mod kit;

use std::process::Output;
use std::time::Duration;

use graph::fake::{FakeConfig, Faults};
use kit::bin::text;
use kit::events::Log;
use kit::journal::disable_audit;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event, Passcode, Remedy, Step};
use passkey_kiosk::engine::EngineHandle;
use passkey_kiosk::station::OperatorAuth;
use passkey_kiosk::store::Journal;

fn station(users: usize, extra: &str) -> Station {
    let st = Station::new(
        FakeConfig {
            existing_methods_every_nth: Some(1),
            ..plain_tenant(users)
        },
        extra,
    );
    st.prefetch();
    st
}

const RANDOM_PIN_DELETE_OLD: &str =
    r#","useRandomPIN":true,"deleteExistingUserFIDOCredentials":true"#;

/// Signs `name` in at the station with its passcode and waits until the station says so.
fn sign_in(engine: &EngineHandle, log: &mut Log, name: &str) {
    engine.send(Command::SignIn {
        name: name.into(),
        passcode: Passcode::new("desk passcode 1"),
    });
    log.until(engine, "the sign-in", |e| match e {
        Event::SignedIn { operator } if operator == name => Some(()),
        _ => None,
    });
}

#[test]
fn entries_name_the_operator_who_started_the_job_not_the_one_signed_in_when_it_ends() {
    let st = station(2, RANDOM_PIN_DELETE_OLD);
    let queue = st.queue();
    let hash = passkey_kiosk::station::passcode::hash_passcode("desk passcode 1").unwrap();
    let engine = st.engine_signing_in(
        "station",
        st.slot.keys(),
        OperatorAuth::AppOnly {
            passcode_hash: Some(hash),
        },
    );
    let mut log = Log::default();
    sign_in(&engine, &mut log, "Alice");
    engine.send(Command::Enroll {
        user_id: queue[0].user_id.clone(),
    });
    // Graph slowed down: Alice hands over to Bob while the registration is under way.
    st.tenant.set_faults(Faults {
        latency: Duration::from_millis(600),
        ..Faults::default()
    });
    st.insert_key(66_000_001);
    log.until(&engine, "the registration", |e| match e {
        Event::Progress {
            step: Step::Registering,
            ..
        } => Some(()),
        _ => None,
    });
    engine.send(Command::SignOut);
    sign_in(&engine, &mut log, "Bob");
    log.until(&engine, "Alice's job finished", |e| match e {
        Event::Finished { issued, .. } if issued.upn == queue[0].upn => Some(()),
        Event::Failed { error, .. } => panic!("{error:?}"),
        _ => None,
    });
    st.tenant.set_faults(Faults::default());
    // Bob's own job names Bob: the switch took effect.
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    st.insert_key(66_000_002);
    log.until(&engine, "Bob's job finished", |e| match e {
        Event::Finished { issued, .. } if issued.upn == queue[1].upn => Some(()),
        Event::Failed { error, .. } => panic!("{error:?}"),
        _ => None,
    });
    drop(engine);

    let audit = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    for (person, operator) in [(&queue[0], "Alice"), (&queue[1], "Bob")] {
        let entries: Vec<_> = audit
            .iter()
            .filter(|a| a.subject.as_deref() == Some(person.upn.as_str()))
            .collect();
        let actions: Vec<&str> = entries.iter().map(|a| a.action.as_str()).collect();
        for want in ["register", "delete-old-method", "enroll"] {
            assert!(
                actions.contains(&want),
                "{want} for {}: {audit:#?}",
                person.upn
            );
        }
        assert!(
            entries.iter().all(|a| a.operator == operator),
            "{operator}'s job: {audit:#?}"
        );
    }
    assert!(
        log.seen
            .iter()
            .all(|e| !matches!(e, Event::Problem(p) if p.code == "audit-failed")),
        "{:#?}",
        log.seen
    );
}

#[test]
fn a_failed_audit_write_is_shown_to_the_operator() {
    let st = station(1, r#","useRandomPIN":true"#);
    let person = Journal::open(&st.journal)
        .unwrap()
        .queue()
        .unwrap()
        .remove(0);
    disable_audit(&st.journal);
    let engine = st.engine("Desk 1");
    let mut log = Log::default();
    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    st.insert_key(66_100_001);
    let problem = log.until(&engine, "the audit problem", |e| match e {
        Event::Problem(p) if p.code == "audit-failed" => Some(p.clone()),
        _ => None,
    });
    assert!(
        problem.message.contains("\"register\"")
            && problem.message.contains(&person.upn)
            && problem.message.contains("audit disabled by test"),
        "{problem:?}"
    );
    assert_eq!(problem.remedy, Remedy::CheckJournal, "{problem:?}");
    // The enrollment itself goes on: the key is issued, and the operator has been told.
    log.until(&engine, "the key issued", |e| match e {
        Event::Finished { .. } => Some(()),
        Event::Failed { error, .. } => panic!("{error:?}"),
        _ => None,
    });
    drop(engine);
    let audit = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    assert!(
        audit.iter().all(|a| a.action == "prefetch"),
        "only the entry written before: {audit:#?}"
    );
}

#[test]
fn enroll_exits_non_zero_when_its_audit_entries_cannot_be_written() {
    let st = station(1, r#","useRandomPIN":true"#);
    disable_audit(&st.journal);
    let (status, out) = st.enroll(&[], &[], |line| {
        if line.contains("insert a new key for") {
            st.insert_key(66_200_001);
        }
    });
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("audit entry \"enroll\"") && out.contains("audit disabled by test"),
        "{out}"
    );
    assert_eq!(st.csv_rows().len(), 1, "the key itself was issued: {out}");
}

fn export(st: &Station, args: &[&str]) -> Output {
    st.run("export", args)
}

fn verify(st: &Station) -> Output {
    export(st, &["--audit", "--verify"])
}

fn sqlite(st: &Station, sql: &str) {
    rusqlite::Connection::open(&st.journal)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn verify_names_the_first_changed_or_deleted_entry() {
    let st = station(1, "");
    {
        let j = Journal::open(&st.journal).unwrap();
        for i in 2..=5 {
            j.audit("Desk 1", "register", Some(&format!("user{i}@x")), "ok", &[])
                .unwrap();
        }
    }
    let o = verify(&st);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("5 entries"), "{}", text(&o));

    // A result rewritten after the fact.
    sqlite(&st, "UPDATE audit SET result = 'failed' WHERE id = 3");
    let o = verify(&st);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("audit entry 3: content changed"),
        "{}",
        text(&o)
    );
    sqlite(&st, "UPDATE audit SET result = 'ok' WHERE id = 3");
    assert!(verify(&st).status.success());

    // An entry removed from the middle: the one after it says so.
    sqlite(&st, "DELETE FROM audit WHERE id = 3");
    let o = verify(&st);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("audit entry 4: entry missing"),
        "{}",
        text(&o)
    );
}

#[test]
fn export_never_overwrites_without_force_and_audits_itself() {
    let st = station(1, "");
    let out = st.dir.path().join("audit.csv");
    std::fs::write(&out, b"the auditor's notes\n").unwrap();
    for args in [&["--audit"][..], &[][..]] {
        let o = export(&st, &[args, &["--out", out.to_str().unwrap()]].concat());
        assert!(!o.status.success());
        let t = text(&o);
        assert!(
            t.contains(out.to_str().unwrap()) && t.contains("--force"),
            "{t}"
        );
        assert_eq!(std::fs::read(&out).unwrap(), b"the auditor's notes\n");
    }
    let o = export(
        &st,
        &[
            "--audit",
            "--force",
            "--operator",
            "Auditor",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.starts_with("at,operator,action,subject,result,requestIds,station\n")
            && csv.contains(",prefetch,"),
        "{csv}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let log = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    let last = log.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.operator.as_str()),
        ("export", "Auditor")
    );
    assert_eq!(last.subject.as_deref(), out.to_str());
    assert!(last.result.contains("no PINs included"), "{last:?}");
}
