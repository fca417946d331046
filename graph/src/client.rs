//! The Graph client: group lookup, members, fido2Methods list/delete/register, creationOptions.
//! One `reqwest` connection pool, one token cache and one semaphore shared by every clone, so
//! thousands of prefetches run in parallel without a throttling storm; a 429's Retry-After pauses
//! all callers, not just the one that got it.

use crate::auth::{AccessToken, Credentials, TokenProvider};
use crate::body::{read_capped, BodyError, MAX_GRAPH_RESPONSE_BYTES};
use crate::cloud::{check_transport, Cloud};
use crate::device_code::{DeviceAuthorization, SignedInAccount};
use crate::error::{Error, GraphError, GroupCandidate, Result};
use crate::ids::{encode, path_segment};
use crate::retry::{
    is_retryable_status, parse_retry_after, Decision, Idempotency, Outcome, RetryPolicy,
};
use crate::wire::{
    method_id_matches_credential, parse_creation_options, snippet, CreationOptions,
    DirectoryObject, ErrorEnvelope, Fido2Method, Group, Members, Page, RegisterRequest,
};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use url::Url;

// The policy read lives in its own file but needs this module's request plumbing.
#[path = "policy.rs"]
pub mod policy;

/// Smallest and largest `challengeTimeoutInMinutes` Graph accepts (5 minutes .. 30 days).
pub const CHALLENGE_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=43200;

/// Which Graph API version to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiVersion {
    /// `/beta`: creationOptions takes `challengeTimeoutInMinutes` (5..43200).
    #[default]
    Beta,
    /// `/v1.0`: creationOptions has no parameter (fixed 5-minute challenge).
    V1,
}

impl ApiVersion {
    /// URL path segment.
    pub fn segment(self) -> &'static str {
        match self {
            ApiVersion::Beta => "beta",
            ApiVersion::V1 => "v1.0",
        }
    }
}

/// HTTP timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Whole request, body included.
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(60),
        }
    }
}

/// How to reach and sign in to a tenant.
#[derive(Debug, Clone)]
pub struct GraphConfig {
    /// Cloud (or custom bases for the fake tenant).
    pub cloud: Cloud,
    /// Tenant id or domain (`contoso.onmicrosoft.com`); not `common`.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// Secret or certificate.
    pub credentials: Credentials,
    /// Beta (default) or v1.0.
    pub api_version: ApiVersion,
    /// Requests in flight at once across all clones (default 8).
    pub max_concurrency: usize,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: RetryPolicy,
}

impl GraphConfig {
    /// A config with defaults: beta, 8 concurrent requests, default timeouts and retries.
    pub fn new(
        cloud: Cloud,
        tenant: impl Into<String>,
        client_id: impl Into<String>,
        credentials: Credentials,
    ) -> Self {
        GraphConfig {
            cloud,
            tenant: tenant.into(),
            client_id: client_id.into(),
            credentials,
            api_version: ApiVersion::Beta,
            max_concurrency: 8,
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }
}

/// What `delete_fido2_method` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// 204: deleted now.
    Deleted,
    /// 404: there was nothing to delete (already gone, or the user does not exist).
    AlreadyGone,
}

/// Result of [`GraphClient::register_fido2_method_safely`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The method as Graph has it.
    pub method: Fido2Method,
    /// True when the POST's answer was lost and the method was found by listing.
    pub recovered: bool,
    /// POSTs sent (1 or 2).
    pub posts: u32,
}

/// A finished HTTP exchange whose status is final for the retry loop.
struct Answer {
    status: u16,
    request_id: Option<String>,
    client_request_id: String,
    body: Vec<u8>,
}

struct Inner {
    http: reqwest::Client,
    graph_base: Url,
    api: ApiVersion,
    tokens: TokenProvider,
    /// The configured tenant (id or domain), trimmed: a delegated sign-in must belong to it.
    tenant: String,
    permits: tokio::sync::Semaphore,
    pause_until: std::sync::Mutex<Option<tokio::time::Instant>>,
    policy: RetryPolicy,
}

