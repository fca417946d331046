//! `POST /{tenant}/oauth2/v2.0/token`: the client-credentials grant with a client secret (form
//! or HTTP Basic) or a certificate-signed JWT client assertion (PS256 or RS256, certificate
//! found by `x5t#S256` or `x5t`), answering with the identity platform's exact success and
//! error bodies (CONTRACT.md §1). Also the device-code flow for a delegated admin sign-in
//! (`/devicecode` + scripted polls) and refresh tokens for it.

use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::header::{HeaderMap, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use rand::RngCore as _;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256};
use serde_json::{json, Value};
use x509_cert::der::Decode as _;

use super::http::{self, aad_error, aad_json, Body, Ctx};
use super::state::{DeviceGrant, TokenInfo};
use super::{DevicePoll, Shared};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Clock skew the identity platform tolerates on assertion nbf/exp.
const SKEW_SECS: i64 = 300;

/// A rejected token request: status, OAuth `error`, AADSTS code and message.
struct Reject(StatusCode, &'static str, u32, String);

fn invalid_request(code: u32, msg: impl Into<String>) -> Reject {
    Reject(StatusCode::BAD_REQUEST, "invalid_request", code, msg.into())
}

fn invalid_client(code: u32, msg: impl Into<String>) -> Reject {
    Reject(StatusCode::UNAUTHORIZED, "invalid_client", code, msg.into())
}

/// One request to a login endpoint.
pub(crate) struct Login<'a> {
    pub shared: &'a Shared,
    pub ctx: &'a Ctx,
    pub method: &'a Method,
    pub tenant: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

fn missing_param(name: &str) -> Reject {
    invalid_request(
        900144,
        format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// The decoded form body (each parameter at most once).
struct Form(Vec<(String, String)>);

impl Form {
    /// Method, tenant and form checks shared by the token and devicecode endpoints.
    fn parse(l: &Login<'_>) -> Result<Form, Reject> {
        let method = l.method;
        if method != Method::POST {
            return Err(invalid_request(
                900561,
                format!(
                    "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."
                ),
            ));
        }
        known_tenant(l)?;
        let is_form = l
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        let form: Vec<(String, String)> = if is_form {
            url::form_urlencoded::parse(l.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        } else {
            Vec::new()
        };
        for (i, (k, _)) in form.iter().enumerate() {
            if form.iter().skip(i + 1).any(|(k2, _)| k2 == k) {
                return Err(invalid_request(
                    9000411,
                    format!(
                        "The request is not properly formatted. The parameter '{k}' is duplicated."
                    ),
                ));
            }
        }
        Ok(Form(form))
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &str) -> Result<&str, Reject> {
        self.param(name).ok_or_else(|| missing_param(name))
    }
}

/// The tenant of the request's path must be this tenant (by id or domain).
fn known_tenant(l: &Login<'_>) -> Result<(), Reject> {
    let tenant = l.tenant;
    if tenant.eq_ignore_ascii_case(&l.shared.tenant_id)
        || tenant.eq_ignore_ascii_case(&l.shared.cfg.tenant_domain)
    {
        return Ok(());
    }
    Err(invalid_request(
        90002,
        format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
    ))
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`: the tenant's sign-in metadata, as
/// the identity platform publishes it without a token (the endpoints a station uses).
pub(crate) fn openid_configuration(l: &Login<'_>) -> Response<Body> {
    let base = &l.shared.base_url;
    let known = known_tenant(l).map(|()| {
        let t = &l.shared.tenant_id;
        let body = serde_json::json!({
            "issuer": format!("{base}/{t}/v2.0"),
            "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
            "device_authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/devicecode"),
            "tenant_region_scope": "EU",
        });
        aad_json(StatusCode::OK, &body, l.ctx)
    });
    reply(l, known)
}

/// Handles one token request.
pub(crate) fn handle(l: &Login<'_>) -> Response<Body> {
    reply(l, issue(l))
}

/// Handles one devicecode request.
pub(crate) fn device_code(l: &Login<'_>) -> Response<Body> {
    reply(l, authorize_device(l))
}

fn reply(l: &Login<'_>, r: Result<Response<Body>, Reject>) -> Response<Body> {
    match r {
        Ok(resp) => resp,
        Err(Reject(status, error, code, msg)) => aad_error(status, error, code, &msg, l.ctx),
    }
}

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn issue(l: &Login<'_>) -> Result<Response<Body>, Reject> {
    let form = Form::parse(l)?;
    match form.require("grant_type")? {
        "client_credentials" => client_credentials(l, &form),
        DEVICE_CODE_GRANT => device_grant(l, &form),
        "refresh_token" => refresh_grant(l, &form),
        grant => Err(Reject(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            format!("The app requested an unsupported grant type '{grant}'."),
        )),
    }
}

/// The public client's id must be this app's.
fn check_client_id(l: &Login<'_>, client_id: &str) -> Result<(), Reject> {
    if client_id.eq_ignore_ascii_case(&l.shared.client_id) {
        return Ok(());
    }
    Err(Reject(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        format!("Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", l.tenant),
    ))
}

fn client_credentials(l: &Login<'_>, form: &Form) -> Result<Response<Body>, Reject> {
    let (shared, ctx, tenant, headers) = (l.shared, l.ctx, l.tenant, l.headers);
    let param = |name: &str| form.param(name);
    let missing = missing_param;
    let basic = basic_credentials(headers)?;
    let client_id = match (param("client_id"), &basic) {
        (Some(f), Some((b, _))) if f != b => {
            return Err(invalid_request(
                50148,
                "The client_id in the request body does not match the client in the Authorization header.",
            ))
        }
        (Some(f), _) => f.to_owned(),
        (None, Some((b, _))) => b.clone(),
        (None, None) => return Err(missing("client_id")),
    };
    check_client_id(l, &client_id)?;

    let scope = param("scope").ok_or_else(|| missing("scope"))?;
    if scope != shared.cfg.scope {
        return Err(Reject(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."),
        ));
    }

    let secret = param("client_secret")
        .map(str::to_owned)
        .or(basic.map(|(_, s)| s));
    let assertion = param("client_assertion");
    match (secret, assertion) {
        (Some(_), Some(_)) => {
            return Err(invalid_request(
                9002313,
                "Invalid request. Request is malformed or invalid. Only one client credential may be presented.",
            ))
        }
        (None, None) => {
            return Err(invalid_client(
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ))
        }
        (Some(s), None) => {
            if s != shared.client_secret {
                return Err(invalid_client(
                    7000215,
                    format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", shared.client_id),
                ));
            }
        }
        (None, Some(a)) => {
            if param("client_assertion_type") != Some(JWT_BEARER) {
                return Err(invalid_request(
                    9002313,
                    format!("Invalid request. Request is malformed or invalid. client_assertion_type must be '{JWT_BEARER}'."),
                ));
            }
            verify_assertion(shared, ctx, tenant, a)?;
        }
    }

    Ok(grant_token(l, None))
}

/// A delegated grant: the user and the scopes granted.
struct Delegated {
    oid: String,
    scope: String,
}

/// Issues an access token (app-only, or delegated with scope/refresh/id tokens).
fn grant_token(l: &Login<'_>, delegated: Option<Delegated>) -> Response<Body> {
    let lifetime = l.shared.cfg.token_lifetime;
    let oid = delegated.as_ref().map(|d| d.oid.clone());
    let token = access_token(l.shared, l.ctx, lifetime, oid.as_deref());
    let secs = lifetime.as_secs();
    let mut body = json!({"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": token});
    {
        let Some(mut st) = l.shared.lock() else {
            return http::internal(l.ctx);
        };
        let now = Instant::now();
        st.gc(now);
        st.tokens.insert(
            token.clone(),
            TokenInfo {
                expires: now + lifetime,
                oid: oid.clone(),
            },
        );
        if let Some(d) = &delegated {
            let scopes: Vec<&str> = d.scope.split(' ').filter(|s| !s.is_empty()).collect();
            // The granted resource scopes; OIDC scopes are not echoed.
            let granted: Vec<&str> = scopes
                .iter()
                .copied()
                .filter(|s| !matches!(*s, "offline_access" | "openid" | "profile" | "email"))
                .collect();
            body["scope"] = Value::from(granted.join(" "));
            if scopes.contains(&"offline_access") {
                let rt = format!("1.{}", random_b64(96));
                st.refresh_tokens
                    .insert(rt.clone(), (d.oid.clone(), d.scope.clone()));
                body["refresh_token"] = Value::from(rt);
            }
            if scopes.contains(&"openid") {
                let who = st
                    .objects
                    .iter()
                    .find(|o| o.id == d.oid)
                    .and_then(super::state::State::fake_user);
                let tid = st
                    .id_token_tenant
                    .clone()
                    .unwrap_or_else(|| l.shared.tenant_id.clone());
                body["id_token"] = Value::from(id_token(
                    l.shared,
                    l.ctx,
                    IdClaims {
                        oid: &d.oid,
                        tid: &tid,
                        who: who.as_ref(),
                        profile: scopes.contains(&"profile"),
                    },
                ));
            }
        }
    }
    http::aad_json(StatusCode::OK, &body, l.ctx)
}

fn random_b64(n: usize) -> String {
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// Scopes a public client may ask for: Graph resource scopes and the OIDC ones.
fn check_delegated_scope(scope: &str) -> Result<(), Reject> {
    let mut any = false;
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        any = true;
        let oidc = matches!(s, "offline_access" | "openid" | "profile" | "email");
        let graph = s
            .strip_prefix("https://graph.microsoft.com/")
            .is_some_and(|p| !p.is_empty());
        if !oidc && !graph {
            return Err(Reject(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                70011,
                format!("The provided value for the input parameter 'scope' is not valid. The scope {s} is not valid."),
            ));
        }
    }
    if any {
        Ok(())
    } else {
        Err(missing_param("scope"))
    }
}

/// `POST /{tenant}/oauth2/v2.0/devicecode` (RFC 8628 §3.1).
fn authorize_device(l: &Login<'_>) -> Result<Response<Body>, Reject> {
    let form = Form::parse(l)?;
    check_client_id(l, form.require("client_id")?)?;
    let scope = form.require("scope")?;
    check_delegated_scope(scope)?;
    let device_code = format!("DAQABAAEAAAD--DLA3VO7QrddgJg7We{}", random_b64(120));
    const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let user_code: String = (0..9)
        .map(|_| {
            let i = usize::from(rand::random::<u8>()) % LETTERS.len();
            char::from(LETTERS[i])
        })
        .collect();
    let expires_in = 900u64;
    {
        let Some(mut st) = l.shared.lock() else {
            return Ok(http::internal(l.ctx));
        };
        let now = Instant::now();
        st.gc(now);
        let steps = l.shared.cfg.device_flow.iter().copied().collect();
        st.devices.insert(
            device_code.clone(),
            DeviceGrant {
                steps,
                expires: now + Duration::from_secs(expires_in),
                scope: scope.to_owned(),
                redeemed: false,
            },
        );
    }
    let uri = "https://microsoft.com/devicelogin";
    Ok(http::aad_json(
        StatusCode::OK,
        &json!({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": expires_in,
            "interval": l.shared.cfg.device_interval_secs,
            "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
        }),
        l.ctx,
    ))
}

/// `grant_type=urn:ietf:params:oauth:grant-type:device_code`: answers the scripted next step.
fn device_grant(l: &Login<'_>, form: &Form) -> Result<Response<Body>, Reject> {
    check_client_id(l, form.require("client_id")?)?;
    let code = form.require("device_code")?;
    let poll_error = |error: &'static str, code: u32, msg: &str| {
        Reject(StatusCode::BAD_REQUEST, error, code, msg.to_owned())
    };
    let (step, scope, admin) = {
        let Some(mut st) = l.shared.lock() else {
            return Ok(http::internal(l.ctx));
        };
        let admin = st
            .objects
            .get(st.admin)
            .map(|o| o.id.clone())
            .unwrap_or_default();
        let Some(grant) = st.devices.get_mut(code) else {
            return Err(poll_error(
                "bad_verification_code",
                70018,
                "Invalid verification code.",
            ));
        };
        if grant.redeemed {
            return Err(poll_error("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."));
        }
        if Instant::now() >= grant.expires {
            return Err(poll_error(
                "expired_token",
                70019,
                "Verification code expired.",
            ));
        }
        // The last step repeats, so a script ending in Pending never completes.
        let step = if grant.steps.len() > 1 {
            grant.steps.pop_front()
        } else {
            grant.steps.front().copied()
        }
        .unwrap_or(DevicePoll::Approve);
        if step == DevicePoll::Approve {
            grant.redeemed = true;
        }
        (step, grant.scope.clone(), admin)
    };
    match step {
        DevicePoll::Pending => Err(poll_error("authorization_pending", 70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")),
        DevicePoll::SlowDown => Err(poll_error("slow_down", 70016, "OAuth 2.0 device flow error. Polling too frequently; increase the interval by 5 seconds.")),
        DevicePoll::Declined => Err(poll_error("authorization_declined", 70020, "The end user denied the authorization request.")),
        DevicePoll::BadCode => Err(poll_error("bad_verification_code", 70018, "Invalid verification code.")),
        DevicePoll::Expired => Err(poll_error("expired_token", 70019, "Verification code expired.")),
        DevicePoll::Approve => Ok(grant_token(l, Some(Delegated { oid: admin, scope }))),
    }
}

impl super::FakeTenant {
    /// Test hook: from now on the ID tokens of device-code sign-ins name `tenant` in `tid`
    /// (and `iss`), as if the administrator had signed in to another tenant; `None` restores
    /// this tenant's own id. Access tokens are unchanged.
    pub fn set_id_token_tenant(&self, tenant: Option<&str>) {
        if let Some(mut st) = self.shared.lock() {
            st.id_token_tenant = tenant.map(str::to_owned);
        }
    }
}

/// `grant_type=refresh_token` for tokens issued by the device-code flow.
fn refresh_grant(l: &Login<'_>, form: &Form) -> Result<Response<Body>, Reject> {
    check_client_id(l, form.require("client_id")?)?;
    let rt = form.require("refresh_token")?;
    let found = l
        .shared
        .lock()
        .and_then(|st| st.refresh_tokens.get(rt).cloned());
    let Some((oid, scope)) = found else {
        return Err(Reject(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid. The refresh token is not valid."
                .into(),
        ));
    };
    Ok(grant_token(l, Some(Delegated { oid, scope })))
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, Reject> {
    let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let bad = || {
        invalid_request(9002313, "Invalid request. Request is malformed or invalid. The Basic authorization header is malformed.")
    };
    let raw = STANDARD.decode(rest.trim()).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some((dec(id), dec(secret))))
}

/// A JWT-looking opaque access token (random signature part, so unguessable).
fn access_token(shared: &Shared, ctx: &Ctx, lifetime: Duration, oid: Option<&str>) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"fake-tenant"}"#);
    let now = http::unix_secs(ctx.now);
    let payload = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{}/", shared.tenant_id),
        "iat": now, "nbf": now, "exp": now + i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX / 2),
        "appid": shared.client_id, "tid": shared.tenant_id,
        "idtyp": if oid.is_some() { "user" } else { "app" }, "oid": oid,
        "roles": ["UserAuthMethod-Passkey.ReadWrite.All", "GroupMember.Read.All"],
        "uti": uuid::Uuid::new_v4().to_string(),
    });
    let mut sig = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut sig);
    format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

/// Who an ID token is about.
struct IdClaims<'a> {
    oid: &'a str,
    /// The tenant the user signed in to (this tenant's id unless a test says otherwise).
    tid: &'a str,
    who: Option<&'a super::FakeUser>,
    /// `preferred_username` and `name` too (the `profile` scope).
    profile: bool,
}

/// An OpenID Connect ID token (v2.0 claims): `preferred_username` and `name` with `profile`.
fn id_token(shared: &Shared, ctx: &Ctx, c: IdClaims<'_>) -> String {
    let IdClaims {
        oid,
        tid,
        who,
        profile,
    } = c;
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"RS256","kid":"fake-tenant"}"#);
    let now = http::unix_secs(ctx.now);
    let mut payload = json!({
        "aud": shared.client_id,
        "iss": format!("{}/{tid}/v2.0", ctx.base),
        "iat": now, "nbf": now, "exp": now + 3600,
        "oid": oid, "sub": oid, "tid": tid, "ver": "2.0",
    });
    if let (true, Some(u)) = (profile, who) {
        payload["preferred_username"] = Value::from(u.upn.clone());
        payload["name"] = Value::from(u.display_name.clone());
    }
    let mut sig = [0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut sig);
    format!(
        "{header}.{}.{}",
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        URL_SAFE_NO_PAD.encode(sig)
    )
}

fn malformed() -> Reject {
    invalid_request(50027, "JWT token is invalid or malformed.")
}

fn b64_json(part: &str) -> Result<Value, Reject> {
    let raw = URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed())?;
    serde_json::from_slice(&raw).map_err(|_| malformed())
}

/// Verifies a client assertion: header, certificate lookup, signature, then claims.
fn verify_assertion(shared: &Shared, ctx: &Ctx, tenant: &str, jwt: &str) -> Result<(), Reject> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return Err(malformed());
    };
    let header = b64_json(h)?;
    let claims = b64_json(p)?;
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| malformed())?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg != "PS256" && alg != "RS256" {
        return Err(invalid_request(
            5002738,
            format!("Invalid JWT token. '{alg}' is not a supported signature algorithm. Supported signing algorithms are: 'RS256, RS384, RS512, PS256, PS384, PS512'"),
        ));
    }
    let thumb = |name: &str| -> Result<Option<Vec<u8>>, Reject> {
        match header.get(name).and_then(Value::as_str) {
            None => Ok(None),
            Some(t) => URL_SAFE_NO_PAD.decode(t).map(Some).map_err(|_| malformed()),
        }
    };
    let x5t_s256 = thumb("x5t#S256")?;
    let x5t = thumb("x5t")?;
    let shown = header
        .get("x5t#S256")
        .or_else(|| header.get("x5t"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let cert_der = {
        let Some(st) = shared.lock() else {
            return Err(Reject(
                StatusCode::INTERNAL_SERVER_ERROR,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.".into(),
            ));
        };
        st.certs
            .iter()
            .find(|c| {
                x5t_s256.as_ref().is_some_and(|t| *t == c.sha256)
                    || (x5t_s256.is_none() && x5t.as_ref().is_some_and(|t| *t == c.sha1))
            })
            .map(|c| c.der.clone())
    };
    let Some(cert_der) = cert_der else {
        return Err(invalid_client(
            700027,
            format!("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{shown}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'.]", shared.client_id),
        ));
    };
    let key = rsa_key(&cert_der).ok_or_else(|| {
        invalid_client(
            700027,
            "Client assertion failed signature validation. [Reason - The key is not an RSA key.]",
        )
    })?;
    let signing_input = format!("{h}.{p}");
    let verify_alg = if alg == "PS256" {
        &RSA_PSS_2048_8192_SHA256
    } else {
        &RSA_PKCS1_2048_8192_SHA256
    };
    let ok = UnparsedPublicKey::new(verify_alg, &key)
        .verify(signing_input.as_bytes(), &sig)
        .is_ok();
    if !ok {
        return Err(invalid_client(
            700027,
            format!("Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '{shown}', Found key 'Start=..., End=...']"),
        ));
    }

    let aud = claims.get("aud").and_then(Value::as_str).unwrap_or("");
    let accepted: Vec<String> = [
        shared.tenant_id.as_str(),
        shared.cfg.tenant_domain.as_str(),
        tenant,
    ]
    .iter()
    .map(|t| format!("{}/{t}/oauth2/v2.0/token", ctx.base))
    .collect();
    if !accepted.iter().any(|a| a.eq_ignore_ascii_case(aud)) {
        return Err(invalid_client(
            700027,
            format!("Client assertion contains an invalid audience '{aud}'. The audience must be the token endpoint '{}'.", accepted.first().map(String::as_str).unwrap_or("")),
        ));
    }
    let iss = claims.get("iss").and_then(Value::as_str).unwrap_or("");
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if !iss.eq_ignore_ascii_case(&shared.client_id) || !sub.eq_ignore_ascii_case(&shared.client_id)
    {
        return Err(invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let now = http::unix_secs(SystemTime::now());
    let exp = claims.get("exp").and_then(Value::as_i64);
    let nbf = claims.get("nbf").and_then(Value::as_i64);
    let in_window =
        exp.is_some_and(|e| now <= e + SKEW_SECS) && nbf.is_none_or(|n| n <= now + SKEW_SECS);
    if !in_window {
        return Err(invalid_client(
            700024,
            "Client assertion is not within its valid time range. Ensure that the 'nbf' and 'exp' claims are valid.",
        ));
    }
    Ok(())
}

/// The RSA public key (PKCS#1 RSAPublicKey DER) of a DER certificate.
fn rsa_key(der: &[u8]) -> Option<Vec<u8>> {
    const RSA_ENCRYPTION: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    let spki = cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return None;
    }
    spki.subject_public_key.as_bytes().map(<[u8]>::to_vec)
}
