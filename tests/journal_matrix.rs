//! The journal's behaviour on both backends: every case in `CASES` runs once against a SQLite
//! file and once against a real PostgreSQL (Debian's server, started by `pg_support`), through
//! the one `Journal` interface. Write-ahead order, refused transitions, PIN purges, the queue
//! and its reconciliation with the group, standings and history, the audit chain written by
//! two stations at once, and claims: a person held by one station is refused at another,
//! exactly one of two racing stations proceeds, a dead station keeps its claims.
//!
//! Then what only the shared journal does: PINs stored only sealed (opened with the key,
//! `keepPinsInJournal` included), a station without the key or with another refused with the
//! remedy, a queue refresh that leaves people held by a station, and a server restarted in
//! the middle of an enrollment (the station connects again and goes on; nothing is lost or
//! done twice).

mod pg_support;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use passkey_kiosk::store::postgres::{JournalUrl, Roots};
use passkey_kiosk::store::seal::{JournalKey, KEY_ENV};
use passkey_kiosk::store::{
    now_unix, Challenge, EnrollmentState, Journal, JournalLocation, PinSource, Place, QueuedUser,
    Standing, StoreError,
};
use pg_support::{PgServer, DATABASE};
use EnrollmentState::*;

/// A fresh journal on one backend, opened by any station.
struct Fresh {
    place: Place,
}

impl Fresh {
    fn open(&self, station: &str) -> Journal {
        Journal::open_at(&JournalLocation {
            station: station.to_string(),
            place: self.place.clone(),
        })
        .unwrap_or_else(|e| panic!("opening the journal as {station}: {e}"))
    }
}

type Case = fn(&Fresh);

const CASES: &[(&str, Case)] = &[
    (
        "write-ahead order",
        write_ahead_order_survives_a_reopen_and_the_pin_is_purged,
    ),
    (
        "refused steps",
        steps_out_of_order_are_refused_and_change_nothing,
    ),
    (
        "PIN purges",
        pins_are_purged_by_handover_key_reset_retention_and_refusal,
    ),
    (
        "queue",
        the_queue_is_kept_whole_refreshed_and_reconciled_with_the_group,
    ),
    (
        "read model",
        standings_and_history_come_from_the_enrollments,
    ),
    (
        "audit chain",
        audit_entries_of_two_stations_at_once_form_one_chain,
    ),
    (
        "claims",
        a_person_held_by_one_station_is_refused_at_another_until_settled,
    ),
    (
        "race",
        two_stations_racing_for_one_person_exactly_one_proceeds,
    ),
    (
        "dead station",
        a_dead_station_keeps_its_claims_and_settles_them_itself,
    ),
];

#[test]
fn every_case_on_sqlite() {
    for (name, case) in CASES {
        let dir = tempfile::tempdir().unwrap();
        eprintln!("sqlite: {name}");
        case(&Fresh {
            place: Place::Sqlite(dir.path().join("journal.sqlite")),
        });
    }
}

#[test]
fn every_case_on_postgres() {
    let server = PgServer::start();
    let key = key(1);
    for (name, case) in CASES {
        server.reset_schema();
        eprintln!("postgres: {name}");
        case(&Fresh {
            place: Place::Postgres {
                url: Box::new(JournalUrl::parse(&server.url()).unwrap()),
                roots: Roots::System,
                key: Some(key.clone()),
            },
        });
    }
}

fn key(byte: u8) -> Arc<JournalKey> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    Arc::new(JournalKey::from_base64(&text, "test").unwrap())
}

fn person(n: u32) -> QueuedUser {
    let options = serde_json::json!({
        "rp": {"id": "login.microsoft.com"}, "user": {"id": "T0Y6"},
        "challenge": format!("challenge-{n}"), "extensions": {"hmacCreateSecret": true}
    });
    QueuedUser {
        user_id: format!("id-{n}"),
        upn: format!("User{n}@contoso.example"),
        display_name: format!("User {n}"),
        challenge: Challenge {
            options: serde_json::from_value(options).unwrap(),
            expires_at: Some(1_787_480_100 + i64::from(n)),
        },
        existing_method_ids: vec![format!("old-{n}")],
        fetched_at: 7,
    }
}