/// Microsoft Graph client. Cheap to clone; clones share connections, token and concurrency limit.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("graph_base", &self.inner.graph_base.as_str())
            .field("api", &self.inner.api)
            .field("token_url", &self.inner.tokens.token_url.as_str())
            .finish_non_exhaustive()
    }
}

fn check_name(what: &str, v: &str) -> Result<()> {
    if v.trim().is_empty() {
        return Err(Error::InvalidArgument(format!("{what} is empty")));
    }
    Ok(())
}

impl GraphClient {
    /// Validates the config and builds the client (no network access yet).
    pub fn new(config: GraphConfig) -> Result<Self> {
        let (_, graph_base) = config.cloud.validate()?;
        let tenant = config.tenant.trim();
        if tenant.is_empty()
            || !tenant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(Error::InvalidConfig(format!(
                "tenant {tenant:?} must be a tenant id (GUID) or domain such as contoso.onmicrosoft.com"
            )));
        }
        if ["common", "organizations", "consumers"].contains(&tenant.to_ascii_lowercase().as_str())
        {
            return Err(Error::InvalidConfig(format!(
                "tenant {tenant:?} does not name one tenant (it would let accounts of any tenant sign in); \
                 use the tenant id or its domain"
            )));
        }
        let client_id = config.client_id.trim();
        if client_id.is_empty() || client_id.contains(char::is_whitespace) {
            return Err(Error::InvalidConfig(
                "client_id must be the application (client) id of the app registration".into(),
            ));
        }
        if let Credentials::Secret(s) = &config.credentials {
            if s.expose_secret().trim().is_empty() {
                return Err(Error::InvalidConfig("the client secret is empty".into()));
            }
        }
        if config.max_concurrency == 0 {
            return Err(Error::InvalidConfig(
                "max_concurrency must be at least 1".into(),
            ));
        }
        let token_url = Url::parse(&config.cloud.token_url(tenant))
            .map_err(|e| Error::InvalidConfig(format!("token URL: {e}")))?;
        check_transport(&token_url)?;
        let http = reqwest::Client::builder()
            .use_rustls_tls()
            .https_only(false) // loopback http is allowed; every URL is checked by check_transport
            .redirect(reqwest::redirect::Policy::none()) // never carry a token elsewhere
            .connect_timeout(config.timeouts.connect)
            .timeout(config.timeouts.request)
            .user_agent(concat!("passkey-kiosk-graph/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot build the HTTP client: {e}")))?;
        let tokens = TokenProvider::new(
            http.clone(),
            token_url,
            client_id.to_owned(),
            match config.credentials {
                Credentials::Delegated => config.cloud.delegated_scopes(),
                _ => config.cloud.default_scope(),
            },
            config.credentials,
            config.retry.clone(),
        );
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                graph_base,
                api: config.api_version,
                tokens,
                tenant: tenant.to_owned(),
                permits: tokio::sync::Semaphore::new(config.max_concurrency),
                pause_until: std::sync::Mutex::new(None),
                policy: config.retry,
            }),
        })
    }

    /// The API version in use.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.api
    }

    /// Gets a token now: a cheap way to check tenant, client id and credentials at startup.
    /// Delegated: succeeds while an operator is signed in (renewing the token if due), else
    /// `Error::NotSignedIn`.
    pub async fn sign_in(&self) -> Result<()> {
        self.inner.tokens.token().await.map(|_| ())
    }

    // ------------------------------------------------------------------ delegated sign-in

    /// True when Graph is called with a signed-in operator's token ([`Credentials::Delegated`]).
    pub fn is_delegated(&self) -> bool {
        self.inner.tokens.is_delegated()
    }

    /// Starts a device-code sign-in (delegated mode only): show `user_code` and
    /// `verification_uri` to the operator, then call [`Self::finish_device_sign_in`].
    pub async fn start_device_sign_in(&self) -> Result<DeviceAuthorization> {
        self.inner.tokens.start_device_flow().await
    }

    /// Polls until the operator approves; from then on every clone of this client calls Graph
    /// with the operator's token (renewed with the refresh token before it expires). Stops with
    /// `Error::DeviceSignIn` when declined, unknown or expired, and with `Error::WrongTenant`
    /// (nobody signed in) when the configured tenant is a tenant id and the operator's token
    /// names another tenant. Cancel by dropping the future.
    pub async fn finish_device_sign_in(
        &self,
        authorization: &DeviceAuthorization,
    ) -> Result<SignedInAccount> {
        self.inner
            .tokens
            .poll_device_flow(authorization, &self.inner.tenant)
            .await
    }

    /// The operator signed in (delegated mode), if any.
    pub async fn signed_in_account(&self) -> Option<SignedInAccount> {
        self.inner.tokens.account().await
    }

    /// Drops the cached access token, the refresh token and the signed-in account. In delegated
    /// mode Graph calls then fail with `Error::NotSignedIn` until someone signs in again.
    pub async fn sign_out(&self) {
        self.inner.tokens.sign_out().await;
    }

    // ------------------------------------------------------------------ groups

    /// Finds the one group with this exact display name. None → `GroupNotFound`, several →
    /// `AmbiguousGroup` (never silently takes the first one).
    pub async fn find_group_by_name(&self, name: &str) -> Result<Group> {
        check_name("group name", name)?;
        let filter = format!("displayName eq '{}'", name.replace('\'', "''"));
        let url = self.url(
            "groups",
            Some(&format!(
                "$filter={}&$select=id,displayName",
                encode(&filter)
            )),
        )?;
        let groups: Vec<Group> = self.get_all("find group", url).await?;
        match groups.len() {
            0 => Err(Error::GroupNotFound {
                name: name.to_owned(),
            }),
            1 => groups.into_iter().next().ok_or(Error::GroupNotFound {
                name: name.to_owned(),
            }),
            _ => Err(Error::AmbiguousGroup {
                name: name.to_owned(),
                candidates: groups
                    .into_iter()
                    .map(|g| GroupCandidate {
                        id: g.id,
                        display_name: g.display_name.unwrap_or_default(),
                    })
                    .collect(),
            }),
        }
    }

    /// A group by object id; 404 → `GroupNotFound`.
    pub async fn group_by_id(&self, id: &str) -> Result<Group> {
        let url = self.url(
            &format!("groups/{}", path_segment("group id", id)?),
            Some("$select=id,displayName"),
        )?;
        match self.get_json::<Group>("get group", url).await {
            Err(Error::Graph(g)) if g.status == 404 => Err(Error::GroupNotFound {
                name: id.to_owned(),
            }),
            r => r,
        }
    }

    /// Members of a group (direct, or `transitive` = nested groups flattened), every page. Only
    /// `#microsoft.graph.user` members who are not guests are returned as users; everything else
    /// is in `skipped` with the reason, for the caller's report.
    pub async fn members(&self, group_id: &str, transitive: bool) -> Result<Members> {
        let rel = if transitive {
            "transitiveMembers"
        } else {
            "members"
        };
        let url = self.url(
            &format!("groups/{}/{rel}", path_segment("group id", group_id)?),
            Some("$select=id,userPrincipalName,displayName,userType,accountEnabled&$top=999"),
        )?;
        let objects: Vec<DirectoryObject> = match self.get_all("list group members", url).await {
            Err(Error::Graph(g)) if g.status == 404 => {
                return Err(Error::GroupNotFound {
                    name: group_id.to_owned(),
                })
            }
            r => r?,
        };
        Ok(Members::from_objects(objects))
    }

    // ------------------------------------------------------------------ fido2 methods

    /// The user's registered FIDO2 methods (`user` = object id, preferred, or UPN).
    pub async fn list_fido2_methods(&self, user: &str) -> Result<Vec<Fido2Method>> {
        let url = self.url(
            &format!(
                "users/{}/authentication/fido2Methods",
                path_segment("user", user)?
            ),
            None,
        )?;
        self.get_all("list fido2Methods", url).await
    }

    /// Deletes one method. 204 → `Deleted`; 404 → `AlreadyGone`.
    pub async fn delete_fido2_method(&self, user: &str, method_id: &str) -> Result<DeleteOutcome> {
        let url = self.url(
            &format!(
                "users/{}/authentication/fido2Methods/{}",
                path_segment("user", user)?,
                path_segment("method id", method_id)?
            ),
            None,
        )?;
        let a = self
            .execute(
                "delete fido2Method",
                Method::DELETE,
                url,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        match a.status {
            200 | 204 => Ok(DeleteOutcome::Deleted),
            404 => Ok(DeleteOutcome::AlreadyGone),
            _ => Err(graph_error(&a)),
        }
    }

    /// WebAuthn creation options for the user. Beta: `creationOptions(challengeTimeoutInMinutes=N)`
    /// with N in 5..=43200; v1.0: no parameter (Graph fixes 5 minutes; N is still validated).
    pub async fn creation_options(
        &self,
        user: &str,
        challenge_timeout_minutes: u32,
    ) -> Result<CreationOptions> {
        let user_segment = path_segment("user", user)?;
        if !CHALLENGE_TIMEOUT_MINUTES.contains(&challenge_timeout_minutes) {
            return Err(Error::InvalidArgument(format!(
                "challengeTimeoutInMinutes {challenge_timeout_minutes} is outside 5..=43200 (5 minutes to 30 days)"
            )));
        }
        let func = match self.inner.api {
            ApiVersion::Beta => {
                format!("creationOptions(challengeTimeoutInMinutes={challenge_timeout_minutes})")
            }
            ApiVersion::V1 => "creationOptions".to_owned(),
        };
        let url = self.url(
            &format!("users/{user_segment}/authentication/fido2Methods/{func}"),
            None,
        )?;
        let a = self
            .execute(
                "get creationOptions",
                Method::GET,
                url,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        if a.status != 200 {
            return Err(self.provisioning_error(&a, user));
        }
        parse_creation_options(&a.body, a.status).map_err(|e| with_request_id(e, &a))
    }

    /// POSTs the attestation once. Not idempotent: after a timeout, reset or 5xx the outcome is
    /// unknown and `Error::RegistrationOutcomeUnknown` is returned — never a blind re-post. 429 and
    /// 401 (token refresh) are retried: those requests were not processed.
    pub async fn register_fido2_method(
        &self,
        user: &str,
        req: &RegisterRequest,
    ) -> Result<Fido2Method> {
        let user_segment = path_segment("user", user)?;
        if req.credential_id.is_empty()
            || req.client_data_json.is_empty()
            || req.attestation_object.is_empty()
        {
            return Err(Error::InvalidArgument(
                "credential id, clientDataJSON and attestation object must not be empty".into(),
            ));
        }
        let url = self.url(
            &format!("users/{user_segment}/authentication/fido2Methods"),
            None,
        )?;
        let body = serde_json::to_vec(&req.to_body())
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let res = self
            .execute(
                "register fido2Method",
                Method::POST,
                url,
                Some(body),
                Idempotency::NonIdempotent,
            )
            .await;
        let a = match res {
            Ok(a) => a,
            Err(Error::Http {
                connect: false,
                timeout,
                client_request_id,
                source,
                ..
            }) => {
                return Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: format!(
                        "{}: {source}",
                        if timeout {
                            "no answer before the timeout"
                        } else {
                            "connection lost after sending"
                        }
                    ),
                    client_request_id,
                    request_id: None,
                })
            }
            // An answer too large to read: if it said created (or a server error), the method
            // may be stored, so it is looked up before anything is posted again.
            Err(Error::ResponseTooLarge {
                operation,
                endpoint,
                status,
                limit,
                announced,
                request_id,
                client_request_id,
            }) if !(300..500).contains(&status) => {
                let cause = Error::ResponseTooLarge {
                    operation,
                    endpoint,
                    status,
                    limit,
                    announced,
                    request_id: request_id.clone(),
                    client_request_id: client_request_id.clone(),
                };
                return Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: cause.to_string(),
                    client_request_id,
                    request_id,
                });
            }
            Err(e) => return Err(e),
        };
        match a.status {
            200 | 201 => parse_json::<Fido2Method>("registered fido2Method", &a),
            s if s >= 500 => Err(Error::RegistrationOutcomeUnknown {
                user: user.to_owned(),
                cause: format!("Graph answered HTTP {s}: {}", graph_error(&a)),
                client_request_id: a.client_request_id.clone(),
                request_id: a.request_id.clone(),
            }),
            _ => Err(self.provisioning_error(&a, user)),
        }
    }

    /// A refused creationOptions/registration. With a delegated token, 405 means the operator
    /// targeted their own account (self-service provisioning is not supported).
    fn provisioning_error(&self, a: &Answer, user: &str) -> Error {
        match graph_error(a) {
            Error::Graph(g) if g.status == 405 && self.is_delegated() => Error::SelfProvisioning {
                user: user.to_owned(),
                graph: g,
            },
            e => e,
        }
    }

    /// Registers, and after an ambiguous failure recognises the outcome before anything else:
    /// waits `recheck_delay`, lists the user's methods and returns ours if it is there. Only if it
    /// is not, and `challenge_still_valid()` says so, posts the same body once more. (The challenge
    /// is single-use: re-posting after a stored-but-unanswered POST would only fail as duplicate or
    /// consumed, which is why recognition comes first.)
    pub async fn register_fido2_method_safely(
        &self,
        user: &str,
        req: &RegisterRequest,
        challenge_still_valid: impl FnOnce() -> bool,
    ) -> Result<Registration> {
        let first = match self.register_fido2_method(user, req).await {
            Ok(method) => {
                return Ok(Registration {
                    method,
                    recovered: false,
                    posts: 1,
                });
            }
            Err(e @ Error::RegistrationOutcomeUnknown { .. }) => e,
            Err(e) => return Err(e),
        };
        tracing::warn!(error = %first, "registration outcome unknown; looking the method up");
        self.settle_unclear(user, req, first, 1, challenge_still_valid)
            .await
    }

    /// Posts again a body whose earlier POST had an unclear outcome (an interrupted run) and
    /// that the caller looked up without finding it. The list may lag behind the write, so a
    /// refusal (the challenge already used, a duplicate) is checked by listing again before it
    /// is returned; when the list cannot be read, the outcome stays unknown.
    pub async fn register_fido2_method_again(
        &self,
        user: &str,
        req: &RegisterRequest,
    ) -> Result<Registration> {
        match self.register_fido2_method(user, req).await {
            Ok(method) => Ok(Registration {
                method,
                recovered: false,
                posts: 1,
            }),
            Err(e @ Error::RegistrationOutcomeUnknown { .. }) => {
                self.settle_unclear(user, req, e, 1, || false).await
            }
            Err(refused) => match self.recheck(user, &req.credential_id).await {
                Ok(Some(method)) => Ok(Registration {
                    method,
                    recovered: true,
                    posts: 1,
                }),
                Ok(None) => Err(refused),
                Err(lookup) => Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: format!(
                        "an earlier POST's outcome was unclear, posting again was refused ({refused}) and the look-up that followed failed: {lookup}"
                    ),
                    client_request_id: String::new(),
                    request_id: refused.request_id().map(str::to_owned),
                }),
            },
        }
    }

    /// After a POST whose outcome is unknown (`first`): our method if the list shows it,
    /// else one more POST while the challenge is valid. Every way this can fail stays
    /// `RegistrationOutcomeUnknown` (Graph may hold the method though the list does not show
    /// it yet): a caller that took it for a refusal would create a second passkey.
    async fn settle_unclear(
        &self,
        user: &str,
        req: &RegisterRequest,
        first: Error,
        posts: u32,
        challenge_still_valid: impl FnOnce() -> bool,
    ) -> Result<Registration> {
        let found = |method| Registration {
            method,
            recovered: true,
            posts,
        };
        match self.recheck(user, &req.credential_id).await {
            Ok(Some(method)) => return Ok(found(method)),
            Ok(None) => {}
            Err(lookup) => {
                return Err(still_unknown(
                    first,
                    "the look-up that followed failed",
                    &lookup,
                ))
            }
        }
        if !challenge_still_valid() {
            return Err(first);
        }
        match self.register_fido2_method(user, req).await {
            Ok(method) => Ok(Registration {
                method,
                recovered: false,
                posts: posts + 1,
            }),
            Err(second) => {
                // A second ambiguous failure, or a "challenge already used" 400 because the
                // first POST landed late: look once more before giving up.
                let posts = posts + 1;
                match self.recheck(user, &req.credential_id).await {
                    Ok(Some(method)) => Ok(Registration {
                        method,
                        recovered: true,
                        posts,
                    }),
                    Ok(None) => Err(still_unknown(
                        first,
                        "posting again failed and the list does not show the method yet",
                        &second,
                    )),
                    Err(lookup) => Err(still_unknown(
                        first,
                        "posting again and the look-up after it failed",
                        &lookup,
                    )),
                }
            }
        }
    }

    async fn recheck(&self, user: &str, credential_id: &[u8]) -> Result<Option<Fido2Method>> {
        tokio::time::sleep(self.inner.policy.recheck_delay).await;
        self.find_registered_method(user, credential_id).await
    }

    /// Our method among the user's, recognised by id = base64url(credId)+padDigit or base64url(credId).
    pub async fn find_registered_method(
        &self,
        user: &str,
        credential_id: &[u8],
    ) -> Result<Option<Fido2Method>> {
        Ok(self
            .list_fido2_methods(user)
            .await?
            .into_iter()
            .find(|m| method_id_matches_credential(&m.id, credential_id)))
    }

    // ------------------------------------------------------------------ plumbing

    fn url(&self, path: &str, query: Option<&str>) -> Result<Url> {
        let base = self.inner.graph_base.as_str().trim_end_matches('/');
        let mut s = format!("{base}/{}/{path}", self.inner.api.segment());
        if let Some(q) = query {
            s.push('?');
            s.push_str(q);
        }
        Url::parse(&s)
            .map_err(|e| Error::InvalidArgument(format!("cannot build URL for {path}: {e}")))
    }

    /// A nextLink is followed verbatim, but only to our own Graph origin: the bearer token must
    /// never go anywhere else.
    fn next_url(&self, link: &str, what: &'static str) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| Error::Decode {
            what,
            status: 200,
            detail: format!("@odata.nextLink is not a URL: {e}"),
            snippet: link.chars().take(200).collect(),
            request_id: None,
        })?;
        if url.origin() != self.inner.graph_base.origin() {
            return Err(Error::Decode {
                what,
                status: 200,
                detail: "@odata.nextLink points to another host; refusing to send the token there"
                    .into(),
                snippet: link.chars().take(200).collect(),
                request_id: None,
            });
        }
        check_transport(&url)?;
        Ok(url)
    }

    async fn get_json<T: DeserializeOwned>(&self, what: &'static str, url: Url) -> Result<T> {
        let a = self
            .execute(what, Method::GET, url, None, Idempotency::Idempotent)
            .await?;
        if a.status != 200 {
            return Err(graph_error(&a));
        }
        parse_json(what, &a)
    }

    /// All pages of a collection, following `@odata.nextLink` verbatim.
    async fn get_all<T: DeserializeOwned>(&self, what: &'static str, first: Url) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: Page<T> = self.get_json(what, url).await?;
            out.extend(page.value);
            if let Some(link) = page.next_link {
                if !seen.insert(link.clone()) {
                    return Err(Error::Decode {
                        what,
                        status: 200,
                        detail: "@odata.nextLink repeats; stopping to avoid an endless loop".into(),
                        snippet: link.chars().take(200).collect(),
                        request_id: None,
                    });
                }
                next = Some(self.next_url(&link, what)?);
            }
        }
        Ok(out)
    }

    async fn wait_for_pause(&self) {
        let until = *self
            .inner
            .pause_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(t) = until {
            tokio::time::sleep_until(t).await;
        }
    }

    fn pause_all(&self, d: Duration) {
        let t = tokio::time::Instant::now() + d;
        let mut g = self
            .inner
            .pause_until
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if g.is_none_or(|cur| cur < t) {
            *g = Some(t);
        }
    }

    /// Sends with token, fresh `client-request-id`, concurrency limit, retries and one token
    /// refresh on 401. Returns any answer that is final (success or not); errors only for
    /// transport failures and exhausted throttling.
    async fn execute(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        idem: Idempotency,
    ) -> Result<Answer> {
        check_transport(&url)?;
        let policy = &self.inner.policy;
        let mut attempts = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let token = self.inner.tokens.token().await?;
            let permit = self
                .inner
                .permits
                .acquire()
                .await
                .map_err(|_| Error::InvalidConfig("client is shutting down".into()))?;
            // Checked after the permit: a pause set while we queued still holds us back.
            self.wait_for_pause().await;
            let crid = uuid::Uuid::new_v4().to_string();
            let sent = self
                .request(&method, &url, &token, &crid, body.as_deref(), attempts)?
                .send()
                .await;
            let read = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let request_id = header("request-id");
                    let retry_after = header(RETRY_AFTER.as_str())
                        .and_then(|v| parse_retry_after(&v, SystemTime::now()));
                    read_capped(
                        resp,
                        operation,
                        MAX_GRAPH_RESPONSE_BYTES,
                        request_id.clone(),
                        &crid,
                    )
                    .await
                    .map(|b| (status, request_id, retry_after, b))
                }
                Err(e) => Err(BodyError::Transport(e)),
            };
            drop(permit);
            let (status, request_id, retry_after, body_bytes) = match read {
                Ok(r) => r,
                Err(BodyError::TooLarge(e)) => return Err(*e),
                Err(BodyError::Transport(e)) => {
                    let outcome = Outcome::Transport {
                        connect: e.is_connect(),
                    };
                    match policy.decide(attempts, outcome, idem, rand::random()) {
                        Decision::Retry(d) => {
                            tracing::warn!(operation, error = %e, delay_ms = d.as_millis() as u64, "request failed; retrying");
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        Decision::Stop => {
                            return Err(Error::Http {
                                operation,
                                timeout: e.is_timeout(),
                                connect: e.is_connect(),
                                client_request_id: crid,
                                source: e,
                            })
                        }
                    }
                }
            };
            let answer = Answer {
                status,
                request_id,
                client_request_id: crid,
                body: body_bytes,
            };
            if status == 401 && !refreshed && is_invalid_token(&answer.body) {
                // Expired or revoked token: fetch a new one once; this attempt does not count.
                refreshed = true;
                attempts -= 1;
                self.inner.tokens.invalidate(&token).await;
                tracing::info!(operation, "access token refused; refreshing once");
                continue;
            }
            if is_retryable_status(status) {
                let outcome = Outcome::Status {
                    status,
                    retry_after,
                };
                match policy.decide(attempts, outcome, idem, rand::random()) {
                    Decision::Retry(d) => {
                        tracing::warn!(
                            operation,
                            status,
                            request_id = answer.request_id.as_deref().unwrap_or(""),
                            delay_ms = d.as_millis() as u64,
                            "throttled or unavailable; retrying"
                        );
                        if status == 429 || retry_after.is_some() {
                            // The limit is per app+tenant: everyone waits, not only this caller.
                            self.pause_all(d);
                        } else {
                            tokio::time::sleep(d).await;
                        }
                        continue;
                    }
                    Decision::Stop if status == 429 || idem == Idempotency::Idempotent => {
                        return Err(Error::Throttled {
                            status,
                            attempts,
                            retry_after,
                            request_id: answer
                                .request_id
                                .or_else(|| envelope_request_id(&answer.body)),
                        })
                    }
                    Decision::Stop => return Ok(answer),
                }
            }
            return Ok(answer);
        }
    }

    fn request(
        &self,
        method: &Method,
        url: &Url,
        token: &AccessToken,
        crid: &str,
        body: Option<&[u8]>,
        attempt: u32,
    ) -> Result<reqwest::RequestBuilder> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.secret.expose_secret()))
            .map_err(|_| Error::Decode {
                what: "token response",
                status: 200,
                detail: "access token contains characters not allowed in a header".into(),
                snippet: "(withheld: token)".into(),
                request_id: None,
            })?;
        bearer.set_sensitive(true);
        let mut rb = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, bearer)
            .header(ACCEPT, "application/json")
            .header("client-request-id", crid);
        if attempt > 1 {
            rb = rb.header("Retry-Attempt", (attempt - 1).to_string());
        }
        if let Some(b) = body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b.to_vec());
        }
        Ok(rb)
    }
}

