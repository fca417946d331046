//! PINs at rest: a random PIN stays in the journal only until it is delivered (the CSV row
//! for headless `enroll`, `PinDelivered` in the kiosk), and then its bytes are in none of
//! the journal's files; recovered PINs go to the operator's screen, never silently to the
//! CSV; `pinsInKeysRegisteredCsv` decides the CSV's PIN column.

mod kit;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ctap::soft::SoftAuthenticator;
use kit::events::{recovered, Log};
use kit::keys::{pin_opens, pin_token_ok, soft_key};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Command, Event, Issued, JobId};
use passkey_kiosk::engine::{Engine, EngineHandle, EngineSetup};
use passkey_kiosk::store::{EnrollmentState, Journal, QueuedUser};

/// A station whose journal has a directory of its own (the CSV, which may hold the PIN,
/// lives elsewhere), with 12-digit random PINs.
fn station(extra: &str) -> Station {
    let mut st = Station::new(
        plain_tenant(1),
        &format!(
            r#","useRandomPIN":true,"randomPinLength":12,"journalPath":"journal/j.sqlite"{extra}"#
        ),
    );
    st.journal = st.dir.path().join("journal/j.sqlite");
    st
}

/// Whether `needle` is in the raw bytes of any file of `dir` (the db, -wal, -shm).
fn in_journal_files(dir: &Path, needle: &str) -> bool {
    std::fs::read_dir(dir).unwrap().flatten().any(|f| {
        std::fs::read(f.path())
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    })
}

fn journal_pin(st: &Station) -> Option<String> {
    let j = Journal::open(&st.journal).unwrap();
    let e = j.enrollments().unwrap().pop()?;
    e.pin.map(|p| p.to_string())
}

/// The engine as the kiosk starts it (`Config::for_kiosk`), on this station's key slot.
fn kiosk_engine(st: &Station) -> EngineHandle {
    let config = Config::load(&st.config).unwrap().for_kiosk();
    Engine::start(EngineSetup {
        graph: passkey_kiosk::tenant::connect(&config).unwrap(),
        journal: passkey_kiosk::store::JournalLocation::from_config(&config).unwrap(),
        config,
        keys_registered: st.out.clone(),
        operator: "Desk 1".into(),
        key_source: st.slot.keys(),
        wake: Arc::new(|| {}),
        operator_auth: passkey_kiosk::station::OperatorAuth::Headless,
    })
    .unwrap()
}

