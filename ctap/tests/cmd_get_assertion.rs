//! Request encoding of authenticatorGetAssertion (CTAP 2.1 §6.2) as the exclude-list
//! pre-flight sends it: a silent probe (`up: false`), with or without a pinUvAuthParam.

use ciborium::Value;
use ctap::cbor::{from_slice, int, map_get_int};
use ctap::commands::client_pin::PinToken;
use ctap::commands::get_assertion::GetAssertionRequest;
use ctap::commands::Command;
use ctap::pin::PinProtocol;
use sha2::{Digest, Sha256};

/// Made once with python-fido2 2.2.1 (`fido2.ctap2.base.args` + `fido2.cbor.encode`, as
/// `Ctap2.get_assertion` sends it), token = bytes(range(32)):
/// {1: "login.microsoft.com", 2: SHA-256('{"type":"webauthn.create"}'),
/// 3: [{id: 16×0x11, type}, {id: 50×0x22, type}], 5: {up: false},
/// 6: PinProtocolV2().authenticate(token, clientDataHash), 7: 2}.
const PROBE_V2: &str = "02a601736c6f67696e2e6d6963726f736f66742e636f6d025820d5d16f5b6496d8f4dcebe7cd74a91361ebd613f32d0f83370beff944065ea35c0382a2626964501111111111111111111111111111111164747970656a7075626c69632d6b6579a26269645832222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222264747970656a7075626c69632d6b657905a1627570f40658200a39fcfba36ead3d187b940ac4a30d31a6bbc229966a4f7dcde345619a895a1b0702";

/// The same with PinProtocolV1 (pinUvAuthParam: the first 16 bytes of the HMAC), 7: 1.
const PROBE_V1: &str = "02a601736c6f67696e2e6d6963726f736f66742e636f6d025820d5d16f5b6496d8f4dcebe7cd74a91361ebd613f32d0f83370beff944065ea35c0382a2626964501111111111111111111111111111111164747970656a7075626c69632d6b6579a26269645832222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222264747970656a7075626c69632d6b657905a1627570f406500a39fcfba36ead3d187b940ac4a30d310701";

/// The same without a token: keys 0x06 and 0x07 absent.
const PROBE_PLAIN: &str = "02a401736c6f67696e2e6d6963726f736f66742e636f6d025820d5d16f5b6496d8f4dcebe7cd74a91361ebd613f32d0f83370beff944065ea35c0382a2626964501111111111111111111111111111111164747970656a7075626c69632d6b6579a26269645832222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222222264747970656a7075626c69632d6b657905a1627570f4";

fn probe() -> GetAssertionRequest {
    GetAssertionRequest {
        rp_id: "login.microsoft.com".into(),
        client_data_hash: Sha256::digest(br#"{"type":"webauthn.create"}"#).into(),
        allow_list: vec![vec![0x11; 16], vec![0x22; 50]],
        user_presence: false,
        pin_uv_auth: None,
    }
}

#[test]
fn a_silent_probe_without_a_token_matches_python_fido2() {
    assert_eq!(hex::encode(probe().to_request()), PROBE_PLAIN);
}

#[test]
fn an_authorised_probe_matches_python_fido2_under_both_protocols() {
    for (protocol, expected) in [(PinProtocol::V2, PROBE_V2), (PinProtocol::V1, PROBE_V1)] {
        let token = PinToken::new(protocol, (0..32).collect());
        let mut req = probe();
        req.authorize(&token);
        assert_eq!(hex::encode(req.to_request()), expected, "{protocol:?}");

        // 0x06 pinUvAuthParam = authenticate(token, clientDataHash), 0x07 its protocol.
        let v = from_slice(&req.to_request()[1..]).unwrap();
        let param = map_get_int(&v, 6).unwrap().as_bytes().unwrap();
        assert!(protocol.verify(token.as_bytes(), &req.client_data_hash, param));
        assert_eq!(map_get_int(&v, 7), Some(&int(i64::from(protocol.number()))));
        assert_eq!(
            map_get_int(&v, 5),
            Some(&Value::Map(vec![(
                Value::Text("up".into()),
                Value::Bool(false)
            )]))
        );
    }
}
