//! Software key, getAssertion / getNextAssertion with raw request bytes (CTAP 2.1 §6.2, §6.3):
//! silent probes (`up: false`) as the exclude-list pre-flight sends them, signatures checked
//! with the public key from the attestation, credProtect, the signature counter, token
//! permissions, discoverable credentials, hmac-secret.
#![cfg(feature = "soft")]

mod soft_support;

use ciborium::value::Value;
use ctap::cbor::{self, int, text};
use ctap::pin::PinProtocol::{self, V1, V2};
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy};
use sha2::{Digest, Sha256};
use soft_support::*;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const ED: u8 = 0x80;
const PIN: &str = "123456";

/// makeCredential on `key`; returns the credential id and its COSE public key.
fn make(key: &SoftAuthenticator, req: Mc) -> (Vec<u8>, Value) {
    let (status, reply) = req.send(key);
    assert_eq!(status, OK);
    let ad = parse_auth_data(cbor::expect_bytes(get(&reply.unwrap(), 2), "authData").unwrap());
    (ad.credential_id, ad.public_key)
}

/// A token for makeCredential on a PIN-protected key.
fn mc(key: &SoftAuthenticator, user: &[u8]) -> Mc {
    let t = token(key, V2, PIN, Some(MC), Some(RP)).unwrap();
    Mc::new(RP, user).with_token(V2, &t)
}

fn ga_token(key: &SoftAuthenticator) -> Vec<u8> {
    token(key, V2, PIN, Some(GA), Some(RP)).unwrap()
}

fn ok(reply: (u8, Option<Value>)) -> Assertion {
    assert_eq!(reply.0, OK, "getAssertion status");
    parse_assertion(&reply.1.unwrap())
}

fn random_id(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut id = vec![0u8; len];
    rand::rngs::OsRng.fill_bytes(&mut id);
    id
}

#[test]
fn a_silent_probe_finds_the_credential_without_a_touch_and_signs_verifiably() {
    let key = new_key(SoftConfig::default());
    let (id, public_key) = make(&key, Mc::new(RP, b"user-1"));
    // Nobody touches: a silent probe must not need it.
    key.touch().set(TouchPolicy::Deny);
    let touches = key.touch().requests();
    let probe = Ga::silent(RP, &[&random_id(50), &id, &random_id(16)]);
    let presence = Recorder::default();
    let a = ok(probe.send_with(&key, &presence));
    assert_eq!(key.touch().requests(), touches, "no touch requested");
    assert!(!presence.saw_up_needed(), "no UPNEEDED keepalive");
    assert_eq!(a.credential_id, id);
    assert_eq!(a.rp_id_hash, Sha256::digest(RP.as_bytes()).to_vec());
    assert_eq!(a.flags, 0, "neither UP nor UV: {:#04x}", a.flags);
    assert_eq!(a.sign_count, 2, "makeCredential used 1");
    assert!(
        a.user.is_none(),
        "a non-discoverable credential has no user"
    );
    assert!(a.number_of_credentials.is_none());
    a.verify(&public_key, &probe.client_data_hash);

    // The signature covers clientDataHash: another hash does not verify with the old one.
    let mut other = Ga::silent(RP, &[&id]);
    other.client_data_hash = [7u8; 32];
    let b = ok(other.send(&key));
    b.verify(&public_key, &[7u8; 32]);
    let tampered = std::panic::catch_unwind(|| b.verify(&public_key, &probe.client_data_hash));
    assert!(
        tampered.is_err(),
        "a signature over another hash must not verify"
    );
}