fn states_of(j: &Journal, id: i64) -> Vec<EnrollmentState> {
    j.transitions(id)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect()
}

/// An enrollment of person `n` by `j`'s station taken to `end`.
fn enroll(j: &mut Journal, n: u32, end: EnrollmentState) -> i64 {
    let id = j
        .begin_enrollment(
            &format!("id-{n}"),
            &format!("User{n}@contoso.example"),
            Some(&format!("s{n}")),
            None,
        )
        .unwrap();
    if end == KeyReady {
        return id;
    }
    j.pin_set(id, PinSource::Typed).unwrap();
    j.credential_created(id, b"cred", b"{}", b"att").unwrap();
    match end {
        Recorded => {
            j.registering(id).unwrap();
            j.registered(id, &format!("method-{id}")).unwrap();
            j.recorded(id, false).unwrap();
        }
        Failed => j.failed(id, "key removed").unwrap(),
        _ => {}
    }
    id
}

fn write_ahead_order_survives_a_reopen_and_the_pin_is_purged(f: &Fresh) {
    let id;
    {
        let mut j = f.open("desk-a");
        id = j
            .begin_enrollment("u1", "a@x", Some("123"), Some("aaguid"))
            .unwrap();
        j.commit_pin(id, "480213").unwrap();
    }
    // "Crash" after the PIN was committed: it is there on restart, for this station.
    let mut j = f.open("desk-a");
    let open = j.unfinished_enrollments().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!((open[0].id, open[0].state), (id, PinCommitted));
    assert_eq!(open[0].station, "desk-a");
    assert_eq!(open[0].pin.as_deref().map(String::as_str), Some("480213"));
    assert!(!format!("{:?}", open[0]).contains("480213"));
    assert_eq!(
        j.pin_for_key("123").unwrap().as_deref().map(String::as_str),
        Some("480213")
    );

    j.pin_set(id, PinSource::Random).unwrap();
    j.credential_created(id, b"cred", b"{\"c\":1}", b"att")
        .unwrap();
    j.registering(id).unwrap();
    j.registered(id, "method-1").unwrap();
    j.hardened(id).unwrap();
    j.recorded(id, false).unwrap();
    let e = j.enrollment(id).unwrap().unwrap();
    assert_eq!(e.state, Recorded);
    assert!(e.pin.is_none(), "PIN purged once delivered");
    assert_eq!(e.pin_source, Some(PinSource::Random));
    assert_eq!(e.method_id.as_deref(), Some("method-1"));
    assert_eq!(e.credential_id.as_deref(), Some(&b"cred"[..]));
    assert_eq!(e.client_data_json.as_deref(), Some(&b"{\"c\":1}"[..]));
    assert_eq!(e.attestation_object.as_deref(), Some(&b"att"[..]));
    assert_eq!(
        (e.serial.as_deref(), e.aaguid.as_deref()),
        (Some("123"), Some("aaguid"))
    );
    assert!(j.unfinished_enrollments().unwrap().is_empty());
    assert!(j.is_recorded("u1").unwrap());
    assert_eq!(j.unfailed_of_key("123").unwrap().map(|e| e.id), Some(id));
    assert_eq!(
        states_of(&j, id),
        [
            KeyReady,
            PinCommitted,
            PinSet,
            CredentialCreated,
            Registering,
            Registered,
            Hardened,
            Recorded
        ]
    );
    assert_eq!(j.enrollments_of("u1").unwrap().len(), 1);
    assert_eq!(j.enrollments().unwrap().len(), 1);
}

