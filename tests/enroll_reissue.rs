//! A returned key: the station refuses to issue a key it already issued (it still holds the
//! first person's passkey and PIN); after a factory reset through the engine it issues it.

mod kit;

use std::time::Duration;

use ctap::soft::TouchPolicy;
use kit::keys::set_pin;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event, Remedy};
use passkey_kiosk::store::Journal;

#[test]
fn an_issued_key_is_refused_until_reset() {
    let st = Station::new(plain_tenant(2), r#","useRandomPIN":true"#);
    st.prefetch();
    let queue = st.queue();
    let key = st.insert_key(44_000_001);
    let (status, out) = st.enroll(&["--user", &queue[0].upn], &[], |_| {});
    assert!(status.success(), "{out}");

    // Returned and plugged in again (the reset window restarts on power-up).
    key.power_cycle();
    let engine = st.engine("desk");
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    let mut reset_sent = false;
    let mut reset_touched = false;
    let issued = loop {
        match engine.recv_timeout(Duration::from_secs(60)).expect("event") {
            Event::Problem(e) if e.code == "key-refused" => {
                assert!(
                    e.message
                        .contains(&format!("already issued to {}", queue[0].upn)),
                    "{e:?}"
                );
                assert!(!reset_sent);
                // The reset waits for a touch (the engine says so), then it is given.
                key.touch().set(TouchPolicy::Never);
                engine.send(Command::ResetKey);
                reset_sent = true;
            }
            Event::ResetTouchNeeded => {
                assert!(reset_sent && !reset_touched);
                reset_touched = true;
                key.touch().set(TouchPolicy::Immediate);
            }
            Event::TouchNeeded { job } if !reset_touched => {
                panic!("the reset's touch was announced as job {job:?}'s")
            }
            Event::Finished { issued, .. } => break issued,
            Event::Failed { error, .. } => panic!("{error:?}"),
            _ => {}
        }
    };
    assert!(reset_sent && reset_touched);
    assert_eq!(issued.upn, queue[1].upn);
    assert_eq!(issued.serial.as_deref(), Some("44000001"));
    assert_eq!(
        key.resident_credentials().len(),
        1,
        "only the new passkey is on it"
    );
    assert_eq!(st.tenant.registrations(&queue[1].user_id).len(), 1);
    let log = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    assert!(log
        .iter()
        .any(|a| a.action == "reset-key" && a.result == "ok"));
}

/// A software key that reports no serial number, so the journal cannot recognise it.
fn key_without_serial() -> ctap::soft::SoftAuthenticator {
    ctap::soft::SoftAuthenticator::new(ctap::soft::SoftConfig {
        report_serial: false,
        ..ctap::soft::SoftConfig::default()
    })
    .unwrap()
}

/// Waits for the next event `pick` accepts, failing on a job failure it does not accept.
fn wait_for<T>(
    engine: &passkey_kiosk::engine::EngineHandle,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    loop {
        let event = engine.recv_timeout(Duration::from_secs(60)).expect("event");
        if let Some(t) = pick(&event) {
            return t;
        }
        if let Event::Failed { error, .. } = event {
            panic!("{error:?}");
        }
    }
}

#[test]
fn a_used_key_that_reports_no_serial_is_refused_for_someone_else_until_reset() {
    let st = Station::new(plain_tenant(2), r#","useRandomPIN":true"#);
    st.prefetch();
    let queue = st.queue();
    let key = key_without_serial();
    st.slot.insert(Some(key.clone()));
    let engine = st.engine("desk");

    // The first person gets it, with a random PIN.
    engine.send(Command::Enroll {
        user_id: queue[0].user_id.clone(),
    });
    let first = wait_for(&engine, |e| match e {
        Event::Finished { issued, .. } => Some(issued.clone()),
        _ => None,
    });
    assert_eq!(first.serial, None);
    let pin = first.pin.expect("random PIN").expose().to_owned();

    // Returned: taken out and put back; the operator types the PIN it was issued with.
    st.slot.insert(None);
    wait_for(&engine, |e| matches!(e, Event::KeyRemoved).then_some(()));
    key.power_cycle();
    st.slot.insert(Some(key.clone()));
    wait_for(&engine, |e| {
        matches!(e, Event::KeyInserted(_)).then_some(())
    });
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    let job = wait_for(&engine, |e| match e {
        Event::PinNeeded { job, .. } => Some(*job),
        _ => None,
    });
    engine.send(Command::ProvidePin {
        job,
        pin: passkey_kiosk::engine::api::Pin::new(pin.as_str()),
    });
    let refusal = loop {
        match engine.recv_timeout(Duration::from_secs(60)).expect("event") {
            Event::Failed { error, .. } => break error,
            Event::Finished { issued, .. } => panic!("issued to someone else: {issued:?}"),
            _ => {}
        }
    };
    assert_eq!(refusal.code, "key-in-use", "{refusal:?}");
    assert!(
        refusal.message.contains("no serial")
            && refusal
                .message
                .contains("1 passkey (for login.microsoft.com)"),
        "{refusal:?}"
    );
    assert_eq!(refusal.remedy, Remedy::ResetKey, "{refusal:?}");
    assert!(!refusal.retry_possible);
    // Nothing was changed: the first person's passkey and PIN are as they were.
    assert_eq!(key.resident_credentials().len(), 1);
    assert!(kit::keys::pin_token_ok(&key, &pin));
    assert!(st.tenant.registrations(&queue[1].user_id).is_empty());

    // Reset through the engine (within the window after plugging in), then issued.
    key.power_cycle();
    loop {
        engine.send(Command::ResetKey);
        let reset = wait_for(&engine, |e| match e {
            Event::KeyReset => Some(true),
            // The failed job may not have handed the key back yet.
            Event::Problem(p) if p.code == "busy" => Some(false),
            _ => None,
        });
        if reset {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    let second = wait_for(&engine, |e| match e {
        Event::Finished { issued, .. } => Some(issued.clone()),
        _ => None,
    });
    assert_eq!(second.upn, queue[1].upn);
    let creds = key.resident_credentials();
    assert_eq!(creds.len(), 1, "only the new passkey is on it");
    assert_eq!(st.tenant.registrations(&queue[1].user_id).len(), 1);
    assert!(!kit::keys::pin_token_ok(&key, &pin), "the old PIN is gone");
}

#[test]
fn a_key_without_a_serial_whose_pin_was_set_elsewhere_but_holds_no_passkey_is_issued() {
    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    let queue = st.queue();
    let key = key_without_serial();
    set_pin(&key, "905127");
    st.slot.insert(Some(key.clone()));
    let engine = st.engine("desk");
    engine.send(Command::Enroll {
        user_id: queue[0].user_id.clone(),
    });
    // A wrong PIN costs an attempt and is asked again; the check then finds no passkey.
    let mut answers = ["111111", "905127"].into_iter();
    let issued = loop {
        match engine.recv_timeout(Duration::from_secs(60)).expect("event") {
            Event::PinNeeded { job, request } => {
                let pin = answers.next().expect("asked too often");
                if pin == "905127" {
                    assert_eq!(
                        request,
                        passkey_kiosk::engine::api::PinRequest::Current {
                            retries_left: Some(7),
                            after_wrong: true
                        }
                    );
                }
                engine.send(Command::ProvidePin {
                    job,
                    pin: passkey_kiosk::engine::api::Pin::new(pin),
                });
            }
            Event::Finished { issued, .. } => break issued,
            Event::Failed { error, .. } => panic!("{error:?}"),
            _ => {}
        }
    };
    assert_eq!(issued.upn, queue[0].upn);
    assert_eq!(answers.next(), None);
    assert_eq!(key.resident_credentials().len(), 1);
}
