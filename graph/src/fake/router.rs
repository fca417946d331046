//! Request dispatch: counts the request, applies latency, reads the body, routes the token
//! endpoint, injects Graph faults (429/503/random 5xx), checks the bearer token and hands the
//! request to the directory or fido2 handlers.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng as _;
use serde_json::json;

use super::http::{self, graph_error, Body, Ctx};
use super::{directory, fido2, policy, token, RetryAfterStyle, Shared};

/// Largest request body accepted (a POST fido2Methods body is a few KB).
const MAX_BODY: usize = 1 << 20;

/// Returned by the service to make hyper close the connection without a response.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fake tenant dropped the connection on purpose")
    }
}

impl std::error::Error for DropConnection {}

/// Graph API version of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    Beta,
    V1,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Beta => "beta",
            Version::V1 => "v1.0",
        }
    }
}

/// Everything a Graph handler needs about the request.
pub(crate) struct GraphReq<'a> {
    pub shared: &'a Shared,
    pub ctx: &'a Ctx,
    pub version: Version,
    /// Raw path (for nextLinks).
    pub path: &'a str,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
    /// Signed-in user's object id for delegated tokens; `None` for app-only.
    pub caller: Option<String>,
}

impl GraphReq<'_> {
    /// The first value of a query option; OData option names are case-insensitive.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Fault {
    TooMany,
    Throttled503,
    Random5xx { status: StatusCode, html: bool },
}

/// The service function: one request in, one response out (or a deliberate drop).
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let ctx = Ctx::new(req.headers(), &shared.base_url);
    let latency = shared
        .lock()
        .map(|st| st.faults.latency)
        .unwrap_or_default();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => {
            return Ok(graph_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                "The request body is too large or could not be read.",
                &ctx,
            ))
        }
    };
    let path = parts.uri.path().to_owned();
    let is_token = path.contains("/oauth2/");
    if !is_token {
        if let Ok(mut log) = shared.log.lock() {
            log.push(super::LoggedRequest {
                method: parts.method.to_string(),
                path: path.clone(),
                priority: parts
                    .headers
                    .get("x-ms-throttle-priority")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            });
        }
    }
    let raw_segs: Vec<&str> = path
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();

    // The identity platform's endpoints: /{tenant}/...
    let tenant = raw_segs.first().map(|t| decode(t)).unwrap_or_default();
    let login = token::Login {
        shared: &shared,
        ctx: &ctx,
        method: &parts.method,
        tenant: &tenant,
        headers: &parts.headers,
        body: &body,
    };
    if let [_, v2, well_known, document] = raw_segs.as_slice() {
        if v2.eq_ignore_ascii_case("v2.0")
            && *well_known == ".well-known"
            && *document == "openid-configuration"
            && parts.method == Method::GET
        {
            return Ok(token::openid_configuration(&login));
        }
    }
    if let [_, oauth2, v2, endpoint] = raw_segs.as_slice() {
        if oauth2.eq_ignore_ascii_case("oauth2") && v2.eq_ignore_ascii_case("v2.0") {
            if endpoint.eq_ignore_ascii_case("token") {
                return Ok(token::handle(&login));
            }
            if endpoint.eq_ignore_ascii_case("devicecode") {
                return Ok(token::device_code(&login));
            }
        }
    }

    let version = match raw_segs.first() {
        Some(&"beta") => Version::Beta,
        Some(&"v1.0") => Version::V1,
        _ => {
            return Ok(graph_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                "The requested resource was not found on this server.",
                &ctx,
            ))
        }
    };

    if let Some(resp) = inject_fault(&shared, &ctx) {
        return Ok(resp);
    }
    let caller = match check_bearer(&shared, &ctx, &parts.headers) {
        Ok(caller) => caller,
        Err(resp) => return Ok(*resp),
    };
    if let Some(resp) = rate_limited(&shared, &ctx) {
        return Ok(resp);
    }

    let segs: Vec<String> = raw_segs.iter().skip(1).map(|s| decode(s)).collect();
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let g = GraphReq {
        shared: &shared,
        ctx: &ctx,
        version,
        path: &path,
        query,
        headers: &parts.headers,
        body: &body,
        caller,
    };
    route(&g, &parts.method, &segs)
}

fn decode(seg: &str) -> String {
    percent_encoding::percent_decode_str(seg)
        .decode_utf8_lossy()
        .into_owned()
}

fn is(seg: Option<&String>, name: &str) -> bool {
    seg.is_some_and(|s| s.eq_ignore_ascii_case(name))
}

