//! Serde types for what goes over the wire, and pure helpers around them (no I/O). Unknown fields
//! are tolerated everywhere: Graph adds properties (`@odata.type`, `passkeyType`, ...) over time.

use crate::error::Result;
use crate::secret::SecretString;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// OData type of user objects in member lists.
pub const ODATA_USER: &str = "#microsoft.graph.user";

/// Maximum `displayName` length for a FIDO2 method (DSInternals enforces 1..30).
pub const MAX_DISPLAY_NAME_CHARS: usize = 30;

// ---------------------------------------------------------------- identity platform

/// Successful token response. `expires_in` may be a number or a string.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    /// `Bearer`.
    #[serde(default)]
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(deserialize_with = "de_u64_lenient")]
    pub expires_in: u64,
    /// The token, opaque.
    pub access_token: SecretString,
    /// Delegated grants with `offline_access`: the refresh token (rotates on every use).
    #[serde(default)]
    pub refresh_token: Option<SecretString>,
    /// Delegated grants with `openid`: the ID token (who signed in).
    #[serde(default)]
    pub id_token: Option<SecretString>,
}

/// OAuth error body of the token endpoint.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct OAuthErrorBody {
    /// e.g. `invalid_client`.
    pub error: String,
    /// `AADSTS…: text\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`.
    #[serde(default)]
    pub error_description: Option<String>,
    /// AADSTS numbers.
    #[serde(default)]
    pub error_codes: Vec<u32>,
    /// `2023-06-02 21:00:26Z`.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Trace id.
    #[serde(default)]
    pub trace_id: Option<String>,
    /// Correlation id.
    #[serde(default)]
    pub correlation_id: Option<String>,
}

impl OAuthErrorBody {
    /// Converts to the typed error: AADSTS from `error_codes`, else from the description.
    pub fn into_auth_error(self, status: u16) -> crate::error::AuthError {
        let desc = self.error_description.unwrap_or_default();
        let first = desc.lines().next().unwrap_or("").trim().to_owned();
        let from_desc = first
            .strip_prefix("AADSTS")
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok());
        let field = |name: &str| {
            desc.lines()
                .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
        };
        crate::error::AuthError {
            status,
            aadsts: self.error_codes.first().copied().or(from_desc),
            error: self.error,
            description: first,
            trace_id: self.trace_id.or_else(|| field("Trace ID:")),
            correlation_id: self.correlation_id.or_else(|| field("Correlation ID:")),
            timestamp: self.timestamp,
        }
    }
}

fn de_u64_lenient<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrStr {
        N(u64),
        F(f64),
        S(String),
    }
    match NumOrStr::deserialize(d)? {
        NumOrStr::N(n) => Ok(n),
        NumOrStr::F(f) if f.is_finite() && f >= 0.0 => Ok(f as u64),
        NumOrStr::F(f) => Err(serde::de::Error::custom(format!("bad number {f}"))),
        NumOrStr::S(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected seconds, got {s:?}"))),
    }
}

// ---------------------------------------------------------------- Graph common

/// One page of an OData collection.
#[derive(Debug, Clone, Deserialize)]
pub struct Page<T> {
    /// Items of this page (may be empty).
    #[serde(default = "Vec::new")]
    pub value: Vec<T>,
    /// Absolute URL of the next page, followed verbatim.
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// Graph error envelope: `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// `error` of the envelope.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// Code, casing varies (`badRequest`, `Request_ResourceNotFound`, `TooManyRequests`).
    #[serde(default)]
    pub code: String,
    /// Human text: show, never branch on it.
    #[serde(default)]
    pub message: String,
    /// `innerError` (live) or `innererror` (docs prose).
    #[serde(rename = "innerError", alias = "innererror", default)]
    pub inner_error: Option<InnerError>,
}

/// `innerError`; may nest.
#[derive(Debug, Clone, Deserialize)]
pub struct InnerError {
    /// Graph's request id.
    #[serde(rename = "request-id", default)]
    pub request_id: Option<String>,
    /// Echo of our client-request-id.
    #[serde(rename = "client-request-id", default)]
    pub client_request_id: Option<String>,
    /// `2024-12-01T12:43:54`: UTC, no time zone, so kept as text.
    #[serde(default)]
    pub date: Option<String>,
    /// Nested inner error.
    #[serde(rename = "innerError", alias = "innererror", default)]
    pub inner_error: Option<Box<InnerError>>,
}

impl InnerError {
    /// First request-id found, walking nested inner errors.
    pub fn find_request_id(&self) -> Option<&str> {
        self.request_id
            .as_deref()
            .or_else(|| self.inner_error.as_ref().and_then(|i| i.find_request_id()))
    }
}

// ---------------------------------------------------------------- groups and members

/// A group (`$select=id,displayName`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Group {
    /// Object id.
    pub id: String,
    /// Display name (not unique).
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
}

/// A member as listed: any directory object type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct DirectoryObject {
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, `#microsoft.graph.device`, ...
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    /// Object id.
    pub id: String,
    /// Users only.
    #[serde(rename = "userPrincipalName", default)]
    pub user_principal_name: Option<String>,
    /// Display name.
    #[serde(rename = "displayName", default)]
    pub display_name: Option<String>,
    /// `Member` or `Guest` (users only).
    #[serde(rename = "userType", default)]
    pub user_type: Option<String>,
    /// Account enabled.
    #[serde(rename = "accountEnabled", default)]
    pub account_enabled: Option<bool>,
}

/// A member user who can get a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Object id: prefer it to the UPN in URLs.
    pub id: String,
    /// UPN.
    pub user_principal_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// `Member` (guests are skipped).
    pub user_type: Option<String>,
    /// Account enabled, when Graph said.
    pub account_enabled: Option<bool>,
}

