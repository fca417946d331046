//! Sign-in to the Microsoft identity platform: the token cache and its acquisition. App-only: the
//! client credentials grant with the app's [`Credentials`] (a secret, or a certificate assertion,
//! see `credentials`). Delegated: the operator signs in with the device code
//! ([`crate::device_code`]) and the refresh token renews the access token. Either way the token
//! is cached, refreshed before it expires and once after a 401, by the same code.

use crate::body::{read_capped, BodyError, MAX_TOKEN_RESPONSE_BYTES};
use crate::device_code::SignedInAccount;
use crate::error::{Error, Result};
use crate::retry::{parse_retry_after, Decision, Idempotency, Outcome, RetryPolicy};
use crate::secret::SecretString;
use crate::wire::{snippet, OAuthErrorBody, TokenResponse};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use url::Url;

mod credentials;

pub use credentials::{client_assertion, thumbprint_sha1, thumbprint_sha256, Credentials, RsaKey};

/// Refresh this long before expiry (or at half the lifetime, if shorter).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// True when a token of `lifetime` obtained `elapsed` ago should be replaced: 5 minutes before
/// expiry, or at half its lifetime when it is short.
pub fn refresh_due(lifetime: Duration, elapsed: Duration) -> bool {
    let margin = REFRESH_MARGIN.min(lifetime / 2);
    elapsed.saturating_add(margin) >= lifetime
}

/// A bearer token handed to requests; `generation` lets a 401 invalidate only the token it used.
#[derive(Clone)]
pub(crate) struct AccessToken {
    pub(crate) secret: Arc<SecretString>,
    generation: u64,
}

struct Cached {
    token: AccessToken,
    obtained: Instant,
    lifetime: Duration,
}

/// Delegated mode: who signed in, and the refresh token that renews their access token.
struct Session {
    account: SignedInAccount,
    refresh: Option<SecretString>,
}

#[derive(Default)]
struct TokenState {
    cached: Option<Cached>,
    generation: u64,
    session: Option<Session>,
}

/// Form values of a token request; values are zeroized on drop and print as `***`.
pub(crate) type Form = Vec<(&'static str, SecretString)>;

/// Fetches and caches tokens (app-only, or the signed-in operator's). One fetch at a time:
/// concurrent callers wait for it.
pub(crate) struct TokenProvider {
    pub(crate) http: reqwest::Client,
    pub(crate) token_url: Url,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) credentials: Credentials,
    pub(crate) policy: RetryPolicy,
    state: tokio::sync::Mutex<TokenState>,
}

impl TokenProvider {
    pub(crate) fn new(
        http: reqwest::Client,
        token_url: Url,
        client_id: String,
        scope: String,
        credentials: Credentials,
        policy: RetryPolicy,
    ) -> Self {
        TokenProvider {
            http,
            token_url,
            client_id,
            scope,
            credentials,
            policy,
            state: tokio::sync::Mutex::new(TokenState::default()),
        }
    }

