//! `users/{id|upn}/authentication/fido2Methods`: list, get, delete, creationOptions (all URL
//! forms) and the strict registration POST (CONTRACT.md §3–§5).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hyper::{Response, StatusCode};
use rand::RngCore as _;
use serde_json::{json, Map, Value};

use super::http::{self, graph_error, Body};
use super::router::{is_json, GraphReq, Version};
use super::state::{self, Challenge, FakeMethod, Kind};
use super::webauthn;
use super::ExcludeIdEncoding;

/// The observed 400 message when the body does not bind to a fido2AuthenticationMethod (#941).
const MISSING_ENTITY: &str = "The request is missing a fido2AuthenticationMethod entity with a displayName and publicKeyCredential in the request body. All other properties will be ignored.";
/// Default (and v1.0's fixed) challenge lifetime.
const DEFAULT_TIMEOUT_MIN: i64 = 5;

fn bad_request(g: &GraphReq<'_>, msg: &str) -> Response<Body> {
    graph_error(StatusCode::BAD_REQUEST, "badRequest", msg, g.ctx)
}

/// An early error response; boxed so `Result`s stay small.
type ErrResp = Box<Response<Body>>;

fn bad(g: &GraphReq<'_>, msg: &str) -> ErrResp {
    Box::new(bad_request(g, msg))
}

/// 405 when a delegated caller targets their own account (self-service is not supported).
fn self_service(g: &GraphReq<'_>, user_id: &str) -> Option<Response<Body>> {
    (g.caller.as_deref() == Some(user_id)).then(|| {
        graph_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            "The method is not supported for this URL.",
            g.ctx,
        )
    })
}

fn user_not_found(g: &GraphReq<'_>, key: &str) -> Response<Body> {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{key}' does not exist or one of its queried reference-property objects are not present."),
        g.ctx,
    )
}

fn method_json(m: &FakeMethod, version: Version) -> Value {
    let mut v = json!({
        "id": m.id,
        "displayName": m.display_name,
        "createdDateTime": m.created_date_time,
        "aaGuid": m.aaguid,
        "model": m.model,
        "attestationCertificates": m.attestation_certificates,
        "attestationLevel": m.attestation_level,
        "passkeyType": "deviceBound",
    });
    if version == Version::Beta {
        if let Some(o) = v.as_object_mut() {
            o.insert("lastUsedDateTime".into(), Value::Null);
        }
    }
    v
}

/// A method as Graph describes it: as stored, or, with the `misreported_registration` fault,
/// as another model that is not attested (in every answer: the POST's, lists, gets).
fn described(m: &FakeMethod, version: Version, misreport: bool) -> Value {
    let mut v = method_json(m, version);
    if misreport {
        if let Some(o) = v.as_object_mut() {
            let other = "cb69481e-8ff7-4039-93ec-0a2729a154a8";
            o.insert("aaGuid".into(), Value::from(other));
            o.insert("model".into(), Value::from(state::model_for(other)));
            o.insert("attestationLevel".into(), Value::from("notAttested"));
        }
    }
    v
}

fn methods_context(g: &GraphReq<'_>, user_id: &str) -> String {
    format!(
        "{}/{}/$metadata#users('{user_id}')/authentication/fido2Methods",
        g.ctx.base,
        g.version.as_str()
    )
}

/// `GET .../fido2Methods`.
pub(crate) fn list(g: &GraphReq<'_>, key: &str) -> Response<Body> {
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(user) = st.user_index(key).and_then(|i| st.objects.get(i)) else {
        return user_not_found(g, key);
    };
    if let Some(status) = st.faults.fail_lists_with {
        return http::injected_error(
            status,
            "accessDenied",
            "Request Authorization failed (injected list fault).",
            g.ctx,
        );
    }
    let now = Instant::now();
    let value: Vec<Value> = st
        .methods
        .get(&user.id)
        .map(|ms| {
            ms.iter()
                .filter(|m| st.listed_from.get(&m.id).is_none_or(|t| *t <= now))
                .map(|m| described(m, g.version, st.faults.misreported_registration))
                .collect()
        })
        .unwrap_or_default();
    http::graph_json(
        StatusCode::OK,
        &json!({"@odata.context": methods_context(g, &user.id), "value": value}),
        g.ctx,
    )
}

fn method_not_found(g: &GraphReq<'_>, id: &str) -> Response<Body> {
    graph_error(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("The authentication method '{id}' was not found for this user."),
        g.ctx,
    )
}

