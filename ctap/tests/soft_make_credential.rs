//! Software key, makeCredential end to end with raw request bytes (CTAP 2.1 §6.1.2): PIN →
//! token → credential with packed attestation verified against its x5c certificate,
//! extensions, excludeList, resident credentials, permission consumption.
#![cfg(feature = "soft")]

mod soft_support;

use ciborium::value::Value;
use ctap::cbor::{self, int, text};
use ctap::pin::PinProtocol::{V1, V2};
use ctap::soft::{SoftAuthenticator, SoftConfig, TEST_AAGUID};
use sha2::{Digest, Sha256};
use soft_support::*;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

fn key_with_pin() -> SoftAuthenticator {
    let key = new_key(SoftConfig::default());
    assert_eq!(set_pin(&key, V2, "123456"), OK);
    key
}

fn mc_token(key: &SoftAuthenticator) -> Vec<u8> {
    token(key, V2, "123456", Some(MC), Some(RP)).unwrap()
}

#[test]
fn pin_token_make_credential_with_verified_packed_attestation() {
    let key = key_with_pin();
    // Allow the RP to read minPinLength (CTAP 2.1 §12.4).
    let acfg = token(&key, V1, "123456", Some(ACFG), None).unwrap();
    let sub = map(vec![(int(2), Value::Array(vec![text(RP)]))]);
    let mut msg = vec![0xFF; 32];
    msg.extend_from_slice(&[0x0D, 0x03]);
    msg.extend_from_slice(&cbor::to_canonical_vec(&sub));
    let (status, _) = call(
        &key,
        0x0D,
        Some(map(vec![
            (int(1), int(3)),
            (int(2), sub),
            (int(3), int(1)),
            (int(4), bytes(&V1.authenticate(&acfg, &msg))),
        ])),
    );
    assert_eq!(status, OK);

    let t = mc_token(&key);
    let mut req = Mc::new(RP, b"user-1").with_token(V2, &t);
    req.rk = true;
    req.algs = vec![-8, -7]; // EdDSA first: the key must pick ES256
    req.extensions = vec![
        (text("credProtect"), int(2)),
        (text("hmac-secret"), Value::Bool(true)),
        (text("minPinLength"), Value::Bool(true)),
    ];
    let touches = key.touch().requests();
    let (status, reply) = req.send(&key);
    assert_eq!(status, OK);
    assert_eq!(
        key.touch().requests(),
        touches + 1,
        "makeCredential collects a touch"
    );
    let reply = reply.unwrap();

    let cert = verify_packed(&reply, &req.client_data_hash);
    assert_eq!(cert, key.attestation_certificate());
    let ad = parse_auth_data(cbor::expect_bytes(get(&reply, 2), "authData").unwrap());
    assert_eq!(ad.rp_id_hash, Sha256::digest(RP.as_bytes()).to_vec());
    assert_eq!(ad.flags, UP | UV | AT | ED);
    assert_eq!(ad.sign_count, 1);
    assert_eq!(ad.aaguid, TEST_AAGUID.to_vec());
    // COSE ES256 key: kty EC2, alg -7, crv P-256, 32-byte coordinates.
    assert_eq!(cbor::map_get_int(&ad.public_key, 1), Some(&int(2)));
    assert_eq!(cbor::map_get_int(&ad.public_key, 3), Some(&int(-7)));
    assert_eq!(cbor::map_get_int(&ad.public_key, -1), Some(&int(1)));
    ctap::pin::public_key_from_cose(&ad.public_key).unwrap();
    let ext = ad.extensions.unwrap();
    assert_eq!(cbor::map_get_text(&ext, "credProtect"), Some(&int(2)));
    assert_eq!(
        cbor::map_get_text(&ext, "hmac-secret"),
        Some(&Value::Bool(true))
    );
    assert_eq!(cbor::map_get_text(&ext, "minPinLength"), Some(&int(4)));

    let stored = key.resident_credentials();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, ad.credential_id);
    assert_eq!(stored[0].user_id, b"user-1");
    assert_eq!(stored[0].cred_protect, 2);
    assert!(stored[0].hmac_secret);
    assert_eq!(
        get(&get_info(&key), 0x14),
        &int(24),
        "remainingDiscoverableCredentials"
    );

    // The mc permission was consumed: the same token cannot make a second credential.
    assert_eq!(
        Mc::new(RP, b"user-2").with_token(V2, &t).send(&key).0,
        PIN_AUTH_INVALID
    );
}

#[test]
fn a_pin_protected_key_requires_a_token() {
    let key = key_with_pin();
    assert_eq!(Mc::new(RP, b"u").send(&key).0, PUAT_REQUIRED);
    // A token bound to another RP, or without mc, is refused.
    let other = token(&key, V2, "123456", Some(MC), Some("evil.example")).unwrap();
    assert_eq!(
        Mc::new(RP, b"u").with_token(V2, &other).send(&key).0,
        PIN_AUTH_INVALID
    );
    let acfg = token(&key, V2, "123456", Some(ACFG), None).unwrap();
    assert_eq!(
        Mc::new(RP, b"u").with_token(V2, &acfg).send(&key).0,
        PIN_AUTH_INVALID
    );
    // mc/ga tokens need a permissions RP ID...
    assert_eq!(
        token(&key, V2, "123456", Some(MC), None),
        Err(INVALID_PARAMETER)
    );
    // ...except the legacy getPinToken one, which binds to the first RP it is used for.
    let unbound = token(&key, V2, "123456", None, None).unwrap();
    assert_eq!(Mc::new(RP, b"u").with_token(V2, &unbound).send(&key).0, OK);
    let legacy = token(&key, V2, "123456", None, None).unwrap();
    assert_eq!(Mc::new(RP, b"u").with_token(V2, &legacy).send(&key).0, OK);
    assert_eq!(
        Mc::new("other.example", b"u")
            .with_token(V2, &legacy)
            .send(&key)
            .0,
        PIN_AUTH_INVALID,
        "consumed and bound to the first RP"
    );
    // Wrong protocol for the token's MAC.
    let t = mc_token(&key);
    assert_eq!(
        Mc::new(RP, b"u").with_token(V1, &t).send(&key).0,
        PIN_AUTH_INVALID
    );
}

