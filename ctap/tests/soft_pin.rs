//! Software key, clientPIN and authenticatorConfig end to end with raw request bytes
//! (CTAP 2.1 §6.5, §6.11): PIN set/change, retries and blocking, tokens and permissions,
//! minPINLength and forcePINChange.
#![cfg(feature = "soft")]

mod soft_support;

use std::time::Duration;

use ciborium::value::Value;
use ctap::cbor::{int, text, to_canonical_vec};
use ctap::pin::PinProtocol::{self, V1, V2};
use ctap::soft::{SoftAuthenticator, SoftConfig};
use soft_support::*;

/// authenticatorConfig setMinPINLength with an acfg token (CTAP 2.1 §6.11.4).
fn set_min_pin_length(
    key: &SoftAuthenticator,
    auth: Option<(PinProtocol, &[u8])>,
    new_min: Option<u8>,
    rp_ids: &[&str],
    force: bool,
) -> u8 {
    let mut sub = vec![];
    if let Some(n) = new_min {
        sub.push((int(1), int(n.into())));
    }
    if !rp_ids.is_empty() {
        sub.push((
            int(2),
            Value::Array(rp_ids.iter().map(|r| text(r)).collect()),
        ));
    }
    if force {
        sub.push((int(3), Value::Bool(true)));
    }
    let sub = map(sub);
    let mut params = vec![(int(1), int(3)), (int(2), sub.clone())];
    if let Some((proto, token)) = auth {
        let mut msg = vec![0xFF; 32];
        msg.extend_from_slice(&[0x0D, 0x03]);
        msg.extend_from_slice(&to_canonical_vec(&sub));
        params.push((int(3), int(proto.number().into())));
        params.push((int(4), bytes(&proto.authenticate(token, &msg))));
    }
    call(key, 0x0D, Some(map(params))).0
}

#[test]
fn set_pin_then_tokens_with_both_protocols() {
    let key = new_key(SoftConfig::default());
    assert_eq!(info_option(&key, "clientPin"), Some(false));
    // No PIN yet: tokens are refused with PIN_NOT_SET.
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_NOT_SET)
    );
    assert_eq!(set_pin(&key, V1, "123456"), OK);
    assert_eq!(info_option(&key, "clientPin"), Some(true));
    assert_eq!(pin_retries(&key), (8, false));
    for proto in [V1, V2] {
        let t = token(&key, proto, "123456", Some(MC | GA), Some(RP)).unwrap();
        assert_eq!(t.len(), 32);
        let legacy = token(&key, proto, "123456", None, None).unwrap();
        assert_eq!(legacy.len(), 32);
        assert_ne!(t, legacy, "each token request issues a new token");
    }
    // A PIN can be set only once (CTAP 2.1 §6.5.5.5).
    assert_eq!(set_pin(&key, V2, "654321"), NOT_ALLOWED);
}

#[test]
fn set_pin_enforces_length_policy() {
    let key = new_key(SoftConfig::default());
    assert_eq!(set_pin(&key, V2, "123"), PIN_POLICY_VIOLATION);
    // 64 bytes: no terminating zero fits, so the PIN is ≥ 64 bytes.
    assert_eq!(set_pin_padded(&key, V2, &[b'7'; 64]), PIN_POLICY_VIOLATION);
    // Exactly 63 bytes is the longest allowed.
    assert_eq!(set_pin(&key, V2, &"7".repeat(63)), OK);

    let strict = new_key(SoftConfig {
        min_pin_length: 6,
        ..SoftConfig::default()
    });
    assert_eq!(set_pin(&strict, V2, "12345"), PIN_POLICY_VIOLATION);
    // Code points, not bytes: "ééééé" is 10 bytes but 5 code points.
    assert_eq!(set_pin(&strict, V2, "ééééé"), PIN_POLICY_VIOLATION);
    assert_eq!(set_pin(&strict, V2, "123456"), OK);
}

