//! Graph's `webauthnCredentialCreationOptions` (CONTRACT §4) converted into the neutral
//! WebAuthn creation options of the ctap crate, with the challenge's expiry beside them.
//!
//! Graph's JSON is read leniently where Graph has drifted (credential id encodings, a body
//! wrapped in `value`, zone-less times) and as WebAuthn says where it is silent: unknown
//! `residentKey` / `userVerification` / `attestation` strings are ignored (the default
//! applies). An unknown `credentialProtectionPolicy` is an error: guessing a weaker level
//! would create a credential the service did not ask for.

use std::time::SystemTime;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use ctap::webauthn::{
    Attestation, CreationOptions, CredProtect, Extensions, RelyingParty, ResidentKey, User,
    UserVerification,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::wire::snippet;

/// Creation options as Graph issued them for one person: the options, and when their
/// challenge stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedOptions {
    /// The options, decoded.
    pub options: CreationOptions,
    /// `challengeTimeoutDateTime`, when Graph sent one that parses.
    pub expires_at: Option<SystemTime>,
}

/// Why Graph's creation options could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The body is not a JSON object with `publicKey` (at top level or inside `value`).
    #[error("no publicKey object (neither top level nor in value)")]
    NoPublicKey,
    /// A field is missing or has the wrong JSON type.
    #[error("publicKey does not have the expected shape: {0}")]
    Shape(String),
    /// `rp.id` or `challenge` is empty.
    #[error("publicKey.{0} is empty")]
    Empty(&'static str),
    /// `user.id` is not base64 in any alphabet.
    #[error("publicKey.user.id is not base64url")]
    UserId,
    /// `pubKeyCredParams` lists algorithms, none of type "public-key".
    #[error("publicKey.pubKeyCredParams has no public-key algorithm")]
    NoPublicKeyAlgorithm,
    /// `extensions.credentialProtectionPolicy` names no credProtect level.
    #[error("unknown credentialProtectionPolicy {0:?}")]
    UnknownProtectionPolicy(String),
}

impl IssuedOptions {
    /// Converts a creationOptions response body: `{"publicKey": …}` at top level (the real
    /// service) or wrapped in `{"value": …}` (beta docs).
    pub fn from_graph(body: &Value) -> Result<Self, OptionsError> {
        let outer = if body.get("publicKey").is_some() {
            body
        } else {
            body.get("value")
                .filter(|v| v.get("publicKey").is_some())
                .ok_or(OptionsError::NoPublicKey)?
        };
        let timeout = match outer.get("challengeTimeoutDateTime") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Null) | None => None,
            Some(_) => {
                return Err(OptionsError::Shape(
                    "challengeTimeoutDateTime is not a string".into(),
                ))
            }
        };
        let pk = outer
            .get("publicKey")
            .filter(|v| v.is_object())
            .ok_or(OptionsError::NoPublicKey)?;
        let pk = GraphPublicKey::deserialize(pk).map_err(|e| OptionsError::Shape(e.to_string()))?;
        Ok(IssuedOptions {
            options: pk.convert()?,
            expires_at: timeout.and_then(parse_challenge_timeout),
        })
    }
}

/// Parses `creationOptions` response bytes, as a typed decode error.
pub fn parse_creation_options(body: &[u8], status: u16) -> Result<IssuedOptions> {
    let decode_error = |detail: String| Error::Decode {
        what: "creationOptions",
        status,
        detail,
        snippet: snippet(body),
        request_id: None,
    };
    let v: Value = serde_json::from_slice(body).map_err(|e| decode_error(e.to_string()))?;
    IssuedOptions::from_graph(&v).map_err(|e| decode_error(e.to_string()))
}

/// A `challengeTimeoutDateTime` (RFC 3339). Graph sometimes omits the zone (as in
/// innerError.date); its times are UTC.
pub fn parse_challenge_timeout(text: &str) -> Option<SystemTime> {
    let s = text.trim();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s, rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{s}Z"), rfc3339))
        .ok()
        .map(SystemTime::from)
}