fn steps_out_of_order_are_refused_and_change_nothing(f: &Fresh) {
    let mut j = f.open("desk-a");
    let id = j.begin_enrollment("u1", "a@x", None, None).unwrap();
    let err = j.registered(id, "method-1").unwrap_err();
    assert!(
        matches!(err, StoreError::Transition { id: i, from: KeyReady, to: Registered, .. } if i == id),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("from key_ready to registered"),
        "{err}"
    );
    let e = j.enrollment(id).unwrap().unwrap();
    assert_eq!((e.state, e.method_id), (KeyReady, None), "nothing written");
    // A new PIN after a refused one, a new passkey after a refused challenge.
    j.commit_pin(id, "111222").unwrap();
    j.commit_pin(id, "333444").unwrap();
    j.pin_set(id, PinSource::Random).unwrap();
    j.credential_created(id, b"c1", b"{}", b"a1").unwrap();
    j.registering(id).unwrap();
    j.credential_created(id, b"c2", b"{}", b"a2").unwrap();
    j.registering(id).unwrap();
    j.note_error(id, "Graph busy: tried again").unwrap();
    assert_eq!(
        j.enrollment(id).unwrap().unwrap().last_error.as_deref(),
        Some("Graph busy: tried again")
    );
    j.failed(id, "key removed: re-insert it").unwrap();
    let refused = j.failed(id, "again").unwrap_err();
    assert!(
        matches!(refused, StoreError::Transition { from: Failed, .. }),
        "{refused:?}"
    );
    let e = j.enrollment(id).unwrap().unwrap();
    assert_eq!(e.last_error.as_deref(), Some("key removed: re-insert it"));
    assert_eq!(
        e.pin.as_deref().map(String::as_str),
        Some("333444"),
        "a failure keeps the PIN"
    );
    assert_eq!(
        states_of(&j, id),
        [
            KeyReady,
            PinCommitted,
            PinCommitted,
            PinSet,
            CredentialCreated,
            Registering,
            CredentialCreated,
            Registering,
            Failed
        ]
    );
    assert!(j.failed(999_999, "x").is_err(), "no such enrollment");
}

fn pins_are_purged_by_handover_key_reset_retention_and_refusal(f: &Fresh) {
    let mut j = f.open("desk-a");
    let pins = [
        "830174652291",
        "561902738845",
        "904417263358",
        "112233445566",
    ];
    let ids: Vec<i64> = pins
        .iter()
        .enumerate()
        .map(|(n, pin)| {
            let id = j
                .begin_enrollment(&format!("u{n}"), "a@x", Some(&format!("serial-{n}")), None)
                .unwrap();
            j.commit_pin(id, pin).unwrap();
            id
        })
        .collect();
    let pin_of = |j: &Journal, id| {
        j.enrollment(id)
            .unwrap()
            .unwrap()
            .pin
            .map(|p| p.to_string())
    };
    // Handed over; the key reset; refused by the key; a failed enrollment past its retention.
    j.purge_pin(ids[0]).unwrap();
    j.purge_pins_of_key("serial-1").unwrap();
    j.pin_refused(ids[3]).unwrap();
    assert_eq!(pin_of(&j, ids[0]), None);
    assert_eq!(pin_of(&j, ids[1]), None);
    assert_eq!(pin_of(&j, ids[3]), None);
    j.failed(ids[2], "key removed").unwrap();
    assert_eq!(j.purge_pins_ended_before(now_unix() - 10, true).unwrap(), 0);
    assert_eq!(
        pin_of(&j, ids[2]).as_deref(),
        Some(pins[2]),
        "within retention"
    );
    assert_eq!(j.purge_pins_ended_before(now_unix() + 1, true).unwrap(), 1);
    assert!(j.enrollments().unwrap().iter().all(|e| e.pin.is_none()));

    // A recorded enrollment keeps its PIN when asked (keepPinsInJournal, or until it is
    // handed over on screen); older attempts of the same key lose theirs.
    let older = j.begin_enrollment("u9", "z@x", Some("k9"), None).unwrap();
    j.commit_pin(older, "111999").unwrap();
    j.failed(older, "interrupted").unwrap();
    let kept = j.begin_enrollment("u9", "z@x", Some("k9"), None).unwrap();
    j.commit_pin(kept, "222999").unwrap();
    j.pin_set(kept, PinSource::Random).unwrap();
    j.credential_created(kept, b"c", b"{}", b"a").unwrap();
    j.registering(kept).unwrap();
    j.registered(kept, "m9").unwrap();
    j.recorded(kept, true).unwrap();
    j.purge_older_pins_of_key("k9", kept).unwrap();
    assert_eq!(pin_of(&j, older), None);
    assert_eq!(pin_of(&j, kept).as_deref(), Some("222999"));
    assert_eq!(
        j.purge_pins_ended_before(now_unix() + 1, false).unwrap(),
        0,
        "recorded ones only when asked"
    );
    assert_eq!(j.purge_pins_ended_before(now_unix() + 1, true).unwrap(), 1);
}