#[test]
fn set_pin_with_a_bad_pin_uv_auth_param_is_rejected() {
    let key = new_key(SoftConfig::default());
    let (ka, shared) = agree(&key, V2);
    let enc = V2.encrypt(&shared, &padded(b"123456")).unwrap();
    let status = call(
        &key,
        0x06,
        Some(map(vec![
            (int(1), int(2)),
            (int(2), int(3)),
            (int(3), ka),
            (int(4), bytes(&[0u8; 32])),
            (int(5), bytes(&enc)),
        ])),
    )
    .0;
    assert_eq!(status, PIN_AUTH_INVALID);
    assert_eq!(info_option(&key, "clientPin"), Some(false));
}

#[test]
fn wrong_pins_block_until_power_cycle_then_for_good() {
    let key = key_with_pin("123456");
    // A correct PIN gives the spent retry back.
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(pin_retries(&key), (7, false));
    token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
    assert_eq!(pin_retries(&key), (8, false));

    // Three wrong in a row: PIN_AUTH_BLOCKED, even for the right PIN, until re-plugged.
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(
        token(&key, V1, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_AUTH_BLOCKED)
    );
    assert_eq!(pin_retries(&key), (5, true));
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_AUTH_BLOCKED)
    );
    assert_eq!(change_pin(&key, V2, "123456", "234567"), PIN_AUTH_BLOCKED);
    assert_eq!(
        pin_retries(&key),
        (5, true),
        "blocked attempts spend no retries"
    );

    key.power_cycle();
    assert_eq!(pin_retries(&key), (5, false));
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_AUTH_BLOCKED)
    );
    assert_eq!(pin_retries(&key), (2, true));
    key.power_cycle();
    assert_eq!(
        token(&key, V2, "000000", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    assert_eq!(change_pin(&key, V2, "000000", "234567"), PIN_BLOCKED);
    assert_eq!(pin_retries(&key).0, 0);
    // Blocked for good: the right PIN and a power cycle do not help.
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_BLOCKED)
    );
    key.power_cycle();
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_BLOCKED)
    );
}

#[test]
fn change_pin_checks_the_old_pin_and_the_policy() {
    let key = key_with_pin("123456");
    assert_eq!(change_pin(&key, V2, "999999", "234567"), PIN_INVALID);
    assert_eq!(change_pin(&key, V1, "123456", "12"), PIN_POLICY_VIOLATION);
    assert_eq!(change_pin(&key, V1, "123456", "234567"), OK);
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_INVALID)
    );
    token(&key, V2, "234567", Some(MC), Some(RP)).unwrap();
    assert_eq!(pin_retries(&key), (8, false));
}

#[test]
fn permissions_are_validated() {
    let key = key_with_pin("123456");
    assert_eq!(
        token(&key, V2, "123456", Some(0), Some(RP)),
        Err(INVALID_PARAMETER)
    );
    assert_eq!(
        token(&key, V2, "123456", Some(0x40), Some(RP)),
        Err(UNAUTHORIZED_PERMISSION)
    );
    // Every permission the brief lists: mc ga cm be lbw acfg.
    token(&key, V2, "123456", Some(0x3F), Some(RP)).unwrap();
}

#[test]
fn force_change_pin_blocks_tokens_until_the_pin_changes() {
    let key = key_with_pin("123456");
    let acfg = token(&key, V2, "123456", Some(ACFG), None).unwrap();
    assert_eq!(
        set_min_pin_length(&key, Some((V2, &acfg)), None, &[], true),
        OK
    );
    let info = get_info(&key);
    assert_eq!(
        get(&info, 0x0C),
        &Value::Bool(true),
        "getInfo forcePINChange"
    );
    // CTAP 2.1 §6.5.5.7: the right PIN still gets PIN_POLICY_VIOLATION.
    assert_eq!(
        token(&key, V2, "123456", Some(MC), Some(RP)),
        Err(PIN_POLICY_VIOLATION)
    );
    assert_eq!(
        token(&key, V1, "123456", None, None),
        Err(PIN_POLICY_VIOLATION)
    );
    assert_eq!(
        pin_retries(&key),
        (8, false),
        "a correct PIN is not a failed attempt"
    );
    // The forced change must change the PIN.
    assert_eq!(
        change_pin(&key, V2, "123456", "123456"),
        PIN_POLICY_VIOLATION
    );
    assert_eq!(change_pin(&key, V2, "123456", "246810"), OK);
    assert_eq!(get(&get_info(&key), 0x0C), &Value::Bool(false));
    token(&key, V2, "246810", Some(MC), Some(RP)).unwrap();
}

