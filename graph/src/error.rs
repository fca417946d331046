//! The crate's one error type. Every text says what to fix, carries the ids Microsoft support asks
//! for (AADSTS code, trace/correlation id, Graph `request-id`), and never contains a secret.

use std::fmt;
use std::time::Duration;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to Entra ID and Microsoft Graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work (bad URL, tenant, client id, concurrency...). Fix the config.
    #[error("invalid Graph configuration: {0}")]
    InvalidConfig(String),
    /// A caller-supplied argument is out of range (e.g. challenge timeout). A programming/config error.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The certificate or private key could not be read or do not belong together.
    #[error("certificate credential problem: {0}")]
    Credential(String),
    /// The token endpoint refused us (AADSTS error). Boxed: it is large and rare.
    #[error(transparent)]
    Auth(Box<AuthError>),
    /// Graph answered with an error status that is final for this request.
    #[error(transparent)]
    Graph(Box<GraphError>),
    /// Still throttled (429/503/504) after honouring Retry-After for every allowed attempt.
    #[error(
        "Microsoft Graph kept refusing with HTTP {status} (throttled or unavailable) after {attempts} attempt(s){}; \
         lower the concurrency limit or retry later{}",
        fmt_retry_after(.retry_after),
        fmt_request_id(.request_id)
    )]
    Throttled {
        /// Last HTTP status (429, 503 or 504).
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// Last Retry-After the service asked for, if any.
        retry_after: Option<Duration>,
        /// Graph's `request-id` of the last answer.
        request_id: Option<String>,
    },
    /// The request did not get an HTTP answer (DNS, connect, TLS, timeout, reset).
    #[error(
        "network error during {operation}{}: {source}; check connectivity, proxy and TLS inspection \
         (client-request-id {client_request_id})",
        if *.timeout { " (timed out)" } else { "" }
    )]
    Http {
        /// What we were doing, e.g. "list fido2Methods".
        operation: &'static str,
        /// The request timed out.
        timeout: bool,
        /// The connection could not be established (so the request was never sent).
        connect: bool,
        /// Our `client-request-id` of the last attempt.
        client_request_id: String,
        /// Underlying transport error (its text holds the URL, never a header or body).
        #[source]
        source: reqwest::Error,
    },
    /// An answer was larger than the station accepts ([`crate::body::MAX_GRAPH_RESPONSE_BYTES`],
    /// [`crate::body::MAX_TOKEN_RESPONSE_BYTES`]); it was not read further. Final, not retried.
    #[error(
        "the answer to {operation} ({endpoint}, HTTP {status}) is larger than the {limit} bytes the station accepts{}; \
         it was not read: check the cloud and base URLs in the configuration and any proxy or TLS inspection in between{} \
         (client-request-id {client_request_id})",
        .announced.map(|n| format!(" (Content-Length {n})")).unwrap_or_default(),
        fmt_request_id(.request_id)
    )]
    ResponseTooLarge {
        /// What we were doing, e.g. "list fido2Methods" or "token request".
        operation: &'static str,
        /// Origin and path of the URL (no query).
        endpoint: String,
        /// HTTP status of the answer.
        status: u16,
        /// The cap, in bytes.
        limit: usize,
        /// The Content-Length the answer announced, if any.
        announced: Option<u64>,
        /// `request-id` (Graph) or `x-ms-request-id` (identity platform) of the answer.
        request_id: Option<String>,
        /// Our `client-request-id` of the request.
        client_request_id: String,
    },
    /// An id (user, group, FIDO2 method) would change the URL it is put in (`/`, `.` or `..`,
    /// `?`, `#`, `%`, `\`, whitespace, control characters, or empty), so no request was sent.
    #[error(
        "refused {what} {id:?}: {reason}; an id must be a single URL path segment (an object id, a UPN or a method id): \
         check where it came from (the configuration, an input file or a Graph answer)"
    )]
    InvalidId {
        /// Which id: "user", "group id", "method id".
        what: &'static str,
        /// The id (at most 100 characters of it).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No group has this display name.
    #[error("no group named {name:?} in the tenant; check the group's display name (exact match) or use its object id")]
    GroupNotFound {
        /// The name (or id) that was looked up.
        name: String,
    },
    /// Several groups share this display name; the operator must pick one by id.
    #[error("{} groups are named {name:?}: {}; configure the group by object id instead", .candidates.len(), fmt_candidates(.candidates))]
    AmbiguousGroup {
        /// The name that was looked up.
        name: String,
        /// Every match.
        candidates: Vec<GroupCandidate>,
    },
    /// A response could not be understood. The snippet is from a body that carries no secret.
    #[error("unexpected response to {what} (HTTP {status}): {detail}; body starts: {snippet:?}{}", fmt_request_id(.request_id))]
    Decode {
        /// What we were reading.
        what: &'static str,
        /// HTTP status of the response.
        status: u16,
        /// Why it did not parse.
        detail: String,
        /// Start of the body (or a note that it was withheld).
        snippet: String,
        /// Graph's `request-id`, if any.
        request_id: Option<String>,
    },
    /// The registration POST may or may not have been stored (timeout, reset, 5xx). The challenge is
    /// single-use, so never re-post blindly: list the user's methods first
    /// ([`crate::GraphClient::register_fido2_method_safely`] does this).
    #[error(
        "registration outcome unknown for user {user}: {cause}; list the user's FIDO2 methods before retrying \
         (client-request-id {client_request_id}{})",
        .request_id.as_deref().map(|r| format!(", request-id {r}")).unwrap_or_default()
    )]
    RegistrationOutcomeUnknown {
        /// User id or UPN the POST was for.
        user: String,
        /// What happened.
        cause: String,
        /// Our `client-request-id` of the POST.
        client_request_id: String,
        /// Graph's `request-id`, if an answer (5xx) arrived.
        request_id: Option<String>,
    },
    /// A device-code sign-in stopped: declined, wrong code, or expired. Start a new one.
    #[error("{}{}", .failure.operator_text(), fmt_auth_ids(.auth))]
    DeviceSignIn {
        /// Why it stopped.
        failure: crate::device_code::DeviceFlowFailure,
        /// The identity platform's answer (AADSTS code, trace and correlation ids), when it
        /// came from one (not when the code ran out on the station's clock).
        auth: Option<Box<AuthError>>,
    },
    /// Delegated mode: the operator approved the device code with an account of another tenant
    /// than the configured one (the ID token's `tid` differs from the configured tenant id).
    /// The tokens were dropped: nobody is signed in.
    #[error(
        "{username} signed in to tenant {}, but the configuration names tenant {configured}: \
         the operator is not signed in; sign in with an account of tenant {configured} \
         (or correct tenantName in the configuration)",
        .signed_in.as_deref().unwrap_or("(no tenant named in the ID token)")
    )]
    WrongTenant {
        /// Who signed in (`preferred_username`).
        username: String,
        /// The token's `tid`, if it had one.
        signed_in: Option<String>,
        /// The tenant id the client was built for.
        configured: String,
    },
    /// Delegated mode and no operator is signed in (never was, signed out, or the sign-in
    /// ran out): Graph cannot be called until an operator signs in.
    #[error("no operator is signed in to Entra ID (delegated mode); sign in at the station with the device code, then retry")]
    NotSignedIn,
    /// Delegated mode: Graph refused to provision this account with the signed-in operator's
    /// token (HTTP 405): an administrator cannot provision their own account.
    #[error(
        "Microsoft Graph refused to provision {user} with the signed-in operator's account (HTTP {} {}): \
         an administrator cannot issue a key to their own account; another operator must enroll this person{}{}",
        .graph.status,
        .graph.code,
        fmt_request_id(&.graph.request_id),
        .graph.client_request_id.as_deref().map(|c| format!(" (client-request-id {c})")).unwrap_or_default()
    )]
    SelfProvisioning {
        /// User id or UPN the request was for.
        user: String,
        /// Graph's answer.
        graph: Box<GraphError>,
    },
}

