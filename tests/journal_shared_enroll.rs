//! `enroll` through the binary on a shared journal (`journalUrl`, a real PostgreSQL from
//! `pg_support`), against the fake tenant and software keys: nothing lands in a SQLite file,
//! every row and audit entry names its station, random PINs are only sealed and `export`
//! opens them with the key (and is refused without it); a person another station holds is
//! refused by name and skipped otherwise (`--limit`); two stations racing for one person (by
//! name, or both taking the next one): exactly one enrolls them.

mod kit;
mod pg_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Barrier};

use kit::keys::{pin_opens, soft_key};
use kit::slot::Slot;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::store::seal::KEY_ENV;
use passkey_kiosk::store::{EnrollmentState, Journal, JournalLocation};
use pg_support::{PgServer, DATABASE};

/// The PIN typed for each key (no random PINs in these runs: no journal key needed).
const TYPED_PIN: (&str, &str) = ("PASSKEY_KIOSK_NEW_PIN", "48213579");

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// A station of `users` people whose journal is the server's, named `desk-1`.
fn shared_station(server: &PgServer, users: usize, extra: &str) -> Station {
    Station::new(
        plain_tenant(users),
        &format!(
            r#","journalUrl":"{}","stationName":"desk-1"{extra}"#,
            server.url()
        ),
    )
}

