//! The result of a registration, in the shape a relying party's registration request needs
//! (WebAuthn L2 §5.2.1 AuthenticatorAttestationResponse).

use ciborium::Value;
use sha2::{Digest, Sha256};

use super::options::PreparedRegistration;
use crate::commands::make_credential::{AuthData, MakeCredentialResponse};
use crate::{Error, Result};

/// A new credential, ready to be registered.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The exact clientDataJSON bytes hashed into the request.
    pub client_data_json: Vec<u8>,
    /// The attestation object: CBOR map {"fmt", "attStmt", "authData"}, attStmt verbatim.
    pub attestation_object: Vec<u8>,
    /// The new credential's id.
    pub credential_id: Vec<u8>,
    /// The parsed authenticator data.
    pub auth_data: AuthData,
    /// WebAuthn client extension results (e.g. `{"hmacCreateSecret": true}`).
    pub client_extension_results: serde_json::Value,
}

impl Registration {
    /// Checks a makeCredential reply against what was asked (rpIdHash, enforced
    /// credProtect) and assembles the registration.
    pub fn from_response(
        prepared: &PreparedRegistration,
        response: &MakeCredentialResponse,
    ) -> Result<Self> {
        let expected: [u8; 32] = Sha256::digest(prepared.request.rp.id.as_bytes()).into();
        if response.auth_data.rp_id_hash != expected {
            return Err(Error::Malformed(
                "authData: rpIdHash does not match the RP id".into(),
            ));
        }
        let credential_id = response
            .auth_data
            .attested_credential_data
            .as_ref()
            .map(|a| a.credential_id.clone())
            .ok_or_else(|| Error::Malformed("authData lacks attested credential data".into()))?;
        if let Some(level) = prepared.enforced_cred_protect {
            let got = match response.auth_data.extension("credProtect") {
                Some(Value::Integer(i)) => i128::from(*i),
                _ => 0,
            };
            if got < level as i128 {
                return Err(Error::Unsupported(format!(
                    "the enforced credential protection level {} (the key applied {got})",
                    level as u8
                )));
            }
        }
        if prepared.user_verification_required && !response.auth_data.flags.user_verified() {
            return Err(Error::Malformed(
                "the key did not verify the user although it was required".into(),
            ));
        }
        let mut ext = serde_json::Map::new();
        if prepared.hmac_create_secret_requested {
            let created = matches!(
                response.auth_data.extension("hmac-secret"),
                Some(Value::Bool(true))
            );
            ext.insert("hmacCreateSecret".into(), serde_json::Value::Bool(created));
        }
        Ok(Registration {
            client_data_json: prepared.client_data_json.clone(),
            attestation_object: response.attestation_object(),
            credential_id,
            auth_data: response.auth_data.clone(),
            client_extension_results: serde_json::Value::Object(ext),
        })
    }
}