/// `GET .../fido2Methods/{id}`.
pub(crate) fn get(g: &GraphReq<'_>, key: &str, method_id: &str) -> Response<Body> {
    let Some(st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(user) = st.user_index(key).and_then(|i| st.objects.get(i)) else {
        return user_not_found(g, key);
    };
    let found = st
        .methods
        .get(&user.id)
        .and_then(|ms| ms.iter().find(|m| m.id == method_id));
    let Some(m) = found else {
        return method_not_found(g, method_id);
    };
    let mut v = described(m, g.version, st.faults.misreported_registration);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "@odata.context".into(),
            Value::from(format!("{}/$entity", methods_context(g, &user.id))),
        );
        o.insert(
            "@odata.type".into(),
            Value::from("#microsoft.graph.fido2AuthenticationMethod"),
        );
    }
    http::graph_json(StatusCode::OK, &v, g.ctx)
}

/// `DELETE .../fido2Methods/{id}`: 204, or 404 for an unknown id.
pub(crate) fn delete(g: &GraphReq<'_>, key: &str, method_id: &str) -> Response<Body> {
    let Some(mut st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(uid) = st
        .user_index(key)
        .and_then(|i| st.objects.get(i))
        .map(|u| u.id.clone())
    else {
        return user_not_found(g, key);
    };
    let ms = st.methods.entry(uid).or_default();
    let before = ms.len();
    ms.retain(|m| m.id != method_id);
    if ms.len() == before {
        return method_not_found(g, method_id);
    }
    http::empty(StatusCode::NO_CONTENT, g.ctx)
}

/// Parses the requested timeout from `(challengeTimeoutInMinutes=N)`, the `@alias` form or
/// `?challengeTimeoutInMinutes=N`; `Err` is the 400 to send.
fn requested_timeout(g: &GraphReq<'_>, suffix: &str) -> Result<i64, ErrResp> {
    let invalid = |raw: &str| {
        bad(
            g,
            &format!("Invalid value '{raw}' for parameter 'challengeTimeoutInMinutes'. The value must be between 5 and 43200 minutes."),
        )
    };
    let mut raw: Option<String> = None;
    if !suffix.is_empty() {
        let inner = suffix
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| {
                Box::new(graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Resource not found for the segment 'creationOptions{suffix}'."),
                    g.ctx,
                ))
            })?;
        if !inner.trim().is_empty() {
            let (name, value) = inner.split_once('=').ok_or_else(|| invalid(inner))?;
            if !name
                .trim()
                .eq_ignore_ascii_case("challengeTimeoutInMinutes")
            {
                return Err(bad(
                    g,
                    &format!(
                        "The parameter '{}' is not valid for function 'creationOptions'.",
                        name.trim()
                    ),
                ));
            }
            let value = value.trim();
            raw = Some(match value.strip_prefix('@') {
                // OData parameter alias: creationOptions(challengeTimeoutInMinutes=@p)?@p=60
                Some(_) => g
                    .query_value(value)
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(value))?,
                None => value.to_owned(),
            });
        }
    }
    if raw.is_none() {
        raw = g
            .query_value("challengeTimeoutInMinutes")
            .map(str::to_owned);
    }
    match raw {
        None => Ok(DEFAULT_TIMEOUT_MIN),
        Some(r) => match r.parse::<i64>() {
            Ok(n) if (5..=43_200).contains(&n) => Ok(n),
            _ => Err(invalid(&r)),
        },
    }
}

/// A random ASCII JWE compact token, like the real challenge's decoded bytes.
fn jwe_like() -> String {
    let mut rng = rand::rngs::OsRng;
    let mut part = |n: usize| {
        let mut b = vec![0u8; n];
        rng.fill_bytes(&mut b);
        URL_SAFE_NO_PAD.encode(b)
    };
    // {"alg":"RSA-OAEP-256","enc":"A256GCM"}
    let header = "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0";
    let (key, iv, ct, tag) = (part(256), part(12), part(96), part(16));
    format!("{header}.{key}.{iv}.{ct}.{tag}")
}

fn encode_exclude_id(id: &[u8], enc: ExcludeIdEncoding) -> String {
    match enc {
        ExcludeIdEncoding::Base64Url => URL_SAFE_NO_PAD.encode(id),
        ExcludeIdEncoding::StdBase64Padded => STANDARD.encode(id),
        ExcludeIdEncoding::PadDigit => state::method_id(id),
    }
}

