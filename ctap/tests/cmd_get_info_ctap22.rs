//! The CTAP 2.2 getInfo members the station reads for PIN rules: pinComplexityPolicy (0x1B),
//! pinComplexityPolicyURL (0x1C) and maxPINLength (0x1D); the other 2.2 members and unknown
//! keys are still skipped.

use ciborium::Value;
use ctap::cbor::{int, text, to_canonical_vec};
use ctap::commands::get_info::decode_info;
use ctap::Error;

/// A getInfo map shaped as a CTAP 2.2 key answers (versions, aaguid, options, minPINLength
/// and the 2.2 members up to 0x1F), with `extra` members added.
fn ctap22_info(extra: Vec<(Value, Value)>) -> Vec<u8> {
    let mut map = vec![
        (
            int(0x01),
            Value::Array(vec![text("FIDO_2_0"), text("FIDO_2_1"), text("FIDO_2_2")]),
        ),
        (int(0x03), Value::Bytes(vec![0x2f; 16])),
        (
            int(0x04),
            Value::Map(vec![
                (text("rk"), Value::Bool(true)),
                (text("clientPin"), Value::Bool(false)),
            ]),
        ),
        (int(0x0D), int(6)),
        // attestationFormats, uvCountSinceLastPinEntry, longTouchForReset, encIdentifier,
        // transportsForReset: CTAP 2.2 members the station does not use.
        (int(0x16), Value::Array(vec![text("packed"), text("none")])),
        (int(0x17), int(0)),
        (int(0x18), Value::Bool(false)),
        (int(0x19), Value::Bytes(vec![1; 32])),
        (int(0x1A), Value::Array(vec![text("usb")])),
        // encCredStoreState, authenticatorConfigCommands and a key from the future.
        (int(0x1E), Value::Bytes(vec![2; 16])),
        (int(0x1F), Value::Array(vec![int(1), int(3)])),
        (int(0x40), text("not yet specified")),
    ];
    map.extend(extra);
    to_canonical_vec(&Value::Map(map))
}

#[test]
fn pin_complexity_policy_url_and_max_pin_length_are_read() {
    let url = b"https://example.com/pin-policy".to_vec();
    let info = decode_info(&ctap22_info(vec![
        (int(0x1B), Value::Bool(true)),
        (int(0x1C), Value::Bytes(url.clone())),
        (int(0x1D), int(32)),
    ]))
    .unwrap();
    assert_eq!(info.pin_complexity_policy, Some(true));
    assert!(info.enforces_pin_complexity());
    assert_eq!(info.pin_complexity_policy_url, Some(url));
    assert_eq!(info.max_pin_length, Some(32));
    assert_eq!(info.min_pin_length_or_default(), 6);
    assert_eq!(info.versions.last().map(String::as_str), Some("FIDO_2_2"));
}

#[test]
fn a_policy_that_is_off_or_absent_is_not_enforced() {
    let off = decode_info(&ctap22_info(vec![(int(0x1B), Value::Bool(false))])).unwrap();
    assert_eq!(off.pin_complexity_policy, Some(false));
    assert!(!off.enforces_pin_complexity());
    let none = decode_info(&ctap22_info(Vec::new())).unwrap();
    assert_eq!(none.pin_complexity_policy, None);
    assert!(!none.enforces_pin_complexity());
    assert_eq!(none.max_pin_length, None);
    assert_eq!(none.pin_complexity_policy_url, None);
}

#[test]
fn mistyped_ctap22_members_are_malformed() {
    for (key, value) in [
        (0x1B, int(1)),
        (0x1C, text("https://example.com")),
        (0x1D, Value::Bool(true)),
        (0x1D, int(-1)),
    ] {
        match decode_info(&ctap22_info(vec![(int(key), value)])) {
            Err(Error::Malformed(why)) => {
                let name = match key {
                    0x1B => "pinComplexityPolicy",
                    0x1C => "pinComplexityPolicyURL",
                    _ => "maxPINLength",
                };
                assert!(why.contains(name), "{why}");
            }
            other => panic!("0x{key:02X}: {other:?}"),
        }
    }
}