fn enroll(engine: &EngineHandle, log: &mut Log, user_id: &str) -> (JobId, Issued) {
    engine.send(Command::Enroll {
        user_id: user_id.into(),
    });
    log.until(engine, "Finished", |e| match e {
        Event::Finished { job, issued } => Some((*job, issued.clone())),
        Event::Failed { error, .. } => panic!("{error:?}"),
        _ => None,
    })
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(20), "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Headless: the PIN is in the journal until the CSV row is written (a crash just after
/// the row proves it), and gone from every journal file once the restart records it.
#[test]
fn headless_enroll_purges_the_pin_from_every_journal_file_once_recorded() {
    let st = station("");
    st.prefetch();
    let user = st.queue()[0].clone();
    st.insert_key(79_000_001);
    st.enroll_crashing(&user.upn, "csv_written");
    let pin = journal_pin(&st).expect("the PIN is in the journal until recorded");
    let dir = st.journal.parent().unwrap();
    assert!(
        in_journal_files(dir, &pin),
        "the search finds a PIN that is there"
    );

    let (status, out) = st.enroll(&["--user", &user.upn], &[], |_| {});
    assert!(status.success(), "{out}");
    assert_eq!(journal_pin(&st), None);
    assert!(!in_journal_files(dir, &pin), "no byte of the PIN is left");
    // The CSV is the headless delivery (pinsInKeysRegisteredCsv defaults to true).
    assert_eq!(st.csv_rows()[0][3], pin);
}

/// Headless with `pinsInKeysRegisteredCsv: false`: the column stays empty and the PIN is
/// shown to the operator, its only delivery.
#[test]
fn headless_enroll_without_pins_in_the_csv_shows_the_pin() {
    let st = station(r#","pinsInKeysRegisteredCsv":false"#);
    st.prefetch();
    let key = st.insert_key(79_000_002);
    let (status, out) = st.enroll(&[], &[], |_| {});
    assert!(status.success(), "{out}");
    let rows = st.csv_rows();
    assert_eq!((rows.len(), rows[0][3].as_str()), (1, ""), "{rows:?}");
    let pin: String = out
        .split("random PIN ")
        .nth(1)
        .expect("the PIN is shown")
        .chars()
        .take(12)
        .collect();
    assert!(pin_opens(&key, &pin), "{out}");
    assert_eq!(journal_pin(&st), None);
}

/// The kiosk: the CSV's PIN column stays empty by default, the journal keeps the PIN until
/// the operator confirms it was handed over, then no journal file holds it.
#[test]
fn kiosk_keeps_the_pin_out_of_the_csv_and_purges_it_when_delivered() {
    let st = station("");
    st.prefetch();
    let user = st.queue()[0].clone();
    let key = st.insert_key(79_000_003);
    let engine = kiosk_engine(&st);
    let mut log = Log::default();
    assert!(log.until(&engine, "Recovered", recovered).is_empty());
    let (job, issued) = enroll(&engine, &mut log, &user.user_id);
    let pin = issued
        .pin
        .expect("a random PIN to hand over")
        .expose()
        .to_owned();
    assert!(pin_opens(&key, &pin));
    let rows = st.csv_rows();
    assert_eq!((rows.len(), rows[0][3].as_str()), (1, ""), "{rows:?}");
    assert_eq!(
        journal_pin(&st).as_deref(),
        Some(pin.as_str()),
        "until delivered"
    );
    let dir = st.journal.parent().unwrap().to_path_buf();
    assert!(in_journal_files(&dir, &pin));

    engine.send(Command::PinDelivered { job });
    wait_until("the delivered PIN is purged", || journal_pin(&st).is_none());
    drop(engine);
    assert!(!in_journal_files(&dir, &pin), "no byte of the PIN is left");
}

/// The kiosk with `pinsInKeysRegisteredCsv: true` fills the column.
#[test]
fn kiosk_writes_pins_to_the_csv_when_configured() {
    let st = station(r#","pinsInKeysRegisteredCsv":true"#);
    st.prefetch();
    let user = st.queue()[0].clone();
    st.insert_key(79_000_004);
    let engine = kiosk_engine(&st);
    let mut log = Log::default();
    log.until(&engine, "Recovered", recovered);
    let (_, issued) = enroll(&engine, &mut log, &user.user_id);
    assert_eq!(st.csv_rows()[0][3], issued.pin.unwrap().expose());
}

/// Crashes leave random PINs the person never received: the kiosk's recovery hands them
/// to the operator's screen with the person (set on the key, registered or not), and
/// writes none to the CSV. A failed enrollment's PIN is purged after `pinRetentionHours`.
#[test]
fn recovered_pins_go_to_the_recovery_screen_and_expire() {
    for (point, serial) in [("pin_set", 79_000_005), ("registered", 79_000_006)] {
        let st = station(r#","pinRetentionHours":1"#);
        st.prefetch();
        let user = st.queue()[0].clone();
        let key = soft_key(serial);
        st.slot.insert(Some(key.clone()));
        st.enroll_crashing(&user.upn, point);

        let engine = kiosk_engine(&st);
        let mut log = Log::default();
        let list = log.until(&engine, "Recovered", recovered);
        drop(engine);
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].upn, user.upn);
        assert_eq!(
            list[0].display_name.as_deref(),
            Some(user.display_name.as_str())
        );
        let pin = list[0].pin.as_ref().expect("shown to the operator");
        assert!(
            pin_token_ok(&key, pin.expose()),
            "{point}: it opens the key"
        );
        assert!(
            !format!("{list:?}").contains(pin.expose()),
            "printed as ***"
        );
        let rows = st.csv_rows();
        assert!(rows.iter().all(|r| r[3].is_empty()), "{point}: {rows:?}");
        assert_eq!(rows.len(), usize::from(point == "registered"), "{point}");

        // A day later the journal no longer holds it.
        let j = Journal::open(&st.journal).unwrap();
        let e = j.enrollments().unwrap().pop().unwrap();
        assert!(e.state == EnrollmentState::Failed || e.state == EnrollmentState::Recorded);
        drop(j);
        let conn = rusqlite::Connection::open(&st.journal).unwrap();
        conn.execute(
            "UPDATE enrollment SET updated_at = updated_at - 7200 WHERE id = ?1",
            [e.id],
        )
        .unwrap();
        drop(conn);
        let engine = kiosk_engine(&st);
        let mut log = Log::default();
        assert!(log.until(&engine, "Recovered", recovered).is_empty());
        drop(engine);
        assert_eq!(
            journal_pin(&st),
            None,
            "{point}: purged after its retention"
        );
        assert!(!in_journal_files(
            st.journal.parent().unwrap(),
            pin.expose()
        ));
    }
}

/// A kiosk station of `users` people (12-digit random PINs) that issues key `serial` to the
/// first and stops before the PIN is delivered, so the journal still holds it. Returns the
/// station, its queue, the key and the PIN.
fn issued_undelivered(
    users: usize,
    serial: u32,
) -> (Station, Vec<QueuedUser>, SoftAuthenticator, String) {
    let st = Station::new(
        plain_tenant(users),
        r#","useRandomPIN":true,"randomPinLength":12"#,
    );
    st.prefetch();
    let queue = st.queue();
    let key = soft_key(serial);
    st.slot.insert(Some(key.clone()));
    let engine = kiosk_engine(&st);
    let mut log = Log::default();
    log.until(&engine, "Recovered", recovered);
    let (_, issued) = enroll(&engine, &mut log, &queue[0].user_id);
    let pin = issued.pin.unwrap().expose().to_owned();
    drop(engine);
    assert_eq!(
        journal_pin(&st).as_deref(),
        Some(pin.as_str()),
        "not delivered"
    );
    (st, queue, key, pin)
}

/// A key whose PIN never reached its person comes back and is factory-reset: the PIN no
/// longer opens anything, and the journal forgets it at the reset.
#[test]
fn a_reset_key_loses_its_pins_from_the_journal() {
    let (st, queue, key, pin) = issued_undelivered(2, 79_000_007);

    key.power_cycle();
    let engine = kiosk_engine(&st);
    let mut log = Log::default();
    log.until(&engine, "Recovered", recovered);
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    log.until(&engine, "the issued key refused", |e| match e {
        Event::Problem(p) if p.code == "key-refused" => Some(()),
        _ => None,
    });
    engine.send(Command::ResetKey);
    log.until(&engine, "the reset", |e| {
        matches!(e, Event::KeyReset).then_some(())
    });
    let first = Journal::open(&st.journal).unwrap().enrollments().unwrap()[0].clone();
    assert_eq!(first.upn, queue[0].upn);
    assert!(first.pin.is_none(), "purged at the reset");
    assert!(!in_journal_files(st.journal.parent().unwrap(), &pin));
}

/// Headless with `pinsInKeysRegisteredCsv: false`: a PIN recovered after a crash is shown
/// to the operator with the person, not recorded silently (the CSV column stays empty).
#[test]
fn headless_recovery_shows_a_pin_it_does_not_write() {
    let st = station(r#","pinsInKeysRegisteredCsv":false"#);
    st.prefetch();
    let user = st.queue()[0].clone();
    let key = st.insert_key(79_000_008);
    st.enroll_crashing(&user.upn, "registered");
    let (status, out) = st.enroll(&["--user", &user.upn], &[], |_| {});
    assert!(status.success(), "{out}");
    let shown = format!("random PIN of {}: ", user.upn);
    let pin: String = out
        .split(&shown)
        .nth(1)
        .unwrap_or_else(|| panic!("the PIN is shown: {out}"))
        .chars()
        .take(12)
        .collect();
    assert!(pin_opens(&key, &pin), "{out}");
    let rows = st.csv_rows();
    assert_eq!((rows.len(), rows[0][3].as_str()), (1, ""), "{rows:?}");
    assert_eq!(journal_pin(&st), None, "the terminal was its delivery");
}

/// The same at the desk: `key reset` of a key whose PIN never reached its person forgets that
/// PIN in the journal too.
#[test]
fn key_reset_at_the_desk_forgets_the_keys_pins() {
    let (st, _, key, pin) = issued_undelivered(1, 79_000_009);

    key.power_cycle();
    let out = st
        .kiosk()
        .args(["key", "reset", "--yes", "--device", &st.device, "--config"])
        .arg(&st.config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(journal_pin(&st).is_none(), "purged at the reset");
    assert!(!in_journal_files(st.journal.parent().unwrap(), &pin));
}
