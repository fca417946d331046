//! Creation options → makeCredential (CTAP 2.1 §6.1) → registration, on the shared fixture
//! `tests/data/fido2-registration-fixture.json` (a copy of the shared contract's example)
//! whose options, decoded, are `tests/data/creation-options.json`.

use base64::Engine;
use ctap::commands::client_pin::PinToken;
use ctap::commands::get_info::Info;
use ctap::commands::make_credential::{decode_make_credential_response, AuthData, CredProtect};
use ctap::commands::Command;
use ctap::pin::PinProtocol;
use ctap::webauthn::{CreationOptions, Registration, ResidentKey, UserVerification};
use ctap::Error;

fn fixture() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fido2-registration-fixture.json"
    );
    let text = std::fs::read_to_string(path).expect("the shared Graph fixture is readable");
    serde_json::from_str(&text).unwrap()
}

fn b64url(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap()
}

fn info(extensions: &[&str]) -> Info {
    Info {
        versions: vec!["FIDO_2_1".into()],
        extensions: extensions.iter().map(|s| s.to_string()).collect(),
        options: [("rk", true), ("clientPin", true), ("pinUvAuthToken", true)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        pin_uv_auth_protocols: vec![2, 1],
        algorithms: vec![("public-key".into(), -7)],
        ..Default::default()
    }
}

fn options() -> CreationOptions {
    serde_json::from_str(include_str!("data/creation-options.json")).unwrap()
}

/// Expected request made independently with python-fido2 2.2.1's canonical CBOR encoder
/// (`fido2.cbor.encode`), token = bytes(range(32)), protocol 2:
/// {1: SHA-256(clientDataJSON), 2: rp, 3: user (id decoded), 4: [-7, -257], 5: 4 exclude ids
/// (the pad-digit id in both readings), 6: {credProtect: 1, hmac-secret: true}, 7: {rk: true},
/// 8: HMAC-SHA-256(token, clientDataHash), 9: 2}.
const EXPECTED_REQUEST: &str = "01a9015820ba177374a096bb9464b6d11117e714bbe4cf858e14ba32f1ceedd68dab5360b602a2626964736c6f67696e2e6d6963726f736f66742e636f6d646e616d65694d6963726f736f667403a362696458304f463ac7ee871979540b8093b9ac8a4884efe25c3b05b0898ce9ecfc7e8997826094a1fbdeaadda606ed33efb28037a5646e616d65781b6164656c652e76616e636540636f6e746f736f2e6578616d706c656b646973706c61794e616d656b4164656c652056616e63650482a263616c672664747970656a7075626c69632d6b6579a263616c6739010064747970656a7075626c69632d6b65790584a26269645830622768847fd6cc9fd4099ce27a283d2b77138d654a8d57377d5e802b84b2e676255579ddb80d9cdcb408fd49b593341364747970656a7075626c69632d6b6579a2626964582062ab15c07a3a503ee5cc457cc5136b7f3cf30983973d01ac42d7effe51a0c5a164747970656a7075626c69632d6b6579a2626964582162ab15c07a3a503ee5cc457cc5136b7f3cf30983973d01ac42d7effe51a0c5a13564747970656a7075626c69632d6b6579a2626964502fea6a0902f75363651588bc161c43c864747970656a7075626c69632d6b657906a26b6372656450726f74656374016b686d61632d736563726574f507a162726bf50858207326d8d11b0404f0a1ea962438f71b6d70a90065ae73db9a939c98b91951dc830902";

#[test]
fn fixture_options_become_the_expected_request_bytes() {
    let mut prepared = options()
        .prepare(&info(&["credProtect", "hmac-secret"]))
        .unwrap();
    let token = PinToken::new(PinProtocol::V2, (0..32).collect());
    prepared.request.authorize(&token);
    assert_eq!(hex::encode(prepared.request.to_request()), EXPECTED_REQUEST);
}

#[test]
fn client_data_json_matches_the_fixture_byte_for_byte() {
    let f = fixture();
    let prepared = options().prepare(&info(&[])).unwrap();
    let expected = b64url(
        f["postRequestBody"]["publicKeyCredential"]["response"]["clientDataJSON"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(prepared.client_data_json, expected);
}

#[test]
fn the_json_form_round_trips_and_defaults_follow_webauthn() {
    let o = options();
    assert_eq!(&o.user.id[..3], b"OF:");
    assert_eq!(o.exclude_credentials.len(), 4);
    let text = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<CreationOptions>(&text).unwrap(), o);
    // Only rp, user and challenge are required; the rest takes WebAuthn's defaults.
    let bare: CreationOptions = serde_json::from_value(serde_json::json!({
        "rp": {"id": "example.com"}, "user": {"id": "AQI"}, "challenge": "Y2g"
    }))
    .unwrap();
    assert_eq!(bare.user.id, [1, 2]);
    assert_eq!(bare.resident_key, ResidentKey::Discouraged);
    assert_eq!(bare.user_verification, UserVerification::Preferred);
    assert_eq!(bare.algorithms_or_default(), [-7, -257]);
    let p = bare.prepare(&info(&[])).unwrap();
    assert!(!p.request.resident_key && !p.user_verification_required);
    assert_eq!(p.request.algorithms, [-7, -257]);
    // The form is strict: it is ours, never a relying party's text.
    for bad in [
        serde_json::json!({"rp": {"id": "x"}, "user": {"id": "AQI="}, "challenge": "c"}),
        serde_json::json!({"rp": {"id": "x"}, "user": {"id": "AQI"}, "challenge": "c",
            "extensions": {"credentialProtectionPolicy": "bogus"}}),
        serde_json::json!({"rp": {"id": "x"}, "user": {"id": "AQI"}, "challenge": "c",
            "residentKey": "sometimes"}),
    ] {
        assert!(serde_json::from_value::<CreationOptions>(bad).is_err());
    }
}

#[test]
fn resident_key_preferred_follows_the_key_and_user_id_length_is_checked() {
    let mut o = options();
    o.resident_key = ResidentKey::Preferred;
    assert!(o.prepare(&info(&[])).unwrap().request.resident_key);
    let mut i = info(&[]);
    i.options.insert("rk".into(), false);
    assert!(!o.prepare(&i).unwrap().request.resident_key);
    o.resident_key = ResidentKey::Discouraged;
    assert!(!o.prepare(&info(&[])).unwrap().request.resident_key);
    for bad in [Vec::new(), vec![7u8; 65]] {
        o.user.id = bad;
        assert!(matches!(o.prepare(&info(&[])), Err(Error::InvalidInput(_))));
    }
}

#[test]
fn enforced_cred_protect_on_a_key_without_it_fails_before_the_key() {
    let mut o = options();
    o.extensions.credential_protection_policy = Some(CredProtect::UserVerificationRequired);
    o.extensions.enforce_credential_protection_policy = true;
    assert!(matches!(
        o.prepare(&info(&["hmac-secret"])),
        Err(Error::Unsupported(_))
    ));
    let p = o.prepare(&info(&["credProtect"])).unwrap();
    assert_eq!(
        p.enforced_cred_protect,
        Some(CredProtect::UserVerificationRequired)
    );
    assert_eq!(
        p.request.extensions.cred_protect,
        Some(CredProtect::UserVerificationRequired)
    );
    assert!(
        !p.request.extensions.hmac_secret,
        "hmac-secret is only asked of keys that list it"
    );
    // Not enforced: the extension is just left out.
    o.extensions.enforce_credential_protection_policy = false;
    let p = o.prepare(&info(&[])).unwrap();
    assert_eq!(p.request.extensions.cred_protect, None);
}

#[test]
fn key_without_rk_or_algorithms_is_refused() {
    let mut i = info(&[]);
    i.options.insert("rk".into(), false);
    assert!(matches!(options().prepare(&i), Err(Error::Unsupported(_))));
    let mut i = info(&[]);
    i.algorithms = vec![("public-key".into(), -8)];
    assert!(matches!(options().prepare(&i), Err(Error::Unsupported(_))));
}

/// The fixture's attestation object, re-keyed as the key sends it: {1: fmt, 2: authData, 3: attStmt}.
fn key_response_from_fixture() -> (Vec<u8>, Vec<u8>) {
    let f = fixture();
    let ao = b64url(
        f["postRequestBody"]["publicKeyCredential"]["response"]["attestationObject"]
            .as_str()
            .unwrap(),
    );
    let v = ctap::cbor::from_slice(&ao).unwrap();
    let get = |k: &str| ctap::cbor::map_get_text(&v, k).unwrap().clone();
    let resp = ciborium::Value::Map(vec![
        (ctap::cbor::int(1), get("fmt")),
        (ctap::cbor::int(2), get("authData")),
        (ctap::cbor::int(3), get("attStmt")),
    ]);
    (ctap::cbor::to_canonical_vec(&resp), ao)
}

#[test]
fn response_decodes_and_rebuilds_the_fixture_attestation_object() {
    let f = fixture();
    let (body, ao) = key_response_from_fixture();
    let r = decode_make_credential_response(&body).unwrap();
    assert_eq!(r.fmt, "none");
    assert_eq!(r.attestation_object(), ao);
    let ad = &r.auth_data;
    assert!(ad.flags.user_present() && ad.flags.user_verified());
    assert!(ad.flags.attested_credential_data() && ad.flags.extension_data());
    assert_eq!(ad.sign_count, 0);
    let acd = ad.attested_credential_data.as_ref().unwrap();
    assert_eq!(hex::encode(acd.aaguid), "ee882879721c491397753dfcce97072a");
    assert_eq!(
        hex::encode(&acd.credential_id),
        f["decoded"]["credentialIdHex"].as_str().unwrap()
    );
    assert!(ctap::pin::public_key_from_cose(&acd.public_key).is_ok());
    assert_eq!(ad.extension("credProtect"), Some(&ctap::cbor::int(1)));

    let prepared = options()
        .prepare(&info(&["credProtect", "hmac-secret"]))
        .unwrap();
    let reg = Registration::from_response(&prepared, &r).unwrap();
    assert_eq!(reg.attestation_object, ao);
    assert_eq!(reg.credential_id, acd.credential_id);
    assert_eq!(
        reg.client_extension_results,
        serde_json::json!({"hmacCreateSecret": true})
    );
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&reg.credential_id),
        f["postRequestBody"]["publicKeyCredential"]["id"]
            .as_str()
            .unwrap()
    );
}

