//! Integration tests of the fake tenant (feature `fake`) with a plain HTTP client: the token
//! endpoint, directory paging, creationOptions, strict registration with real packed
//! attestations built here with p256, and fault injection.
#![cfg(feature = "fake")]

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ciborium::Value as Cbor;
use graph::fake::{
    spawn_in_thread, DevicePoll, ExcludeIdEncoding, ExtraGroup, FakeConfig, FakeTenant, Faults,
    RetryAfterStyle,
};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use support::{secret_form, secret_token};

mod support;

// Test-only keys and certificates made with openssl: an RSA app certificate for client
// assertions and a P-256 batch attestation certificate (v3, CA:FALSE, AAGUID extension
// ee882879-721c-4913-9775-3dfcce97072a).
const ATT_CERT: &str = concat!(
    "MIICQDCCAeagAwIBAgIUfdYMYEwzN6yVmgxx+qf2ZYmailswCgYIKoZIzj0EAwIwdjELMAkGA1UEBhMCU0UxIjAgBgNVBAoM",
    "GUZha2UgQXV0aGVudGljYXRvciBWZW5kb3IxIjAgBgNVBAsMGUF1dGhlbnRpY2F0b3IgQXR0ZXN0YXRpb24xHzAdBgNVBAMM",
    "FkZha2UgQmF0Y2ggQXR0ZXN0YXRpb24wHhcNMjYxMTIzMTUzNTUzWhcNMzYxMTIwMTUzNTUzWjB2MQswCQYDVQQGEwJTRTEi",
    "MCAGA1UECgwZRmFrZSBBdXRoZW50aWNhdG9yIFZlbmRvcjEiMCAGA1UECwwZQXV0aGVudGljYXRvciBBdHRlc3RhdGlvbjEf",
    "MB0GA1UEAwwWRmFrZSBCYXRjaCBBdHRlc3RhdGlvbjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHOr1eHQbhQuIa56rUTz",
    "KwR93rKxJZTI7yGGJ8rxamPRFA+ILyJBtIWmBXDe0oDqfEq1/gc+sleRDobzC2F2Ps+jUjBQMAwGA1UdEwEB/wQCMAAwIQYL",
    "KwYBBAGC5RwBAQQEEgQQ7ogoeXIcSROXdT38zpcHKjAdBgNVHQ4EFgQUldhrgsW4Gb4RDDlNyVnAZzO544QwCgYIKoZIzj0E",
    "AwIDSAAwRQIgM0jN8Di48b8OdxoWkSYSB+6rWrVFDqWT6QMfeE3KRt0CIQChP4CtfuEAwbIcLiq2y9gRd/0mwokvsK3jZIfo",
    "jtjoMA==",
);
const ATT_KEY_PKCS8: &str = concat!(
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHjqIh4Cv9PM9EmH5dCbMBT0ofB4YWWGbnY2jZMYQG9uhRANC",
    "AARzq9Xh0G4ULiGueq1E8ysEfd6ysSWUyO8hhifK8Wpj0RQPiC8iQbSFpgVw3tKA6nxKtf4HPrJXkQ6G8wthdj7P",
);
const RSA_CERT: &str = concat!(
    "MIIDIzCCAgugAwIBAgIUVIrKvbqm8ReR1P+7H0MBnHU8LEYwDQYJKoZIhvcNAQELBQAwITEfMB0GA1UEAwwWcGFzc2tleS1r",
    "aW9zay10ZXN0LWFwcDAeFw0yNjExMjMxNTM1NTNaFw0zNjExMjAxNTM1NTNaMCExHzAdBgNVBAMMFnBhc3NrZXkta2lvc2st",
    "dGVzdC1hcHAwggEiMA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCnrLuM1hKP4A5DqGC/r+noEuVP8CyoPwazGQgMslDy",
    "ihy1zn/AlTzFM6K6OyWTMDhNuSN0PXTLxiMipEMnb+af817p1Vn1C21JnqAL5o4TZnoH4/7iGYSDFT9OgdbMtRgo2uss3p0M",
    "bRRsXuO0+5kgXyuT73lHY1PT6c5p+127C76jG+c0iKewhwMdZuV2KAc4szV3UHC1wEpWrFaoSsSAKnxxyfDzO4OIMcFTWdLs",
    "BNbPkJNYzLpCKdnUoOH5KoCE/re9zHyWhZhkfuuXlHAaFeTZoCSwpoOy58IDywqfurEjA5kWgkv0857+FA5hKHJq+gIVOuIQ",
    "SNRbrDC/tnkHAgMBAAGjUzBRMB0GA1UdDgQWBBRBv68Iw+5VgRMAMgNHUTpL7Ud1azAfBgNVHSMEGDAWgBRBv68Iw+5VgRMA",
    "MgNHUTpL7Ud1azAPBgNVHRMBAf8EBTADAQH/MA0GCSqGSIb3DQEBCwUAA4IBAQAXrxzoQLiB1OOgwTTqEevaX+nOR1R/Ya+x",
    "zYhDmQFpehEj8OCgMVrsekQ9TXacAZzP0KfIIJiqCu99xqMLLGN4GxRAgmW+rRRSVRYwu7lnYvbyZSWeuTn8vdK6USpJN0HN",
    "YUz8juU3xfQJA+PUuFRifJtar8YzWbBm8rxklGBv650wIpNvZ0kMtmZcaMb5dvpTAkfyQcWRRARTQYeD10RLo/IGzSgAIZD5",
    "FLpIA/1OefKF3h7YhcegvQ3cOZWN916BpKQ+84xhjOfedIJqdWmTgig8WIhKFSDH0XH7enUM2Iv6Vyj7NzUfavn9QkQM5VpW",
    "uh/qiQCtKeSDs9X4yPEq",
);
const RSA_KEY_PKCS8: &str = concat!(
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCnrLuM1hKP4A5DqGC/r+noEuVP8CyoPwazGQgMslDyihy1",
    "zn/AlTzFM6K6OyWTMDhNuSN0PXTLxiMipEMnb+af817p1Vn1C21JnqAL5o4TZnoH4/7iGYSDFT9OgdbMtRgo2uss3p0MbRRs",
    "XuO0+5kgXyuT73lHY1PT6c5p+127C76jG+c0iKewhwMdZuV2KAc4szV3UHC1wEpWrFaoSsSAKnxxyfDzO4OIMcFTWdLsBNbP",
    "kJNYzLpCKdnUoOH5KoCE/re9zHyWhZhkfuuXlHAaFeTZoCSwpoOy58IDywqfurEjA5kWgkv0857+FA5hKHJq+gIVOuIQSNRb",
    "rDC/tnkHAgMBAAECggEADDVLvoMDp6K/nHYmUoPuEENNRkG4GVPlb/rS7DcQz71LPoLXfbUf+e0QMbuxY63Exlvu1JLOQzFH",
    "nkkUHqCgy7qTiYugLh2eim1YknqUk52y0DTtz5aItbvr970FCl3mcWsRvnBC7QRa0qfMr9Zgcsvwcf1N+Or8JSzGe6RH/HX4",
    "YAPbAUC/HP3Y8LCU3IfpZJnp7NTKuKwwSaXjnnWWngLN/n8yrffQS2cHi17tLsCwnOUaLk1IYAWsffgcDN3HQS62G+FxX+Oa",
    "ESuIQarm8rYM8xxV4Uv1peT9TjjE3WF50J8Qvrt5GJaXrEEoYi/9ZTx1e8Dyn2SOInf4SdXJ4QKBgQDrCcA01AEo7t1hOK3a",
    "dNhMisc/e8tc7hyuwNMgvZqvpz6VDAXEhPpHDDkttUizgVhm0MfUwPDE7wEhLngGDIWZS6nvlaqm+bHGyxOMTfIUUPrfz+Lu",
    "WKJBKwBn8wFwaxxXB4S5FIF2uitbJR4lRmrXYFtGrVHCSe783fERcfdC1wKBgQC2oPtk2NNxpOiIIWilS+o+z0sgKkOhX4Jd",
    "YMLgvNLlbKIUyYJfDKy8n+rBcugxnwr3kr+Q+BCI5lGFd9z2DaFWg5o+NWz3bhl6CW0n0hftJOsum7AIYq8H5jRB4D+FPPzR",
    "tLn6Sg+4mFjEKy3sNyxKRKjHl0dCfGljzXMDBdDlUQKBgQC/qF7cdThQ6Z8KRU63QeqTV+Mr6EWnjN9EvSYsn5AAxk8o+PnH",
    "C2yO/O+vTxFulv3AMWWSHpb277IrHZpvzEww+dsj7BaRPDF0WmqhUXoiiPpaAUoac5ozq94T5bt5sU4VxaK7zXXYm+z40Oap",
    "HKfI4uDrXC+8T8+a0VxfjmBDVwKBgCZvsRkjbTTw0SO9bEnFtXIsrJIDcyJmeIhwkfM8qmIwv9gCJRceEsjMG1tFdMrkvykl",
    "0H2RR+GYH7YoaO+8JKWRowfOtLVKjcAadce4tuJpL7oqeBz7r/zInVzz9kpzcH4uPCoKJk7ieWQn9k1Nu1uSIbeIBi5fAstH",
    "dRpAwhtRAoGAKPgGqqApwu6GsUre6zMIHc5ezjcO4CpRqjv16md1OBYi40k5MIvYJ8FJbpiipDV67PG4LZUjiRlgwbmEbq85",
    "mk+pvadbeOB8RhYwCOEQ2m6FbsVQKP1S3LZWYKfjjijECg5ovvbijcO/zatBvrVx6o1I9xnmOyeVHCGnEMoWSMA=",
);

