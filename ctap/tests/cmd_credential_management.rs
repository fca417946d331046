//! authenticatorCredentialManagement (CTAP 2.1 §6.8): request bytes and reply decoding
//! against byte vectors, then the read path against the software key (feature `soft`):
//! counts and RPs, the prototype command, and the checks a key makes on the token.

use ctap::commands::client_pin::PinToken;
use ctap::commands::credential_management::{
    auth_message, CredMgmtSubCommand, CredMgmtVersion, CredentialManagementRequest,
};
use ctap::commands::Command;
use ctap::pin::PinProtocol;
use ctap::Error;

/// A fixed pinUvAuthToken: 32 × 0x11.
fn token(protocol: PinProtocol) -> PinToken {
    PinToken::new(protocol, vec![0x11; 32])
}

// HMAC-SHA-256(32 × 0x11, 0x01) and (…, 0x02), computed independently (Python hmac).
const HMAC_01: &str = "c4ede064b5f2a51225b2175e5b84fb73f9cec689ac3d912ac4878f7ebeab0149";
const HMAC_02: &str = "ed50b271f4852277c8218e209858d8bd32a3228a9e4fb6b5a16fb9b4755c53bc";

#[test]
fn get_creds_metadata_request_bytes() {
    // CTAP 2.1 §6.8.2: {1: 0x01 getCredsMetadata, 3: protocol, 4: authenticate(token, 0x01)}.
    let req = CredentialManagementRequest::get_creds_metadata(
        CredMgmtVersion::Standard,
        &token(PinProtocol::V2),
    );
    assert_eq!(
        hex::encode(req.to_request()),
        format!("0aa301010302045820{HMAC_01}")
    );
    // Protocol one: the first 16 bytes of the HMAC.
    let req = CredentialManagementRequest::get_creds_metadata(
        CredMgmtVersion::Standard,
        &token(PinProtocol::V1),
    );
    assert_eq!(
        hex::encode(req.to_request()),
        format!("0aa3010103010450{}", &HMAC_01[..32])
    );
}

#[test]
fn enumerate_rps_request_bytes_and_the_prototype_command() {
    // CTAP 2.1 §6.8.3: begin is authorised over 0x02, getNextRP carries no auth.
    let req = CredentialManagementRequest::enumerate_rps_begin(
        CredMgmtVersion::Standard,
        &token(PinProtocol::V2),
    );
    assert_eq!(
        hex::encode(req.to_request()),
        format!("0aa301020302045820{HMAC_02}")
    );
    let next = CredentialManagementRequest::enumerate_rps_get_next_rp(CredMgmtVersion::Standard);
    assert_eq!(hex::encode(next.to_request()), "0aa10103");
    // The same messages under the prototype command byte (credentialMgmtPreview).
    let next = CredentialManagementRequest::enumerate_rps_get_next_rp(CredMgmtVersion::Preview);
    assert_eq!(hex::encode(next.to_request()), "41a10103");
    let req = CredentialManagementRequest::get_creds_metadata(
        CredMgmtVersion::Preview,
        &token(PinProtocol::V2),
    );
    assert_eq!(hex::encode(&req.to_request()[..1]), "41");
    assert_eq!(
        auth_message(CredMgmtSubCommand::EnumerateRpsBegin, None),
        [0x02]
    );
}