fn is_invalid_token(body: &[u8]) -> bool {
    // An empty 401 body is treated as a refused token too (gateways strip bodies).
    body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<ErrorEnvelope>(body)
            .map(|e| {
                e.error
                    .code
                    .eq_ignore_ascii_case("InvalidAuthenticationToken")
            })
            .unwrap_or(false)
}

fn envelope_request_id(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()?
        .error
        .inner_error?
        .find_request_id()
        .map(str::to_owned)
}

fn graph_error(a: &Answer) -> Error {
    let (code, message, inner) = match serde_json::from_slice::<ErrorEnvelope>(&a.body) {
        Ok(env) => (env.error.code, env.error.message, env.error.inner_error),
        Err(_) => ("(no JSON error body)".to_owned(), snippet(&a.body), None),
    };
    let request_id = a.request_id.clone().or_else(|| {
        inner
            .as_ref()
            .and_then(|i| i.find_request_id())
            .map(str::to_owned)
    });
    Error::Graph(Box::new(GraphError {
        status: a.status,
        code,
        message: message.chars().take(500).collect(),
        request_id,
        client_request_id: Some(a.client_request_id.clone()),
        date: inner.and_then(|i| i.date),
    }))
}

fn parse_json<T: DeserializeOwned>(what: &'static str, a: &Answer) -> Result<T> {
    serde_json::from_slice(&a.body).map_err(|e| Error::Decode {
        what,
        status: a.status,
        detail: e.to_string(),
        snippet: snippet(&a.body),
        request_id: a.request_id.clone(),
    })
}

fn with_request_id(e: Error, a: &Answer) -> Error {
    match e {
        Error::Decode {
            what,
            status,
            detail,
            snippet,
            request_id: None,
        } => Error::Decode {
            what,
            status,
            detail,
            snippet,
            request_id: a.request_id.clone(),
        },
        e => e,
    }
}

/// `first` (an unknown registration outcome) with what was learnt since added to its cause:
/// briefly (the operator reads it), the full `since` goes to the log.
fn still_unknown(first: Error, what: &str, since: &Error) -> Error {
    tracing::warn!(error = %since, "{what}");
    let note = match since.request_id() {
        Some(rid) => format!("{what} (request-id {rid})"),
        None => what.to_owned(),
    };
    match first {
        Error::RegistrationOutcomeUnknown {
            user,
            cause,
            client_request_id,
            request_id,
        } => Error::RegistrationOutcomeUnknown {
            user,
            cause: format!("{cause}; {note}"),
            client_request_id,
            request_id,
        },
        other => other,
    }
}
