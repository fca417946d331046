//! WebAuthn L2 creation options (`PublicKeyCredentialCreationOptions`, §5.4), decoded, and
//! their translation to a CTAP2 makeCredential (CTAP 2.1 §6.1) done by us as the client.
//!
//! The JSON form (serde) is this crate's own and stable, so callers may store it:
//!
//! ```json
//! {"rp": {"id": "login.microsoft.com", "name": "Microsoft"},
//!  "user": {"id": "T0Y6", "name": "adele@contoso.example", "displayName": "Adele Vance"},
//!  "challenge": "Y2hhbGxlbmdl",
//!  "algorithms": [-7, -257],
//!  "excludeCredentials": ["YqsVwHo6UD7lzEV8xRNrfw"],
//!  "residentKey": "required", "userVerification": "required", "attestation": "direct",
//!  "extensions": {"credentialProtectionPolicy": "userVerificationOptional",
//!                 "enforceCredentialProtectionPolicy": true, "hmacCreateSecret": true}}
//! ```
//!
//! Byte strings (`user.id`, `excludeCredentials`) are unpadded base64url; `challenge` is the
//! relying party's text, verbatim. Every field but `rp`, `user` and `challenge` may be left
//! out and then takes the WebAuthn default.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client_data::client_data_json;
use crate::commands::get_info::Info;
use crate::commands::make_credential::{
    CredProtect, MakeCredentialExtensions, MakeCredentialRequest, RelyingParty, User,
};
use crate::{Error, Result};

/// ES256 and RS256: the algorithms an empty list stands for (WebAuthn L2 §5.1.3 step 10).
pub const DEFAULT_ALGORITHMS: [i64; 2] = [-7, -257];

/// What a relying party asks for when creating a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The relying party; origin is `https://{rp.id}`.
    pub rp: RelyingParty,
    /// The user the credential is for.
    pub user: User,
    /// The challenge exactly as the relying party wrote it (base64url): clientDataJSON
    /// carries this string, so it is never re-encoded.
    pub challenge: String,
    /// COSE algorithm ids of type "public-key", in order of preference; empty means
    /// [`DEFAULT_ALGORITHMS`].
    #[serde(default)]
    pub algorithms: Vec<i64>,
    /// Ids of credentials the user already has (excludeCredentials of type "public-key").
    #[serde(default, with = "super::base64url::list")]
    pub exclude_credentials: Vec<Vec<u8>>,
    /// Whether a discoverable credential is wanted.
    #[serde(default)]
    pub resident_key: ResidentKey,
    /// Whether user verification is wanted.
    #[serde(default)]
    pub user_verification: UserVerification,
    /// Attestation conveyance.
    #[serde(default)]
    pub attestation: Attestation,
    /// Client extension inputs.
    #[serde(default)]
    pub extensions: Extensions,
}

/// `residentKey` (WebAuthn L2 §5.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKey {
    /// A server-side credential is preferred (the default).
    #[default]
    Discouraged,
    /// Discoverable if the authenticator can.
    Preferred,
    /// Discoverable or fail.
    Required,
}

/// `userVerification` (WebAuthn L2 §5.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// Verify the user or fail.
    Required,
    /// Verify the user if the authenticator can (the default).
    #[default]
    Preferred,
    /// Do not verify the user.
    Discouraged,
}

/// `attestation` conveyance (WebAuthn L2 §5.4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attestation {
    /// No attestation wanted (the default).
    #[default]
    None,
    /// An anonymised attestation will do.
    Indirect,
    /// The authenticator's own attestation.
    Direct,
    /// Enterprise attestation.
    Enterprise,
}

/// The client extension inputs the kiosk acts on (CTAP 2.1 §12.1 credProtect, §12.5
/// hmac-secret); the JSON names are the extensions' own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extensions {
    /// credentialProtectionPolicy: the credProtect level asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_protection_policy: Option<CredProtect>,
    /// enforceCredentialProtectionPolicy: fail rather than create a weaker credential.
    #[serde(default)]
    pub enforce_credential_protection_policy: bool,
    /// hmacCreateSecret: create the credential's HMAC secret.
    #[serde(default)]
    pub hmac_create_secret: bool,
}

