//! Graph's `webauthnCredentialCreationOptions.publicKey` (graph-spec CONTRACT §4, WebAuthn
//! L2 §5.4) and its translation to a CTAP2 makeCredential (CTAP 2.1 §6.1).

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::client_data::client_data_json;
use super::credential_id::decode_credential_id;
use crate::commands::get_info::Info;
use crate::commands::make_credential::{
    CredProtect, MakeCredentialExtensions, MakeCredentialRequest, RelyingParty, User,
};
use crate::{Error, Result};

/// `publicKey` of Graph's creation options. Unknown fields (e.g. `@odata.type`) are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// Relying party.
    pub rp: RpJson,
    /// The user; `id` is a base64url user handle.
    pub user: UserJson,
    /// The challenge, kept verbatim: clientDataJSON carries this exact string.
    pub challenge: String,
    /// Acceptable credential algorithms, in order of preference.
    #[serde(default)]
    pub pub_key_cred_params: Vec<CredParamJson>,
    /// Milliseconds the RP waits (informational).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Credentials the user already has.
    #[serde(default)]
    pub exclude_credentials: Vec<CredDescriptorJson>,
    /// Authenticator requirements.
    #[serde(default)]
    pub authenticator_selection: Option<AuthenticatorSelectionJson>,
    /// Attestation conveyance ("direct", "none", …).
    #[serde(default)]
    pub attestation: Option<String>,
    /// Client extension inputs.
    #[serde(default)]
    pub extensions: ExtensionsJson,
}

/// `rp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpJson {
    /// rp.id.
    pub id: String,
    /// rp.name.
    #[serde(default)]
    pub name: Option<String>,
}

/// `user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserJson {
    /// base64url user handle.
    pub id: String,
    /// UPN.
    #[serde(default)]
    pub name: Option<String>,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
}

/// One `pubKeyCredParams` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredParamJson {
    /// "public-key".
    #[serde(rename = "type")]
    pub kind: String,
    /// COSE algorithm id.
    pub alg: i64,
}

/// One `excludeCredentials` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredDescriptorJson {
    /// "public-key".
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The credential id in one of Graph's encodings (see [`decode_credential_id`]).
    pub id: String,
    /// Transports (ignored).
    #[serde(default)]
    pub transports: Option<Vec<String>>,
}

/// `authenticatorSelection`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelectionJson {
    /// "cross-platform" / "platform".
    #[serde(default)]
    pub authenticator_attachment: Option<String>,
    /// Legacy discoverable-credential flag.
    #[serde(default)]
    pub require_resident_key: Option<bool>,
    /// "required" / "preferred" / "discouraged".
    #[serde(default)]
    pub resident_key: Option<String>,
    /// "required" / "preferred" / "discouraged".
    #[serde(default)]
    pub user_verification: Option<String>,
}