/// The shared journal as station `name` (with the test key when `keyed`).
fn journal(st: &Station, name: &str, keyed: bool) -> Journal {
    let mut config = Config::load(&st.config).unwrap();
    config.station_name = name.to_string();
    let mut location = JournalLocation::from_config(&config).unwrap();
    if keyed {
        if let passkey_kiosk::store::Place::Postgres { key, .. } = &mut location.place {
            *key = Some(Arc::new(
                passkey_kiosk::store::seal::JournalKey::from_base64(KEY, "test").unwrap(),
            ));
        }
    }
    Journal::open_at(&location).unwrap()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn enroll_writes_every_step_to_the_shared_journal_with_pins_only_sealed() {
    let server = PgServer::start();
    let st = shared_station(
        &server,
        3,
        r#","useRandomPIN":true,"keepPinsInJournal":true"#,
    );
    st.prefetch();
    assert!(!st.journal.exists(), "no SQLite journal beside the config");

    let mut keys = Vec::new();
    let (status, out) = st.enroll(&["--yes"], &[(KEY_ENV, KEY)], |line| {
        if line.contains("insert a new key for") {
            let key = soft_key(70_000_000 + keys.len() as u32);
            keys.push(key.clone());
            st.slot.insert(Some(key));
        }
    });
    assert!(status.success(), "{out}");
    assert!(
        out.contains("summary: 3 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );

    let j = journal(&st, "inspector", true);
    let enrollments = j.enrollments().unwrap();
    assert_eq!(enrollments.len(), 3);
    for (e, key) in enrollments.iter().zip(&keys) {
        assert_eq!(
            (e.state, e.station.as_str()),
            (EnrollmentState::Recorded, "desk-1")
        );
        let pin = e.pin.as_deref().expect("kept (keepPinsInJournal), sealed");
        assert!(
            pin_opens(key, pin),
            "{} got the PIN the journal holds",
            e.upn
        );
        // In the database only sealed.
        let mut admin = server.admin(DATABASE);
        let clear: i64 = admin
            .query_one(
                "SELECT count(*) FROM kiosk.enrollment
                 WHERE position(convert_to($1, 'UTF8') IN pin_sealed) > 0
                    OR position($1 IN row_to_json(enrollment)::text) > 0",
                &[&pin.as_str()],
            )
            .unwrap()
            .get(0);
        assert_eq!(clear, 0, "a PIN in clear text in the database");
    }
    let log = j.audit_log().unwrap();
    assert!(log.len() >= 3, "{log:?}");
    assert!(log.iter().all(|a| a.station.as_deref() == Some("desk-1")));
    assert_eq!(j.verify_audit().unwrap().map(|(n, _)| n), Ok(log.len()));

    // export opens the PINs with the key; without it the station is refused, with the remedy.
    let csv = st.dir.path().join("export.csv");
    let (ok, text) = run(st
        .kiosk()
        .args(["export", "--config"])
        .arg(&st.config)
        .arg("--out")
        .arg(&csv)
        .env(KEY_ENV, KEY));
    assert!(ok, "{text}");
    let exported = std::fs::read_to_string(&csv).unwrap();
    for e in &enrollments {
        assert!(
            exported.contains(e.pin.as_deref().unwrap().as_str()),
            "{exported}"
        );
    }
    let (ok, text) = run(st
        .kiosk()
        .args(["export", "--config"])
        .arg(&st.config)
        .arg("--out")
        .arg(st.dir.path().join("refused.csv")));
    assert!(!ok, "{text}");
    assert!(
        text.contains(KEY_ENV) && text.contains("journalKeyFile"),
        "{text}"
    );
    let (ok, text) = run(st
        .kiosk()
        .args(["export", "--audit", "--verify", "--config"])
        .arg(&st.config)
        .env(KEY_ENV, KEY));
    assert!(ok && text.contains("audit log verified"), "{text}");
}

#[test]
fn a_held_person_is_refused_by_name_and_skipped_when_taking_the_next() {
    let server = PgServer::start();
    let st = shared_station(&server, 3, "");
    st.prefetch();
    let mut other = journal(&st, "desk-a", false);
    let queue = other.queue().unwrap();
    other
        .begin_enrollment(&queue[0].user_id, &queue[0].upn, Some("k-a"), None)
        .unwrap();

    // Asked for by name: refused, saying where the person is, exit status non-zero.
    let (status, out) = st.enroll(
        &["--user", &queue[0].upn, "--station", "desk-b"],
        &[TYPED_PIN],
        |_| {},
    );
    assert!(!status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "{} is being enrolled at station desk-a",
            queue[0].upn
        )),
        "{out}"
    );

    // The next people nobody holds, one of them (--limit 1).
    let (status, out) = st.enroll(
        &["--limit", "1", "--station", "desk-b"],
        &[TYPED_PIN],
        |line| {
            if line.contains("insert a new key for") {
                st.slot.insert(Some(soft_key(71_000_000)));
            }
        },
    );
    assert!(status.success(), "{out}");
    // Passed by in the journal (its claim is never reserved), not started and refused.
    assert!(
        !out.contains(&format!("({})", queue[0].upn)) && !out.contains("held by another"),
        "{out}"
    );
    assert!(out.contains("stopped after 1 (--limit)"), "{out}");
    assert!(
        out.contains("summary: 1 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );
    let check = journal(&st, "inspector", false);
    let mine = check.enrollments_of(&queue[1].user_id).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].state, mine[0].station.as_str()),
        (EnrollmentState::Recorded, "desk-b")
    );
    assert!(check.enrollments_of(&queue[2].user_id).unwrap().is_empty());
}

