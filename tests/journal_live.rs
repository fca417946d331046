//! Several stations on one shared journal (a real PostgreSQL started by `pg_support`): the
//! next person is reserved so stations pass each other's people by, and a kiosk's engine
//! hears what other stations do as it commits (LISTEN/NOTIFY), showing who is held or
//! enrolled elsewhere.

mod kit;
mod pg_support;

use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Event, Person, PersonStatus};
use passkey_kiosk::engine::EngineHandle;
use passkey_kiosk::station::OperatorAuth;
use passkey_kiosk::store::{Journal, JournalLocation, StoreError};
use pg_support::PgServer;

fn shared_station(server: &PgServer, users: usize) -> Station {
    Station::new(
        plain_tenant(users),
        &format!(r#","journalUrl":"{}","stationName":"desk-1""#, server.url()),
    )
}

fn journal(st: &Station, name: &str) -> Journal {
    let mut config = Config::load(&st.config).unwrap();
    config.station_name = name.to_string();
    Journal::open_at(&JournalLocation::from_config(&config).unwrap()).unwrap()
}

/// The next `PersonChanged` for `user_id` that satisfies `want`, within 15 s.
fn person_event(engine: &EngineHandle, user_id: &str, want: impl Fn(&Person) -> bool) -> Person {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(Event::PersonChanged(p)) = engine.recv_timeout(Duration::from_millis(200)) {
            if p.user_id == user_id && want(&p) {
                return p;
            }
            seen.push(p);
        }
    }
    panic!("no matching change of {user_id}; saw {seen:?}");
}

#[test]
fn stations_reserving_at_once_each_get_other_people() {
    let server = PgServer::start();
    let st = shared_station(&server, 30);
    st.prefetch();

    // Eight stations take people as fast as they can, all at once.
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|n| {
            let mut j = journal(&st, &format!("desk-{n}"));
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                let mut after = None;
                while let Some(p) = j.reserve_next(after.as_ref()).unwrap() {
                    mine.push(p.user_id.clone());
                    after = Some(p);
                }
                mine
            })
        })
        .collect();
    let taken: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let distinct: HashSet<&String> = taken.iter().collect();
    assert_eq!(taken.len(), 30, "everyone reserved once: {taken:?}");
    assert_eq!(distinct.len(), 30);
}

#[test]
fn a_reservation_holds_the_person_until_given_back_or_taken_over() {
    let server = PgServer::start();
    let st = shared_station(&server, 3);
    st.prefetch();
    let mut a = journal(&st, "desk-a");
    let mut b = journal(&st, "desk-b");

    let first = a.reserve_next(None).unwrap().unwrap();
    let second = b.reserve_next(None).unwrap().unwrap();
    assert_ne!(first.user_id, second.user_id, "b passed a's person by");
    assert_eq!(b.holder(&first.user_id).unwrap().as_deref(), Some("desk-a"));

    // Another station cannot start the reserved person.
    match b.begin_enrollment(&first.user_id, &first.upn, Some("k"), None) {
        Err(StoreError::Claimed { station, .. }) => assert_eq!(station, "desk-a"),
        other => panic!("{other:?}"),
    }
    // The reserving station can: its enrollment takes the reservation over, and giving the
    // reservation back then leaves the enrollment's claim.
    a.begin_enrollment(&first.user_id, &first.upn, Some("k"), None)
        .unwrap();
    a.release_reservation(&first.user_id).unwrap();
    assert_eq!(b.holder(&first.user_id).unwrap().as_deref(), Some("desk-a"));

    // Given back, the person is free again; a stopped run's reservations are given back at
    // once on the next start.
    b.release_reservation(&second.user_id).unwrap();
    assert_eq!(a.holder(&second.user_id).unwrap(), None);
    let third = b.reserve_next(Some(&second)).unwrap().unwrap();
    assert_eq!(b.release_reservations().unwrap(), 1);
    assert_eq!(a.holder(&third.user_id).unwrap(), None);
}

#[test]
fn the_kiosk_engine_shows_other_stations_work_as_it_commits() {
    let server = PgServer::start();
    let st = shared_station(&server, 3);
    st.prefetch();
    let engine = st.engine_signing_in("desk-1", st.keys(), OperatorAuth::Demo);
    let mut other = journal(&st, "desk-2");
    let queue = other.queue().unwrap();

    // Another station reserves someone: shown as held there.
    let reserved = other.reserve_next(None).unwrap().unwrap();
    let p = person_event(&engine, &reserved.user_id, |p| p.elsewhere.is_some());
    assert_eq!(p.elsewhere.as_deref(), Some("desk-2"));
    assert_eq!(p.status, PersonStatus::InProgress);

    // It enrolls them and the enrollment fails: free again here, shown failed.
    let id = other
        .begin_enrollment(&reserved.user_id, &reserved.upn, Some("k"), None)
        .unwrap();
    other.failed(id, "the key was pulled").unwrap();
    let p = person_event(&engine, &reserved.user_id, |p| p.elsewhere.is_none());
    assert_eq!(p.status, PersonStatus::Failed);

    // A queue refresh elsewhere: the whole queue is read again.
    other.upsert_queue(&queue[..1]).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        assert!(
            Instant::now() < deadline,
            "no queue after another station's refresh"
        );
        if let Some(Event::Queue(people)) = engine.recv_timeout(Duration::from_millis(200)) {
            assert_eq!(people.len(), 3);
            break;
        }
    }
}