/// `GET .../fido2Methods/creationOptions[(challengeTimeoutInMinutes=N)][?challengeTimeoutInMinutes=N]`.
pub(crate) fn creation_options(g: &GraphReq<'_>, key: &str, suffix: &str) -> Response<Body> {
    let minutes = match g.version {
        Version::Beta => match requested_timeout(g, suffix) {
            Ok(m) => m,
            Err(r) => return *r,
        },
        // v1.0 has no parameter: a fixed five-minute timeout.
        Version::V1 => DEFAULT_TIMEOUT_MIN,
    };
    let advertised = Duration::from_secs(u64::try_from(minutes).unwrap_or(5) * 60);
    let challenge = URL_SAFE_NO_PAD.encode(jwe_like());
    let Some(mut st) = g.shared.lock() else {
        return http::internal(g.ctx);
    };
    let Some(idx) = st.user_index(key) else {
        return user_not_found(g, key);
    };
    let Some((user_id, upn, display, handle)) = st.objects.get(idx).and_then(|o| match &o.kind {
        Kind::User {
            upn, user_handle, ..
        } => Some((
            o.id.clone(),
            upn.clone(),
            o.display_name.clone(),
            user_handle.clone(),
        )),
        _ => None,
    }) else {
        return user_not_found(g, key);
    };
    if let Some(resp) = self_service(g, &user_id) {
        return resp;
    }
    let enc = st.faults.exclude_id_encoding;
    let actual = st.faults.challenge_timeout_override.unwrap_or(advertised);
    let wrapped = st.faults.creation_options_wrapped_in_value;
    let exclude: Vec<Value> = st
        .methods
        .get(&user_id)
        .map(|ms| {
            ms.iter()
                .enumerate()
                .map(|(i, m)| {
                    let transports: &[&str] = if i % 2 == 0 { &["usb", "nfc"] } else { &[] };
                    json!({"type": "public-key", "id": encode_exclude_id(&m.credential_id, enc), "transports": transports})
                })
                .collect()
        })
        .unwrap_or_default();
    let now = Instant::now();
    st.gc(now);
    st.challenges.insert(
        challenge.clone(),
        Challenge {
            user_id,
            expires: now + actual,
            used: false,
        },
    );
    drop(st);

    let rp_id = &g.shared.cfg.rp_id;
    let options = json!({
        "@odata.context": format!("{}/{}/$metadata#microsoft.graph.webauthnCredentialCreationOptions", g.ctx.base, g.version.as_str()),
        "challengeTimeoutDateTime": http::iso_utc(g.ctx.now + advertised),
        "publicKey": {
            "rp": {"id": rp_id, "name": "Microsoft"},
            "user": {"id": URL_SAFE_NO_PAD.encode(handle), "name": upn, "displayName": display},
            "challenge": challenge,
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}],
            "timeout": 60000,
            "excludeCredentials": exclude,
            "authenticatorSelection": {"authenticatorAttachment": "cross-platform", "requireResidentKey": true, "userVerification": "required"},
            "attestation": "direct",
            "extensions": {"hmacCreateSecret": true, "enforceCredentialProtectionPolicy": true, "credentialProtectionPolicy": "userVerificationOptional"},
        },
    });
    let body = if wrapped {
        json!({"value": options})
    } else {
        options
    };
    http::graph_json(StatusCode::OK, &body, g.ctx)
}

/// Decodes a strict base64url-without-padding field.
fn b64url(g: &GraphReq<'_>, name: &str, value: &str) -> Result<Vec<u8>, ErrResp> {
    URL_SAFE_NO_PAD.decode(value).map_err(|_| {
        bad(
            g,
            &format!("publicKeyCredential.{name} is not base64url without padding (RFC 4648 §5)."),
        )
    })
}

/// Accepts only the listed keys; anything else is client drift and refused like #941.
fn only_keys(g: &GraphReq<'_>, obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), ErrResp> {
    if obj.contains_key("@odata.type") {
        return Err(bad(g, MISSING_ENTITY));
    }
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(_) => Err(bad(g, MISSING_ENTITY)),
        None => Ok(()),
    }
}

/// The parts of the POST body after strict parsing.
struct PostBody {
    display_name: Option<String>,
    cred_id_b64: String,
    client_data: Vec<u8>,
    attestation: Vec<u8>,
    extension_results: Value,
}