/// One group among several with the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCandidate {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
}

/// A token-endpoint (AADSTS) error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    /// HTTP status (400 or 401 usually).
    pub status: u16,
    /// OAuth `error`, e.g. `invalid_client`.
    pub error: String,
    /// First AADSTS code (`error_codes[0]`, or parsed from the description).
    pub aadsts: Option<u32>,
    /// First line of `error_description` (Trace/Correlation/Timestamp lines removed).
    pub description: String,
    /// `trace_id`.
    pub trace_id: Option<String>,
    /// `correlation_id`.
    pub correlation_id: Option<String>,
    /// `timestamp` (UTC, with a space instead of `T`).
    pub timestamp: Option<String>,
}

impl AuthError {
    /// What the operator should do for this AADSTS code.
    pub fn remedy(&self) -> &'static str {
        match self.aadsts {
            Some(7000215) => "the client secret is wrong: configure the secret VALUE (not the secret ID) from the app registration's 'Certificates & secrets'",
            Some(7000222) => "the client secret has expired: create a new secret in the app registration and update the configuration",
            Some(700027) => "the certificate assertion was rejected: upload this certificate (same thumbprint) to the app registration, and check it has not expired",
            Some(700024) => "the client assertion is outside its validity window: check this machine's clock and time zone",
            Some(50027) => "the client assertion is malformed: check that the certificate and private key belong together",
            Some(700016) => "the application (client id) was not found in this tenant: check client_id and tenant, and that the app is consented in this tenant",
            Some(90002) | Some(900023) => "the tenant was not found: check the tenant name or id (e.g. contoso.onmicrosoft.com) and the cloud",
            Some(70011) => "the scope is invalid: check the cloud setting (scope must be that cloud's Graph host + /.default)",
            Some(65001) => "admin consent is missing: grant admin consent for the app's Microsoft Graph application permissions",
            Some(7000112) => "the application is disabled in this tenant: re-enable its enterprise application",
            Some(7000229) => "the app has no service principal in this tenant: grant admin consent so the enterprise application is created",
            Some(53003) => "blocked by Conditional Access: exclude this workload identity or adjust the policy",
            Some(50076) | Some(50079) => "multi-factor authentication is required: sign in again and complete MFA",
            Some(7000218) if self.error == "invalid_client" => "the app registration must allow public client flows (Authentication > Allow public client flows) for the device-code sign-in",
            Some(50034) | Some(50053) | Some(50126) => "the account cannot sign in: check the admin account",
            _ if self.error == "invalid_grant" => "the operator's sign-in is no longer valid (expired, revoked or password changed): sign in again",
            _ if self.error == "invalid_client" => "the client credentials were rejected: check client_id, secret or certificate",
            _ => "see the Entra ID description; check tenant, client_id, credentials and cloud",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sign-in to Entra ID failed (HTTP {}, {}",
            self.status, self.error
        )?;
        if let Some(code) = self.aadsts {
            write!(f, ", AADSTS{code}")?;
        }
        write!(
            f,
            "): {}; Entra says: {:?}",
            self.remedy(),
            self.description
        )?;
        if let Some(t) = &self.trace_id {
            write!(f, " (trace id {t}")?;
            match &self.correlation_id {
                Some(c) => write!(f, ", correlation id {c})")?,
                None => write!(f, ")")?,
            }
        } else if let Some(c) = &self.correlation_id {
            write!(f, " (correlation id {c})")?;
        }
        Ok(())
    }
}

