//! The Graph client: one `reqwest` connection pool, one token cache and one concurrency limit
//! shared by every clone, so thousands of prefetches run in parallel without a throttling storm:
//! bulk work adapts how much it sends to Graph's answers and waits out every Retry-After, while
//! interactive calls keep a lane of their own (`limiter`).
//!
//! This module holds the configuration, construction and sign-in; the calls live by subject:
//! `directory` (groups, members), `fido2` (methods, creation options, registration, the method
//! policy) and `http` (request execution, retries, headers, capped body reading).

use crate::adaptive::Concurrency;
use crate::auth::{Credentials, TokenProvider};
use crate::cloud::{check_transport, Cloud};
use crate::device_code::{DeviceAuthorization, SignedInAccount};
use crate::error::{Error, Result};
use crate::retry::RetryPolicy;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

mod directory;
mod fido2;
mod http;
mod limiter;

pub use fido2::{policy, DeleteOutcome, Registration, CHALLENGE_TIMEOUT_MINUTES};

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
    /// Requests in flight at once across all clones: adaptive up to a ceiling (default 32),
    /// or fixed.
    pub concurrency: Concurrency,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// An HTTP(S) proxy for every request (`http://proxy:3128`). Without one, the
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` variables apply.
    pub proxy: Option<Url>,
}

impl GraphConfig {
    /// A config with defaults: beta, adaptive concurrency up to [`DEFAULT_CONCURRENCY_CEILING`],
    /// default timeouts and retries.
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
            concurrency: Concurrency::Adaptive {
                ceiling: DEFAULT_CONCURRENCY_CEILING,
            },
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
            proxy: None,
        }
    }
}

/// Most requests in flight at once unless configured otherwise.
pub const DEFAULT_CONCURRENCY_CEILING: usize = 32;

struct Inner {
    http: reqwest::Client,
    graph_base: Url,
    api: ApiVersion,
    tokens: TokenProvider,
    /// The configured tenant (id or domain), trimmed: a delegated sign-in must belong to it.
    tenant: String,
    limiter: limiter::Limiter,
    policy: RetryPolicy,
}

/// Microsoft Graph client. Cheap to clone; clones share connections, token and concurrency limit.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
    priority: ThrottlePriority,
}

/// `x-ms-throttle-priority`: how Graph should treat this client's requests when the tenant
/// nears its limits. High is for what a person at the station waits on; Low for bulk work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ThrottlePriority {
    /// Bulk work (prefetch, queue refresh).
    Low,
    /// No header: Graph's default.
    #[default]
    Normal,
    /// Interactive: just-in-time options and registration while the person waits.
    High,
}

impl ThrottlePriority {
    /// The header value, `None` for Normal (no header sent).
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            ThrottlePriority::Low => Some("Low"),
            ThrottlePriority::Normal => None,
            ThrottlePriority::High => Some("High"),
        }
    }
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
        if config.concurrency.ceiling() == 0 {
            return Err(Error::InvalidConfig(
                "the concurrency limit must be at least 1".into(),
            ));
        }
        let token_url = Url::parse(&config.cloud.token_url(tenant))
            .map_err(|e| Error::InvalidConfig(format!("token URL: {e}")))?;
        check_transport(&token_url)?;
        let mut builder = reqwest::Client::builder();
        if let Some(proxy) = &config.proxy {
            // A configured proxy replaces the environment's; TLS to Microsoft is still
            // verified end to end through its CONNECT tunnel.
            builder = builder.proxy(
                reqwest::Proxy::all(proxy.as_str())
                    .map_err(|e| Error::InvalidConfig(format!("proxy {proxy}: {e}")))?,
            );
        }
        let http = builder
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
                limiter: limiter::Limiter::new(config.concurrency),
                policy: config.retry,
            }),
            priority: ThrottlePriority::Normal,
        })
    }

    /// The same client (connections, token, limits shared) sending `priority` with every
    /// request.
    pub fn with_priority(&self, priority: ThrottlePriority) -> GraphClient {
        GraphClient {
            inner: Arc::clone(&self.inner),
            priority,
        }
    }

    /// Microsoft Graph's clock, from the `Date` header of an unauthenticated request to its
    /// root (no token is sent): the station's clock must agree with it, because challenges
    /// and tokens expire. `None` when the answer carries no usable date.
    pub async fn server_time(&self) -> Result<Option<std::time::SystemTime>> {
        let resp = self
            .get_without_token(self.inner.graph_base.clone(), "read Graph's clock")
            .await?;
        Ok(resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok()))
    }

    /// The sign-in endpoint's answer for the configured tenant: its OpenID configuration,
    /// fetched without a token over verified TLS (through the proxy when one is set). 200: the
    /// endpoint is reachable and knows the tenant; a delegated station signs operators in
    /// there, an app-only station gets its tokens there.
    pub async fn login_status(&self) -> Result<u16> {
        let mut url = self.inner.tokens.token_url.clone();
        let path = url.path().replace(
            "/oauth2/v2.0/token",
            "/v2.0/.well-known/openid-configuration",
        );
        url.set_path(&path);
        let resp = self
            .get_without_token(url, "reach the sign-in endpoint")
            .await?;
        Ok(resp.status().as_u16())
    }

    /// One GET that needs no token (https, or http only to a loopback host), tagged with a
    /// `client-request-id` that a transport error names.
    async fn get_without_token(
        &self,
        url: url::Url,
        operation: &'static str,
    ) -> Result<reqwest::Response> {
        crate::cloud::check_transport(&url)?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        self.inner
            .http
            .get(url)
            .header("client-request-id", &client_request_id)
            .send()
            .await
            .map_err(|e| Error::Http {
                operation,
                timeout: e.is_timeout(),
                connect: e.is_connect(),
                client_request_id,
                source: e,
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
}