fn the_queue_is_kept_whole_refreshed_and_reconciled_with_the_group(f: &Fresh) {
    let mut j = f.open("desk-a");
    assert!(j.queue_is_empty().unwrap());
    j.upsert_queue(&(1..=6).rev().map(person).collect::<Vec<_>>())
        .unwrap();
    assert!(!j.queue_is_empty().unwrap());
    let mut fresh = person(1);
    fresh.challenge.options.challenge = "refreshed".into();
    j.upsert_queue(std::slice::from_ref(&fresh)).unwrap();
    let q = j.queue().unwrap();
    assert_eq!(q.len(), 6);
    assert_eq!(q[0], fresh, "whole options, refreshed");
    assert_eq!(
        j.queued_user("user2@CONTOSO.example").unwrap(),
        Some(person(2))
    );
    assert_eq!(j.queued_user("id-3").unwrap(), Some(person(3)));
    assert!(j.queued_user("nobody").unwrap().is_none());

    // 3 has a key, 4 failed once: the next people skip 3 only.
    enroll(&mut j, 3, Recorded);
    enroll(&mut j, 4, Failed);
    let next: Vec<String> = j
        .next_unrecorded_after(&person(1), 3)
        .unwrap()
        .into_iter()
        .map(|q| q.user_id)
        .collect();
    assert_eq!(next, ["id-2", "id-4", "id-5"]);

    // The group now: 1 (fetched afresh), 2 and 3 (kept), 7 (joined); 4, 5 and 6 left.
    j.audit("alice", "queue-refresh", None, "ok", &[]).unwrap();
    let keep: HashSet<String> = ["id-2", "id-3"].into_iter().map(String::from).collect();
    let removed = j
        .replace_queue_members(&[person(1), person(7)], &keep)
        .unwrap();
    let removed: Vec<&str> = removed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(removed, ["id-4", "id-5", "id-6"]);
    let ids: Vec<String> = j.queue().unwrap().into_iter().map(|q| q.user_id).collect();
    assert_eq!(ids, ["id-1", "id-2", "id-3", "id-7"]);
    assert_eq!(j.enrollments().unwrap().len(), 2, "enrollments untouched");
    assert_eq!(j.audit_log().unwrap().len(), 1, "audit untouched");
}

fn standings_and_history_come_from_the_enrollments(f: &Fresh) {
    let mut j = f.open("desk-a");
    j.upsert_queue(&(1..=5).map(person).collect::<Vec<_>>())
        .unwrap();
    // 1: none. 2: open. 3: failed. 4: recorded. 5: failed, then recorded.
    enroll(&mut j, 2, CredentialCreated);
    enroll(&mut j, 3, Failed);
    enroll(&mut j, 4, Recorded);
    enroll(&mut j, 5, Failed);
    let last = enroll(&mut j, 5, Recorded);
    let standings: Vec<(String, Standing)> = j
        .queue_entries()
        .unwrap()
        .into_iter()
        .map(|e| (e.user_id, e.standing))
        .collect();
    assert_eq!(
        standings,
        [
            ("id-1".to_string(), Standing::NotStarted),
            ("id-2".to_string(), Standing::Open),
            ("id-3".to_string(), Standing::Failed),
            ("id-4".to_string(), Standing::Recorded),
            ("id-5".to_string(), Standing::Recorded),
        ]
    );
    let one = j.queue_entry("id-2").unwrap().unwrap();
    assert_eq!(
        (one.display_name.as_str(), one.challenge_expires_at),
        ("User 2", Some(1_787_480_102))
    );
    assert!(j.queue_entry("nobody").unwrap().is_none());
    let history = j.history(2).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].id, last, "oldest first, newest last");
    assert_eq!(history[1].state, Recorded);
    assert_eq!(history[1].display_name.as_deref(), Some("User 5"));
    assert_eq!(history[1].method_id, Some(format!("method-{last}")));
    assert_eq!(history[0].last_error.as_deref(), Some("key removed"));
}

