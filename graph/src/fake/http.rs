//! Response building shared by every fake endpoint: the Graph error envelope, the identity
//! platform's OAuth error body, the correlation headers and the exact timestamp formats.
//!
//! Everything here is a pure function of its inputs, so handlers stay short and the formats
//! (which real clients parse) live in one place.

use std::time::{Duration, SystemTime};

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// Body type of every response the fake produces (always fully buffered).
pub(crate) type Body = Full<Bytes>;

/// Content-Type Graph puts on its JSON responses (clients must match on the media type only).
pub(crate) const GRAPH_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";
/// Content-Type the identity platform puts on token responses.
pub(crate) const AAD_JSON: &str = "application/json; charset=utf-8";

/// Per-request facts that every response needs: correlation ids, the clock and where we live.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub request_id: String,
    pub client_request_id: String,
    pub now: SystemTime,
    /// `http://127.0.0.1:PORT`, used for absolute nextLinks and `@odata.context`.
    pub base: String,
}

impl Ctx {
    /// Builds the context; the client's `client-request-id` is echoed, or the request id reused,
    /// which is what Graph does when the client sends none.
    pub fn new(headers: &HeaderMap, base: &str) -> Ctx {
        let request_id = uuid::Uuid::new_v4().to_string();
        let client_request_id = headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .unwrap_or_else(|| request_id.clone());
        Ctx {
            request_id,
            client_request_id,
            now: SystemTime::now(),
            base: base.to_owned(),
        }
    }
}

/// Adds the correlation headers every Graph and login response carries.
pub(crate) fn finish(mut resp: Response<Body>, ctx: &Ctx) -> Response<Body> {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&ctx.request_id) {
        h.insert("request-id", v.clone());
        h.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.client_request_id) {
        h.insert("client-request-id", v);
    }
    h.insert(
        "x-ms-ags-diagnostic",
        HeaderValue::from_static(
            r#"{"ServerInfo":{"DataCenter":"Localhost","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"FAKE-TENANT"}}"#,
        ),
    );
    resp
}

/// A response with a body and content type; falls back to a bare 500 only if the status or
/// header is invalid, which cannot happen for the constants used here.
pub(crate) fn raw(status: StatusCode, content_type: Option<&str>, body: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    if let Some(ct) = content_type {
        if let Ok(v) = HeaderValue::from_str(ct) {
            resp.headers_mut().insert(CONTENT_TYPE, v);
        }
    }
    resp
}

/// A Graph JSON response.
pub(crate) fn graph_json(status: StatusCode, body: &Value, ctx: &Ctx) -> Response<Body> {
    finish(
        raw(status, Some(GRAPH_JSON), body.to_string().into_bytes()),
        ctx,
    )
}

/// An empty response (204, or a 5xx fault with no body).
pub(crate) fn empty(status: StatusCode, ctx: &Ctx) -> Response<Body> {
    finish(raw(status, None, Vec::new()), ctx)
}

/// The Graph error envelope. `innerError.message` is only present for the workload-style
/// lowerCamel codes (`badRequest`, `methodNotAllowed`, ...), as observed in real bodies.
pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    ctx: &Ctx,
) -> Response<Body> {
    let mut inner = json!({
        "date": inner_date(ctx.now),
        "request-id": ctx.request_id,
        "client-request-id": ctx.client_request_id,
    });
    let lower_camel = code.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if lower_camel {
        inner["message"] = Value::String(message.to_owned());
    }
    let body = json!({"error": {"code": code, "message": message, "innerError": inner}});
    graph_json(status, &body, ctx)
}

/// 500 for an internal fault of the fake itself (a poisoned lock): never a panic.
/// An injected failure: `status` (403 when it is not a valid code) with a Graph error.
pub(crate) fn injected_error(status: u16, code: &str, message: &str, ctx: &Ctx) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN);
    graph_error(status, code, message, ctx)
}

pub(crate) fn internal(ctx: &Ctx) -> Response<Body> {
    graph_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        "General exception while processing.",
        ctx,
    )
}

/// The identity platform's OAuth error body, exactly shaped (description with trace lines,
/// timestamp with a space, error_uri).
pub(crate) fn aad_error(
    status: StatusCode,
    error: &str,
    code: u32,
    message: &str,
    ctx: &Ctx,
) -> Response<Body> {
    let ts = aad_timestamp(ctx.now);
    let description = format!(
        "AADSTS{code}: {message}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {ts}",
        ctx.request_id, ctx.client_request_id
    );
    let body = json!({
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": ctx.request_id,
        "correlation_id": ctx.client_request_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    aad_json(status, &body, ctx)
}

/// A token-endpoint JSON response (never cached, like the real one).
pub(crate) fn aad_json(status: StatusCode, body: &Value, ctx: &Ctx) -> Response<Body> {
    let mut resp = raw(status, Some(AAD_JSON), body.to_string().into_bytes());
    resp.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("no-store, no-cache"),
    );
    resp.headers_mut()
        .insert("pragma", HeaderValue::from_static("no-cache"));
    finish(resp, ctx)
}

/// Calendar fields of a UTC time; times before 1970 clamp to the epoch.
fn utc(t: SystemTime) -> time::OffsetDateTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

fn ymd_hms(t: SystemTime, sep: char) -> String {
    let d = utc(t);
    format!(
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// `2026-08-23T10:15:00Z`: Graph's DateTimeOffset values.
pub(crate) fn iso_utc(t: SystemTime) -> String {
    format!("{}Z", ymd_hms(t, 'T'))
}

/// `2026-08-23T10:15:00`: `innerError.date` has no timezone.
pub(crate) fn inner_date(t: SystemTime) -> String {
    ymd_hms(t, 'T')
}

/// `2026-08-23 10:15:00Z`: the identity platform's `timestamp` uses a space.
pub(crate) fn aad_timestamp(t: SystemTime) -> String {
    format!("{}Z", ymd_hms(t, ' '))
}

/// Seconds since the Unix epoch (JWT NumericDate).
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    i64::try_from(secs).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_787_480_100); // 2026-08-23T10:15:00Z
        assert_eq!(iso_utc(t), "2026-08-23T10:15:00Z");
        assert_eq!(inner_date(t), "2026-08-23T10:15:00");
        assert_eq!(aad_timestamp(t), "2026-08-23 10:15:00Z");
    }
}
