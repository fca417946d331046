//! PIN/UV auth protocols one and two (CTAP 2.1 §6.5.6, §6.5.7) against fixed-key vectors.
//!
//! Vectors made once with python-fido2 2.2.1 + cryptography 48 (`fido2.ctap2.pin.PinProtocolV1/V2`):
//! authenticator key d = 0x11..11, platform ephemeral d = 0x22..22, PIN "123456" padded to 64 bytes.

use ctap::pin::{cose_public_key, public_key_from_cose, PinProtocol, SharedSecret};
use p256::SecretKey;

const AUTH_X: &str = "0217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed";
const AUTH_Y: &str = "194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794";
const PLAT_X: &str = "d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf3";
const Z: &str = "ccfc261f58193c98ca4ad4a53bbac6f0ee29bc4d48438090446908622ca79af6";
const V1_SECRET: &str = "98f5bf15dbc72627acd9a8ab61ce21349ea3496d79136adf08ad381cc9c0fa25";
const V1_ENC_PIN: &str = "21bd9ad27b3a06c2e6a3d79042b316c410af2f9dcf80d53de7963104032dc25d980634dfdeb654bb84a43b608b11eb59f75a9616a83aeabf8651230e23f92be3";
const V1_AUTH: &str = "95bd7a7f967bff71810392e7d411c010";
const V2_SECRET: &str = "abc3809533cb07b6ae481ea05b28ac708ffed9777147a09aabc8ab58e167ba0eaecad75245932defecf4cd0d93420fcd05d99403d09a49655fed76fa64c2cf82";
const V2_ENC_PIN: &str = "f945c1bd6ee65b75c2df9b8cc6ef7b924068a034baa2d6bdf6785176a3d9fafdf82bc8022ebe5083b3e8a01c6f49dc2ca8f8efea523ff82aeb6fe3bcdb7df4ca88f2d9d1341a1161a40991a6094df748";
const V2_AUTH: &str = "66d23c7e3235d510972cb447d6925c6058d13a2a62ffa4973881d07631507d51";
const V1_AUTH_TOKEN: &str = "416c5392b9f36df188e90eb14d17bf0d";
const V2_AUTH_TOKEN: &str = "416c5392b9f36df188e90eb14d17bf0da190bfdb7f1f4956e6e566a569c8b15c";

fn key(byte: u8) -> SecretKey {
    SecretKey::from_slice(&[byte; 32]).unwrap()
}

fn padded_pin() -> Vec<u8> {
    let mut p = b"123456".to_vec();
    p.resize(64, 0);
    p
}

#[test]
fn encapsulate_with_fixed_keys_matches_python_fido2() {
    let auth = key(0x11);
    let plat = key(0x22);
    let cose = cose_public_key(&auth.public_key());
    let enc = ctap::cbor::to_canonical_vec(&cose);
    // COSE_Key map: {1: 2, 3: -25, -1: 1, -2: x, -3: y}, canonical order.
    assert_eq!(hex::encode(&enc[..7]), "a5010203381820");
    assert!(hex::encode(&enc).contains(AUTH_X) && hex::encode(&enc).contains(AUTH_Y));
    let peer = public_key_from_cose(&cose).unwrap();

    let (ours, s1) = PinProtocol::V1
        .encapsulate_with(plat.clone(), &peer)
        .unwrap();
    assert!(hex::encode(ctap::cbor::to_canonical_vec(&cose_public_key(&ours))).contains(PLAT_X));
    assert_eq!(hex::encode(s1.as_bytes()), V1_SECRET);
    let (_, s2) = PinProtocol::V2
        .encapsulate_with(plat.clone(), &peer)
        .unwrap();
    assert_eq!(hex::encode(s2.as_bytes()), V2_SECRET);

    // The authenticator side derives the same secret.
    let back = PinProtocol::V2
        .decapsulate(&auth, &plat.public_key())
        .unwrap();
    assert_eq!(back, s2);
}

#[test]
fn random_encapsulation_agrees_with_the_authenticator_side() {
    // encapsulate() (ring) and decapsulate() (p256) are different implementations of the same
    // ECDH: both ends must derive the same secret, for both protocols.
    let auth = key(0x11);
    for protocol in [PinProtocol::V1, PinProtocol::V2] {
        let (platform, ours) = protocol.encapsulate(&auth.public_key()).unwrap();
        assert_eq!(protocol.decapsulate(&auth, &platform).unwrap(), ours);
        let (other, theirs) = protocol.encapsulate(&auth.public_key()).unwrap();
        assert_ne!(platform, other, "a fresh ephemeral key each time");
        assert_ne!(ours, theirs);
    }
}