/// Everything needed to run makeCredential for a set of options on a given key.
#[derive(Debug, Clone)]
pub struct PreparedRegistration {
    /// The exact clientDataJSON bytes (hashed into the request).
    pub client_data_json: Vec<u8>,
    /// The CTAP request, not yet authorised with a PIN token.
    pub request: MakeCredentialRequest,
    /// Whether the RP asked for hmacCreateSecret (reported back in client extension results).
    pub hmac_create_secret_requested: bool,
    /// The credProtect level that must be met, when the RP enforces its policy.
    pub enforced_cred_protect: Option<CredProtect>,
    /// Whether the RP requires user verification.
    pub user_verification_required: bool,
}

impl CreationOptions {
    /// The algorithms to offer: the asked ones, or [`DEFAULT_ALGORITHMS`] when none were.
    pub fn algorithms_or_default(&self) -> Vec<i64> {
        if self.algorithms.is_empty() {
            DEFAULT_ALGORITHMS.to_vec()
        } else {
            self.algorithms.clone()
        }
    }

    /// Builds the makeCredential for a key described by `info`. Fails before the key is
    /// touched when the RP's requirements cannot be met (enforced credProtect, algorithms,
    /// discoverable credentials).
    pub fn prepare(&self, info: &Info) -> Result<PreparedRegistration> {
        if self.rp.id.is_empty() || self.challenge.is_empty() {
            return Err(Error::InvalidInput(
                "creation options: rp.id and challenge are required".into(),
            ));
        }
        // CTAP 2.1 §6.1: user.id is at most 64 bytes.
        if self.user.id.is_empty() || self.user.id.len() > 64 {
            return Err(Error::InvalidInput(
                "creation options: user.id must be 1..=64 bytes".into(),
            ));
        }
        let client_data_json = client_data_json(&self.challenge, &self.rp.id);
        let client_data_hash: [u8; 32] = Sha256::digest(&client_data_json).into();

        let algorithms = self.algorithms_or_default();
        if !info.algorithms.is_empty()
            && !algorithms
                .iter()
                .any(|a| info.algorithms.iter().any(|(_, b)| a == b))
        {
            return Err(Error::Unsupported(
                "any of the algorithms the service accepts".into(),
            ));
        }

        let cred_protect = self.extensions.credential_protection_policy;
        let enforce = self.extensions.enforce_credential_protection_policy;
        let key_has_cred_protect = info.has_extension("credProtect");
        let enforced_cred_protect = match cred_protect {
            // userVerificationOptional is the default level, so any key satisfies it.
            Some(CredProtect::UserVerificationOptional) => None,
            Some(level) if enforce && !key_has_cred_protect => {
                return Err(Error::Unsupported(format!(
                    "credential protection (credProtect level {})",
                    level as u8
                )))
            }
            Some(level) if enforce => Some(level),
            _ => None,
        };
        let hmac_requested = self.extensions.hmac_create_secret;
        let extensions = MakeCredentialExtensions {
            cred_protect: cred_protect.filter(|_| key_has_cred_protect),
            hmac_secret: hmac_requested && info.has_extension("hmac-secret"),
        };

        let key_rk = info.option("rk").unwrap_or(false);
        if self.resident_key == ResidentKey::Required && !key_rk {
            return Err(Error::Unsupported(
                "discoverable credentials (passkeys)".into(),
            ));
        }
        let resident_key = match self.resident_key {
            ResidentKey::Required => true,
            ResidentKey::Preferred => key_rk,
            ResidentKey::Discouraged => false,
        };

        let request = MakeCredentialRequest {
            client_data_hash,
            rp: self.rp.clone(),
            user: self.user.clone(),
            algorithms,
            exclude_list: self.exclude_credentials.clone(),
            extensions,
            resident_key,
            user_verification: false,
            pin_uv_auth: None,
        };
        Ok(PreparedRegistration {
            client_data_json,
            request,
            hmac_create_secret_requested: hmac_requested,
            enforced_cred_protect,
            user_verification_required: self.user_verification == UserVerification::Required,
        })
    }
}