/// Why a member was not returned as a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A device, group, service principal, contact... (its `@odata.type`, or `None` when absent).
    NotAUser(Option<String>),
    /// A guest: passkey provisioning is not supported for guests.
    Guest,
}

/// A member that was skipped, for the caller's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedMember {
    /// Object id.
    pub id: String,
    /// Display name or UPN, when present.
    pub display_name: Option<String>,
    /// Why.
    pub reason: SkipReason,
}

/// Members of a group, split into users and skipped objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Users (members, not guests), in listing order, without duplicates.
    pub users: Vec<User>,
    /// Everything else.
    pub skipped: Vec<SkippedMember>,
}

impl Members {
    /// Sorts directory objects into users and skipped ones, dropping repeated ids (a user reached
    /// through two nested groups is listed once).
    pub fn from_objects(objects: impl IntoIterator<Item = DirectoryObject>) -> Self {
        let mut seen = std::collections::HashSet::new();
        let mut m = Members::default();
        for o in objects {
            if seen.insert(o.id.clone()) {
                m.push(o);
            }
        }
        m
    }

    /// Sorts one directory object into users or skipped (no duplicate check: see `from_objects`).
    pub fn push(&mut self, o: DirectoryObject) {
        let is_user = o
            .odata_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(ODATA_USER));
        if !is_user {
            self.skipped.push(SkippedMember {
                id: o.id,
                display_name: o.display_name,
                reason: SkipReason::NotAUser(o.odata_type),
            });
        } else if o
            .user_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("Guest"))
        {
            self.skipped.push(SkippedMember {
                id: o.id,
                display_name: o.user_principal_name.or(o.display_name),
                reason: SkipReason::Guest,
            });
        } else {
            self.users.push(User {
                id: o.id,
                user_principal_name: o.user_principal_name,
                display_name: o.display_name,
                user_type: o.user_type,
                account_enabled: o.account_enabled,
            });
        }
    }
}

// ---------------------------------------------------------------- fido2 methods

/// A registered FIDO2 method (reads never contain `publicKeyCredential`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fido2Method {
    /// Method id: base64url(credentialId) + padding-count digit, or a GUID on old tenants. Opaque.
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// ISO 8601 creation time.
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Beta only.
    #[serde(default)]
    pub last_used_date_time: Option<String>,
    /// Authenticator AAGUID.
    #[serde(default)]
    pub aa_guid: Option<String>,
    /// Key model.
    #[serde(default)]
    pub model: Option<String>,
    /// Attestation certificate thumbprints (may be empty).
    #[serde(default)]
    pub attestation_certificates: Vec<String>,
    /// `attested`, `notAttested`, ...
    #[serde(default)]
    pub attestation_level: Option<String>,
    /// `deviceBound`, `synced`, ...
    #[serde(default)]
    pub passkey_type: Option<String>,
}

/// base64url without padding (RFC 4648 §5), as Graph wants binary data.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The method id Graph derives from a credential id: base64url(no pad) + number of '=' pad chars.
pub fn method_id_for_credential(credential_id: &[u8]) -> String {
    let pad = (3 - credential_id.len() % 3) % 3;
    format!("{}{}", b64url(credential_id), pad)
}

/// True when `method_id` is ours: `base64url(credId)+padDigit` (documented) or plain `base64url(credId)`.
pub fn method_id_matches_credential(method_id: &str, credential_id: &[u8]) -> bool {
    if credential_id.is_empty() {
        return false;
    }
    let plain = b64url(credential_id);
    method_id == plain || method_id == method_id_for_credential(credential_id)
}

/// Name sent when the caller gives none (Graph wants 1..30 characters).
pub const DEFAULT_DISPLAY_NAME: &str = "Security key";

/// Trims and truncates to [`MAX_DISPLAY_NAME_CHARS`] characters, never splitting a character;
/// an empty name becomes [`DEFAULT_DISPLAY_NAME`].
pub fn truncate_display_name(name: &str) -> String {
    let t: String = name.trim().chars().take(MAX_DISPLAY_NAME_CHARS).collect();
    if t.is_empty() {
        DEFAULT_DISPLAY_NAME.to_owned()
    } else {
        t.trim_end().to_owned()
    }
}

/// What the authenticator produced, ready to register.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterRequest {
    /// Shown in My Sign-ins; truncated to 30 characters when sent.
    pub display_name: String,
    /// Raw credential id bytes.
    pub credential_id: Vec<u8>,
    /// The exact clientDataJSON bytes whose hash the authenticator signed.
    pub client_data_json: Vec<u8>,
    /// CBOR attestation object.
    pub attestation_object: Vec<u8>,
    /// Client extension results (`{}` is fine). Sent as given.
    pub client_extension_results: Value,
}

impl RegisterRequest {
    /// The exact POST body: displayName + publicKeyCredential{id, response{clientDataJSON,
    /// attestationObject}, clientExtensionResults}; nothing else (extras are rejected by Graph).
    pub fn to_body(&self) -> Value {
        let ext = match &self.client_extension_results {
            Value::Null => Value::Object(Default::default()),
            v => v.clone(),
        };
        serde_json::json!({
            "displayName": truncate_display_name(&self.display_name),
            "publicKeyCredential": {
                "id": b64url(&self.credential_id),
                "response": {
                    "clientDataJSON": b64url(&self.client_data_json),
                    "attestationObject": b64url(&self.attestation_object),
                },
                "clientExtensionResults": ext,
            }
        })
    }
}

/// First 200 characters of a body, whitespace collapsed, for error texts. Only for bodies that
/// cannot hold a secret (never the token endpoint's 200 body).
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    for w in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
        if out.chars().count() > 200 {
            break;
        }
    }
    out.chars().take(200).collect()
}