fn parse_post(g: &GraphReq<'_>) -> Result<PostBody, ErrResp> {
    if !is_json(g.headers) {
        return Err(bad(g, MISSING_ENTITY));
    }
    let v: Value = serde_json::from_slice(g.body).map_err(|_| bad(g, MISSING_ENTITY))?;
    let top = v.as_object().ok_or_else(|| bad(g, MISSING_ENTITY))?;
    only_keys(g, top, &["displayName", "publicKeyCredential"])?;
    let pkc = top
        .get("publicKeyCredential")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(g, MISSING_ENTITY))?;
    only_keys(g, pkc, &["id", "response", "clientExtensionResults"])?;
    let resp = pkc
        .get("response")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(g, MISSING_ENTITY))?;
    only_keys(g, resp, &["clientDataJSON", "attestationObject"])?;
    let text = |o: &Map<String, Value>, k: &str| {
        o.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| bad(g, MISSING_ENTITY))
    };
    let display_name = match top.get("displayName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad(g, MISSING_ENTITY)),
    };
    let cred_id_b64 = text(pkc, "id")?;
    let client_data = b64url(g, "response.clientDataJSON", &text(resp, "clientDataJSON")?)?;
    let attestation = b64url(
        g,
        "response.attestationObject",
        &text(resp, "attestationObject")?,
    )?;
    let extension_results = match pkc.get("clientExtensionResults") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(bad(g, MISSING_ENTITY)),
    };
    Ok(PostBody {
        display_name,
        cred_id_b64,
        client_data,
        attestation,
        extension_results,
    })
}

/// `POST .../fido2Methods`: verifies and stores a registration. The bool asks the router to
/// drop the connection instead of answering (fault injection, after the method is stored).
pub(crate) fn register(g: &GraphReq<'_>, key: &str) -> (Response<Body>, bool) {
    match register_inner(g, key) {
        Ok(r) => r,
        Err(resp) => (*resp, false),
    }
}

