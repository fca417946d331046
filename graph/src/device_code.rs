//! Delegated operator sign-in with the device authorization grant (RFC 8628, CONTRACT.md §1e).
//!
//! The station asks for a code ([`crate::GraphClient::start_device_sign_in`]), shows
//! `user_code` and `verification_uri`, and polls the token endpoint
//! ([`crate::GraphClient::finish_device_sign_in`]) no sooner than every `interval` seconds,
//! five seconds slower after each `slow_down`, until the operator approves, declines or the code
//! expires. The tokens then live in the client's token cache: Graph is called with the operator's
//! own rights and the refresh token renews the access token before it expires, by the same code
//! as app-only tokens. [`crate::GraphClient::sign_out`] drops them.

use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::auth::{check_bearer, Form, TokenProvider};
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::wire::TokenResponse;

/// RFC 8628 §3.5: every `slow_down` adds this to the polling interval.
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// RFC 8628 §3.2: the interval when the server names none.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Entra's default code lifetime (`expires_in`), used when the answer has none.
const DEFAULT_EXPIRES_IN: Duration = Duration::from_secs(900);
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A started device-code sign-in: what the operator needs to see, and (hidden) what the
/// station polls with.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// The code the operator types at [`Self::verification_uri`], e.g. `GQ7WZ2K4B`.
    pub user_code: String,
    /// Where to type it, e.g. `https://microsoft.com/devicelogin`.
    pub verification_uri: String,
    /// Entra's own sentence (localized by the service), for a screen reader or a log.
    pub message: String,
    /// How long the code is valid from [`Self::issued_at`].
    pub expires_in: Duration,
    /// Minimum time between polls.
    pub interval: Duration,
    /// Added to the interval on each `slow_down` ([`SLOW_DOWN_STEP`]; tests shorten it).
    pub slow_down_step: Duration,
    /// When the code was issued (station clock).
    pub issued_at: SystemTime,
    /// Monotonic twin of `issued_at` (expiry is checked against this one).
    started: Instant,
    /// Secret: whoever has it can redeem the sign-in. Prints `***`.
    device_code: SecretString,
}

impl DeviceAuthorization {
    /// When the code stops working.
    pub fn expires_at(&self) -> SystemTime {
        self.issued_at + self.expires_in
    }

    fn expired(&self) -> bool {
        self.started.elapsed() >= self.expires_in
    }
}

/// The operator who signed in, from the ID token (`openid profile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInAccount {
    /// `preferred_username` (the UPN, as a rule): what goes on every audit entry.
    pub username: String,
    /// `name`, when the token has it.
    pub name: Option<String>,
    /// `oid`: the operator's object id.
    pub object_id: Option<String>,
    /// `tid`: the tenant the operator signed in to.
    pub tenant_id: Option<String>,
}

/// Why a device-code sign-in stopped without tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceFlowFailure {
    /// `authorization_declined` / `access_denied`: the operator (or a policy) said no.
    Declined,
    /// `bad_verification_code` (AADSTS70018): the service does not know the code.
    BadVerificationCode,
    /// `expired_token` (AADSTS70019), or the code's lifetime ran out on the station's clock.
    Expired,
}

impl DeviceFlowFailure {
    /// A short stable code for logs and the UI.
    pub fn code(self) -> &'static str {
        match self {
            DeviceFlowFailure::Declined => "sign-in-declined",
            DeviceFlowFailure::BadVerificationCode => "sign-in-bad-code",
            DeviceFlowFailure::Expired => "sign-in-expired",
        }
    }

    /// What happened and what to do, for the operator.
    pub fn operator_text(self) -> &'static str {
        match self {
            DeviceFlowFailure::Declined => {
                "the sign-in was declined (the operator chose not to continue, or a policy blocked it); \
                 start a new sign-in to try again"
            }
            DeviceFlowFailure::BadVerificationCode => {
                "Entra ID does not recognise this sign-in code; start a new sign-in and use the new code"
            }
            DeviceFlowFailure::Expired => {
                "the sign-in code expired before it was used; start a new sign-in and enter the code within its time"
            }
        }
    }
}

#[derive(Deserialize)]
struct DeviceCodeResponse {
    device_code: SecretString,
    user_code: String,
    /// The v1 endpoint calls it `verification_url`.
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    expires_in: Option<Value>,
    #[serde(default)]
    interval: Option<Value>,
    #[serde(default)]
    message: Option<String>,
}

/// Seconds as a number or a numeric string (the v1 endpoint sends strings).
fn seconds(v: Option<&Value>) -> Option<Duration> {
    let n = match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    Some(Duration::from_secs(n))
}

