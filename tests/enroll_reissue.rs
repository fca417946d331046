//! A returned key: the station refuses to issue a key it already issued (it still holds the
//! first person's passkey and PIN); after a factory reset through the engine it issues it.

mod enroll_support;

use std::time::Duration;

use enroll_support::{soft_key, Station};
use graph::fake::FakeConfig;
use passkey_kiosk::engine::api::{Command, Event};
use passkey_kiosk::store::Journal;

#[test]
fn an_issued_key_is_refused_until_reset() {
    let st = Station::new(
        FakeConfig {
            users: 2,
            mixed_members: false,
            extra_groups: Vec::new(),
            existing_methods_every_nth: None,
            ..FakeConfig::default()
        },
        r#","useRandomPIN":true"#,
    );
    st.prefetch();
    let queue = Journal::open(&st.journal).unwrap().queue().unwrap();
    let key = soft_key(44_000_001);
    st.slot.insert(Some(key.clone()));
    let (status, out) = st.enroll(&["--user", &queue[0].upn], &[], |_| {});
    assert!(status.success(), "{out}");

    // Returned and plugged in again (the reset window restarts on power-up).
    key.power_cycle();
    let engine = st.engine("desk");
    engine.send(Command::Enroll {
        user_id: queue[1].user_id.clone(),
    });
    let mut reset_sent = false;
    let issued = loop {
        match engine.recv_timeout(Duration::from_secs(60)).expect("event") {
            Event::Problem(e) if e.code == "key-refused" => {
                assert!(
                    e.message
                        .contains(&format!("already issued to {}", queue[0].upn)),
                    "{e:?}"
                );
                assert!(!reset_sent);
                engine.send(Command::ResetKey);
                reset_sent = true;
            }
            Event::Finished { issued, .. } => break issued,
            Event::Failed { error, .. } => panic!("{error:?}"),
            _ => {}
        }
    };
    assert!(reset_sent);
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