fn route(
    g: &GraphReq<'_>,
    method: &Method,
    segs: &[String],
) -> Result<Response<Body>, DropConnection> {
    let not_allowed = || {
        graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "Request_BadRequest",
            "The HTTP method is not supported for this resource.",
            g.ctx,
        )
    };
    let get = method == Method::GET;
    let resp = match segs.len() {
        1 if is(segs.first(), "groups") => {
            if get {
                directory::list_groups(g)
            } else {
                not_allowed()
            }
        }
        2 if is(segs.first(), "groups") => {
            if get {
                directory::get_group(g, &segs[1])
            } else {
                not_allowed()
            }
        }
        3 if is(segs.first(), "groups")
            && (is(segs.get(2), "members") || is(segs.get(2), "transitiveMembers")) =>
        {
            if get {
                directory::members(g, &segs[1], is(segs.get(2), "transitiveMembers"), None)
            } else {
                not_allowed()
            }
        }
        4 if is(segs.first(), "groups")
            && (is(segs.get(2), "members") || is(segs.get(2), "transitiveMembers")) =>
        {
            if get {
                let cast = segs.get(3).map(String::as_str);
                directory::members(g, &segs[1], is(segs.get(2), "transitiveMembers"), cast)
            } else {
                not_allowed()
            }
        }
        3 if is(segs.first(), "users") && is(segs.get(2), "checkMemberGroups") => {
            if method == Method::POST {
                directory::check_member_groups(g, &segs[1])
            } else {
                not_allowed()
            }
        }
        2 if is(segs.first(), "users") => {
            if get {
                directory::get_user(g, &segs[1])
            } else {
                not_allowed()
            }
        }
        4 if is(segs.first(), "policies")
            && is(segs.get(1), "authenticationMethodsPolicy")
            && is(segs.get(2), "authenticationMethodConfigurations")
            && is(segs.get(3), "fido2") =>
        {
            if get {
                policy::get(g)
            } else {
                not_allowed()
            }
        }
        4 if is(segs.first(), "users")
            && is(segs.get(2), "authentication")
            && is(segs.get(3), "fido2Methods") =>
        {
            if get {
                fido2::list(g, &segs[1])
            } else if method == Method::POST {
                let (resp, drop_it) = fido2::register(g, &segs[1]);
                if drop_it {
                    g.shared.faulted.fetch_add(1, Ordering::Relaxed);
                    return Err(DropConnection);
                }
                resp
            } else {
                not_allowed()
            }
        }
        5 if is(segs.first(), "users")
            && is(segs.get(2), "authentication")
            && is(segs.get(3), "fido2Methods") =>
        {
            let last = &segs[4];
            let is_options = last
                .get(..15)
                .is_some_and(|p| p.eq_ignore_ascii_case("creationOptions"));
            if is_options {
                if get {
                    fido2::creation_options(g, &segs[1], &last[15..])
                } else {
                    not_allowed()
                }
            } else if get {
                fido2::get(g, &segs[1], last)
            } else if method == Method::DELETE {
                fido2::delete(g, &segs[1], last)
            } else {
                not_allowed()
            }
        }
        _ => {
            let seg = segs.last().cloned().unwrap_or_default();
            graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("Resource not found for the segment '{seg}'."),
                g.ctx,
            )
        }
    };
    Ok(resp)
}

/// Decides and builds an injected fault response for this Graph request, if any.
fn inject_fault(shared: &Shared, ctx: &Ctx) -> Option<Response<Body>> {
    let (fault, style, value) = {
        let Some(mut st) = shared.lock() else {
            return Some(http::internal(ctx));
        };
        st.graph_requests += 1;
        let n = st.graph_requests;
        let every = |k: Option<u32>| k.is_some_and(|k| k > 0 && n % u64::from(k) == 0);
        let fault = if every(st.faults.throttle_every_nth) {
            Some(Fault::TooMany)
        } else if every(st.faults.throttle_503_every_nth) {
            Some(Fault::Throttled503)
        } else {
            let ratio = st.faults.random_5xx_ratio;
            if ratio > 0.0 && st.fault_rng.gen_bool(ratio.clamp(0.0, 1.0)) {
                let status = if st.fault_rng.gen_bool(0.5) {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::GATEWAY_TIMEOUT
                };
                Some(Fault::Random5xx {
                    status,
                    html: st.fault_rng.gen_bool(0.5),
                })
            } else {
                None
            }
        };
        (fault?, st.faults.retry_after, st.faults.retry_after_value)
    };
    // Only throttling announces a wait; random 5xx leave the client to its own backoff.
    let retry_after = matches!(fault, Fault::TooMany | Fault::Throttled503)
        .then(|| retry_after_header(style, value, ctx.now))
        .flatten();
    let mut resp = match fault {
        Fault::TooMany => too_many_requests(shared, ctx),
        Fault::Throttled503 => {
            shared.throttled.fetch_add(1, Ordering::Relaxed);
            let secs = value.as_secs_f64().ceil();
            let mut r = graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Request_ThrottledTemporarily",
                &format!("Your request is throttled temporarily. Please try after {secs} seconds."),
                ctx,
            );
            r.headers_mut().insert(
                "x-ms-throttle-information",
                HeaderValue::from_static("ResourceUnitLimitExceeded"),
            );
            r
        }
        Fault::Random5xx { status, html } => {
            shared.faulted.fetch_add(1, Ordering::Relaxed);
            if html {
                let text = format!(
                    "<html><head><title>{0}</title></head><body><h1>{0}</h1></body></html>",
                    status.canonical_reason().unwrap_or("Error")
                );
                http::finish(http::raw(status, Some("text/html"), text.into_bytes()), ctx)
            } else {
                http::empty(status, ctx)
            }
        }
    };
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(&v).ok()) {
        resp.headers_mut().insert("retry-after", v);
    }
    Some(resp)
}

