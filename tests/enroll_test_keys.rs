//! The built-in software key (its attestation key is published) is refused outside the demo
//! before anything is written to it, unless the config says `"allowTestKeys": true`.

mod kit;

use std::time::Duration;

use ctap::authenticator::Authenticator;
use graph::fake::Faults;
use kit::events::Log;
use kit::keys::soft_key;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event};
use passkey_kiosk::engine::KeySource;
use passkey_kiosk::store::{Journal, QueuedUser};

const RULES: &str = r#","useRandomPIN":true,"useCTAP21Features":true"#;

fn queue(st: &Station) -> Vec<QueuedUser> {
    st.prefetch();
    st.queue()
}

/// What getInfo says of the key's PIN (`clientPin`: false = supported, none set).
fn client_pin(key: &ctap::soft::SoftAuthenticator) -> Option<bool> {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    Authenticator::new(&mut ch)
        .get_info()
        .unwrap()
        .option("clientPin")
}

/// The key is as it came: no PIN, no passkey; the journal holds no enrollment (so no PIN)
/// and the tenant no registration.
fn untouched(st: &Station, key: &ctap::soft::SoftAuthenticator, people: &[QueuedUser]) {
    assert_eq!(client_pin(key), Some(false));
    assert!(key.resident_credentials().is_empty());
    let journal = Journal::open(&st.journal).unwrap();
    let enrollments = journal.enrollments().unwrap();
    assert!(
        enrollments.iter().all(|e| e.pin.is_none()),
        "{enrollments:?}"
    );
    assert!(enrollments.is_empty(), "{enrollments:?}");
    for p in people {
        assert!(st.tenant.registrations(&p.user_id).is_empty(), "{}", p.upn);
    }
    let audit = journal.audit_log().unwrap();
    assert!(audit.iter().any(|a| a.action == "refuse-key"), "{audit:?}");
}

#[test]
fn headless_enroll_refuses_the_software_key_without_allow_test_keys() {
    refuses_the_software_key(55_000_001, Duration::ZERO);
}

/// Graph slowed down: the key is reported while the engine is still starting (its start-up
/// checks wait for Graph), before the first person's turn.
#[test]
fn headless_enroll_refuses_a_software_key_seen_during_start_up() {
    refuses_the_software_key(55_000_003, Duration::from_millis(700));
}

fn refuses_the_software_key(serial: u32, graph_latency: Duration) {
    let st = Station::refusing_test_keys(plain_tenant(2), RULES);
    let people = queue(&st);
    let key = soft_key(serial);
    st.slot.insert(Some(key.clone()));
    st.tenant.set_faults(Faults {
        latency: graph_latency,
        ..Faults::default()
    });

    let (status, out) = st.enroll(&[], &[], |_| {});

    assert!(!status.success(), "{out}");
    assert!(out.contains("built-in software test key"), "{out}");
    assert!(out.contains("attestation key is published"), "{out}");
    assert!(out.contains("\"allowTestKeys\": true"), "{out}");
    // The run stops at the first person instead of waiting for a key that never comes.
    assert!(
        out.contains("0 enrolled, 0 already enrolled, 1 failed"),
        "{out}"
    );
    untouched(&st, &key, &people);
}

#[test]
fn headless_enroll_issues_the_software_key_with_allow_test_keys() {
    let st = Station::new(plain_tenant(2), RULES);
    let people = queue(&st);
    let key = st.insert_key(55_000_002);

    let (status, out) = st.enroll(&["--user", &people[0].upn], &[], |_| {});

    assert!(status.success(), "{out}");
    assert!(!out.contains("test key"), "{out}");
    assert_eq!(client_pin(&key), Some(true));
    assert_eq!(key.resident_credentials().len(), 1);
    assert_eq!(st.tenant.registrations(&people[0].user_id).len(), 1);
}

/// The kiosk's path: the engine on a device key source (as `kiosk --device`) refuses the key
/// with a `key-refused` problem (the banner; the key page then says the key cannot be issued).
#[test]
fn the_kiosk_engine_refuses_the_software_key_on_a_device_source() {
    let st = Station::refusing_test_keys(plain_tenant(2), RULES);
    let people = queue(&st);
    let key = st.insert_key(55_000_003);
    let engine = st.engine("desk");
    engine.send(Command::Enroll {
        user_id: people[0].user_id.clone(),
    });
    let mut log = Log::default();
    let refused = log.until(&engine, "the refusal", |e| match e {
        Event::Problem(p) if p.code == "key-refused" => Some(p.clone()),
        Event::Finished { .. } | Event::Failed { .. } => panic!("not refused: {e:?}"),
        _ => None,
    });
    assert!(
        refused.message.contains("built-in software test key"),
        "{refused:?}"
    );
    // Nothing starts afterwards either.
    assert!(engine
        .recv_timeout(Duration::from_secs(2))
        .is_none_or(|e| !matches!(
            e,
            Event::Progress { .. } | Event::PinNeeded { .. } | Event::Finished { .. }
        )));
    drop(engine);
    untouched(&st, &key, &people);
}

/// The demo (software keys only) always takes them, whatever the config says.
#[test]
fn the_demo_takes_the_software_key_without_allow_test_keys() {
    let st = Station::refusing_test_keys(plain_tenant(2), r#","useRandomPIN":true"#);
    let people = queue(&st);
    let engine = st.engine_with("desk", KeySource::Soft);
    engine.send(Command::Enroll {
        user_id: people[0].user_id.clone(),
    });
    engine.send(Command::InsertSoftKey);
    let mut log = Log::default();
    let issued = log.until(&engine, "the key issued", |e| match e {
        Event::Finished { issued, .. } => Some(issued.clone()),
        Event::Problem(p) if p.code == "key-refused" => panic!("refused: {p:?}"),
        Event::Failed { error, .. } => panic!("{error:?}"),
        _ => None,
    });
    assert_eq!(issued.upn, people[0].upn);
    assert_eq!(st.tenant.registrations(&people[0].user_id).len(), 1);
}

/// A station with real keys (here the UDP slot, empty) takes no software key from a command:
/// no key appears, none is removed; the key actually plugged in is seen as usual.
#[test]
fn a_device_station_ignores_the_soft_key_commands() {
    let st = Station::new(plain_tenant(2), RULES);
    let people = queue(&st);
    let engine = st.engine("desk");
    engine.send(Command::Enroll {
        user_id: people[0].user_id.clone(),
    });
    engine.send(Command::RemoveSoftKey);
    engine.send(Command::InsertSoftKey);
    let until = std::time::Instant::now() + Duration::from_secs(3);
    let mut seen = Vec::new();
    while let Some(e) =
        engine.recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
    {
        seen.push(e);
    }
    assert!(
        !seen.iter().any(|e| matches!(
            e,
            Event::KeyInserted(_) | Event::KeyRemoved | Event::PinNeeded { .. }
        )),
        "{seen:#?}"
    );

    st.insert_key(55_000_004);
    let mut log = Log::default();
    let inserted = log.until(&engine, "the plugged-in key", |e| match e {
        Event::KeyInserted(k) => Some(k.clone()),
        _ => None,
    });
    assert_eq!(inserted.serial.as_deref(), Some("55000004"));
}