const RP_ID: &str = "login.microsoft.com";
const YUBIKEY_AAGUID: [u8; 16] = [
    0xee, 0x88, 0x28, 0x79, 0x72, 0x1c, 0x49, 0x13, 0x97, 0x75, 0x3d, 0xfc, 0xce, 0x97, 0x07, 0x2a,
];

fn der(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).expect("test constant is base64")
}

/// The body as JSON (`Null` when it is not JSON); reqwest's `json` feature is not enabled.
async fn json_of(resp: reqwest::Response) -> Value {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A started tenant, a client and an access token.
struct Env {
    t: FakeTenant,
    http: reqwest::Client,
    token: String,
}

async fn token_response(t: &FakeTenant, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(t.token_url())
        .header("client-request-id", "11111111-2222-3333-4444-000000000001")
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    (status, json_of(resp).await)
}

async fn env(cfg: FakeConfig) -> Env {
    let t = FakeTenant::start(cfg).await.expect("fake tenant starts");
    let token = secret_token(&t).await;
    Env {
        t,
        http: reqwest::Client::new(),
        token,
    }
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.t.base_url())
    }

    async fn get(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.get_abs(&self.url(path)).await
    }

    async fn get_abs(&self, url: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let resp = self
            .http
            .get(url)
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("POST");
        let status = resp.status();
        (status, json_of(resp).await)
    }

    async fn delete(&self, path: &str) -> StatusCode {
        self.http
            .delete(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("DELETE")
            .status()
    }

    /// The first generated member user (not the guest).
    fn user(&self, n: usize) -> graph::fake::FakeUser {
        self.t
            .users()
            .into_iter()
            .filter(|u| !u.is_guest)
            .nth(n)
            .expect("enough users")
    }

    async fn options(&self, user: &str) -> Value {
        let (status, _, body) = self
            .get(&format!(
                "/beta/users/{user}/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=10)"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn small() -> FakeConfig {
    FakeConfig {
        users: 8,
        existing_methods_every_nth: None,
        ..FakeConfig::default()
    }
}

fn graph_error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

// ---------------------------------------------------------------- registration builder

/// How to build the attestation in a test registration.
#[derive(Clone, Copy, PartialEq)]
enum Att {
    PackedX5c,
    PackedSelf,
    None,
}

/// Knobs to break one rule at a time.
#[derive(Clone)]
struct Reg {
    att: Att,
    origin: String,
    rp_id_for_hash: String,
    flags: u8,
    typ: String,
    cred_id: Vec<u8>,
    corrupt_sig: bool,
}

impl Default for Reg {
    fn default() -> Self {
        let mut cred_id = vec![0u8; 64];
        rand::Rng::fill(&mut rand::thread_rng(), &mut cred_id[..]);
        Reg {
            att: Att::PackedX5c,
            origin: format!("https://{RP_ID}"),
            rp_id_for_hash: RP_ID.into(),
            flags: 0x01 | 0x04 | 0x40 | 0x80,
            typ: "webauthn.create".into(),
            cred_id,
            corrupt_sig: false,
        }
    }
}

fn cbor(v: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("cbor");
    out
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

/// Builds the fixture-shaped POST body for `challenge` with a fresh P-256 credential.
fn registration(challenge: &str, r: &Reg) -> Value {
    let cred_key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = cred_key.verifying_key().to_encoded_point(false);
    let cose = Cbor::Map(vec![
        (int(1), int(2)),
        (int(3), int(-7)),
        (int(-1), int(1)),
        (int(-2), Cbor::Bytes(point.x().expect("x").to_vec())),
        (int(-3), Cbor::Bytes(point.y().expect("y").to_vec())),
    ]);
    let mut auth_data = Sha256::digest(r.rp_id_for_hash.as_bytes()).to_vec();
    auth_data.push(r.flags);
    auth_data.extend_from_slice(&0u32.to_be_bytes());
    auth_data.extend_from_slice(&YUBIKEY_AAGUID);
    auth_data.extend_from_slice(&u16::try_from(r.cred_id.len()).expect("len").to_be_bytes());
    auth_data.extend_from_slice(&r.cred_id);
    auth_data.extend_from_slice(&cbor(&cose));
    if r.flags & 0x80 != 0 {
        auth_data.extend_from_slice(&cbor(&Cbor::Map(vec![
            (text("credProtect"), int(1)),
            (text("hmac-secret"), Cbor::Bool(true)),
        ])));
    }
    let client_data =
        json!({"type": r.typ, "challenge": challenge, "origin": r.origin, "crossOrigin": false})
            .to_string();
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));
    let (fmt, stmt) = match r.att {
        Att::None => ("none", Cbor::Map(vec![])),
        Att::PackedX5c | Att::PackedSelf => {
            let signer = if r.att == Att::PackedX5c {
                p256::ecdsa::SigningKey::from_pkcs8_der(&der(ATT_KEY_PKCS8)).expect("att key")
            } else {
                cred_key.clone()
            };
            let sig: p256::ecdsa::Signature = signer.sign(&signed);
            let mut sig = sig.to_der().as_bytes().to_vec();
            if r.corrupt_sig {
                let last = sig.len() - 1;
                sig[last] ^= 1;
            }
            let mut m = vec![(text("alg"), int(-7)), (text("sig"), Cbor::Bytes(sig))];
            if r.att == Att::PackedX5c {
                m.push((text("x5c"), Cbor::Array(vec![Cbor::Bytes(der(ATT_CERT))])));
            }
            ("packed", Cbor::Map(m))
        }
    };
    let att_obj = cbor(&Cbor::Map(vec![
        (text("fmt"), text(fmt)),
        (text("attStmt"), stmt),
        (text("authData"), Cbor::Bytes(auth_data)),
    ]));
    json!({
        "displayName": "YubiKey 5 NFC 12345678",
        "publicKeyCredential": {
            "id": URL_SAFE_NO_PAD.encode(&r.cred_id),
            "response": {
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data.as_bytes()),
                "attestationObject": URL_SAFE_NO_PAD.encode(att_obj),
            },
            "clientExtensionResults": {},
        }
    })
}

fn challenge_of(options: &Value) -> String {
    options["publicKey"]["challenge"]
        .as_str()
        .expect("challenge")
        .to_owned()
}

fn methods_path(user: &str) -> String {
    format!("/beta/users/{user}/authentication/fido2Methods")
}

// ---------------------------------------------------------------- token endpoint

#[tokio::test]
async fn token_with_secret_in_form_and_basic() {
    let t = FakeTenant::start(small()).await.expect("start");
    let (status, body) = token_response(
        &t,
        &[
            ("client_id", t.client_id()),
            ("scope", t.scope()),
            ("client_secret", t.client_secret()),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["access_token"].as_str().is_some_and(|s| s.len() > 40));

    // Secret in HTTP Basic, client_id only there too; the tenant domain works in the URL.
    let url = format!("{}/{}/oauth2/v2.0/token", t.base_url(), t.tenant_domain());
    let resp = reqwest::Client::new()
        .post(url)
        .basic_auth(t.client_id(), Some(t.client_secret()))
        .form(&[("scope", t.scope()), ("grant_type", "client_credentials")])
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json; charset=utf-8"
    );
}

#[tokio::test]
async fn token_errors_are_exactly_shaped() {
    let t = FakeTenant::start(small()).await.expect("start");
    let (status, body) = token_response(
        &t,
        &[
            ("client_id", t.client_id()),
            ("scope", t.scope()),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], json!([7000215]));
    let desc = body["error_description"].as_str().expect("description");
    assert!(desc.starts_with("AADSTS7000215: "), "{desc}");
    assert!(desc.contains("\r\nTrace ID: "));
    assert!(
        desc.contains("\r\nCorrelation ID: 11111111-2222-3333-4444-000000000001\r\nTimestamp: ")
    );
    let ts = body["timestamp"].as_str().expect("timestamp");
    assert_eq!(ts.len(), "2026-08-23 10:00:00Z".len());
    assert_eq!(&ts[10..11], " ");
    assert!(ts.ends_with('Z'));
    assert_eq!(
        body["correlation_id"],
        "11111111-2222-3333-4444-000000000001"
    );
    assert!(body["trace_id"].as_str().is_some_and(|s| s.len() == 36));
    assert_eq!(
        body["error_uri"],
        "https://login.microsoftonline.com/error?code=7000215"
    );

    // Unknown tenant: 400 / 90002.
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/nope.onmicrosoft.com/oauth2/v2.0/token",
            t.base_url()
        ))
        .form(&secret_form(&t))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = json_of(resp).await;
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(body["error_codes"], json!([90002]));

    // Bad scope: 400 / 70011.
    let (status, body) = token_response(
        &t,
        &[
            ("client_id", t.client_id()),
            ("scope", "https://foo.microsoft.com/.default"),
            ("client_secret", t.client_secret()),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
    assert_eq!(body["error_codes"], json!([70011]));

    // No credential at all.
    let (status, body) = token_response(
        &t,
        &[
            ("client_id", t.client_id()),
            ("scope", t.scope()),
            ("grant_type", "client_credentials"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_codes"], json!([7000218]));
}

/// Signs a client assertion with the test RSA key.
fn assertion(t: &FakeTenant, alg: &str, header_extra: Value, claims_patch: Value) -> String {
    let cert = der(RSA_CERT);
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if header_extra.is_null() {
        header["x5t#S256"] = Value::from(URL_SAFE_NO_PAD.encode(Sha256::digest(&cert)));
    } else if let (Some(h), Some(extra)) = (header.as_object_mut(), header_extra.as_object()) {
        h.extend(extra.clone());
    }
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let mut claims = json!({
        "aud": t.token_url(), "iss": t.client_id(), "sub": t.client_id(),
        "jti": "0f6a2a5e-1c1b-4c55-9c2b-1f2f3e4d5c6b", "nbf": now, "iat": now, "exp": now + 600,
    });
    if let (Some(c), Some(patch)) = (claims.as_object_mut(), claims_patch.as_object()) {
        c.extend(patch.clone());
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der(RSA_KEY_PKCS8)).expect("rsa key");
    let padding: &dyn ring::signature::RsaEncoding = if alg == "PS256" {
        &ring::signature::RSA_PSS_SHA256
    } else {
        &ring::signature::RSA_PKCS1_SHA256
    };
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(
        padding,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn assertion_token(t: &FakeTenant, jwt: &str) -> (StatusCode, Value) {
    token_response(
        t,
        &[
            ("client_id", t.client_id()),
            ("scope", t.scope()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", jwt),
            ("grant_type", "client_credentials"),
        ],
    )
    .await
}

#[tokio::test]
async fn token_with_certificate_assertion() {
    let t = FakeTenant::start(small()).await.expect("start");
    // Before the certificate is trusted: 700027.
    let (status, body) = assertion_token(&t, &assertion(&t, "PS256", Value::Null, json!({}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error_codes"], json!([700027]));

    t.add_certificate(der(RSA_CERT));
    let (status, body) = assertion_token(&t, &assertion(&t, "PS256", Value::Null, json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // RS256 with the older SHA-1 `x5t`.
    let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(der(RSA_CERT)));
    let (status, body) =
        assertion_token(&t, &assertion(&t, "RS256", json!({"x5t": x5t}), json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Wrong audience, wrong issuer, expired, tampered signature.
    let (status, body) = assertion_token(
        &t,
        &assertion(
            &t,
            "PS256",
            Value::Null,
            json!({"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (StatusCode::UNAUTHORIZED, json!([700027]))
    );
    let (status, body) = assertion_token(
        &t,
        &assertion(&t, "PS256", Value::Null, json!({"iss": "someone-else"})),
    )
    .await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (StatusCode::UNAUTHORIZED, json!([700021]))
    );
    let (status, body) = assertion_token(
        &t,
        &assertion(
            &t,
            "PS256",
            Value::Null,
            json!({"nbf": 1_000_000, "exp": 1_000_600}),
        ),
    )
    .await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (StatusCode::UNAUTHORIZED, json!([700024]))
    );
    let good = assertion(&t, "RS256", Value::Null, json!({}));
    let (head, sig) = good.rsplit_once('.').expect("jws");
    let mut sig = URL_SAFE_NO_PAD.decode(sig).expect("sig");
    sig[10] ^= 0xff;
    let tampered = format!("{head}.{}", URL_SAFE_NO_PAD.encode(sig));
    let (status, body) = assertion_token(&t, &tampered).await;
    assert_eq!(
        (status, body["error_codes"].clone()),
        (StatusCode::UNAUTHORIZED, json!([700027]))
    );
}

#[tokio::test]
async fn graph_needs_a_valid_unexpired_bearer() {
    let cfg = FakeConfig {
        token_lifetime: Duration::from_secs(1),
        ..small()
    };
    let e = env(cfg).await;
    let http = reqwest::Client::new();
    let url = e.url("/beta/groups");
    let resp = http.get(&url).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = json_of(resp).await;
    assert_eq!(graph_error_code(&body), "InvalidAuthenticationToken");

    let resp = http
        .get(&url)
        .bearer_auth("made-up")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    let (status, _, _) = e.get("/beta/groups").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _, body) = e.get("/beta/groups").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );
}

#[tokio::test]
async fn every_response_has_correlation_headers_and_odata_content_type() {
    let e = env(small()).await;
    let resp = e
        .http
        .get(e.url("/beta/groups/00000000-0000-0000-0000-000000000000/members"))
        .bearer_auth(&e.token)
        .header("client-request-id", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.headers()["content-type"],
        "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
    );
    assert_eq!(
        resp.headers()["client-request-id"],
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    );
    let rid = resp.headers()["request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body: Value = json_of(resp).await;
    assert_eq!(graph_error_code(&body), "Request_ResourceNotFound");
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"], rid.as_str());
    assert_eq!(
        inner["client-request-id"],
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
    );
    let date = inner["date"].as_str().expect("date");
    assert_eq!(
        date.len(),
        "2026-08-23T10:00:00".len(),
        "no timezone: {date}"
    );
}

// ---------------------------------------------------------------- groups and members

#[tokio::test]
async fn group_filter_unescapes_quotes_and_duplicates_are_visible() {
    let cfg = FakeConfig {
        group_name: "Kiosk O'Brien".into(),
        extra_groups: vec![
            ExtraGroup {
                display_name: "Wave 2".into(),
                users: 2,
                nested_in_scope: true,
            },
            ExtraGroup {
                display_name: "Twins".into(),
                users: 1,
                nested_in_scope: false,
            },
            ExtraGroup {
                display_name: "twins".into(),
                users: 1,
                nested_in_scope: false,
            },
        ],
        ..small()
    };
    let e = env(cfg).await;
    let (status, _, body) = e
        .get("/beta/groups?$filter=displayName%20eq%20'Kiosk%20O''Brien'&$select=id,displayName")
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let value = body["value"].as_array().expect("value");
    assert_eq!(value.len(), 1);
    assert_eq!(value[0]["displayName"], "Kiosk O'Brien");
    assert_eq!(value[0]["id"], e.t.group_id().as_str());
    assert!(body["@odata.context"]
        .as_str()
        .is_some_and(|c| c.ends_with("#groups(id,displayName)")));

    // Case-insensitive equality finds both "Twins" groups: the client must see ambiguity.
    let (_, _, body) = e.get("/beta/groups?$filter=displayName eq 'TWINS'").await;
    assert_eq!(body["value"].as_array().map(Vec::len), Some(2));
    let (_, _, body) = e.get("/beta/groups?$filter=displayName eq 'nobody'").await;
    assert_eq!(body["value"], json!([]));
    let (status, _, _) = e
        .get("/beta/groups?$filter=displayName eq 'unterminated")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn members_page_over_2500_users_with_absolute_next_links() {
    let e = env(FakeConfig {
        users: 2500,
        existing_methods_every_nth: None,
        ..FakeConfig::default()
    })
    .await;
    let gid = e.t.group_id();
    let mut url = e.url(&format!(
        "/beta/groups/{gid}/members?$select=id,userPrincipalName,displayName,userType&$top=999"
    ));
    let mut users = std::collections::HashSet::new();
    let mut others = Vec::new();
    let mut pages = 0;
    let mut empty_pages = 0;
    loop {
        let (status, _, body) = e.get_abs(&url).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        let value = body["value"].as_array().expect("value");
        empty_pages += usize::from(value.is_empty());
        for item in value {
            assert!(item["id"].is_string());
            match item["@odata.type"].as_str() {
                Some("#microsoft.graph.user") if item["userType"] == "Member" => {
                    assert!(item["userPrincipalName"].is_string());
                    assert!(item.get("givenName").is_none(), "projection: {item}");
                    assert!(users.insert(item["id"].as_str().unwrap_or("").to_owned()));
                }
                Some(other) => others.push(other.to_owned()),
                None => panic!("item without @odata.type: {item}"),
            }
        }
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.starts_with(&e.t.base_url()), "absolute: {next}");
                assert!(next.contains("$skiptoken="));
                assert!(next.contains("$top=999"));
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(users.len(), 2500);
    assert!(empty_pages >= 1, "one empty page is served");
    assert_eq!(pages, 3 + empty_pages);
    others.sort();
    assert_eq!(
        others,
        [
            "#microsoft.graph.device",
            "#microsoft.graph.group",
            "#microsoft.graph.orgContact",
            "#microsoft.graph.servicePrincipal",
            "#microsoft.graph.user", // the guest
        ]
    );
}

#[tokio::test]
async fn top_is_validated_and_defaults_to_100() {
    let e = env(FakeConfig {
        users: 150,
        ..small()
    })
    .await;
    let gid = e.t.group_id();
    let (status, _, body) = e
        .get(&format!("/beta/groups/{gid}/members?$top=1000"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&body), "Request_UnsupportedQuery");
    assert_eq!(
        body["error"]["message"],
        "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."
    );
    let (status, _, _) = e.get(&format!("/beta/groups/{gid}/members?$top=0")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, body) = e.get(&format!("/beta/groups/{gid}/members")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["value"].as_array().map(Vec::len), Some(100));
    // Default projection carries the full user.
    assert!(body["value"][0].get("givenName").is_some());
    let (status, _, _) = e
        .get(&format!("/beta/groups/{gid}/members?$skiptoken=not-ours"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn transitive_members_include_nested_users() {
    let e = env(small()).await;
    let gid = e.t.group_id();
    let ids = |body: &Value| -> Vec<String> {
        body["value"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|i| i["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (_, _, direct) = e
        .get(&format!("/beta/groups/{gid}/members?$select=id&$top=999"))
        .await;
    let (_, _, trans) = e
        .get(&format!(
            "/v1.0/groups/{gid}/transitiveMembers?$select=id&$top=999"
        ))
        .await;
    let (direct, trans) = (ids(&direct), ids(&trans));
    // The default config nests a group of 3 users in the scope group.
    assert_eq!(trans.len(), direct.len() + 3);
    let nested_only: Vec<_> = trans.iter().filter(|i| !direct.contains(i)).collect();
    let all_users = e.t.users();
    for id in nested_only {
        assert!(all_users.iter().any(|u| &u.id == id));
    }
}

#[tokio::test]
async fn user_cast_with_advanced_query_counts() {
    let e = env(small()).await;
    let gid = e.t.group_id();
    let resp = e
        .http
        .get(e.url(&format!(
            "/beta/groups/{gid}/transitiveMembers/microsoft.graph.user?$count=true&$select=id,userType&$top=5"
        )))
        .bearer_auth(&e.token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::OK);
    let body = json_of(resp).await;
    // 8 members + the guest + the 3 nested users.
    assert_eq!(body["@odata.count"], 12);
    let value = body["value"].as_array().expect("value");
    assert_eq!(value.len(), 5);
    assert!(value
        .iter()
        .all(|v| v["@odata.type"] == "#microsoft.graph.user"));
    // Without ConsistencyLevel, $count is silently ignored.
    let (status, _, body) = e
        .get(&format!(
            "/beta/groups/{gid}/members/microsoft.graph.user?$count=true"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("@odata.count").is_none());
    assert_eq!(body["value"].as_array().map(Vec::len), Some(9));
    let (status, _, _) = e
        .get(&format!(
            "/beta/groups/{gid}/members/microsoft.graph.nonsense"
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

// ---------------------------------------------------------------- creationOptions

fn minutes_until(options: &Value) -> i64 {
    let at = options["challengeTimeoutDateTime"]
        .as_str()
        .expect("timeout date");
    let at = httpdate_from_iso(at);
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    ((at - now) as f64 / 60.0).round() as i64
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SSZ`.
fn httpdate_from_iso(s: &str) -> i64 {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339");
    t.unix_timestamp()
}

#[tokio::test]
async fn creation_options_forms_and_validation() {
    let e = env(small()).await;
    let u = e.user(0);
    let base = format!(
        "/beta/users/{}/authentication/fido2Methods/creationOptions",
        u.id
    );
    let (status, headers, body) = e
        .get(&format!("{base}(challengeTimeoutInMinutes=10)"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(headers["content-type"]
        .to_str()
        .is_ok_and(|c| c.starts_with("application/json;odata.metadata=minimal")));
    assert_eq!(minutes_until(&body), 10);
    let pk = &body["publicKey"];
    assert_eq!(
        pk["rp"],
        json!({"id": "login.microsoft.com", "name": "Microsoft"})
    );
    assert_eq!(pk["user"]["name"], u.upn.as_str());
    assert_eq!(pk["user"]["displayName"], u.display_name.as_str());
    let handle = URL_SAFE_NO_PAD
        .decode(pk["user"]["id"].as_str().expect("user.id"))
        .expect("user.id is base64url");
    assert!(handle.starts_with(b"OF:"));
    let challenge = URL_SAFE_NO_PAD
        .decode(pk["challenge"].as_str().expect("challenge"))
        .expect("challenge is base64url");
    assert!(challenge.starts_with(b"eyJhbGciOiJSU0EtT0FFUC0yNTYi"));
    assert!(challenge.len() > 300 && challenge.is_ascii());
    assert_eq!(
        pk["pubKeyCredParams"],
        json!([{"type": "public-key", "alg": -7}, {"type": "public-key", "alg": -257}])
    );
    assert_eq!(pk["timeout"], 60000);
    assert_eq!(pk["excludeCredentials"], json!([]));
    assert_eq!(
        pk["authenticatorSelection"],
        json!({"authenticatorAttachment": "cross-platform", "requireResidentKey": true, "userVerification": "required"})
    );
    assert_eq!(pk["attestation"], "direct");
    assert_eq!(
        pk["extensions"],
        json!({"hmacCreateSecret": true, "enforceCredentialProtectionPolicy": true, "credentialProtectionPolicy": "userVerificationOptional"})
    );

    let (_, _, body) = e.get(&format!("{base}?challengeTimeoutInMinutes=60")).await;
    assert_eq!(minutes_until(&body), 60);
    let (_, _, body) = e.get(&base).await;
    assert_eq!(minutes_until(&body), 5);
    let (_, _, body) = e
        .get(&format!("{base}(challengeTimeoutInMinutes=@p)?@p=43200"))
        .await;
    assert_eq!(minutes_until(&body), 43200);
    for bad in ["4", "43201", "abc"] {
        let (status, _, body) = e
            .get(&format!("{base}(challengeTimeoutInMinutes={bad})"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(graph_error_code(&body), "badRequest");
    }
    // v1.0: no parameter, fixed five minutes; UPN in the path (percent-encoded @).
    let upn = u.upn.replace('@', "%40");
    let (status, _, body) = e
        .get(&format!(
            "/v1.0/users/{upn}/authentication/fido2Methods/creationOptions"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(minutes_until(&body), 5);
    // A device id is not a user.
    let (status, _, body) = e
        .get("/beta/users/00000000-0000-0000-0000-000000000000/authentication/fido2Methods/creationOptions")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(graph_error_code(&body), "Request_ResourceNotFound");
}

#[tokio::test]
async fn exclude_credentials_encodings_and_wrapped_shape() {
    let e = env(FakeConfig {
        users: 14,
        existing_methods_every_nth: Some(1),
        ..FakeConfig::default()
    })
    .await;
    let u = e.user(0);
    let existing = e.t.registrations(&u.id);
    assert_eq!(existing.len(), 1);
    let cred = existing[0].credential_id.clone();
    let cases = [
        (ExcludeIdEncoding::Base64Url, URL_SAFE_NO_PAD.encode(&cred)),
        (ExcludeIdEncoding::StdBase64Padded, STANDARD.encode(&cred)),
        (ExcludeIdEncoding::PadDigit, existing[0].id.clone()),
    ];
    for (enc, want) in cases {
        e.t.set_faults(Faults {
            exclude_id_encoding: enc,
            ..Faults::default()
        });
        let body = e.options(&u.id).await;
        assert_eq!(
            body["publicKey"]["excludeCredentials"][0]["id"],
            want.as_str()
        );
        assert_eq!(
            body["publicKey"]["excludeCredentials"][0]["type"],
            "public-key"
        );
    }
    e.t.set_faults(Faults {
        creation_options_wrapped_in_value: true,
        ..Faults::default()
    });
    let body = e.options(&u.id).await;
    assert!(body["value"]["publicKey"]["challenge"].is_string());
    assert!(body.get("publicKey").is_none());
}

// ---------------------------------------------------------------- registration

#[tokio::test]
async fn packed_registration_is_accepted_once_then_rejected() {
    let e = env(small()).await;
    let u = e.user(1);
    let options = e.options(&u.id).await;
    let reg = Reg::default();
    let body = registration(&challenge_of(&options), &reg);
    let (status, created) = e.post(&methods_path(&u.id), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let pad = (3 - reg.cred_id.len() % 3) % 3;
    let want_id = format!("{}{pad}", URL_SAFE_NO_PAD.encode(&reg.cred_id));
    assert_eq!(created["id"], want_id.as_str());
    assert_eq!(
        created["@odata.type"],
        "#microsoft.graph.fido2AuthenticationMethod"
    );
    assert_eq!(created["displayName"], "YubiKey 5 NFC 12345678");
    assert_eq!(created["aaGuid"], "ee882879-721c-4913-9775-3dfcce97072a");
    assert_eq!(created["model"], "YubiKey 5 Series with NFC");
    assert_eq!(created["attestationLevel"], "attested");
    let thumb: String = sha1::Sha1::digest(der(ATT_CERT))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(created["attestationCertificates"], json!([thumb]));
    assert!(created["createdDateTime"]
        .as_str()
        .is_some_and(|d| d.ends_with('Z')));
    assert!(created.get("publicKeyCredential").is_none());

    let stored = e.t.registrations(&u.upn);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, reg.cred_id);
    assert_eq!(stored[0].fmt, "packed");

    // Same challenge again (new credential): single use.
    let again = registration(&challenge_of(&options), &Reg::default());
    let (status, err) = e.post(&methods_path(&u.id), &again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(graph_error_code(&err), graph::CHALLENGE_USED);
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("already been used")));

    // Same credential id with a fresh challenge: duplicate.
    let fresh = e.options(&u.id).await;
    let dup = registration(&challenge_of(&fresh), &reg);
    let (status, err) = e.post(&methods_path(&u.id), &dup).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("already registered")));
    assert_eq!(e.t.registrations(&u.id).len(), 1);

    // The new method is now excluded in the next creationOptions.
    let next = e.options(&u.id).await;
    assert_eq!(
        next["publicKey"]["excludeCredentials"][0]["id"],
        URL_SAFE_NO_PAD.encode(&reg.cred_id).as_str()
    );
}

#[tokio::test]
async fn self_and_none_attestation_are_not_attested() {
    let e = env(small()).await;
    for (i, att) in [Att::PackedSelf, Att::None].into_iter().enumerate() {
        let u = e.user(i);
        let options = e.options(&u.id).await;
        let reg = Reg {
            att,
            ..Reg::default()
        };
        let (status, created) = e
            .post(
                &methods_path(&u.id),
                &registration(&challenge_of(&options), &reg),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["attestationLevel"], "notAttested");
        assert_eq!(created["attestationCertificates"], json!([]));
    }
}

#[tokio::test]
async fn registrations_breaking_a_rule_are_rejected() {
    let e = env(small()).await;
    let u = e.user(2);
    let other = e.user(3);
    let cases: Vec<(&str, Reg)> = vec![
        (
            "origin",
            Reg {
                origin: "https://login.microsoftonline.com".into(),
                ..Reg::default()
            },
        ),
        (
            "rpIdHash",
            Reg {
                rp_id_for_hash: "login.microsoftonline.com".into(),
                ..Reg::default()
            },
        ),
        (
            "UV",
            Reg {
                flags: 0x01 | 0x40,
                ..Reg::default()
            },
        ),
        (
            "webauthn.create",
            Reg {
                typ: "webauthn.get".into(),
                ..Reg::default()
            },
        ),
        (
            "signature",
            Reg {
                corrupt_sig: true,
                ..Reg::default()
            },
        ),
    ];
    for (what, reg) in cases {
        let options = e.options(&u.id).await;
        let (status, err) = e
            .post(
                &methods_path(&u.id),
                &registration(&challenge_of(&options), &reg),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        let msg = err["error"]["message"].as_str().unwrap_or("");
        assert!(msg.contains(what), "{what}: {msg}");
    }

    // A challenge issued to another user.
    let options = e.options(&other.id).await;
    let (status, err) = e
        .post(
            &methods_path(&u.id),
            &registration(&challenge_of(&options), &Reg::default()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("different user")));

    // Body drift: WebAuthn-JSON extras, @odata.type, padded base64, a long displayName.
    let options = e.options(&u.id).await;
    let good = registration(&challenge_of(&options), &Reg::default());
    let mut extra = good.clone();
    extra["publicKeyCredential"]["rawId"] = good["publicKeyCredential"]["id"].clone();
    let mut typed = good.clone();
    typed["@odata.type"] = json!("#microsoft.graph.fido2AuthenticationMethod");
    let mut padded = good.clone();
    let cdj = good["publicKeyCredential"]["response"]["clientDataJSON"]
        .as_str()
        .expect("cdj");
    let raw = URL_SAFE_NO_PAD.decode(cdj).expect("decode");
    padded["publicKeyCredential"]["response"]["clientDataJSON"] =
        json!(STANDARD.encode(&raw) + "=");
    let mut long = good.clone();
    long["displayName"] = json!("x".repeat(31));
    for (what, body) in [
        ("rawId", extra),
        ("@odata.type", typed),
        ("padding", padded),
        ("displayName", long),
    ] {
        let (status, err) = e.post(&methods_path(&u.id), &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {err}");
        if what == "rawId" || what == "@odata.type" {
            assert_eq!(
                err["error"]["message"],
                "The request is missing a fido2AuthenticationMethod entity with a displayName and publicKeyCredential in the request body. All other properties will be ignored."
            );
            assert_eq!(
                err["error"]["innerError"]["message"],
                err["error"]["message"]
            );
        }
    }
    // The challenge survived those failures: the good body still registers.
    let (status, body) = e.post(&methods_path(&u.id), &good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn expired_challenge_is_rejected() {
    let e = env(small()).await;
    e.t.set_faults(Faults {
        challenge_timeout_override: Some(Duration::from_millis(200)),
        ..Faults::default()
    });
    let u = e.user(0);
    let options = e.options(&u.id).await;
    // The response still advertises the requested ten minutes.
    assert_eq!(minutes_until(&options), 10);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, err) = e
        .post(
            &methods_path(&u.id),
            &registration(&challenge_of(&options), &Reg::default()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(err["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("expired")));
    assert!(e.t.registrations(&u.id).is_empty());
}

#[tokio::test]
async fn list_get_and_delete_methods() {
    let e = env(small()).await;
    let u = e.user(0);
    let options = e.options(&u.id).await;
    let (status, created) = e
        .post(
            &methods_path(&u.id),
            &registration(&challenge_of(&options), &Reg::default()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().expect("id").to_owned();

    let upn_path = methods_path(&u.upn.replace('@', "%40"));
    let (status, _, list) = e.get(&upn_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list["@odata.context"]
        .as_str()
        .is_some_and(|c| c.ends_with(&format!("#users('{}')/authentication/fido2Methods", u.id))));
    assert_eq!(list["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["value"][0]["id"], id.as_str());

    let (status, _, one) = e.get(&format!("{}/{id}", methods_path(&u.id))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one["aaGuid"], "ee882879-721c-4913-9775-3dfcce97072a");

    assert_eq!(
        e.delete(&format!("{}/{id}", methods_path(&u.id))).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        e.delete(&format!("{}/{id}", methods_path(&u.id))).await,
        StatusCode::NOT_FOUND
    );
    let (status, _, _) = e.get(&format!("{}/{id}", methods_path(&u.id))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(e.t.registrations(&u.id).is_empty());
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn throttling_every_nth_with_each_retry_after_style() {
    let e = env(small()).await;
    for (style, check) in [
        (RetryAfterStyle::Integer, Some("2")),
        (RetryAfterStyle::Decimal, Some("1.250")),
        (RetryAfterStyle::HttpDate, None),
        (RetryAfterStyle::Absent, None),
    ] {
        e.t.set_faults(Faults {
            throttle_every_nth: Some(3),
            retry_after: style,
            retry_after_value: Duration::from_millis(1250),
            ..Faults::default()
        });
        let before = e.t.throttled_count();
        let mut statuses = Vec::new();
        let mut header = None;
        for _ in 0..6 {
            let (status, headers, body) = e.get("/beta/groups").await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                assert_eq!(graph_error_code(&body), "TooManyRequests");
                assert_eq!(body["error"]["innerError"]["status"], "429");
                header = headers
                    .get("retry-after")
                    .map(|v| v.to_str().expect("ascii").to_owned());
            }
            statuses.push(status.as_u16());
        }
        // Exactly one in three, wherever the counter started.
        assert_eq!(
            statuses.iter().filter(|s| **s == 429).count(),
            2,
            "{style:?}"
        );
        assert_eq!(e.t.throttled_count() - before, 2);
        match style {
            RetryAfterStyle::Absent => assert_eq!(header, None),
            RetryAfterStyle::HttpDate => {
                let at = httpdate::parse_http_date(header.as_deref().expect("header"))
                    .expect("HTTP-date");
                let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                assert!(wait <= Duration::from_secs(3), "{wait:?}");
            }
            _ => assert_eq!(header.as_deref(), check),
        }
    }
}

#[tokio::test]
async fn throttled_503_and_random_5xx() {
    let e = env(small()).await;
    e.t.set_faults(Faults {
        throttle_503_every_nth: Some(1),
        ..Faults::default()
    });
    let (status, headers, body) = e.get("/beta/groups").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(graph_error_code(&body), "Request_ThrottledTemporarily");
    assert_eq!(headers["retry-after"], "1");

    e.t.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let mut seen_html = false;
    let mut seen_empty = false;
    for _ in 0..20 {
        let resp = e
            .http
            .get(e.url("/beta/groups"))
            .bearer_auth(&e.token)
            .send()
            .await
            .expect("send");
        assert!(matches!(resp.status().as_u16(), 503 | 504));
        assert!(resp.headers().contains_key("request-id"));
        let html = resp
            .headers()
            .get("content-type")
            .is_some_and(|c| c == "text/html");
        let text = resp.text().await.expect("body");
        if html {
            assert!(text.starts_with("<html>"), "{text}");
            seen_html = true;
        } else {
            assert!(text.is_empty(), "{text}");
            seen_empty = true;
        }
    }
    assert!(seen_html && seen_empty);
    e.t.set_faults(Faults::default());
    let (status, _, _) = e.get("/beta/groups").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn dropped_post_response_still_stores_the_method() {
    let e = env(small()).await;
    let u = e.user(0);
    e.t.set_faults(Faults {
        drop_post_response_once_for: Some(u.upn.clone()),
        ..Faults::default()
    });
    let options = e.options(&u.id).await;
    let reg = Reg::default();
    let result = reqwest::Client::new()
        .post(e.url(&methods_path(&u.id)))
        .bearer_auth(&e.token)
        .header("content-type", "application/json")
        .body(registration(&challenge_of(&options), &reg).to_string())
        .send()
        .await;
    assert!(result.is_err(), "the connection is closed unanswered");
    // The registration was stored, and a client that checks before retrying finds it.
    let stored = e.t.registrations(&u.id);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, reg.cred_id);
    let (_, _, list) = e.get(&methods_path(&u.id)).await;
    assert_eq!(list["value"][0]["id"], stored[0].id.as_str());
    // Fires once: the next registration answers normally.
    let options = e.options(&u.id).await;
    let (status, _) = e
        .post(
            &methods_path(&u.id),
            &registration(&challenge_of(&options), &Reg::default()),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn latency_is_applied() {
    let e = env(small()).await;
    e.t.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let start = std::time::Instant::now();
    let (status, _, _) = e.get("/beta/groups").await;
    assert_eq!(status, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[test]
fn spawn_in_thread_serves_until_dropped() {
    let handle = spawn_in_thread(small()).expect("spawn");
    let base = handle.base_url();
    let addr = handle.addr();
    assert!(handle.users().len() > 8);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let token = secret_token(&handle).await;
        let resp = reqwest::Client::new()
            .get(format!("{base}/beta/groups"))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::OK);
    });
    drop(handle);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "server stopped"
    );
}

// ---------------------------------------------------------------- device-code flow

#[tokio::test]
async fn device_code_flow_follows_the_script_and_blocks_self_service() {
    let t = FakeTenant::start(FakeConfig {
        device_flow: vec![
            DevicePoll::Pending,
            DevicePoll::SlowDown,
            DevicePoll::Approve,
        ],
        device_interval_secs: 0,
        ..small()
    })
    .await
    .expect("start");
    let http = reqwest::Client::new();
    let scope = "https://graph.microsoft.com/UserAuthMethod-Passkey.ReadWrite.All https://graph.microsoft.com/GroupMember.Read.All offline_access";
    let resp = http
        .post(t.device_code_url())
        .form(&[("client_id", t.client_id()), ("scope", scope)])
        .send()
        .await
        .expect("devicecode");
    assert_eq!(resp.status(), StatusCode::OK);
    let dc = json_of(resp).await;
    assert_eq!(dc["verification_uri"], "https://microsoft.com/devicelogin");
    assert_eq!(dc["expires_in"], 900);
    assert_eq!(dc["interval"], 0);
    let user_code = dc["user_code"].as_str().expect("user_code");
    assert!(dc["message"]
        .as_str()
        .is_some_and(|m| m.contains(user_code)));
    let device_code = dc["device_code"].as_str().expect("device_code").to_owned();

    let poll = || async {
        token_response(
            &t,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", t.client_id()),
                ("device_code", &device_code),
            ],
        )
        .await
    };
    let (status, body) = poll().await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("authorization_pending"))
    );
    assert_eq!(body["error_codes"], json!([70016]));
    let (status, body) = poll().await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("slow_down"))
    );
    let (status, body) = poll().await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["scope"],
        "https://graph.microsoft.com/UserAuthMethod-Passkey.ReadWrite.All https://graph.microsoft.com/GroupMember.Read.All"
    );
    let access = body["access_token"].as_str().expect("access").to_owned();
    let refresh = body["refresh_token"]
        .as_str()
        .expect("refresh (offline_access)")
        .to_owned();
    let (status, body) = poll().await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // The signed-in admin cannot provision their own account; others are fine.
    let admin = t.admin().expect("admin");
    assert!(t.users().iter().all(|u| u.id != admin.id));
    let options = |user: String| {
        let http = http.clone();
        let url = format!(
            "{}/beta/users/{user}/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=10)",
            t.base_url()
        );
        let access = access.clone();
        async move {
            let resp = http
                .get(url)
                .bearer_auth(access)
                .send()
                .await
                .expect("send");
            let status = resp.status();
            (status, json_of(resp).await)
        }
    };
    let (status, body) = options(admin.id.clone()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(graph_error_code(&body), "methodNotAllowed");
    assert_eq!(
        body["error"]["message"],
        "The method is not supported for this URL."
    );
    let someone = t.users()[0].id.clone();
    let (status, _) = options(someone).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = token_response(
        &t,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", t.client_id()),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn device_code_expiry_and_decline() {
    for (step, error, code) in [
        (DevicePoll::Expired, "expired_token", 70019),
        (DevicePoll::Declined, "authorization_declined", 70020),
        (DevicePoll::BadCode, "bad_verification_code", 70018),
    ] {
        let t = FakeTenant::start(FakeConfig {
            device_flow: vec![step],
            ..small()
        })
        .await
        .expect("start");
        let resp = reqwest::Client::new()
            .post(t.device_code_url())
            .form(&[
                ("client_id", t.client_id()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("devicecode");
        let dc = json_of(resp).await;
        let (status, body) = token_response(
            &t,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", t.client_id()),
                ("device_code", dc["device_code"].as_str().expect("code")),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"], json!([code]));
    }
}
