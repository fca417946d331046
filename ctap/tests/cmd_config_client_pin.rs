//! Request encodings of authenticatorConfig (CTAP 2.1 §6.11) and clientPIN (CTAP 2.1 §6.5.5).

use ctap::cbor::{from_slice, map_get_int, to_canonical_vec};
use ctap::commands::client_pin::{
    self, check_new_pin, decode_client_pin_response, decrypt_token, Permissions, PinToken,
};
use ctap::commands::config::{ConfigRequest, SetMinPinLength};
use ctap::commands::reset::Reset;
use ctap::commands::Command;
use ctap::pin::{PinProtocol, SharedSecret};
use ctap::Error;
use p256::SecretKey;

/// Made once with python-fido2 2.2.1's canonical encoder (`fido2.cbor.encode`), token =
/// bytes(range(32)), protocol 2; pinUvAuthParam = HMAC-SHA-256(token, 32×0xff || 0x0d ||
/// 0x03 || cbor({1: 8, 2: ["login.microsoft.com"], 3: true})).
const SET_MIN_PIN_LENGTH: &str = "0da4010302a301080281736c6f67696e2e6d6963726f736f66742e636f6d03f50302045820747e670d2b10c8e87bb99c9f0c7a3fe08283a9e50203c52c71bb6ee91097e149";

#[test]
fn set_min_pin_length_request_matches_python_fido2() {
    let token = PinToken::new(PinProtocol::V2, (0..32).collect());
    let params = SetMinPinLength {
        new_min_pin_length: Some(8),
        rp_ids: vec!["login.microsoft.com".into()],
        force_change_pin: true,
    };
    let req = ConfigRequest::set_min_pin_length(&params, &token);
    assert_eq!(hex::encode(req.to_request()), SET_MIN_PIN_LENGTH);
}

#[test]
fn simple_requests() {
    assert_eq!(Reset.to_request(), [0x07]);
    assert_eq!(
        hex::encode(client_pin::get_key_agreement(PinProtocol::V2).to_request()),
        "06a201020202"
    );
    assert_eq!(
        hex::encode(client_pin::get_pin_retries(None).to_request()),
        "06a10201"
    );
    assert_eq!(
        Permissions::MAKE_CREDENTIAL | Permissions::AUTHENTICATOR_CONFIG,
        Permissions(0x21)
    );
    assert!(Permissions(0x21).contains(Permissions::AUTHENTICATOR_CONFIG));
}

#[test]
fn set_pin_and_token_requests_carry_the_right_fields() {
    let shared = SharedSecret::new(vec![5; 64]);
    let platform = SecretKey::from_slice(&[0x22; 32]).unwrap().public_key();
    let req = client_pin::set_pin(PinProtocol::V2, &shared, platform, "1234", 4).unwrap();
    let v = from_slice(&req.to_request()[1..]).unwrap();
    let enc = map_get_int(&v, 5).unwrap().as_bytes().unwrap().clone();
    assert_eq!(enc.len(), 16 + 64, "IV + 64-byte padded PIN");
    let padded = PinProtocol::V2.decrypt(&shared, &enc).unwrap();
    assert_eq!(&padded[..4], b"1234");
    assert!(padded[4..].iter().all(|&b| b == 0));
    let auth = map_get_int(&v, 4).unwrap().as_bytes().unwrap();
    assert!(PinProtocol::V2.verify(shared.as_bytes(), &enc, auth));
    assert!(map_get_int(&v, 3).is_some(), "keyAgreement");
    assert!(!format!("{req:?}").contains("1234"));

    let req = client_pin::get_pin_uv_auth_token_using_pin_with_permissions(
        PinProtocol::V2,
        &shared,
        platform,
        "1234",
        Permissions::MAKE_CREDENTIAL,
        Some("login.microsoft.com"),
    )
    .unwrap();
    let v = from_slice(&req.to_request()[1..]).unwrap();
    assert_eq!(map_get_int(&v, 2), Some(&ctap::cbor::int(9)));
    assert_eq!(map_get_int(&v, 9), Some(&ctap::cbor::int(1)));
    assert_eq!(
        map_get_int(&v, 0x0A),
        Some(&ctap::cbor::text("login.microsoft.com"))
    );
    let hash_enc = map_get_int(&v, 6).unwrap().as_bytes().unwrap();
    let hash = PinProtocol::V2.decrypt(&shared, hash_enc).unwrap();
    assert_eq!(
        hex::encode(&*hash),
        "03ac674216f3e15c761ee1a5e255f067",
        "LEFT(SHA-256(\"1234\"), 16)"
    );
    assert!(
        client_pin::get_pin_uv_auth_token_using_pin_with_permissions(
            PinProtocol::V2,
            &shared,
            platform,
            "1234",
            Permissions(0),
            None
        )
        .is_err()
    );
    assert!(
        client_pin::get_pin_uv_auth_token_using_pin_with_permissions(
            PinProtocol::V2,
            &shared,
            platform,
            "1234",
            Permissions::MAKE_CREDENTIAL,
            None
        )
        .is_err(),
        "mc needs an RP id"
    );
}

#[test]
fn pin_rules() {
    assert!(check_new_pin("1234", 4).is_ok());
    assert!(check_new_pin("123", 4).is_err());
    assert!(check_new_pin("12345", 6).is_err());
    assert!(check_new_pin(&"1".repeat(63), 4).is_ok());
    assert!(check_new_pin(&"1".repeat(64), 4).is_err());
    assert!(check_new_pin("12\u{0}34", 4).is_err());
    assert!(
        check_new_pin("😀😀😀😀", 4).is_ok(),
        "4 code points, 16 bytes"
    );
    match check_new_pin("1", 4) {
        Err(Error::PinRules(t)) => assert!(t.contains("at least 4")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn token_decryption_checks_lengths() {
    let shared = SharedSecret::new(vec![9; 32]);
    let mut r = decode_client_pin_response(&[]).unwrap();
    assert!(
        decrypt_token(PinProtocol::V1, &shared, &r).is_err(),
        "no token"
    );
    r.pin_uv_auth_token_enc = Some(PinProtocol::V1.encrypt(&shared, &[1; 48]).unwrap());
    assert!(
        decrypt_token(PinProtocol::V1, &shared, &r).is_err(),
        "48-byte token"
    );
    r.pin_uv_auth_token_enc = Some(PinProtocol::V1.encrypt(&shared, &[1; 16]).unwrap());
    let t = decrypt_token(PinProtocol::V1, &shared, &r).unwrap();
    assert_eq!(t.as_bytes(), [1; 16]);
    assert_eq!(format!("{t:?}"), "PinToken(V1, ***)");
}

#[test]
fn client_pin_response_decoding() {
    use ciborium::Value;
    let v = Value::Map(vec![
        (ctap::cbor::int(3), ctap::cbor::int(5)),
        (ctap::cbor::int(4), Value::Bool(true)),
    ]);
    let r = decode_client_pin_response(&to_canonical_vec(&v)).unwrap();
    assert_eq!(r.pin_retries, Some(5));
    assert_eq!(r.power_cycle_state, Some(true));
    let bad = Value::Map(vec![(ctap::cbor::int(3), ctap::cbor::text("five"))]);
    assert!(decode_client_pin_response(&to_canonical_vec(&bad)).is_err());
    let bad_key = Value::Map(vec![(ctap::cbor::int(1), ctap::cbor::int(1))]);
    assert!(decode_client_pin_response(&to_canonical_vec(&bad_key)).is_err());
}
