//! The software key's CTAP 2.2 PIN settings: it announces maxPINLength and a PIN complexity
//! policy in getInfo and enforces both on setPIN and changePIN (PIN_POLICY_VIOLATION, no retry
//! spent), and the client reads them back and checks maxPINLength before sending.

mod soft_support;

use std::sync::{Arc, Mutex};

use ctap::authenticator::Authenticator;
use ctap::error::StatusCode;
use ctap::pin::PinProtocol::V2;
use ctap::soft::{PinComplexity, SoftConfig};
use soft_support::*;

fn policy_key() -> ctap::soft::SoftAuthenticator {
    new_key(SoftConfig {
        min_pin_length: 6,
        max_pin_length: Some(10),
        pin_complexity: Some(PinComplexity::pin_plus()),
        ..SoftConfig::default()
    })
}

#[test]
fn a_policy_key_announces_its_rules_and_a_plain_key_does_not() {
    let key = policy_key();
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let info = Authenticator::new(&mut ch).get_info().unwrap().clone();
    assert_eq!(info.pin_complexity_policy, Some(true));
    assert!(info.enforces_pin_complexity());
    assert_eq!(
        info.pin_complexity_policy_url.as_deref(),
        Some(&b"https://www.token2.com/pin-plus"[..])
    );
    assert_eq!(info.max_pin_length, Some(10));
    assert_eq!(info.min_pin_length_or_default(), 6);

    let plain = new_key(SoftConfig::default());
    let mut ch = ctap::hid::server::in_process(plain).unwrap();
    let info = Authenticator::new(&mut ch).get_info().unwrap().clone();
    assert_eq!(info.pin_complexity_policy, None);
    assert_eq!(info.max_pin_length, None);
}

#[test]
fn set_pin_refuses_what_the_policy_refuses_and_spends_no_retry() {
    let key = policy_key();
    for weak in ["123456", "111111", "321123", "990000"] {
        assert_eq!(set_pin(&key, V2, weak), PIN_POLICY_VIOLATION, "{weak}");
    }
    // Longer than maxPINLength (10), though within 63 bytes.
    assert_eq!(set_pin(&key, V2, "48021395716"), PIN_POLICY_VIOLATION);
    assert_eq!(
        info_option(&key, "clientPin"),
        Some(false),
        "no PIN was set"
    );
    assert_eq!(set_pin(&key, V2, "4802139571"), OK);
    assert_eq!(pin_retries(&key).0, 8);

    // changePIN: the current PIN is right, the new one breaks the policy.
    assert_eq!(
        change_pin(&key, V2, "4802139571", "654321"),
        PIN_POLICY_VIOLATION
    );
    assert_eq!(pin_retries(&key).0, 8, "a refused new PIN costs no retry");
    assert_eq!(change_pin(&key, V2, "4802139571", "905127"), OK);
}

#[test]
fn the_client_sees_the_refusal_and_checks_max_pin_length_itself() {
    let offered = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = Arc::clone(&offered);
    let key = new_key(SoftConfig {
        max_pin_length: Some(8),
        pin_complexity: Some(PinComplexity::custom("no sevens", move |pin| {
            seen.lock().unwrap().push(pin.to_owned());
            !pin.contains('7')
        })),
        ..SoftConfig::default()
    });
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let mut auth = Authenticator::new(&mut ch);
    match auth.set_pin("480217") {
        Err(e) => assert_eq!(e.status(), Some(StatusCode::PinPolicyViolation), "{e}"),
        Ok(()) => panic!("the policy should refuse it"),
    }
    match auth.set_pin("480213950") {
        Err(ctap::Error::PinRules(why)) => {
            assert!(why.contains("at most 8"), "{why}");
            assert!(!why.contains("480213950"), "no PIN in errors: {why}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        *offered.lock().unwrap(),
        ["480217"],
        "the over-long PIN never reached the key"
    );
    auth.set_pin("480213").unwrap();
    assert_eq!(key.pin_retries(), 8);
}