#[test]
fn kdf_vectors() {
    let z = hex::decode(Z).unwrap();
    assert_eq!(hex::encode(PinProtocol::V1.kdf(&z).as_bytes()), V1_SECRET);
    // v2: HKDF-SHA-256(salt = 32 zero bytes), "CTAP2 HMAC key" || "CTAP2 AES key".
    assert_eq!(hex::encode(PinProtocol::V2.kdf(&z).as_bytes()), V2_SECRET);
}

#[test]
fn v1_encrypt_is_deterministic_and_matches() {
    let s = SharedSecret::new(hex::decode(V1_SECRET).unwrap());
    let ct = PinProtocol::V1.encrypt(&s, &padded_pin()).unwrap();
    assert_eq!(hex::encode(&ct), V1_ENC_PIN);
    assert_eq!(*PinProtocol::V1.decrypt(&s, &ct).unwrap(), padded_pin());
    assert_eq!(
        hex::encode(PinProtocol::V1.authenticate(s.as_bytes(), &ct)),
        V1_AUTH
    );
    assert!(PinProtocol::V1.verify(s.as_bytes(), &ct, &hex::decode(V1_AUTH).unwrap()));
}

#[test]
fn v2_decrypts_python_ciphertext_and_round_trips_with_random_iv() {
    let s = SharedSecret::new(hex::decode(V2_SECRET).unwrap());
    let py = hex::decode(V2_ENC_PIN).unwrap();
    assert_eq!(*PinProtocol::V2.decrypt(&s, &py).unwrap(), padded_pin());
    assert_eq!(
        hex::encode(PinProtocol::V2.authenticate(s.as_bytes(), &py)),
        V2_AUTH
    );
    let a = PinProtocol::V2.encrypt(&s, &padded_pin()).unwrap();
    let b = PinProtocol::V2.encrypt(&s, &padded_pin()).unwrap();
    assert_eq!(a.len(), 16 + 64);
    assert_ne!(a, b, "v2 uses a fresh IV each time");
    assert_eq!(*PinProtocol::V2.decrypt(&s, &a).unwrap(), padded_pin());
}

#[test]
fn authenticate_with_token_and_verify_rejects_tampering() {
    let token: Vec<u8> = (0..32).collect();
    let msg = [0u8; 32];
    assert_eq!(
        hex::encode(PinProtocol::V1.authenticate(&token, &msg)),
        V1_AUTH_TOKEN
    );
    assert_eq!(
        hex::encode(PinProtocol::V2.authenticate(&token, &msg)),
        V2_AUTH_TOKEN
    );
    let mut sig = hex::decode(V2_AUTH_TOKEN).unwrap();
    assert!(PinProtocol::V2.verify(&token, &msg, &sig));
    sig[31] ^= 1;
    assert!(!PinProtocol::V2.verify(&token, &msg, &sig));
    assert!(!PinProtocol::V2.verify(&token, &msg, &sig[..16]));
    assert!(!PinProtocol::V1.verify(&token, &msg, &hex::decode(V2_AUTH_TOKEN).unwrap()));
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let s1 = SharedSecret::new(vec![7; 32]);
    assert!(PinProtocol::V1.encrypt(&s1, &[0; 15]).is_err());
    assert!(PinProtocol::V1.decrypt(&s1, &[0; 17]).is_err());
    assert!(
        PinProtocol::V2.decrypt(&s1, &[0; 32]).is_err(),
        "v2 needs a 64-byte secret"
    );
    let s2 = SharedSecret::new(vec![7; 64]);
    assert!(PinProtocol::V2.decrypt(&s2, &[0; 8]).is_err());
    assert_eq!(format!("{s2:?}"), "SharedSecret(***)");
    assert_eq!(PinProtocol::from_number(2), Some(PinProtocol::V2));
    assert_eq!(PinProtocol::from_number(3), None);
    assert_eq!(PinProtocol::V1.number(), 1);
}

#[test]
fn cose_key_rejects_wrong_curve_and_off_curve_points() {
    let mut cose = cose_public_key(&key(0x11).public_key());
    if let ciborium::Value::Map(m) = &mut cose {
        for (k, v) in m.iter_mut() {
            if *k == ctap::cbor::int(-3) {
                *v = ciborium::Value::Bytes(vec![1; 32]);
            }
        }
    }
    assert!(public_key_from_cose(&cose).is_err());
    assert!(public_key_from_cose(&ciborium::Value::Null).is_err());
}