    /// A valid token, from cache or freshly fetched (app-only), or renewed with the refresh
    /// token (delegated; `NotSignedIn` when nobody is signed in).
    pub(crate) async fn token(&self) -> Result<AccessToken> {
        let mut st = self.state.lock().await;
        if let Some(c) = &st.cached {
            let elapsed = c.obtained.elapsed();
            // Without a refresh token a delegated token is used until it really expires.
            let renewable =
                !self.is_delegated() || st.session.as_ref().is_some_and(|s| s.refresh.is_some());
            if !refresh_due(c.lifetime, elapsed) || (!renewable && elapsed < c.lifetime) {
                return Ok(c.token.clone());
            }
        }
        let obtained = Instant::now();
        let resp = if self.is_delegated() {
            let Some(refresh) = st.session.as_ref().and_then(|s| s.refresh.clone()) else {
                st.cached = None;
                st.session = None;
                return Err(Error::NotSignedIn);
            };
            match self.redeem_refresh_token(&refresh).await {
                Ok(r) => r,
                Err(e @ Error::Auth(_)) => {
                    // Refused (expired, revoked, password changed): the operator signs in again.
                    tracing::warn!(error = %e, "refresh token refused; operator signed out");
                    st.cached = None;
                    st.session = None;
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        } else {
            self.fetch().await?
        };
        Ok(Self::store(&mut st, resp, obtained))
    }

    /// Caches a fresh token response (and a rotated refresh token) and returns the token.
    fn store(st: &mut TokenState, mut resp: TokenResponse, obtained: Instant) -> AccessToken {
        if let (Some(rt), Some(session)) = (resp.refresh_token.take(), st.session.as_mut()) {
            session.refresh = Some(rt);
        }
        st.generation += 1;
        let token = AccessToken {
            secret: Arc::new(resp.access_token),
            generation: st.generation,
        };
        tracing::debug!(expires_in = resp.expires_in, "obtained Graph access token");
        st.cached = Some(Cached {
            token: token.clone(),
            obtained,
            lifetime: Duration::from_secs(resp.expires_in),
        });
        token
    }

    /// True for a public client (operator sign-in).
    pub(crate) fn is_delegated(&self) -> bool {
        matches!(self.credentials, Credentials::Delegated)
    }

    /// Delegated: keeps the tokens of a completed sign-in (replacing any earlier operator's).
    pub(crate) async fn install_session(
        &self,
        mut resp: TokenResponse,
        obtained: Instant,
        account: SignedInAccount,
    ) {
        let mut st = self.state.lock().await;
        st.session = Some(Session {
            account,
            refresh: resp.refresh_token.take(),
        });
        Self::store(&mut st, resp, obtained);
    }

    /// Delegated: who is signed in.
    pub(crate) async fn account(&self) -> Option<SignedInAccount> {
        let st = self.state.lock().await;
        st.session.as_ref().map(|s| s.account.clone())
    }

    /// Drops every token (access and refresh) and the signed-in account.
    pub(crate) async fn sign_out(&self) {
        let mut st = self.state.lock().await;
        st.cached = None;
        st.session = None;
        st.generation += 1;
    }

    async fn redeem_refresh_token(&self, refresh: &SecretString) -> Result<TokenResponse> {
        let form = || {
            Ok(vec![
                ("client_id", SecretString::new(self.client_id.clone())),
                ("grant_type", SecretString::new("refresh_token")),
                ("refresh_token", refresh.clone()),
                ("scope", SecretString::new(self.scope.clone())),
            ])
        };
        let resp: TokenResponse = self
            .post_form(&self.token_url, "token refresh", "token response", form)
            .await?;
        check_bearer(resp)
    }

    /// Drops the cached token if it is the one that was refused (not a newer one).
    pub(crate) async fn invalidate(&self, used: &AccessToken) {
        let mut st = self.state.lock().await;
        if st
            .cached
            .as_ref()
            .is_some_and(|c| c.token.generation == used.generation)
        {
            st.cached = None;
        }
    }

    async fn fetch(&self) -> Result<TokenResponse> {
        let form = || -> Result<Form> {
            let mut form: Form = vec![
                ("client_id", SecretString::new(self.client_id.clone())),
                ("scope", SecretString::new(self.scope.clone())),
                ("grant_type", SecretString::new("client_credentials")),
            ];
            match &self.credentials {
                Credentials::Secret(s) => form.push(("client_secret", s.clone())),
                Credentials::Certificate { cert_der, key } => {
                    // A fresh assertion (new jti) for every attempt.
                    let assertion = client_assertion(
                        cert_der,
                        key,
                        &self.client_id,
                        self.token_url.as_str(),
                        SystemTime::now(),
                    )?;
                    form.push((
                        "client_assertion_type",
                        SecretString::new("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ));
                    form.push(("client_assertion", assertion));
                }
                Credentials::Delegated => return Err(Error::NotSignedIn),
            }
            Ok(form)
        };
        let resp: TokenResponse = self
            .post_form(&self.token_url, "token request", "token response", form)
            .await?;
        check_bearer(resp)
    }

    /// POSTs a form to a login endpoint with retries (transport, 429/5xx); 200 is parsed as `T`
    /// (the body is never quoted: it may hold a token), an OAuth error body becomes `Error::Auth`.
    pub(crate) async fn post_form<T: DeserializeOwned>(
        &self,
        url: &Url,
        operation: &'static str,
        what: &'static str,
        form: impl Fn() -> Result<Form>,
    ) -> Result<T> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let crid = uuid::Uuid::new_v4().to_string();
            let values = form()?;
            let pairs: Vec<(&str, &str)> = values
                .iter()
                .map(|(k, v)| (*k, v.expose_secret()))
                .collect();
            let sent = self
                .http
                .post(url.clone())
                .header("client-request-id", &crid)
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&pairs)
                .send()
                .await;
            drop(pairs);
            drop(values);
            let (status, retry_after, body) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let ra = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let request_id = resp
                        .headers()
                        .get("x-ms-request-id")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    match read_capped(resp, operation, MAX_TOKEN_RESPONSE_BYTES, request_id, &crid)
                        .await
                    {
                        Ok(b) => (status, ra, b),
                        Err(BodyError::TooLarge(e)) => return Err(*e),
                        Err(BodyError::Transport(e)) => {
                            self.transport_retry(operation, attempts, e, &crid).await?;
                            continue;
                        }
                    }
                }
                Err(e) => {
                    self.transport_retry(operation, attempts, e, &crid).await?;
                    continue;
                }
            };
            if status == 200 {
                return serde_json::from_slice(&body).map_err(|e| Error::Decode {
                    what,
                    status,
                    // The error text of serde names positions/types only, never values.
                    detail: e.to_string(),
                    snippet: "(withheld: may contain a token)".into(),
                    request_id: None,
                });
            }
            let parsed: Option<OAuthErrorBody> = serde_json::from_slice(&body).ok();
            if crate::retry::is_retryable_status(status) {
                let outcome = Outcome::Status {
                    status,
                    retry_after,
                };
                if let Decision::Retry(d) =
                    self.policy
                        .decide(attempts, outcome, Idempotency::Idempotent, rand::random())
                {
                    tracing::warn!(
                        status,
                        operation,
                        delay_ms = d.as_millis() as u64,
                        "login endpoint busy; retrying"
                    );
                    tokio::time::sleep(d).await;
                    continue;
                }
                if parsed.is_none() {
                    return Err(Error::Throttled {
                        status,
                        attempts,
                        retry_after,
                        request_id: None,
                    });
                }
            }
            return Err(match parsed {
                Some(e) => Error::Auth(Box::new(e.into_auth_error(status))),
                None => Error::Decode {
                    what: "login endpoint error",
                    status,
                    detail: "not an OAuth error body; check the cloud / login base URL".into(),
                    snippet: snippet(&body),
                    request_id: None,
                },
            });
        }
    }