/// `extensions` as Graph sends them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionsJson {
    /// hmacCreateSecret (CTAP 2.1 §12.5 hmac-secret).
    #[serde(default)]
    pub hmac_create_secret: Option<bool>,
    /// credentialProtectionPolicy (CTAP 2.1 §12.1 credProtect).
    #[serde(default)]
    pub credential_protection_policy: Option<String>,
    /// enforceCredentialProtectionPolicy: fail rather than create a weaker credential.
    #[serde(default)]
    pub enforce_credential_protection_policy: Option<bool>,
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
    /// Parses Graph's creationOptions response body: `{"publicKey": …}` at top level, the
    /// same wrapped in `{"value": …}` (beta docs), or a bare publicKey object.
    pub fn from_graph_json(json: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|e| Error::InvalidInput(format!("creation options: {e}")))?;
        Self::from_graph_value(&v)
    }

    /// [`from_graph_json`](Self::from_graph_json) over an already parsed value.
    pub fn from_graph_value(v: &serde_json::Value) -> Result<Self> {
        let outer = v.get("value").filter(|x| x.is_object()).unwrap_or(v);
        let pk = outer.get("publicKey").unwrap_or(outer);
        serde_json::from_value(pk.clone())
            .map_err(|e| Error::InvalidInput(format!("creation options: {e}")))
    }

    /// The user handle bytes (user.id is base64url; padded or std alphabet tolerated).
    pub fn user_handle(&self) -> Result<Vec<u8>> {
        let normalized = super::credential_id::normalize_base64url(&self.user.id);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(normalized)
            .map_err(|_| {
                Error::InvalidInput("creation options: user.id is not base64url".into())
            })?;
        // CTAP 2.1 §6.1: user.id is at most 64 bytes.
        if id.is_empty() || id.len() > 64 {
            return Err(Error::InvalidInput(
                "creation options: user.id must be 1..=64 bytes".into(),
            ));
        }
        Ok(id)
    }

    /// The credProtect level asked for, if any.
    pub fn cred_protect(&self) -> Result<Option<CredProtect>> {
        Ok(
            match self.extensions.credential_protection_policy.as_deref() {
                None => None,
                Some("userVerificationOptional") => Some(CredProtect::UserVerificationOptional),
                Some("userVerificationOptionalWithCredentialIDList") => {
                    Some(CredProtect::UserVerificationOptionalWithCredentialIdList)
                }
                Some("userVerificationRequired") => Some(CredProtect::UserVerificationRequired),
                Some(other) => {
                    return Err(Error::InvalidInput(format!(
                        "creation options: unknown credentialProtectionPolicy {other:?}"
                    )))
                }
            },
        )
    }

    /// The credential ids to exclude, every plausible decoding of each (see
    /// [`decode_credential_id`]); undecodable entries are skipped with a warning.
    pub fn exclude_list(&self) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        for (i, c) in self.exclude_credentials.iter().enumerate() {
            if c.kind.as_deref().is_some_and(|k| k != "public-key") {
                continue;
            }
            let candidates = decode_credential_id(&c.id);
            if candidates.is_empty() {
                tracing::warn!(
                    index = i,
                    len = c.id.len(),
                    "skipping undecodable excludeCredentials id"
                );
            }
            for id in candidates {
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out
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
        let client_data_json = client_data_json(&self.challenge, &self.rp.id);
        let client_data_hash: [u8; 32] = Sha256::digest(&client_data_json).into();

        let mut algorithms: Vec<i64> = self
            .pub_key_cred_params
            .iter()
            .filter(|p| p.kind == "public-key")
            .map(|p| p.alg)
            .collect();
        if algorithms.is_empty() {
            // WebAuthn L2 §5.1.3 step 10: an empty list means ES256 and RS256.
            algorithms = vec![-7, -257];
        }
        if !info.algorithms.is_empty()
            && !algorithms
                .iter()
                .any(|a| info.algorithms.iter().any(|(_, b)| a == b))
        {
            return Err(Error::Unsupported(
                "any of the algorithms the service accepts".into(),
            ));
        }

        let cred_protect = self.cred_protect()?;
        let enforce = self
            .extensions
            .enforce_credential_protection_policy
            .unwrap_or(false);
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
        let hmac_requested = self.extensions.hmac_create_secret.unwrap_or(false);
        let extensions = MakeCredentialExtensions {
            cred_protect: cred_protect.filter(|_| key_has_cred_protect),
            hmac_secret: hmac_requested && info.has_extension("hmac-secret"),
        };

        let sel = self.authenticator_selection.clone().unwrap_or_default();
        let rk_required = sel.require_resident_key.unwrap_or(false)
            || sel.resident_key.as_deref() == Some("required");
        let rk_preferred = sel.resident_key.as_deref() == Some("preferred");
        let key_rk = info.option("rk").unwrap_or(false);
        if rk_required && !key_rk {
            return Err(Error::Unsupported(
                "discoverable credentials (passkeys)".into(),
            ));
        }
        let user_verification_required = sel.user_verification.as_deref() == Some("required");

        let request = MakeCredentialRequest {
            client_data_hash,
            rp: RelyingParty {
                id: self.rp.id.clone(),
                name: self.rp.name.clone(),
            },
            user: User {
                id: self.user_handle()?,
                name: self.user.name.clone(),
                display_name: self.user.display_name.clone(),
            },
            algorithms,
            exclude_list: self.exclude_list(),
            extensions,
            resident_key: rk_required || (rk_preferred && key_rk),
            user_verification: false,
            pin_uv_auth: None,
        };
        Ok(PreparedRegistration {
            client_data_json,
            request,
            hmac_create_secret_requested: hmac_requested,
            enforced_cred_protect,
            user_verification_required,
        })
    }
}