/// base64url, no padding, tolerant of non-zero trailing bits (seen from some encoders).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Base64 in either alphabet, padded or not, as unpadded base64url (Graph mixes them).
fn normalize_base64url(s: &str) -> String {
    s.trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// A base64 field such as `user.id` in either alphabet, padded or not.
pub fn decode_base64_lenient(s: &str) -> Option<Vec<u8>> {
    LENIENT.decode(normalize_base64url(s)).ok()
}

/// Every plausible byte string for an excludeCredentials id as Graph wrote it, most likely
/// first; empty when it decodes under no rule.
///
/// Graph has sent three encodings (CONTRACT §4): standard base64 with `+/=`, base64url
/// without padding, and base64url with a trailing digit 0/1/2 standing for that many `=`.
/// The last is ambiguous with the second, so both readings are returned; an extra id in an
/// exclude list is harmless, a missing one lets a key be registered twice.
pub fn decode_credential_id(id: &str) -> Vec<Vec<u8>> {
    let trimmed = id.trim();
    let had_padding = trimmed.ends_with('=');
    let normalized = normalize_base64url(trimmed);
    let mut out: Vec<Vec<u8>> = Vec::new();
    if !had_padding {
        if let Some(digit @ ('0' | '1' | '2')) = normalized.chars().last() {
            let pads = usize::from(digit as u8 - b'0');
            let stripped = &normalized[..normalized.len() - 1];
            // Only a length consistent with that padding count is a real pad-count suffix.
            if (stripped.len() + pads).is_multiple_of(4) && !stripped.is_empty() {
                if let Ok(b) = LENIENT.decode(stripped) {
                    out.push(b);
                }
            }
        }
    }
    if let Ok(b) = LENIENT.decode(&normalized) {
        if !b.is_empty() && !out.contains(&b) {
            out.push(b);
        }
    }
    out
}

// ---------------------------------------------------------------- Graph's JSON

/// `publicKey` as Graph sends it. Unknown fields (`@odata.type`, `timeout`, …) are ignored.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphPublicKey {
    rp: RelyingParty,
    user: GraphUser,
    challenge: String,
    #[serde(default)]
    pub_key_cred_params: Vec<GraphCredParam>,
    #[serde(default)]
    exclude_credentials: Vec<GraphCredDescriptor>,
    #[serde(default)]
    authenticator_selection: Option<GraphSelection>,
    #[serde(default)]
    attestation: Option<String>,
    #[serde(default)]
    extensions: GraphExtensions,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
struct GraphCredParam {
    #[serde(rename = "type")]
    kind: String,
    alg: i64,
}

#[derive(Deserialize)]
struct GraphCredDescriptor {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    id: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GraphSelection {
    #[serde(default)]
    require_resident_key: Option<bool>,
    #[serde(default)]
    resident_key: Option<String>,
    #[serde(default)]
    user_verification: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct GraphExtensions {
    #[serde(default)]
    hmac_create_secret: Option<bool>,
    #[serde(default)]
    credential_protection_policy: Option<String>,
    #[serde(default)]
    enforce_credential_protection_policy: Option<bool>,
}

/// A WebAuthn enum member by its string; unknown strings read as absent (WebAuthn L2 §2.1.1).
fn known<T: serde::de::DeserializeOwned>(s: Option<&str>) -> Option<T> {
    serde_json::from_value(Value::String(s?.to_owned())).ok()
}

impl GraphPublicKey {
    fn convert(self) -> Result<CreationOptions, OptionsError> {
        if self.rp.id.is_empty() {
            return Err(OptionsError::Empty("rp.id"));
        }
        if self.challenge.is_empty() {
            return Err(OptionsError::Empty("challenge"));
        }
        let user_id = decode_base64_lenient(&self.user.id)
            .filter(|id| !id.is_empty())
            .ok_or(OptionsError::UserId)?;
        let algorithms: Vec<i64> = self
            .pub_key_cred_params
            .iter()
            .filter(|p| p.kind == "public-key")
            .map(|p| p.alg)
            .collect();
        // WebAuthn L2 §5.1.3 step 10: a list with no usable type is an error, an empty one
        // means the defaults.
        if algorithms.is_empty() && !self.pub_key_cred_params.is_empty() {
            return Err(OptionsError::NoPublicKeyAlgorithm);
        }
        let mut exclude_credentials: Vec<Vec<u8>> = Vec::new();
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
                if !exclude_credentials.contains(&id) {
                    exclude_credentials.push(id);
                }
            }
        }
        let sel = self.authenticator_selection.unwrap_or_default();
        // WebAuthn L2 §5.4.4: requireResidentKey counts only when residentKey is absent
        // (or unknown, which reads as absent).
        let resident_key = known(sel.resident_key.as_deref()).unwrap_or(
            if sel.require_resident_key.unwrap_or(false) {
                ResidentKey::Required
            } else {
                ResidentKey::Discouraged
            },
        );
        let credential_protection_policy = match self.extensions.credential_protection_policy {
            None => None,
            Some(policy) => Some(
                known::<CredProtect>(Some(&policy))
                    .ok_or(OptionsError::UnknownProtectionPolicy(policy))?,
            ),
        };
        Ok(CreationOptions {
            rp: self.rp,
            user: User {
                id: user_id,
                name: self.user.name,
                display_name: self.user.display_name,
            },
            challenge: self.challenge,
            algorithms,
            exclude_credentials,
            resident_key,
            user_verification: known::<UserVerification>(sel.user_verification.as_deref())
                .unwrap_or_default(),
            attestation: known::<Attestation>(self.attestation.as_deref()).unwrap_or_default(),
            extensions: Extensions {
                credential_protection_policy,
                enforce_credential_protection_policy: self
                    .extensions
                    .enforce_credential_protection_policy
                    .unwrap_or(false),
                hmac_create_secret: self.extensions.hmac_create_secret.unwrap_or(false),
            },
        })
    }
}