    async fn transport_retry(
        &self,
        operation: &'static str,
        attempts: u32,
        e: reqwest::Error,
        crid: &str,
    ) -> Result<()> {
        let outcome = Outcome::Transport {
            connect: e.is_connect(),
        };
        match self
            .policy
            .decide(attempts, outcome, Idempotency::Idempotent, rand::random())
        {
            Decision::Retry(d) => {
                tracing::warn!(operation, error = %e, delay_ms = d.as_millis() as u64, "login request failed; retrying");
                tokio::time::sleep(d).await;
                Ok(())
            }
            Decision::Stop => Err(Error::Http {
                operation,
                timeout: e.is_timeout(),
                connect: e.is_connect(),
                client_request_id: crid.to_owned(),
                source: e,
            }),
        }
    }
}

/// A token response must be a bearer token.
pub(crate) fn check_bearer(tr: TokenResponse) -> Result<TokenResponse> {
    if !tr.token_type.is_empty() && !tr.token_type.eq_ignore_ascii_case("bearer") {
        return Err(Error::Decode {
            what: "token response",
            status: 200,
            detail: format!("token_type {:?} is not Bearer", tr.token_type),
            snippet: "(withheld: may contain a token)".into(),
            request_id: None,
        });
    }
    Ok(tr)
}