fn register_inner(g: &GraphReq<'_>, key: &str) -> Result<(Response<Body>, bool), ErrResp> {
    let user_id = {
        let st = g
            .shared
            .lock()
            .ok_or_else(|| Box::new(http::internal(g.ctx)))?;
        st.user_index(key)
            .and_then(|i| st.objects.get(i))
            .map(|u| u.id.clone())
            .ok_or_else(|| Box::new(user_not_found(g, key)))?
    };
    if let Some(resp) = self_service(g, &user_id) {
        return Err(Box::new(resp));
    }
    let body = parse_post(g)?;
    if let Some(name) = &body.display_name {
        let len = name.chars().count();
        if len == 0 || len > 30 {
            return Err(bad(
                g,
                "displayName must be between 1 and 30 characters long.",
            ));
        }
    }
    let cred_id = b64url(g, "id", &body.cred_id_b64)?;
    let cd = webauthn::parse_client_data(&body.client_data).map_err(|e| bad(g, &e.0))?;
    if cd.typ != "webauthn.create" {
        return Err(bad(
            g,
            &format!(
                "clientDataJSON.type is '{}', expected 'webauthn.create'.",
                cd.typ
            ),
        ));
    }
    let rp_id = &g.shared.cfg.rp_id;
    let origin = format!("https://{rp_id}");
    if cd.origin != origin {
        return Err(bad(
            g,
            &format!(
                "clientDataJSON.origin '{}' does not match the relying party origin '{origin}'.",
                cd.origin
            ),
        ));
    }
    if cd.cross_origin {
        return Err(bad(g, "clientDataJSON.crossOrigin must be false."));
    }
    // Check the challenge before the (costlier) attestation, without consuming it yet.
    {
        let st = g
            .shared
            .lock()
            .ok_or_else(|| Box::new(http::internal(g.ctx)))?;
        check_challenge(g, &st.challenges, &cd.challenge, &user_id)?;
    }
    let verified = webauthn::verify_attestation(&body.attestation, &body.client_data, rp_id)
        .map_err(|e| bad(g, &e.0))?;
    if verified.credential_id != cred_id {
        return Err(bad(
            g,
            "publicKeyCredential.id does not match the credential id in authData.",
        ));
    }

    let aaguid = uuid::Uuid::from_bytes(verified.aaguid)
        .hyphenated()
        .to_string();
    // A certificate chain for a key that names no model (nil AAGUID) attests nothing: Entra
    // looks the AAGUID up in the FIDO metadata service.
    let attested = !verified.x5c.is_empty() && verified.aaguid != [0u8; 16];
    let refused = {
        let policy = g
            .shared
            .policy
            .lock()
            .map(|p| p.clone())
            .map_err(|_| Box::new(http::internal(g.ctx)))?;
        let st = g
            .shared
            .lock()
            .ok_or_else(|| Box::new(http::internal(g.ctx)))?;
        let groups = st
            .user_index(&user_id)
            .map(|i| st.groups_of(i))
            .unwrap_or_default();
        super::policy::refusal(&policy, &groups, &aaguid, attested)
    };
    if let Some(why) = refused {
        return Err(bad(g, &why));
    }
    let method = FakeMethod {
        id: state::method_id(&cred_id),
        display_name: body
            .display_name
            .clone()
            .or_else(|| state::model_for(&aaguid))
            .unwrap_or_else(|| "FIDO2 security key".into()),
        credential_id: cred_id.clone(),
        model: state::model_for(&aaguid),
        aaguid,
        attestation_level: if attested { "attested" } else { "notAttested" }.into(),
        attestation_certificates: verified.x5c.iter().map(|c| state::sha1_hex(c)).collect(),
        created_date_time: http::iso_utc(g.ctx.now),
        fmt: verified.fmt.clone(),
        client_extension_results: body.extension_results.clone(),
    };

    let (drop_it, misreport) = {
        let mut st = g
            .shared
            .lock()
            .ok_or_else(|| Box::new(http::internal(g.ctx)))?;
        // Re-check under the same lock that consumes it: two racing POSTs can't both win.
        check_challenge(g, &st.challenges, &cd.challenge, &user_id)?;
        let duplicate = st
            .methods
            .values()
            .flatten()
            .any(|m| m.credential_id == cred_id);
        if duplicate {
            return Err(bad(
                g,
                "A FIDO2 method with this credential id is already registered.",
            ));
        }
        if let Some(c) = st.challenges.get_mut(&cd.challenge) {
            c.used = true;
        }
        st.methods
            .entry(user_id.clone())
            .or_default()
            .push(method.clone());
        if let Some(lag) = st.faults.list_lag {
            st.listed_from
                .insert(method.id.clone(), Instant::now() + lag);
        }
        let target = st.faults.drop_post_response_once_for.clone();
        let hit = target.is_some_and(|t| {
            t == "*"
                || st
                    .user_index(&t)
                    .and_then(|i| st.objects.get(i))
                    .is_some_and(|u| u.id == user_id)
        });
        if hit {
            st.faults.drop_post_response_once_for = None;
        }
        (hit, st.faults.misreported_registration)
    };

    let mut v = described(&method, g.version, misreport);
    if let Some(o) = v.as_object_mut() {
        o.remove("lastUsedDateTime");
        o.insert(
            "@odata.context".into(),
            Value::from(format!("{}/$entity", methods_context(g, &user_id))),
        );
        o.insert(
            "@odata.type".into(),
            Value::from("#microsoft.graph.fido2AuthenticationMethod"),
        );
    }
    let mut resp = http::graph_json(StatusCode::CREATED, &v, g.ctx);
    if let Ok(loc) = hyper::header::HeaderValue::from_str(&format!(
        "{}/{}/users/{user_id}/authentication/fido2Methods/{}",
        g.ctx.base,
        g.version.as_str(),
        method.id
    )) {
        resp.headers_mut().insert(hyper::header::LOCATION, loc);
    }
    Ok((resp, drop_it))
}

/// The challenge must be one we issued, to this user, unexpired and unused.
fn check_challenge(
    g: &GraphReq<'_>,
    challenges: &std::collections::HashMap<String, Challenge>,
    challenge: &str,
    user_id: &str,
) -> Result<(), ErrResp> {
    let refused = |code: &str, msg: &str| -> ErrResp {
        Box::new(graph_error(StatusCode::BAD_REQUEST, code, msg, g.ctx))
    };
    let Some(c) = challenges.get(challenge) else {
        return Err(refused(
            crate::CHALLENGE_UNKNOWN,
            "The challenge in clientDataJSON was not issued by this service.",
        ));
    };
    if c.user_id != user_id {
        return Err(refused(
            crate::CHALLENGE_UNKNOWN,
            "The challenge in clientDataJSON was issued for a different user.",
        ));
    }
    if c.used {
        return Err(refused(
            crate::CHALLENGE_USED,
            "The challenge in clientDataJSON has already been used.",
        ));
    }
    if Instant::now() >= c.expires {
        return Err(refused(
            crate::CHALLENGE_EXPIRED,
            "The challenge in clientDataJSON has expired. Request new creation options.",
        ));
    }
    Ok(())
}