/// A final Graph error answer (envelope `{"error":{"code","message","innerError"}}` or a non-JSON body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code` (casing varies by backend), or `"(no JSON error body)"`.
    pub code: String,
    /// `error.message`, or the start of a non-JSON body.
    pub message: String,
    /// Graph's `request-id` (response header, else `innerError.request-id`).
    pub request_id: Option<String>,
    /// Our `client-request-id` for this attempt.
    pub client_request_id: Option<String>,
    /// `innerError.date` as sent (UTC, no time zone).
    pub date: Option<String>,
}

/// `error.code` of a registration refused because its challenge has expired. Microsoft does
/// not publish the codes of refused challenges (CONTRACT.md §5, §9), and messages must never
/// be branched on (§6): these are the codes this crate recognises, and the ones the fake
/// tenant answers with.
pub const CHALLENGE_EXPIRED: &str = "challengeExpired";
/// `error.code` of a registration whose challenge was already used by an earlier POST.
pub const CHALLENGE_USED: &str = "challengeAlreadyUsed";
/// `error.code` of a registration whose challenge was not issued (to this user) by Graph.
pub const CHALLENGE_UNKNOWN: &str = "invalidChallenge";

impl GraphError {
    /// Whether Graph refused a registration because of its challenge (expired, used, not
    /// issued for this user): by status and code, never by the message's words.
    pub fn is_challenge_rejected(&self) -> bool {
        self.status == 400
            && [CHALLENGE_EXPIRED, CHALLENGE_USED, CHALLENGE_UNKNOWN]
                .iter()
                .any(|c| self.code.eq_ignore_ascii_case(c))
    }

