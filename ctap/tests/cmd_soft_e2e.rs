//! The high-level [`Authenticator`] against the software authenticator (feature `soft`):
//! the kiosk's whole per-key flow on a key implemented independently of this client.
#![cfg(feature = "soft")]

use ctap::authenticator::Authenticator;
use ctap::cbor::{from_slice, map_get_text, text};
use ctap::commands::client_pin::Permissions;
use ctap::pin::public_key_from_cose;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy, Unattended};
use ctap::webauthn::CreationOptions;
use ctap::{CancelToken, CtapChannel, Error, NoStatus, StatusSink};
use sha2::{Digest, Sha256};

struct SoftChannel(SoftAuthenticator);

impl CtapChannel for SoftChannel {
    fn cbor(
        &mut self,
        request: &[u8],
        _status: &dyn StatusSink,
        _cancel: &CancelToken,
    ) -> ctap::Result<Vec<u8>> {
        Ok(self.0.process(request, &Unattended))
    }
    fn vendor(&mut self, _cmd: u8, _data: &[u8]) -> ctap::Result<Vec<u8>> {
        Err(ctap::hid::HidError::InvalidCommand.into())
    }
    fn wink(&mut self) -> ctap::Result<()> {
        Ok(())
    }
    fn max_msg_size(&self) -> usize {
        7609
    }
}

fn soft_key() -> SoftChannel {
    let key = SoftAuthenticator::new(SoftConfig::default()).unwrap();
    key.touch().set(TouchPolicy::Immediate);
    SoftChannel(key)
}

fn fixture_options() -> CreationOptions {
    serde_json::from_str(include_str!("data/creation-options.json")).unwrap()
}

#[test]
fn enrollment_flow_on_the_soft_key() {
    let mut ch = soft_key();
    let mut a = Authenticator::new(&mut ch);
    let info = a.get_info().unwrap().clone();
    assert_eq!(info.option("clientPin"), Some(false));
    assert!(info.pin_uv_auth_protocols.contains(&2));

    a.set_pin("482916").unwrap();
    assert!(matches!(a.set_pin("482916"), Err(Error::PinAlreadySet)));
    let reg = a
        .make_credential(
            &fixture_options(),
            Some("482916"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(
        reg.auth_data.rp_id_hash,
        <[u8; 32]>::from(Sha256::digest(b"login.microsoft.com"))
    );
    assert!(reg.auth_data.flags.user_present() && reg.auth_data.flags.user_verified());
    let acd = reg.auth_data.attested_credential_data.as_ref().unwrap();
    assert_eq!(acd.credential_id, reg.credential_id);
    assert!(public_key_from_cose(&acd.public_key).is_ok());
    let ao = from_slice(&reg.attestation_object).unwrap();
    assert_eq!(map_get_text(&ao, "fmt"), Some(&text("packed")));
    assert!(map_get_text(&ao, "attStmt").is_some());

    // A wrong PIN reports the attempts left (getPINRetries after the failure).
    let e = a
        .token(
            "000000",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com"),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::PinInvalid {
                retries_left: Some(7)
            }
        ),
        "{e:?}"
    );
}

#[test]
fn hardening_then_forced_change_on_the_soft_key() {
    let mut ch = soft_key();
    let mut a = Authenticator::new(&mut ch);
    a.set_pin("482916").unwrap();
    assert_eq!(a.get_info().unwrap().option("setMinPINLength"), Some(true));
    a.set_min_pin_length("482916", Some(6), &[], true).unwrap();
    assert!(a.get_info().unwrap().force_pin_change);
    let e = a
        .token(
            "482916",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com"),
        )
        .unwrap_err();
    assert!(matches!(e, Error::ForcedPinChangePending), "{e:?}");
    a.change_pin("482916", "735102").unwrap();
    assert!(a
        .token(
            "735102",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com")
        )
        .is_ok());
}
