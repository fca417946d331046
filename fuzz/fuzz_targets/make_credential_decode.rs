//! Fuzz the authenticatorMakeCredential response decoder (CTAP 2.1 §6.1) and the
//! authenticator data parser (WebAuthn L2 §6.1).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = ctap::commands::make_credential::decode_make_credential_response(data) {
        let ao = r.attestation_object();
        ctap::cbor::from_slice(&ao).expect("attestation object is valid CBOR");
    }
    let _ = ctap::commands::make_credential::AuthData::parse(data);
    let _ = ctap::commands::get_assertion::decode_get_assertion_response(data);
});