    /// What the operator should do, from status and code (never from the message).
    pub fn remedy(&self) -> &'static str {
        match (self.status, self.code.as_str()) {
            (401, _) => "the access token was refused: check the app's credentials, the cloud setting and this machine's clock",
            (403, _) => "permission denied: grant the app GroupMember.Read.All and UserAuthenticationMethod.ReadWrite.All \
                         (or UserAuthMethod-Passkey.ReadWrite.All) application permissions with admin consent",
            (404, _) => "not found: check the user (object id or UPN), group or method id",
            (405, _) => "not allowed: an account cannot provision itself, and the FIDO2 policy must allow self-service setup",
            (400, _) => "request rejected: the challenge may be expired or already used, the key may be blocked by key restrictions \
                         or attestation enforcement, or the request is malformed",
            (409, _) => "conflict: the credential may already be registered",
            (s, _) if s >= 500 => "Microsoft Graph had a server error: retry later",
            _ => "see the Graph error code",
        }
    }
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Microsoft Graph returned HTTP {} {}: {:?}; {}",
            self.status,
            self.code,
            self.message,
            self.remedy()
        )?;
        f.write_str(&fmt_request_id(&self.request_id))?;
        if let Some(c) = &self.client_request_id {
            write!(f, " (client-request-id {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AuthError {}
impl std::error::Error for GraphError {}

impl Error {
    /// True when trying again later may succeed (throttling, network, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Throttled { .. } | Error::Http { .. } => true,
            Error::Graph(g) => g.status >= 500 || g.status == 429,
            _ => false,
        }
    }

    /// Graph's `request-id`, when the error came from an answer that carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Graph(g) => g.request_id.as_deref(),
            Error::Throttled { request_id, .. }
            | Error::Decode { request_id, .. }
            | Error::ResponseTooLarge { request_id, .. }
            | Error::RegistrationOutcomeUnknown { request_id, .. } => request_id.as_deref(),
            Error::SelfProvisioning { graph, .. } => graph.request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status of a Graph error answer, if this is one.
    pub fn graph_status(&self) -> Option<u16> {
        match self {
            Error::Graph(g) => Some(g.status),
            Error::SelfProvisioning { graph, .. } => Some(graph.status),
            _ => None,
        }
    }
}

fn fmt_request_id(id: &Option<String>) -> String {
    match id {
        Some(id) => format!(" (request-id {id})"),
        None => " (no request-id)".to_owned(),
    }
}

fn fmt_auth_ids(auth: &Option<Box<AuthError>>) -> String {
    let Some(a) = auth else {
        return String::new();
    };
    let mut s = format!(" (HTTP {}, {}", a.status, a.error);
    if let Some(code) = a.aadsts {
        s.push_str(&format!(", AADSTS{code}"));
    }
    if let Some(t) = &a.trace_id {
        s.push_str(&format!(", trace id {t}"));
    }
    if let Some(c) = &a.correlation_id {
        s.push_str(&format!(", correlation id {c}"));
    }
    if let Some(t) = &a.timestamp {
        s.push_str(&format!(", {t}"));
    }
    s.push(')');
    s
}

fn fmt_retry_after(ra: &Option<Duration>) -> String {
    match ra {
        Some(d) => format!(", last Retry-After {:.3}s", d.as_secs_f64()),
        None => String::new(),
    }
}

fn fmt_candidates(c: &[GroupCandidate]) -> String {
    c.iter()
        .map(|g| format!("{} ({:?})", g.id, g.display_name))
        .collect::<Vec<_>>()
        .join(", ")
}