/// `enroll` with `args` at desk-a and desk-b at once, each with its own key slot; both keys
/// go in together once both stations asked for one. Each run's success and output.
fn race(st: &Station, args: &[&str]) -> Vec<(bool, String)> {
    let slots = [Slot::new(), Slot::new()];
    let both_asked = Barrier::new(2);
    std::thread::scope(|s| {
        let runs: Vec<_> = ["desk-a", "desk-b"]
            .into_iter()
            .zip(&slots)
            .enumerate()
            .map(|(n, (station, slot))| {
                let both_asked = &both_asked;
                s.spawn(move || {
                    let mut child = st.spawn_enroll_as(station, slot, args, &[TYPED_PIN]);
                    let mut out = String::new();
                    for line in BufReader::new(child.stdout.take().unwrap())
                        .lines()
                        .map_while(Result::ok)
                    {
                        if line.contains("insert a new key for") {
                            both_asked.wait();
                            slot.insert(Some(soft_key(72_000_000 + n as u32)));
                        }
                        out.push_str(&line);
                        out.push('\n');
                    }
                    (child.wait().unwrap().success(), out)
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    })
}

/// Exactly one enrollment in the journal, recorded.
fn one_recorded_enrollment(st: &Station) {
    let enrollments = journal(st, "inspector", false).enrollments().unwrap();
    assert_eq!(
        enrollments.len(),
        1,
        "one enrollment, one key: {enrollments:?}"
    );
    assert_eq!(enrollments[0].state, EnrollmentState::Recorded);
}

#[test]
fn two_stations_racing_for_one_person_exactly_one_proceeds() {
    let server = PgServer::start();
    let st = shared_station(&server, 2, "");
    st.prefetch();
    let upn = journal(&st, "inspector", false).queue().unwrap()[0]
        .upn
        .clone();
    let results = race(&st, &["--user", &upn]);
    let winners = results.iter().filter(|(ok, _)| *ok).count();
    assert_eq!(winners, 1, "{results:#?}");
    let (_, lost) = results.iter().find(|(ok, _)| !ok).unwrap();
    assert!(
        // Refused while the other holds the person, or once it recorded them.
        lost.contains("enrolled at station desk-"),
        "{lost}"
    );
    one_recorded_enrollment(&st);
}

#[test]
fn two_stations_taking_the_next_person_at_once_take_different_people_and_both_succeed() {
    let server = PgServer::start();
    let st = shared_station(&server, 2, "");
    st.prefetch();
    let results = race(&st, &["--limit", "1"]);
    assert!(results.iter().all(|(ok, _)| *ok), "{results:#?}");
    // Each passed the other's reservation by: nobody was started twice or refused.
    for (_, out) in &results {
        assert!(out.contains("summary: 1 enrolled"), "{out}");
        assert!(!out.contains("held by other stations"), "{out}");
    }
    let enrollments = journal(&st, "inspector", false).enrollments().unwrap();
    let people: std::collections::HashSet<&str> =
        enrollments.iter().map(|e| e.user_id.as_str()).collect();
    assert_eq!((enrollments.len(), people.len()), (2, 2), "{enrollments:?}");
    assert!(enrollments
        .iter()
        .all(|e| e.state == EnrollmentState::Recorded));
}

#[test]
fn the_database_restarted_while_a_key_is_registered_is_waited_for_and_nothing_is_done_twice() {
    let mut server = PgServer::start();
    let st = shared_station(&server, 1, "");
    st.prefetch();
    let person = journal(&st, "inspector", false).queue().unwrap()[0].clone();
    // Graph answers slowly: the restart happens while the POST is under way, so recording
    // its answer meets the cut connection.
    st.tenant.set_faults(graph::fake::Faults {
        latency: std::time::Duration::from_millis(1500),
        ..graph::fake::Faults::default()
    });
    let mut restarted = false;
    let (status, out) = st.enroll(&["--station", "desk-1"], &[TYPED_PIN], |line| {
        if line.contains("insert a new key for") {
            st.slot.insert(Some(soft_key(73_000_000)));
        }
        // The passkey is made; its registration and every later step go on while the
        // database restarts under them.
        if line.contains("registering in Entra ID") && !restarted {
            server.restart();
            restarted = true;
        }
    });
    assert!(restarted, "{out}");
    assert!(status.success(), "{out}");
    assert!(
        out.contains("summary: 1 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );
    assert_eq!(
        st.tenant.registrations(&person.user_id).len(),
        1,
        "one passkey in Graph"
    );
    let j = journal(&st, "inspector", false);
    let e = &j.enrollments().unwrap()[0];
    assert_eq!(e.state, EnrollmentState::Recorded);
    let states: Vec<EnrollmentState> = j
        .transitions(e.id)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let registered = states
        .iter()
        .filter(|s| **s == EnrollmentState::Registered)
        .count();
    assert_eq!(registered, 1, "{states:?}");
    assert_eq!(j.verify_audit().unwrap().map(|(n, _)| n > 0), Ok(true));
}

#[test]
fn a_station_out_of_service_has_its_claim_taken_over_confirmed_audited_and_settled() {
    let server = PgServer::start();
    let st = shared_station(&server, 2, "");
    st.prefetch();
    let person = journal(&st, "inspector", false).queue().unwrap()[0].clone();
    // desk-1 dies right after its registration reached Graph: the person is held there.
    st.slot.insert(Some(soft_key(72_000_000)));
    let (status, out) = st.enroll(
        &["--user", &person.upn],
        &[TYPED_PIN, ("PASSKEY_KIOSK_CRASH_AFTER", "post_sent")],
        |_| {},
    );
    assert!(!status.success() && out.contains("aborting now"), "{out}");
    let release = |extra: &[&str]| {
        let mut cmd = st.kiosk();
        cmd.args(["release-claim", "--config"])
            .arg(&st.config)
            .args([
                "--user",
                &person.upn,
                "--from",
                "desk-1",
                "--station",
                "desk-2",
            ])
            .args(["--out"])
            .arg(&st.out)
            .args(extra);
        run(cmd.stdin(Stdio::null()))
    };

    // Not confirmed, no reason, or the wrong station named: nothing is released.
    let (ok, text) = release(&["--reason", "desk-1 broken"]);
    assert!(!ok && text.contains("pass --yes"), "{text}");
    let (ok, text) = release(&["--reason", " ", "--yes"]);
    assert!(!ok && text.contains("--reason"), "{text}");
    let mut wrong = st.kiosk();
    wrong
        .args(["release-claim", "--config"])
        .arg(&st.config)
        .args([
            "--user",
            &person.upn,
            "--from",
            "desk-9",
            "--station",
            "desk-2",
        ])
        .args(["--reason", "x", "--yes"]);
    let (ok, text) = run(&mut wrong);
    assert!(
        !ok && text.contains("not held by station desk-9 (station desk-1 holds them)"),
        "{text}"
    );
    let j = journal(&st, "desk-2", false);
    assert_eq!(
        j.holder(&person.user_id).unwrap().as_deref(),
        Some("desk-1")
    );

    // Confirmed: desk-2 takes the enrollment over and settles it as a restart would (the
    // registration is found in Graph, not made twice, and recorded).
    let (ok, text) = release(&["--reason", "desk-1 broken, replaced", "--yes"]);
    assert!(ok, "{text}");
    assert!(text.contains("taken over: enrollment"), "{text}");
    assert!(text.contains("recovered:"), "{text}");
    let es = j.enrollments_of(&person.user_id).unwrap();
    assert_eq!(es.len(), 1, "{es:?}");
    assert_eq!(
        (es[0].state, es[0].station.as_str()),
        (EnrollmentState::Recorded, "desk-2")
    );
    assert_eq!(j.holder(&person.user_id).unwrap(), None);
    assert_eq!(st.csv_rows().len(), 1, "recorded once");
    let entry = j
        .audit_log()
        .unwrap()
        .into_iter()
        .find(|a| a.action == "claim-released")
        .expect("the release is audited");
    assert_eq!(entry.station.as_deref(), Some("desk-2"));
    assert_eq!(entry.subject.as_deref(), Some(person.upn.as_str()));
    assert!(
        entry.result.contains("desk-1 broken, replaced"),
        "{entry:?}"
    );
    assert!(j.verify_audit().unwrap().is_ok());

    // desk-1 back on line does not touch it again.
    let (status, out) = st.enroll(&["--user", &person.upn], &[TYPED_PIN], |_| {});
    assert!(out.contains("already enrolled"), "{out}");
    assert!(status.success(), "{out}");
    assert_eq!(j.enrollments_of(&person.user_id).unwrap().len(), 1);
}