/// 429 `TooManyRequests` (counted as throttled): the documented sample body, plus
/// client-request-id like every other envelope.
fn too_many_requests(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    shared.throttled.fetch_add(1, Ordering::Relaxed);
    let body = json!({"error": {
        "code": "TooManyRequests",
        "innerError": {
            "code": "429",
            "date": http::inner_date(ctx.now),
            "message": "Please retry after",
            "request-id": ctx.request_id,
            "client-request-id": ctx.client_request_id,
            "status": "429",
        },
        "message": "Please retry again later.",
    }});
    http::graph_json(StatusCode::TOO_MANY_REQUESTS, &body, ctx)
}

/// Takes a token from the app's bucket when a rate limit is set; without one, the 429 to send
/// (Retry-After: the time until the next token, in the configured style, and Graph's
/// throttle-scope headers).
fn rate_limited(shared: &Shared, ctx: &Ctx) -> Option<Response<Body>> {
    let (wait, style) = {
        let Some(mut st) = shared.lock() else {
            return Some(http::internal(ctx));
        };
        let limit = st.faults.rate_limit?;
        let now = Instant::now();
        let bucket = st
            .rate_bucket
            .get_or_insert_with(|| super::rate_limit::TokenBucket::new(limit, now));
        let wait = bucket.take(limit, now).err()?;
        (wait, st.faults.retry_after)
    };
    let mut resp = too_many_requests(shared, ctx);
    let h = resp.headers_mut();
    if let Some(v) =
        retry_after_header(style, wait, ctx.now).and_then(|v| HeaderValue::from_str(&v).ok())
    {
        h.insert("retry-after", v);
    }
    let scope = format!(
        "Tenant_Application/ReadWrite/{}/{}",
        shared.client_id, shared.tenant_id
    );
    if let Ok(v) = HeaderValue::from_str(&scope) {
        h.insert("x-ms-throttle-scope", v);
    }
    h.insert(
        "x-ms-throttle-information",
        HeaderValue::from_static("ResourceUnitLimitExceeded"),
    );
    Some(resp)
}

/// The `Retry-After` value for a style: whole seconds (rounded up), a decimal, an HTTP-date
/// (rounded up to the next whole second so the client never waits less), or none.
pub(crate) fn retry_after_header(
    style: RetryAfterStyle,
    value: Duration,
    now: SystemTime,
) -> Option<String> {
    match style {
        RetryAfterStyle::Integer => Some(format!("{}", value.as_secs_f64().ceil() as u64)),
        RetryAfterStyle::Decimal => Some(format!("{:.3}", value.as_secs_f64())),
        RetryAfterStyle::HttpDate => {
            let at = (now + value)
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or(Duration::ZERO);
            let secs = at.as_secs() + u64::from(at.subsec_nanos() > 0);
            Some(httpdate::fmt_http_date(
                SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            ))
        }
        RetryAfterStyle::Absent => None,
    }
}

/// Checks `Authorization: Bearer <token>`: the caller (`None` app-only), or the 401 to send.
fn check_bearer(
    shared: &Shared,
    ctx: &Ctx,
    headers: &hyper::HeaderMap,
) -> Result<Option<String>, Box<Response<Body>>> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    let message = match token {
        None => "Access token is empty.",
        Some(t) => {
            let Some(mut st) = shared.lock() else {
                return Err(Box::new(http::internal(ctx)));
            };
            let now = Instant::now();
            st.gc(now);
            match st.tokens.get(t) {
                Some(info) if info.expires > now => return Ok(info.oid.clone()),
                Some(_) => "Access token has expired or is not yet valid.",
                None => "Access token validation failure. Invalid audience.",
            }
        }
    };
    let mut resp = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        ctx,
    );
    resp.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ),
    );
    Err(Box::new(resp))
}

/// True when the request body is declared as JSON.
pub(crate) fn is_json(headers: &hyper::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_styles() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(1_787_480_100_500);
        let v = Duration::from_millis(2128);
        assert_eq!(
            retry_after_header(RetryAfterStyle::Integer, v, now).as_deref(),
            Some("3")
        );
        assert_eq!(
            retry_after_header(RetryAfterStyle::Decimal, v, now).as_deref(),
            Some("2.128")
        );
        // 10:15:00.5 + 2.128 s = 10:15:02.628 -> rounded up to 10:15:03.
        assert_eq!(
            retry_after_header(RetryAfterStyle::HttpDate, v, now).as_deref(),
            Some("Sun, 23 Aug 2026 10:15:03 GMT")
        );
        assert_eq!(retry_after_header(RetryAfterStyle::Absent, v, now), None);
    }
}