#[test]
fn unknown_ids_give_no_credentials_without_a_touch() {
    let key = new_key(SoftConfig::default());
    let (id, _) = make(&key, Mc::new(RP, b"user-1"));
    let other_key = new_key(SoftConfig::default());
    let (foreign, _) = make(&other_key, Mc::new(RP, b"user-1"));
    let touches = key.touch().requests();
    for ids in [
        vec![random_id(50)],
        vec![random_id(16), random_id(64), random_id(200)],
        vec![foreign.clone()],
    ] {
        let refs: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
        assert_eq!(Ga::silent(RP, &refs).send(&key).0, NO_CREDENTIALS);
        // With up = true as well: nothing to touch for.
        let mut ga = Ga::silent(RP, &refs);
        ga.up = None;
        assert_eq!(ga.send(&key).0, NO_CREDENTIALS);
    }
    // Our id, but for another RP.
    assert_eq!(
        Ga::silent("evil.example", &[&id]).send(&key).0,
        NO_CREDENTIALS
    );
    // No allowList and no discoverable credential.
    let mut none = Ga::new(RP);
    none.up = Some(false);
    assert_eq!(none.send(&key).0, NO_CREDENTIALS);
    assert_eq!(
        key.touch().requests(),
        touches,
        "NO_CREDENTIALS costs no touch"
    );
}

#[test]
fn cred_protect_3_hides_the_credential_without_uv() {
    let key = key_with_pin(PIN);
    let mut req = mc(&key, b"user-3");
    req.rk = true;
    req.extensions = vec![(text("credProtect"), int(3))];
    let (id, public_key) = make(&key, req);

    // Without UV: neither by id nor discoverable.
    assert_eq!(Ga::silent(RP, &[&id]).send(&key).0, NO_CREDENTIALS);
    let mut discover = Ga::new(RP);
    discover.up = Some(false);
    assert_eq!(discover.send(&key).0, NO_CREDENTIALS);

    // With a ga token (UV): found, UV set, the user in full.
    let t = ga_token(&key);
    let probe = Ga::silent(RP, &[&id]).with_token(V2, &t);
    let a = ok(probe.send(&key));
    assert_eq!(a.credential_id, id);
    assert_eq!(a.flags, UV);
    a.verify(&public_key, &probe.client_data_hash);
    let user = a.user.unwrap();
    assert_eq!(cbor::map_get_text(&user, "id"), Some(&bytes(b"user-3")));
    assert_eq!(
        cbor::map_get_text(&user, "name"),
        Some(&text("ada@contoso.com"))
    );
    // A silent assertion leaves the token usable (CTAP 2.1 §6.2.2 step 9 is skipped).
    let mut discover = Ga::new(RP).with_token(V2, &t);
    discover.up = Some(false);
    let b = ok(discover.send(&key));
    assert_eq!(b.credential_id, id);
}

#[test]
fn cred_protect_2_needs_the_id_or_uv() {
    let key = key_with_pin(PIN);
    let mut req = mc(&key, b"user-2");
    req.rk = true;
    req.extensions = vec![(text("credProtect"), int(2))];
    let (id, _) = make(&key, req);
    assert_eq!(ok(Ga::silent(RP, &[&id]).send(&key)).credential_id, id);
    let mut discover = Ga::new(RP);
    discover.up = Some(false);
    assert_eq!(discover.send(&key).0, NO_CREDENTIALS);
    let a = ok(discover.with_token(V2, &ga_token(&key)).send(&key));
    assert_eq!(a.credential_id, id);
    assert_eq!(a.flags, UV);
}