#[test]
fn replies_decode_and_malformed_ones_are_refused() {
    // {1: 2, 2: 23}: two credentials, room for 23 more.
    let meta = CredentialManagementRequest::decode(&hex::decode("a201020217").unwrap()).unwrap();
    assert_eq!(meta.existing_resident_credentials_count, Some(2));
    assert_eq!(
        meta.max_possible_remaining_resident_credentials_count,
        Some(23)
    );
    assert_eq!(meta.rp_id, None);
    // {3: {"id": "example.com"}, 4: SHA-256("example.com"), 5: 2}.
    let hash = "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947";
    let begin = CredentialManagementRequest::decode(
        &hex::decode(format!(
            "a303a16269646b6578616d706c652e636f6d045820{hash}0502"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(begin.rp_id.as_deref(), Some("example.com"));
    assert_eq!(begin.rp_id_hash, Some(hex::decode(hash).unwrap()));
    assert_eq!(begin.total_rps, Some(2));
    for bad in [
        "",               // empty
        "80",             // not a map
        "a10120",         // count negative
        "a103a162696401", // rp.id not text
        "a10301",         // rp not a map
    ] {
        let r = CredentialManagementRequest::decode(&hex::decode(bad).unwrap());
        assert!(matches!(r, Err(Error::Malformed(_))), "{bad}: {r:?}");
    }
}

#[cfg(feature = "soft")]
mod soft {
    use super::*;
    use ctap::authenticator::Authenticator;
    use ctap::commands::client_pin::Permissions;
    use ctap::commands::transact;
    use ctap::error::StatusCode;
    use ctap::soft::{CredentialManagement, SoftAuthenticator, SoftConfig, TouchPolicy};
    use ctap::webauthn::CreationOptions;
    use ctap::{CancelToken, NoStatus};

    fn key(cm: CredentialManagement) -> SoftAuthenticator {
        let key = SoftAuthenticator::new(SoftConfig {
            credential_management: cm,
            ..SoftConfig::default()
        })
        .unwrap();
        key.touch().set(TouchPolicy::Immediate);
        key
    }

    fn options(rp_id: &str) -> CreationOptions {
        let mut o: CreationOptions =
            serde_json::from_str(include_str!("data/creation-options.json")).unwrap();
        o.rp.id = rp_id.to_owned();
        o
    }

    /// A key with PIN `pin` and one discoverable credential per RP in `rps`.
    fn key_with_passkeys(cm: CredentialManagement, pin: &str, rps: &[&str]) -> SoftAuthenticator {
        let key = key(cm);
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        let mut a = Authenticator::new(&mut ch);
        a.set_pin(pin).unwrap();
        for rp in rps {
            a.make_credential(&options(rp), Some(pin), &NoStatus, &CancelToken::new())
                .unwrap();
        }
        key
    }

    #[test]
    fn counts_and_rps_of_the_passkeys_on_a_key() {
        let key = key_with_passkeys(
            CredentialManagement::Standard,
            "482916",
            &["login.microsoft.com", "github.com", "example.com"],
        );
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        let mut a = Authenticator::new(&mut ch);
        assert_eq!(a.get_info().unwrap().option("credMgmt"), Some(true));
        let stored = a.stored_credentials("482916").unwrap();
        assert_eq!(stored.count, 3);
        assert_eq!(
            stored.rp_ids,
            ["login.microsoft.com", "github.com", "example.com"]
        );
        assert_eq!(key.resident_credentials().len(), 3, "nothing was changed");

        let empty = key_with_passkeys(CredentialManagement::Standard, "482916", &[]);
        let mut ch = ctap::hid::server::in_process(empty).unwrap();
        let stored = Authenticator::new(&mut ch)
            .stored_credentials("482916")
            .unwrap();
        assert_eq!((stored.count, stored.rp_ids.len()), (0, 0));
    }

    #[test]
    fn a_wrong_pin_is_pin_invalid_and_leaves_the_key_as_it_was() {
        let key = key_with_passkeys(CredentialManagement::Standard, "482916", &["github.com"]);
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        let mut a = Authenticator::new(&mut ch);
        match a.stored_credentials("000000") {
            Err(Error::PinInvalid { retries_left }) => assert_eq!(retries_left, Some(7)),
            other => panic!("{other:?}"),
        }
        assert_eq!(a.stored_credentials("482916").unwrap().count, 1);
    }

    #[test]
    fn a_preview_key_is_asked_with_the_prototype_and_a_key_without_is_unsupported() {
        let key = key_with_passkeys(
            CredentialManagement::Preview,
            "482916",
            &["login.microsoft.com"],
        );
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        let mut a = Authenticator::new(&mut ch);
        let info = a.get_info().unwrap().clone();
        assert_eq!(info.option("credMgmt"), None);
        assert_eq!(info.option("credentialMgmtPreview"), Some(true));
        let stored = a.stored_credentials("482916").unwrap();
        assert_eq!(stored.rp_ids, ["login.microsoft.com"]);
        // The preview key does not know 0x0A.
        let token = a
            .token("482916", Permissions::CREDENTIAL_MANAGEMENT, None)
            .unwrap();
        let standard =
            CredentialManagementRequest::get_creds_metadata(CredMgmtVersion::Standard, &token);
        let r = transact(a.channel(), &standard, &NoStatus, &CancelToken::new());
        assert_eq!(r.unwrap_err().status(), Some(StatusCode::InvalidCommand));

        let key = key_with_passkeys(CredentialManagement::Absent, "482916", &["github.com"]);
        let mut ch = ctap::hid::server::in_process(key).unwrap();
        assert!(matches!(
            Authenticator::new(&mut ch).stored_credentials("482916"),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn the_key_checks_the_token_permission_and_the_enumeration_order() {
        let key = key_with_passkeys(
            CredentialManagement::Standard,
            "482916",
            &["github.com", "login.microsoft.com"],
        );
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        let mut a = Authenticator::new(&mut ch);
        let send = |a: &mut Authenticator<'_>, r: &CredentialManagementRequest| {
            transact(a.channel(), r, &NoStatus, &CancelToken::new())
        };
        let status = |r: ctap::Result<_>| r.err().and_then(|e: Error| e.status());
        // Without the cm permission, or bound to an RP: PIN_AUTH_INVALID.
        let mc = a
            .token("482916", Permissions::MAKE_CREDENTIAL, Some("github.com"))
            .unwrap();
        let r = send(
            &mut a,
            &CredentialManagementRequest::get_creds_metadata(CredMgmtVersion::Standard, &mc),
        );
        assert_eq!(status(r), Some(StatusCode::PinAuthInvalid));
        let bound = a
            .token(
                "482916",
                Permissions::CREDENTIAL_MANAGEMENT,
                Some("github.com"),
            )
            .unwrap();
        let r = send(
            &mut a,
            &CredentialManagementRequest::enumerate_rps_begin(CredMgmtVersion::Standard, &bound),
        );
        assert_eq!(status(r), Some(StatusCode::PinAuthInvalid));
        // Without any pinUvAuthParam: PUAT_REQUIRED.
        let mut bare =
            CredentialManagementRequest::get_creds_metadata(CredMgmtVersion::Standard, &mc);
        bare.pin_uv_auth_param = None;
        bare.protocol = None;
        assert_eq!(status(send(&mut a, &bare)), Some(StatusCode::PuatRequired));
        // getNextRP only right after enumerateRPsBegin, and only while RPs are left.
        let next =
            CredentialManagementRequest::enumerate_rps_get_next_rp(CredMgmtVersion::Standard);
        assert_eq!(status(send(&mut a, &next)), Some(StatusCode::NotAllowed));
        let cm = a
            .token("482916", Permissions::CREDENTIAL_MANAGEMENT, None)
            .unwrap();
        let first = send(
            &mut a,
            &CredentialManagementRequest::enumerate_rps_begin(CredMgmtVersion::Standard, &cm),
        )
        .unwrap();
        assert_eq!(first.rp_id.as_deref(), Some("github.com"));
        assert_eq!(first.total_rps, Some(2));
        let second = send(&mut a, &next).unwrap();
        assert_eq!(second.rp_id.as_deref(), Some("login.microsoft.com"));
        assert_eq!(status(send(&mut a, &next)), Some(StatusCode::NotAllowed));
    }

    #[test]
    fn a_key_can_report_no_serial() {
        let key = SoftAuthenticator::new(SoftConfig {
            report_serial: false,
            ..SoftConfig::default()
        })
        .unwrap();
        let mut ch = ctap::hid::server::in_process(key).unwrap();
        assert_eq!(ctap::device::yubikey_serial(&mut ch).unwrap(), None);
        let key = SoftAuthenticator::new(SoftConfig::default()).unwrap();
        let mut ch = ctap::hid::server::in_process(key).unwrap();
        assert_eq!(
            ctap::device::yubikey_serial(&mut ch).unwrap(),
            Some(12_345_678)
        );
    }
}