impl TokenProvider {
    fn device_code_url(&self) -> Result<Url> {
        let mut url = self.token_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidConfig("the token URL has no path".into()))?
            .pop()
            .push("devicecode");
        Ok(url)
    }

    /// `POST {login}/{tenant}/oauth2/v2.0/devicecode` with the delegated scopes.
    pub(crate) async fn start_device_flow(&self) -> Result<DeviceAuthorization> {
        if !self.is_delegated() {
            return Err(Error::InvalidConfig(
                "device-code sign-in needs Credentials::Delegated (operatorSignIn \"delegated\")"
                    .into(),
            ));
        }
        let url = self.device_code_url()?;
        let form = || -> Result<Form> {
            Ok(vec![
                ("client_id", SecretString::new(self.client_id.clone())),
                ("scope", SecretString::new(self.scope.clone())),
            ])
        };
        let issued_at = SystemTime::now();
        let started = Instant::now();
        let r: DeviceCodeResponse = self
            .post_form(&url, "device-code request", "device code response", form)
            .await?;
        let expires_in = seconds(r.expires_in.as_ref()).unwrap_or(DEFAULT_EXPIRES_IN);
        let interval = seconds(r.interval.as_ref()).unwrap_or(DEFAULT_INTERVAL);
        tracing::info!(
            expires_in = expires_in.as_secs(),
            interval = interval.as_secs(),
            "device-code sign-in started"
        );
        Ok(DeviceAuthorization {
            message: r.message.unwrap_or_else(|| {
                format!(
                    "To sign in, open {} and enter the code {}.",
                    r.verification_uri, r.user_code
                )
            }),
            user_code: r.user_code,
            verification_uri: r.verification_uri,
            expires_in,
            interval,
            slow_down_step: SLOW_DOWN_STEP,
            issued_at,
            started,
            device_code: r.device_code,
        })
    }

    /// Polls until the operator approves (tokens installed, account returned) or the flow stops.
    /// `configured_tenant` is the tenant the client was built for ([`check_tenant`]): an
    /// operator of another tenant is refused and no tokens are kept. Cancel by dropping the
    /// future.
    pub(crate) async fn poll_device_flow(
        &self,
        auth: &DeviceAuthorization,
        configured_tenant: &str,
    ) -> Result<SignedInAccount> {
        let mut interval = auth.interval;
        let form = || -> Result<Form> {
            Ok(vec![
                ("grant_type", SecretString::new(DEVICE_CODE_GRANT)),
                ("client_id", SecretString::new(self.client_id.clone())),
                ("device_code", auth.device_code.clone()),
            ])
        };
        loop {
            if auth.expired() {
                return Err(Error::DeviceSignIn {
                    failure: DeviceFlowFailure::Expired,
                    auth: None,
                });
            }
            tokio::time::sleep(interval).await;
            let obtained = Instant::now();
            let answer = self
                .post_form::<TokenResponse>(
                    &self.token_url,
                    "device-code sign-in",
                    "token response",
                    form,
                )
                .await;
            let failure = match answer {
                Ok(resp) => {
                    let resp = check_bearer(resp)?;
                    let account = account_from_id_token(resp.id_token.as_ref())?;
                    if let Err(e) = check_tenant(configured_tenant, &account) {
                        tracing::warn!(error = %e, "device-code sign-in refused: wrong tenant");
                        // The operator is not signed in: this answer's tokens are dropped
                        // (zeroized) here, and any earlier session with them.
                        drop(resp);
                        self.sign_out().await;
                        return Err(e);
                    }
                    tracing::info!(operator = %account.username, "operator signed in (device code)");
                    self.install_session(resp, obtained, account.clone()).await;
                    return Ok(account);
                }
                Err(Error::Auth(a)) => match a.error.as_str() {
                    "authorization_pending" => continue,
                    "slow_down" => {
                        interval += auth.slow_down_step;
                        tracing::debug!(
                            interval_secs = interval.as_secs(),
                            "device-code poll: slow_down"
                        );
                        continue;
                    }
                    "authorization_declined" | "access_denied" => (DeviceFlowFailure::Declined, a),
                    "bad_verification_code" => (DeviceFlowFailure::BadVerificationCode, a),
                    "expired_token" => (DeviceFlowFailure::Expired, a),
                    _ => return Err(Error::Auth(a)),
                },
                Err(e) => return Err(e),
            };
            return Err(Error::DeviceSignIn {
                failure: failure.0,
                auth: Some(failure.1),
            });
        }
    }
}

/// The signed-in operator must belong to the configured tenant.
///
/// A tenant id (GUID) in the configuration is compared with the ID token's `tid`
/// (case-insensitive; a token without `tid` is refused too). A domain name
/// (`contoso.onmicrosoft.com`) cannot be compared with `tid` without another lookup, and needs
/// none: the device code was requested from, and redeemed at, that tenant's own endpoints
/// (`{login}/{domain}/oauth2/v2.0/...`), which only issue tokens of that tenant (a guest
/// signs in as a guest of it, with its `tid`). `common`, `organizations` and `consumers`,
/// which would let any tenant's account in, are refused when the client is built.
pub(crate) fn check_tenant(configured: &str, account: &SignedInAccount) -> Result<()> {
    let configured = configured.trim();
    let Ok(expected) = uuid::Uuid::try_parse(configured) else {
        return Ok(()); // a domain name: bound by the tenant-specific endpoint (above)
    };
    let matches = account.tenant_id.as_deref().is_some_and(|tid| {
        let tid = tid.trim();
        tid.eq_ignore_ascii_case(configured) || uuid::Uuid::try_parse(tid).ok() == Some(expected)
    });
    if matches {
        return Ok(());
    }
    Err(Error::WrongTenant {
        username: account.username.clone(),
        signed_in: account.tenant_id.clone(),
        configured: configured.to_owned(),
    })
}