#[test]
fn the_signature_counter_increases_and_is_persisted() {
    let path = std::env::temp_dir().join(format!(
        "soft-key-ga-{}-{:?}.json",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    let config = SoftConfig {
        state_file: Some(path.clone()),
        ..SoftConfig::default()
    };
    let (id, last) = {
        let key = new_key(config.clone());
        let (id, _) = make(&key, Mc::new(RP, b"u"));
        let first = ok(Ga::silent(RP, &[&id]).send(&key)).sign_count;
        let second = ok(Ga::silent(RP, &[&id]).send(&key)).sign_count;
        let mut touched = Ga::silent(RP, &[&id]);
        touched.up = Some(true);
        let third = ok(touched.send(&key)).sign_count;
        assert!(first < second && second < third, "{first} {second} {third}");
        (id, third)
    };
    let key = new_key(config);
    let after = ok(Ga::silent(RP, &[&id]).send(&key)).sign_count;
    assert!(
        after > last,
        "the counter survives a restart: {after} <= {last}"
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn with_up_a_touch_is_collected_and_the_token_used_up() {
    let key = key_with_pin(PIN);
    let (id, public_key) = make(&key, mc(&key, b"u"));
    let t = ga_token(&key);
    let mut ga = Ga::new(RP).with_token(V2, &t);
    ga.allow = vec![id.clone()];
    let touches = key.touch().requests();
    let a = ok(ga.send(&key));
    assert_eq!(key.touch().requests(), touches + 1);
    assert_eq!(a.flags, UP | UV);
    a.verify(&public_key, &ga.client_data_hash);
    assert_eq!(
        ga.send(&key).0,
        PIN_AUTH_INVALID,
        "the ga permission is used up by an assertion with UP"
    );

    // Without a token: UP only; a refused touch is OPERATION_DENIED.
    let mut plain = Ga::new(RP);
    plain.allow = vec![id.clone()];
    assert_eq!(ok(plain.send(&key)).flags, UP);
    key.touch().set(TouchPolicy::Deny);
    assert_eq!(plain.send(&key).0, OPERATION_DENIED);
}

#[test]
fn token_and_request_checks() {
    let key = key_with_pin(PIN);
    let (id, _) = make(&key, mc(&key, b"u"));
    // A token without ga, or bound to another RP, is refused.
    let mc_only = token(&key, V2, PIN, Some(MC), Some(RP)).unwrap();
    assert_eq!(
        Ga::silent(RP, &[&id]).with_token(V2, &mc_only).send(&key).0,
        PIN_AUTH_INVALID
    );
    let elsewhere = token(&key, V2, PIN, Some(GA), Some("evil.example")).unwrap();
    assert_eq!(
        Ga::silent(RP, &[&id])
            .with_token(V2, &elsewhere)
            .send(&key)
            .0,
        PIN_AUTH_INVALID
    );
    // A token under protocol 1 verifies only as protocol 1.
    let v1 = token(&key, V1, PIN, Some(GA), Some(RP)).unwrap();
    assert_eq!(
        Ga::silent(RP, &[&id]).with_token(V2, &v1).send(&key).0,
        PIN_AUTH_INVALID
    );
    assert_eq!(
        ok(Ga::silent(RP, &[&id]).with_token(V1, &v1).send(&key)).flags,
        UV
    );
    // The legacy getPinToken grants ga too (CTAP 2.1 §6.5.5.7.1).
    let legacy = token(&key, V2, PIN, None, None).unwrap();
    assert_eq!(
        ok(Ga::silent(RP, &[&id]).with_token(V2, &legacy).send(&key)).flags,
        UV
    );

    // A zero-length pinUvAuthParam: touch, then PIN_INVALID (a PIN is set).
    let mut probe = Ga::silent(RP, &[&id]).params();
    if let Value::Map(m) = &mut probe {
        m.push((int(6), bytes(&[])));
        m.push((int(7), int(2)));
    }
    let touches = key.touch().requests();
    assert_eq!(call(&key, 0x02, Some(probe)).0, PIN_INVALID);
    assert_eq!(key.touch().requests(), touches + 1);

    // Options: no built-in UV, rk is not a getAssertion option.
    let mut uv = Ga::silent(RP, &[&id]);
    uv.uv_option = Some(true);
    assert_eq!(uv.send(&key).0, INVALID_OPTION);
    let mut rk = Ga::silent(RP, &[&id]).params();
    if let Value::Map(m) = &mut rk {
        m.retain(|(k, _)| k != &int(5));
        m.push((int(5), map(vec![(text("rk"), Value::Bool(false))])));
    }
    assert_eq!(call(&key, 0x02, Some(rk)).0, UNSUPPORTED_OPTION);

    // Required parameters, list limit, empty body.
    let no_rp = map(vec![(int(2), bytes(&[0u8; 32]))]);
    assert_eq!(call(&key, 0x02, Some(no_rp)).0, MISSING_PARAMETER);
    let no_hash = map(vec![(int(1), text(RP))]);
    assert_eq!(call(&key, 0x02, Some(no_hash)).0, MISSING_PARAMETER);
    assert_eq!(call(&key, 0x02, None).0, MISSING_PARAMETER);
    let nine: Vec<Vec<u8>> = (0..9).map(|_| random_id(50)).collect();
    let refs: Vec<&[u8]> = nine.iter().map(Vec::as_slice).collect();
    assert_eq!(Ga::silent(RP, &refs).send(&key).0, LIMIT_EXCEEDED);
    // Unknown extensions are ignored.
    let mut ext = Ga::silent(RP, &[&id]);
    ext.extensions = vec![(text("largeBlobKey"), Value::Bool(true))];
    assert_eq!(ok(ext.send(&key)).credential_id, id);
}

#[test]
fn discoverable_credentials_most_recent_first_then_get_next_assertion() {
    let key = key_with_pin(PIN);
    for user in [&b"alice"[..], b"bob", b"carol"] {
        let mut req = mc(&key, user);
        req.rk = true;
        make(&key, req);
    }
    let mut other_rp = mc(&key, b"dave");
    other_rp.rp_id = "other.example".into();
    other_rp.auth = Some((
        V2,
        token(&key, V2, PIN, Some(MC), Some("other.example")).unwrap(),
    ));
    other_rp.rk = true;
    make(&key, other_rp);
    // bob again: replaces his credential, which becomes the most recent.
    let mut again = mc(&key, b"bob");
    again.rk = true;
    let (bob_id, bob_key) = make(&key, again);

    let ga = Ga::new(RP);
    let first = ok(ga.send(&key));
    assert_eq!(first.number_of_credentials, Some(3));
    assert_eq!(first.credential_id, bob_id);
    assert_eq!(first.flags, UP);
    first.verify(&bob_key, &ga.client_data_hash);
    let user_id = |a: &Assertion| {
        let user = a.user.as_ref().unwrap();
        assert!(
            cbor::map_get_text(user, "name").is_none(),
            "no name without UV"
        );
        cbor::expect_bytes(cbor::map_get_text(user, "id").unwrap(), "id")
            .unwrap()
            .to_vec()
    };
    assert_eq!(user_id(&first), b"bob");
    let touches = key.touch().requests();
    let mut users = vec![];
    let mut counts = vec![first.sign_count];
    for _ in 0..2 {
        let next = ok(call(&key, 0x08, None));
        assert!(next.number_of_credentials.is_none());
        assert_eq!(next.flags, UP, "the flags of the getAssertion");
        users.push(user_id(&next));
        counts.push(next.sign_count);
    }
    assert_eq!(users, [b"carol".to_vec(), b"alice".to_vec()]);
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    assert_eq!(
        key.touch().requests(),
        touches,
        "getNextAssertion needs no touch"
    );
    assert_eq!(
        call(&key, 0x08, None).0,
        NOT_ALLOWED,
        "all three were given"
    );

    // Any other command in between ends the sequence; a single match starts none.
    assert_eq!(ok(ga.send(&key)).number_of_credentials, Some(3));
    get_info(&key);
    assert_eq!(call(&key, 0x08, None).0, NOT_ALLOWED);
    assert_eq!(ok(ga.send(&key)).number_of_credentials, Some(3));
    key.power_cycle();
    assert_eq!(call(&key, 0x08, None).0, NOT_ALLOWED);
    let mut one = Ga::new("other.example");
    one.up = Some(false);
    let single = ok(one.send(&key));
    assert!(single.number_of_credentials.is_none());
    assert_eq!(user_id(&single), b"dave");
    assert_eq!(call(&key, 0x08, None).0, NOT_ALLOWED);
}

/// The hmac-secret input for `salts` under `proto`, and the shared secret to read the output.
fn hmac_secret_input(
    key: &SoftAuthenticator,
    proto: PinProtocol,
    salts: &[u8],
) -> (Value, ctap::pin::SharedSecret) {
    let (ka, shared) = agree(key, proto);
    let salt_enc = proto.encrypt(&shared, salts).unwrap();
    let salt_auth = proto.authenticate(shared.as_bytes(), &salt_enc);
    let input = map(vec![
        (int(1), ka),
        (int(2), bytes(&salt_enc)),
        (int(3), bytes(&salt_auth)),
        (int(4), int(proto.number().into())),
    ]);
    (input, shared)
}

fn hmac_output(key: &SoftAuthenticator, ga: &mut Ga, proto: PinProtocol, salts: &[u8]) -> Vec<u8> {
    let (input, shared) = hmac_secret_input(key, proto, salts);
    ga.extensions = vec![(text("hmac-secret"), input)];
    let a = ok(ga.send(key));
    assert_ne!(a.flags & ED, 0);
    let enc = cbor::map_get_text(a.extensions.as_ref().unwrap(), "hmac-secret").unwrap();
    let out = proto
        .decrypt(&shared, cbor::expect_bytes(enc, "hmac-secret").unwrap())
        .unwrap();
    out.to_vec()
}

#[test]
fn hmac_secret_outputs_are_per_credential_salt_and_uv() {
    let key = key_with_pin(PIN);
    let mut req = mc(&key, b"u");
    req.extensions = vec![(text("hmac-secret"), Value::Bool(true))];
    let (id, _) = make(&key, req);
    let (s1, s2) = ([1u8; 32], [2u8; 32]);
    let mut ga = Ga::new(RP);
    ga.allow = vec![id.clone()];

    let one = hmac_output(&key, &mut ga, V2, &s1);
    assert_eq!(one.len(), 32);
    assert_eq!(
        one,
        hmac_output(&key, &mut ga, V1, &s1),
        "same under both protocols"
    );
    let both = hmac_output(&key, &mut ga, V2, &[s1, s2].concat());
    assert_eq!(both.len(), 64);
    assert_eq!(both[..32], one[..]);
    assert_ne!(both[32..], one[..]);
    let mut verified = Ga::new(RP).with_token(V2, &ga_token(&key));
    verified.allow = vec![id.clone()];
    assert_ne!(
        hmac_output(&key, &mut verified, V2, &s1),
        one,
        "CredRandom differs with UV"
    );

    // hmac-secret needs user presence; a bad saltAuth or salt length is refused.
    let (input, _) = hmac_secret_input(&key, V2, &s1);
    let mut silent = Ga::silent(RP, &[&id]);
    silent.extensions = vec![(text("hmac-secret"), input)];
    assert_eq!(silent.send(&key).0, UNSUPPORTED_OPTION);
    let (mut input, _) = hmac_secret_input(&key, V2, &s1);
    if let Value::Map(m) = &mut input {
        m[2].1 = bytes(&[0u8; 32]);
    }
    ga.extensions = vec![(text("hmac-secret"), input)];
    assert_eq!(ga.send(&key).0, PIN_AUTH_INVALID);
    let (input, _) = hmac_secret_input(&key, V2, &[0u8; 48]);
    ga.extensions = vec![(text("hmac-secret"), input)];
    assert_eq!(ga.send(&key).0, INVALID_PARAMETER);

    // A credential made without hmac-secret gives no output.
    let (plain, _) = make(&key, mc(&key, b"v"));
    let (input, _) = hmac_secret_input(&key, V2, &s1);
    let mut ga = Ga::new(RP);
    ga.allow = vec![plain];
    ga.extensions = vec![(text("hmac-secret"), input)];
    let a = ok(ga.send(&key));
    assert_eq!(a.flags & ED, 0);
    assert!(a.extensions.is_none());
}

#[test]
fn a_credential_of_another_key_is_never_used() {
    // Even with a discoverable credential for the same RP and user on this key.
    let a = new_key(SoftConfig::default());
    let b = new_key(SoftConfig::default());
    let mut req = Mc::new(RP, b"same-user");
    req.rk = true;
    let (id_a, _) = make(&a, req);
    let mut req = Mc::new(RP, b"same-user");
    req.rk = true;
    let (id_b, key_b) = make(&b, req);
    assert_eq!(Ga::silent(RP, &[&id_a]).send(&b).0, NO_CREDENTIALS);
    let probe = Ga::silent(RP, &[&id_a, &id_b]);
    let found = ok(probe.send(&b));
    assert_eq!(found.credential_id, id_b);
    found.verify(&key_b, &probe.client_data_hash);
}