#[test]
fn without_a_pin_a_touch_is_enough_and_uv_is_not_claimed() {
    let key = new_key(SoftConfig::default());
    let req = Mc::new(RP, b"u");
    let (status, reply) = req.send(&key);
    assert_eq!(status, OK);
    let reply = reply.unwrap();
    verify_packed(&reply, &req.client_data_hash);
    let ad = parse_auth_data(cbor::expect_bytes(get(&reply, 2), "authData").unwrap());
    assert_eq!(ad.flags, UP | AT);
    assert!(ad.extensions.is_none());
    assert!(
        key.resident_credentials().is_empty(),
        "rk was not asked for"
    );
    // Built-in UV does not exist: "uv": true is an invalid option.
    let mut uv = Mc::new(RP, b"u");
    uv.uv_option = Some(true);
    assert_eq!(uv.send(&key).0, INVALID_OPTION);
}

#[test]
fn only_es256_is_supported() {
    let key = new_key(SoftConfig::default());
    let mut req = Mc::new(RP, b"u");
    req.algs = vec![-8, -257];
    assert_eq!(req.send(&key).0, UNSUPPORTED_ALGORITHM);
}

#[test]
fn exclude_list_hits_after_a_touch() {
    let key = new_key(SoftConfig::default());
    let (status, reply) = Mc::new(RP, b"u").send(&key);
    assert_eq!(status, OK);
    let id = parse_auth_data(cbor::expect_bytes(get(&reply.unwrap(), 2), "authData").unwrap())
        .credential_id;

    let mut again = Mc::new(RP, b"u");
    again.exclude = vec![vec![0xAB; 40], id.clone()];
    let touches = key.touch().requests();
    assert_eq!(again.send(&key).0, CREDENTIAL_EXCLUDED);
    assert_eq!(
        key.touch().requests(),
        touches + 1,
        "the exclusion waited for a touch"
    );
    // The same id means nothing to another RP, and foreign ids are ignored.
    let mut elsewhere = Mc::new("other.example", b"u");
    elsewhere.exclude = vec![id];
    assert_eq!(elsewhere.send(&key).0, OK);
    let mut foreign = Mc::new(RP, b"u");
    foreign.exclude = vec![vec![1; 50]];
    assert_eq!(foreign.send(&key).0, OK);
}

#[test]
fn uv_required_credentials_are_excluded_only_for_verified_requests() {
    let key = key_with_pin();
    let mut req = Mc::new(RP, b"u").with_token(V2, &mc_token(&key));
    req.extensions = vec![(text("credProtect"), int(3))];
    let (status, reply) = req.send(&key);
    assert_eq!(status, OK);
    let id = parse_auth_data(cbor::expect_bytes(get(&reply.unwrap(), 2), "authData").unwrap())
        .credential_id;
    let mut again = Mc::new(RP, b"u").with_token(V2, &mc_token(&key));
    again.exclude = vec![id];
    assert_eq!(again.send(&key).0, CREDENTIAL_EXCLUDED);
}

#[test]
fn a_resident_credential_for_the_same_user_is_replaced() {
    let key = new_key(SoftConfig::default());
    let mut ids = vec![];
    for user in [&b"alice"[..], b"alice", b"bob"] {
        let mut req = Mc::new(RP, user);
        req.rk = true;
        let (status, reply) = req.send(&key);
        assert_eq!(status, OK);
        let ad = parse_auth_data(cbor::expect_bytes(get(&reply.unwrap(), 2), "authData").unwrap());
        ids.push(ad.credential_id);
    }
    let stored = key.resident_credentials();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].user_id, b"alice");
    assert_eq!(
        stored[0].credential_id, ids[1],
        "the newer alice credential wins"
    );
    assert_eq!(stored[1].credential_id, ids[2]);
}

#[test]
fn the_key_store_fills_up() {
    let key = new_key(SoftConfig {
        max_resident_credentials: 2,
        ..SoftConfig::default()
    });
    for (i, expected) in [OK, OK, 0x28].into_iter().enumerate() {
        let mut req = Mc::new(RP, format!("user-{i}").as_bytes());
        req.rk = true;
        assert_eq!(req.send(&key).0, expected);
    }
    assert_eq!(get(&get_info(&key), 0x14), &int(0));
}

#[test]
fn malformed_requests_get_cbor_statuses() {
    let key = new_key(SoftConfig::default());
    let presence = Recorder::default();
    // Truncated CBOR.
    assert_eq!(key.process(&[0x01, 0xA1], &presence), vec![0x12]);
    // Missing clientDataHash.
    let req = Mc::new(RP, b"u").params();
    let Value::Map(mut entries) = req else {
        unreachable!()
    };
    entries.remove(0);
    assert_eq!(call(&key, 0x01, Some(map(entries))).0, 0x14);
    // Unknown command.
    assert_eq!(key.process(&[0x42], &presence), vec![0x01]);
}