/// The operator from the ID token's claims. The token came straight from the token endpoint
/// over TLS, so its signature is not checked (OpenID Connect Core §3.1.3.7, item 6).
fn account_from_id_token(id_token: Option<&SecretString>) -> Result<SignedInAccount> {
    let bad = |detail: &str| Error::Decode {
        what: "ID token",
        status: 200,
        detail: detail.to_owned(),
        snippet: "(withheld: token)".into(),
        request_id: None,
    };
    let token = id_token.ok_or_else(|| {
        bad("the answer has no id_token; the sign-in must request the openid and profile scopes")
    })?;
    let payload = token
        .expose_secret()
        .split('.')
        .nth(1)
        .ok_or_else(|| bad("the id_token is not a JWT"))?;
    let raw = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| bad("the id_token payload is not base64url"))?;
    let claims: Value =
        serde_json::from_slice(&raw).map_err(|_| bad("the id_token payload is not JSON"))?;
    let claim = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let username = claim("preferred_username")
        .or_else(|| claim("upn"))
        .or_else(|| claim("unique_name"))
        .ok_or_else(|| {
            bad("the id_token names no user (no preferred_username); request the profile scope")
        })?;
    Ok(SignedInAccount {
        username,
        name: claim("name"),
        object_id: claim("oid"),
        tenant_id: claim("tid"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &Value) -> SecretString {
        SecretString::new(format!(
            "e30.{}.sig",
            URL_SAFE_NO_PAD.encode(claims.to_string())
        ))
    }

    #[test]
    fn account_from_claims() {
        let t = jwt(
            &serde_json::json!({"preferred_username": "ops@contoso.com", "name": "Ops", "oid": "o1", "tid": "t1"}),
        );
        let a = account_from_id_token(Some(&t)).unwrap();
        assert_eq!(a.username, "ops@contoso.com");
        assert_eq!(a.object_id.as_deref(), Some("o1"));
        let none = account_from_id_token(Some(&jwt(&serde_json::json!({"oid": "o1"}))))
            .unwrap_err()
            .to_string();
        assert!(none.contains("preferred_username"), "{none}");
        assert!(account_from_id_token(None).is_err());
    }

    fn account(tid: Option<&str>) -> SignedInAccount {
        SignedInAccount {
            username: "ops@contoso.com".into(),
            name: None,
            object_id: Some("o1".into()),
            tenant_id: tid.map(str::to_owned),
        }
    }

    const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const OTHER: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

    #[test]
    fn a_guid_tenant_must_match_the_tokens_tid() {
        assert!(check_tenant(TENANT, &account(Some(TENANT))).is_ok());
        // Case-insensitive, and padded config values are trimmed.
        let upper = TENANT.to_ascii_uppercase();
        assert!(check_tenant(&format!(" {upper} "), &account(Some(TENANT))).is_ok());
        assert!(check_tenant(TENANT, &account(Some(&upper))).is_ok());

        let e = check_tenant(TENANT, &account(Some(OTHER))).unwrap_err();
        match &e {
            Error::WrongTenant {
                username,
                signed_in,
                configured,
            } => {
                assert_eq!(username, "ops@contoso.com");
                assert_eq!(signed_in.as_deref(), Some(OTHER));
                assert_eq!(configured, TENANT);
            }
            other => panic!("expected WrongTenant, got {other:?}"),
        }
        let text = e.to_string();
        assert!(
            text.contains(OTHER)
                && text.contains(TENANT)
                && text.contains("ops@contoso.com")
                && text.contains("not signed in"),
            "{text}"
        );

        // No tid at all: not provably the configured tenant, so refused.
        let e = check_tenant(TENANT, &account(None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no tenant") && e.contains(TENANT), "{e}");
    }

    #[test]
    fn a_domain_tenant_is_bound_by_its_endpoint_not_compared() {
        for tid in [Some(OTHER), None] {
            assert!(check_tenant("contoso.onmicrosoft.com", &account(tid)).is_ok());
        }
    }

    #[test]
    fn seconds_as_number_or_string() {
        assert_eq!(
            seconds(Some(&Value::from(900))),
            Some(Duration::from_secs(900))
        );
        assert_eq!(
            seconds(Some(&Value::from("5"))),
            Some(Duration::from_secs(5))
        );
        assert_eq!(seconds(None), None);
    }
}