#[test]
fn min_pin_length_can_only_grow_and_forces_a_change_when_the_pin_is_too_short() {
    let key = key_with_pin("1234");
    let acfg = token(&key, V2, "1234", Some(ACFG), None).unwrap();
    assert_eq!(
        set_min_pin_length(&key, Some((V2, &acfg)), Some(6), &[RP], false),
        OK
    );
    let info = get_info(&key);
    assert_eq!(get(&info, 0x0D), &int(6));
    // The 4-digit PIN is now too short: forcePINChange is set by the key itself.
    assert_eq!(get(&info, 0x0C), &Value::Bool(true));
    // Cannot decrease (the token is still valid: acfg is not consumed).
    assert_eq!(
        set_min_pin_length(&key, Some((V2, &acfg)), Some(5), &[], false),
        PIN_POLICY_VIOLATION
    );
    assert_eq!(change_pin(&key, V2, "1234", "12345"), PIN_POLICY_VIOLATION);
    assert_eq!(change_pin(&key, V2, "1234", "123456"), OK);
}

#[test]
fn authenticator_config_needs_an_acfg_token_once_a_pin_is_set() {
    let fresh = new_key(SoftConfig::default());
    // Without a PIN the key is not protected: no token needed; forcing a change needs a PIN.
    assert_eq!(set_min_pin_length(&fresh, None, Some(8), &[], false), OK);
    assert_eq!(
        set_min_pin_length(&fresh, None, None, &[], true),
        PIN_NOT_SET
    );

    let key = key_with_pin("123456");
    assert_eq!(
        set_min_pin_length(&key, None, Some(6), &[], false),
        PUAT_REQUIRED
    );
    let mc = token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
    assert_eq!(
        set_min_pin_length(&key, Some((V2, &mc)), Some(6), &[], false),
        PIN_AUTH_INVALID
    );
    let acfg = token(&key, V1, "123456", Some(ACFG), None).unwrap();
    assert_eq!(
        set_min_pin_length(&key, Some((V1, &acfg)), Some(6), &[], false),
        OK
    );
    // A stale token (replaced by a newer one) no longer works.
    token(&key, V1, "123456", Some(MC), Some(RP)).unwrap();
    assert_eq!(
        set_min_pin_length(&key, Some((V1, &acfg)), Some(7), &[], false),
        PIN_AUTH_INVALID
    );
}

#[test]
fn tokens_expire_when_unused_and_on_power_cycle() {
    let key = new_key(SoftConfig {
        token_timeout: Duration::from_millis(200),
        ..SoftConfig::default()
    });
    assert_eq!(set_pin(&key, V2, "123456"), OK);
    let t = token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        Mc::new(RP, b"u1").with_token(V2, &t).send(&key).0,
        PIN_AUTH_INVALID
    );

    let t = token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
    key.power_cycle();
    assert_eq!(
        Mc::new(RP, b"u1").with_token(V2, &t).send(&key).0,
        PIN_AUTH_INVALID
    );
}

#[test]
fn unsupported_config_sub_commands_are_refused() {
    let key = new_key(SoftConfig::default());
    // toggleAlwaysUv (0x02): no alwaysUv option on this key; 0x7F: unknown.
    for sub in [0x01, 0x02, 0x7F] {
        let (status, _) = call(&key, 0x0D, Some(map(vec![(int(1), int(sub))])));
        assert_eq!(status, INVALID_PARAMETER, "sub-command {sub:#x}");
    }
    // setMinPINLength without its parameter map.
    assert_eq!(call(&key, 0x0D, Some(map(vec![(int(1), int(3))]))).0, 0x14);
}
