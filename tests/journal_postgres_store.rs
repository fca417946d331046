//! The journal on PostgreSQL as only a shared journal does it, against a real server
//! (`pg_support`): PINs stored only sealed (opened with the key, `keepPinsInJournal`
//! included), a station without the key or with another refused with the remedy, a queue
//! refresh that leaves people held by a station, and a server restarted in the middle of an
//! enrollment (the station connects again and goes on; nothing is lost or done twice).

mod pg_support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use passkey_kiosk::store::postgres::{JournalUrl, Roots};
use passkey_kiosk::store::seal::{JournalKey, KEY_ENV};
use passkey_kiosk::store::{
    Challenge, EnrollmentState, Journal, JournalLocation, PinSource, Place, QueuedUser, StoreError,
};
use pg_support::{PgServer, DATABASE};

fn key(byte: u8) -> Arc<JournalKey> {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    Arc::new(JournalKey::from_base64(&text, "test").unwrap())
}

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

fn person(n: u32) -> QueuedUser {
    let options = serde_json::json!({
        "rp": {"id": "login.microsoft.com"}, "user": {"id": "T0Y6"}, "challenge": "c"
    });
    QueuedUser {
        user_id: format!("id-{n}"),
        upn: format!("user{n}@contoso.example"),
        display_name: format!("User {n}"),
        challenge: Challenge {
            options: serde_json::from_value(options).unwrap(),
            expires_at: None,
        },
        existing_method_ids: Vec::new(),
        fetched_at: 1,
    }
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
    b.begin_enrollment("id-2", "user2@contoso.example", None, None)
        .unwrap();
    // Desk A's refresh finds only person 1 in the group: 3 goes, 2 is held by desk B.
    let removed = a
        .replace_queue_members(&[person(1)], &HashSet::new())
        .unwrap();
    assert_eq!(
        removed,
        [("id-3".to_string(), "user3@contoso.example".to_string())]
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