#[test]
fn registration_checks_rp_id_hash_and_enforced_level() {
    let (body, _) = key_response_from_fixture();
    let r = decode_make_credential_response(&body).unwrap();
    let mut o = options();
    o.rp.id = "evil.example".into();
    let p = o.prepare(&info(&["credProtect"])).unwrap();
    assert!(Registration::from_response(&p, &r).is_err());

    let mut o = options();
    o.extensions.credential_protection_policy = Some(CredProtect::UserVerificationRequired);
    let p = o.prepare(&info(&["credProtect"])).unwrap();
    // The fixture key applied level 1 only.
    assert!(matches!(
        Registration::from_response(&p, &r),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn auth_data_rejects_truncation_and_trailing_bytes() {
    let (body, _) = key_response_from_fixture();
    let r = decode_make_credential_response(&body).unwrap();
    let raw = r.auth_data_raw;
    for cut in [0, 10, 36, 37, 50, 60, raw.len() - 1] {
        assert!(AuthData::parse(&raw[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = raw.clone();
    extra.push(0);
    assert!(AuthData::parse(&extra).is_err());
    // Without AT/ED: just the 37-byte header.
    let mut short = raw[..37].to_vec();
    short[32] = 0x01;
    let ad = AuthData::parse(&short).unwrap();
    assert!(ad.attested_credential_data.is_none() && ad.extensions.is_none());
}

#[test]
fn response_missing_fields_is_malformed() {
    let only_fmt = ctap::cbor::to_canonical_vec(&ciborium::Value::Map(vec![(
        ctap::cbor::int(1),
        ctap::cbor::text("none"),
    )]));
    assert!(matches!(
        decode_make_credential_response(&only_fmt),
        Err(Error::Malformed(_))
    ));
    assert!(decode_make_credential_response(&[]).is_err());
}