fn audit_entries_of_two_stations_at_once_form_one_chain(f: &Fresh) {
    f.open("desk-a")
        .audit("alice", "prefetch", None, "ok", &["r1", "r2"])
        .unwrap();
    let start = Arc::new(Barrier::new(4));
    let writers: Vec<_> = ["desk-a", "desk-b", "desk-a", "desk-b"]
        .into_iter()
        .map(|station| {
            let j = f.open(station);
            let start = start.clone();
            thread::spawn(move || {
                start.wait();
                for i in 0..15 {
                    j.audit("op", "register", Some(&format!("user{i}@x")), "ok", &[])
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let j = f.open("desk-b");
    let log = j.audit_log().unwrap();
    assert_eq!(log.len(), 61);
    assert_eq!(log[0].request_ids, "r1 r2");
    assert_eq!(log[0].station.as_deref(), Some("desk-a"));
    let from_b = log
        .iter()
        .filter(|e| e.station.as_deref() == Some("desk-b"))
        .count();
    assert_eq!(from_b, 30);
    assert_eq!(j.verify_audit().unwrap().map(|(n, _)| n), Ok(61));
}

fn a_person_held_by_one_station_is_refused_at_another_until_settled(f: &Fresh) {
    let mut a = f.open("desk-a");
    let mut b = f.open("desk-b");
    let id = a.begin_enrollment("u1", "ann@x", Some("k1"), None).unwrap();
    assert_eq!(
        a.holder("u1").unwrap(),
        None,
        "a station does not hold against itself"
    );
    assert_eq!(b.holder("u1").unwrap().as_deref(), Some("desk-a"));
    let refused = b
        .begin_enrollment("u1", "ann@x", Some("k2"), None)
        .unwrap_err();
    match &refused {
        StoreError::Claimed { upn, station } => {
            assert_eq!((upn.as_str(), station.as_str()), ("ann@x", "desk-a"))
        }
        other => panic!("not a claim: {other:?}"),
    }
    assert!(
        refused
            .to_string()
            .contains("ann@x is being enrolled at station desk-a"),
        "{refused}"
    );
    assert_eq!(
        b.enrollments_of("u1").unwrap().len(),
        1,
        "the refused one left nothing"
    );
    // The same station may start the person again (an earlier attempt left open).
    let again = a.begin_enrollment("u1", "ann@x", Some("k1"), None).unwrap();
    a.failed(id, "superseded").unwrap();
    assert_eq!(
        b.holder("u1").unwrap().as_deref(),
        Some("desk-a"),
        "the newer one still holds"
    );
    a.failed(again, "key removed").unwrap();
    assert_eq!(b.holder("u1").unwrap(), None, "released when settled");
    let taken = b.begin_enrollment("u1", "ann@x", Some("k2"), None).unwrap();
    assert_eq!(b.enrollment(taken).unwrap().unwrap().station, "desk-b");
    assert_eq!(a.holder("u1").unwrap().as_deref(), Some("desk-b"));
    // Once desk-b recorded a key for them, desk-a (which may have waited for a key all that
    // time) does not issue a second one.
    b.pin_set(taken, PinSource::Typed).unwrap();
    b.credential_created(taken, b"c", b"{}", b"a").unwrap();
    b.registering(taken).unwrap();
    b.registered(taken, "m").unwrap();
    b.recorded(taken, false).unwrap();
    let refused = a
        .begin_enrollment("u1", "ann@x", Some("k1"), None)
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::EnrolledElsewhere { station, .. } if station == "desk-b"),
        "{refused:?}"
    );
    assert!(
        refused
            .to_string()
            .contains("ann@x was enrolled at station desk-b"),
        "{refused}"
    );
}

fn two_stations_racing_for_one_person_exactly_one_proceeds(f: &Fresh) {
    for round in 0..5 {
        let user = format!("racer-{round}");
        let start = Arc::new(Barrier::new(2));
        let racers: Vec<_> = ["desk-a", "desk-b"]
            .into_iter()
            .map(|station| {
                let mut j = f.open(station);
                let (start, user) = (start.clone(), user.clone());
                thread::spawn(move || {
                    start.wait();
                    j.begin_enrollment(&user, "racer@x", None, None)
                })
            })
            .collect();
        let results: Vec<Result<i64, StoreError>> =
            racers.into_iter().map(|r| r.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(won, 1, "round {round}: {results:?}");
        let lost = results.iter().find_map(|r| r.as_ref().err()).unwrap();
        assert!(matches!(lost, StoreError::Claimed { .. }), "{lost:?}");
        assert_eq!(f.open("desk-c").enrollments_of(&user).unwrap().len(), 1);
    }
}

fn a_dead_station_keeps_its_claims_and_settles_them_itself(f: &Fresh) {
    let id = {
        let mut a = f.open("desk-a");
        let id = a.begin_enrollment("u1", "ann@x", Some("k1"), None).unwrap();
        a.commit_pin(id, "271828").unwrap();
        id
    }; // desk-a dies here
    let mut b = f.open("desk-b");
    assert!(
        b.unfinished_enrollments().unwrap().is_empty(),
        "not desk-b's to settle"
    );
    assert!(matches!(
        b.begin_enrollment("u1", "ann@x", None, None),
        Err(StoreError::Claimed { .. })
    ));
    let mut a = f.open("desk-a");
    let open = a.unfinished_enrollments().unwrap();
    assert_eq!(open.iter().map(|e| e.id).collect::<Vec<_>>(), [id]);
    assert_eq!(
        open[0].pin.as_deref().map(String::as_str),
        Some("271828"),
        "its PIN is there"
    );
    a.failed(id, "interrupted: the key was reset").unwrap();
    b.begin_enrollment("u1", "ann@x", None, None).unwrap();
}

// What only the shared journal does.

fn location(server: &PgServer, station: &str, key: Option<Arc<JournalKey>>) -> JournalLocation {
    JournalLocation {
        station: station.to_string(),
        place: Place::Postgres {
            url: Box::new(JournalUrl::parse(&server.url()).unwrap()),
            roots: Roots::System,
            key,
        },
    }
}

fn open(server: &PgServer, station: &str, key: Option<Arc<JournalKey>>) -> Journal {
    Journal::open_at(&location(server, station, key)).unwrap()
}

/// Every byte string stored in the enrollment table, as the server holds it.
fn stored_bytes(server: &PgServer) -> Vec<Vec<u8>> {
    let mut admin = server.admin(DATABASE);
    admin
        .query(
            "SELECT convert_to(row_to_json(e)::text, 'UTF8') FROM kiosk.enrollment e
             UNION ALL SELECT pin_sealed FROM kiosk.enrollment WHERE pin_sealed IS NOT NULL",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn pins_are_stored_only_sealed_and_a_station_needs_the_deployments_key() {
    let server = PgServer::start();
    let mut a = open(&server, "desk-a", Some(key(1)));
    let pin = "730418529163";
    let id = a.begin_enrollment("u1", "ann@x", Some("k1"), None).unwrap();
    a.commit_pin(id, pin).unwrap();
    a.pin_set(id, PinSource::Random).unwrap();
    a.credential_created(id, b"c", b"{}", b"a").unwrap();
    a.registering(id).unwrap();
    a.registered(id, "m1").unwrap();
    // keepPinsInJournal: kept after recording, still only sealed.
    a.recorded(id, true).unwrap();
    let rows = stored_bytes(&server);
    assert_eq!(rows.len(), 2, "the row and its sealed PIN");
    for bytes in &rows {
        assert!(
            !bytes.windows(pin.len()).any(|w| w == pin.as_bytes()),
            "the PIN in clear text in the database"
        );
    }
    assert_eq!(rows[1][0], 1, "the seal's format byte");
    // The key opens it, for `export` and for recovery.
    let e = a.enrollment(id).unwrap().unwrap();
    assert_eq!(e.pin.as_deref().map(String::as_str), Some(pin));
    assert_eq!(
        a.pin_for_key("k1").unwrap().as_deref().map(String::as_str),
        Some(pin)
    );

    // No key, or another key: refused before anything is read, with the remedy.
    for wrong in [None, Some(key(2))] {
        let refused = Journal::open_at(&location(&server, "desk-b", wrong))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            refused.contains(KEY_ENV) && refused.contains("journalKeyFile"),
            "{refused}"
        );
        assert!(
            refused.contains("the key the other stations use"),
            "{refused}"
        );
    }
    assert!(matches!(
        Journal::open_at(&location(&server, "desk-b", None)),
        Err(StoreError::Seal { .. })
    ));
}

#[test]
fn without_any_key_a_random_pin_is_refused_and_typed_pins_work() {
    let server = PgServer::start();
    let mut j = open(&server, "desk-a", None);
    let id = j.begin_enrollment("u1", "ann@x", None, None).unwrap();
    let refused = j.commit_pin(id, "123456").unwrap_err();
    assert!(matches!(refused, StoreError::NoKey { .. }), "{refused:?}");
    assert!(
        refused.to_string().contains("useRandomPIN false"),
        "{refused}"
    );
    assert_eq!(
        j.enrollment(id).unwrap().unwrap().state,
        EnrollmentState::KeyReady,
        "nothing written"
    );
    j.pin_set(id, PinSource::Typed).unwrap();
    // The first station with a key records it; the one without may still come in until then.
    drop(open(&server, "desk-b", Some(key(3))));
    assert!(Journal::open_at(&location(&server, "desk-a", None)).is_err());
}

#[test]
fn a_queue_refresh_leaves_the_people_other_stations_hold() {
    let server = PgServer::start();
    let mut a = open(&server, "desk-a", None);
    let mut b = open(&server, "desk-b", None);
    a.upsert_queue(&[person(1), person(2), person(3)]).unwrap();
    b.begin_enrollment("id-2", "User2@contoso.example", None, None)
        .unwrap();
    // Desk A's refresh finds only person 1 in the group: 3 goes, 2 is held by desk B.
    let removed = a
        .replace_queue_members(&[person(1)], &HashSet::new())
        .unwrap();
    assert_eq!(
        removed,
        [("id-3".to_string(), "User3@contoso.example".to_string())]
    );
    let ids: Vec<String> = b.queue().unwrap().into_iter().map(|q| q.user_id).collect();
    assert_eq!(ids, ["id-1", "id-2"]);
}

#[test]
fn a_server_restarted_mid_enrollment_is_waited_for_and_nothing_is_lost_or_done_twice() {
    let mut server = PgServer::start();
    let mut j = open(&server, "desk-a", Some(key(1)));
    let id = j.begin_enrollment("u1", "ann@x", Some("k1"), None).unwrap();
    j.commit_pin(id, "555123").unwrap();
    j.pin_set(id, PinSource::Random).unwrap();
    j.credential_created(id, b"cred", b"{}", b"att").unwrap();

    // Restarted between two steps: the next step connects again and goes on.
    server.restart();
    j.registering(id).unwrap();

    // Down while a step is due, back a moment later: the step waits for it.
    server.stop();
    let back = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(2));
        server.start_again();
        server
    });
    j.registered(id, "method-1").unwrap();
    let server = back.join().unwrap();
    j.recorded(id, false).unwrap();

    let fresh = open(&server, "desk-a", Some(key(1)));
    let e = fresh.enrollment(id).unwrap().unwrap();
    assert_eq!(e.state, EnrollmentState::Recorded);
    assert_eq!(e.method_id.as_deref(), Some("method-1"));
    let states: Vec<EnrollmentState> = fresh
        .transitions(id)
        .unwrap()
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    use EnrollmentState::*;
    assert_eq!(
        states,
        [
            KeyReady,
            PinCommitted,
            PinSet,
            CredentialCreated,
            Registering,
            Registered,
            Recorded
        ],
        "each step once"
    );
    assert!(
        fresh.holder("u1").unwrap().is_none(),
        "the claim was released"
    );
}
