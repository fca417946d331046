//! PIN modes: the engine driven through its command/event interface with an operator-typed
//! PIN (the kiosk's path, in-process software keys as in the demo), and `enroll` with a
//! random PIN on a key that already has one (changePIN with PASSKEY_KIOSK_PIN; a wrong
//! current PIN is reported with the attempts left, and nothing else happens to the key).

mod kit;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kit::keys::{key_with_pin, pin_opens};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Command, Event, PersonStatus, Pin, PinRequest, Step};
use passkey_kiosk::engine::{Engine, EngineSetup, KeySource};
use passkey_kiosk::store::Journal;

#[test]
fn engine_interface_with_a_typed_pin() {
    let st = Station::new(
        plain_tenant(2),
        r#","useRandomPIN":false,"useCTAP21Features":true"#,
    );
    st.prefetch();
    let config = Config::load(&st.config).unwrap();
    let user = st.queue()[0].clone();
    let wakes = Arc::new(AtomicUsize::new(0));
    let w = Arc::clone(&wakes);
    let engine = Engine::start(EngineSetup {
        graph: passkey_kiosk::tenant::connect(&config).unwrap(),
        journal: passkey_kiosk::store::JournalLocation::from_config(&config).unwrap(),
        config,
        keys_registered: st.out.clone(),
        operator: "Desk 1".into(),
        key_source: KeySource::Soft,
        wake: Arc::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        }),
        operator_auth: passkey_kiosk::station::OperatorAuth::Headless,
    })
    .unwrap();
    let next = || {
        engine
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
    };
    assert!(matches!(next(), Event::Recovered(r) if r.is_empty()));
    assert!(matches!(next(), Event::StartupChecks(c) if c.iter().all(|c| c.ok)));
    assert!(matches!(next(), Event::Queue(q) if q.len() == 2));
    assert!(matches!(next(), Event::History(h) if h.is_empty()));

    engine.send(Command::Enroll {
        user_id: user.user_id.clone(),
    });
    assert!(matches!(
        next(),
        Event::Progress {
            step: Step::WaitingForKey,
            ..
        }
    ));
    assert!(matches!(
        next(),
        Event::PersonChanged(p) if p.user_id == user.user_id && p.status == PersonStatus::InProgress
    ));
    engine.send(Command::InsertSoftKey);
    let mut steps = Vec::new();
    let issued = loop {
        match next() {
            Event::Progress { step, .. } => steps.push(step),
            Event::PinNeeded { job, request } => {
                assert_eq!(request, PinRequest::New { min_length: 4 });
                engine.send(Command::ProvidePin {
                    job,
                    pin: Pin::new("480213"),
                });
            }
            Event::Finished { issued, .. } => break issued,
            Event::Failed { error, .. } => panic!("{error:?}"),
            _ => {}
        }
    };
    assert_eq!(
        steps,
        [
            Step::CheckingKey,
            Step::SettingPin,
            Step::CreatingPasskey,
            Step::Registering,
            Step::Hardening,
            Step::Recording
        ]
    );
    assert_eq!(issued.upn, user.upn);
    assert_eq!(issued.pin, None, "a typed PIN is never shown or recorded");
    assert!(
        wakes.load(Ordering::SeqCst) >= 8,
        "every event wakes the UI"
    );
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][3], "", "PIN column empty for a typed PIN");
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    let log = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    assert!(log
        .iter()
        .any(|a| a.operator == "Desk 1" && a.action == "register"));
}

#[test]
fn random_pin_replaces_an_existing_pin() {
    let st = Station::new(plain_tenant(2), r#","useRandomPIN":true"#);
    st.prefetch();
    let key = key_with_pin(88_000_001, "905127");
    st.slot.insert(Some(key.clone()));
    let user = st.queue()[0].clone();

    let (status, out) = st.enroll(
        &["--user", &user.upn],
        &[("PASSKEY_KIOSK_PIN", "111111")],
        |_| {},
    );
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("wrong PIN: 7 attempts left"), "{out}");
    assert!(
        !out.contains("111111") && !out.contains("905127"),
        "no PIN printed: {out}"
    );
    assert!(key.resident_credentials().is_empty());
    assert_eq!(
        key.pin_retries(),
        7,
        "the preset PIN is tried once, not again"
    );

    // The same key again, with the right PIN.
    let (status, out) = st.enroll(
        &["--user", &user.upn, "--retry-failed"],
        &[("PASSKEY_KIOSK_PIN", "905127")],
        |_| {},
    );
    assert!(status.success(), "{out}");
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0][3], "905127");
    assert!(
        pin_opens(&key, &rows[0][3]),
        "the random PIN replaced the old one"
    );
}

#[test]
fn typed_mode_hands_over_a_station_pin_the_key_still_has() {
    let st = Station::new(plain_tenant(2), r#","useRandomPIN":false"#);
    st.prefetch();
    let queue = st.queue();
    // An earlier attempt (random PINs then) set the key's PIN and failed before the person
    // got it: the journal still holds that PIN.
    let key = key_with_pin(88_000_002, "905127");
    {
        let mut j = Journal::open(&st.journal).unwrap();
        let id = j
            .begin_enrollment(&queue[1].user_id, &queue[1].upn, Some("88000002"), None)
            .unwrap();
        j.commit_pin(id, "905127").unwrap();
        j.failed(id, "key removed: re-insert it").unwrap();
    }
    st.slot.insert(Some(key.clone()));

    let engine = st.engine("Desk 1");
    engine.send(Command::Enroll {
        user_id: queue[0].user_id.clone(),
    });
    let issued = loop {
        match engine
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            Event::PinNeeded { request, .. } => {
                panic!("nobody knows this key's PIN, yet it was asked for: {request:?}")
            }
            Event::Finished { issued, .. } => break issued,
            Event::Failed { error, .. } => panic!("{error:?}"),
            _ => {}
        }
    };
    drop(engine);
    assert_eq!(issued.upn, queue[0].upn);
    assert_eq!(
        issued.pin.as_ref().map(Pin::expose),
        Some("905127"),
        "the station's PIN reaches the person"
    );
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][3], "905127");
    assert!(pin_opens(&key, "905127"));
    assert_eq!(key.resident_credentials().len(), 1);
}
