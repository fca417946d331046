//! The client against a small scripted HTTP server on 127.0.0.1 (one request per connection):
//! tokens, paging, throttling, token refresh, registration safety, concurrency, certificates.
//! Independent of the fake tenant so every retry path can be provoked exactly.

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use graph::wire::method_id_for_credential;
use graph::{
    ApiVersion, Cloud, Credentials, DeleteOutcome, Error, GraphClient, GraphConfig, RegisterRequest,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fast_policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Self-signed test certificate (CN=passkey-kiosk-test, RSA 2048, valid 100 years) and its key.
const TEST_CERT_PEM: &str = include_str!("data/test-cert.pem");
const TEST_KEY_PEM: &str = include_str!("data/test-key.pem");
/// An unrelated PKCS#1 key (RSA 2048).
const OTHER_KEY_PEM: &str = include_str!("data/other-key-pkcs1.pem");

#[derive(Debug, Clone)]
struct Req {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Req {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }
    fn query(&self) -> HashMap<String, String> {
        let q = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }
    fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }
    fn header(&self, n: &str) -> Option<&str> {
        self.headers.get(n).map(String::as_str)
    }
    fn is_token(&self) -> bool {
        self.path().ends_with("/oauth2/v2.0/token")
    }
}

enum Reply {
    Resp(u16, Vec<(&'static str, String)>, String),
    Drop,
    Delayed(Duration, Box<Reply>),
    /// The status line and headers exactly as given (no Content-Length added), then the body.
    Raw(String, RawBody),
}

/// What follows a raw head.
enum RawBody {
    /// Nothing more: the connection stays open until the client hangs up.
    Hold,
    /// `Transfer-Encoding: chunked` chunks of 8 KiB, for as long as the client reads.
    EndlessChunks,
    /// These bytes, whatever the head announced.
    Bytes(Vec<u8>),
}

fn json_reply(status: u16, v: Value) -> Reply {
    Reply::Resp(
        status,
        vec![("Content-Type", "application/json".into())],
        v.to_string(),
    )
}

fn token_reply(token: &str, expires_in: Value) -> Reply {
    json_reply(
        200,
        json!({"token_type":"Bearer","expires_in":expires_in,"ext_expires_in":3599,"access_token":token}),
    )
}

type Handler = Arc<dyn Fn(&Req) -> Reply + Send + Sync>;

struct Server {
    base: String,
    log: Arc<Mutex<Vec<Req>>>,
    max_inflight: Arc<AtomicUsize>,
}

impl Server {
    async fn start(h: impl Fn(&Req) -> Reply + Send + Sync + 'static) -> Server {
        let handler: Handler = Arc::new(h);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let inflight = Arc::new(AtomicUsize::new(0));
        let max_inflight = Arc::new(AtomicUsize::new(0));
        let (l2, i2, m2) = (log.clone(), inflight.clone(), max_inflight.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, log, inflight, maxi) =
                    (handler.clone(), l2.clone(), i2.clone(), m2.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut tmp = [0u8; 8192];
                    let head_end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let first: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
                    let mut headers = HashMap::new();
                    for l in lines {
                        if let Some((k, v)) = l.split_once(':') {
                            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match sock.read(&mut tmp).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&tmp[..n]),
                        }
                    }
                    let req = Req {
                        method: first.first().copied().unwrap_or("").to_owned(),
                        target: first.get(1).copied().unwrap_or("").to_owned(),
                        headers,
                        body: buf[head_end..head_end + len].to_vec(),
                    };
                    let now = inflight.fetch_add(1, Ordering::SeqCst) + 1;
                    maxi.fetch_max(now, Ordering::SeqCst);
                    log.lock().expect("log").push(req.clone());
                    let mut reply = h(&req);
                    while let Reply::Delayed(d, r) = reply {
                        tokio::time::sleep(d).await;
                        reply = *r;
                    }
                    inflight.fetch_sub(1, Ordering::SeqCst);
                    match reply {
                        Reply::Resp(status, hdrs, body) => {
                            let mut out = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                            for (k, v) in hdrs {
                                out.push_str(&format!("{k}: {v}\r\n"));
                            }
                            out.push_str("\r\n");
                            out.push_str(&body);
                            let _ = sock.write_all(out.as_bytes()).await;
                        }
                        Reply::Raw(head, body) => {
                            let _ = sock.write_all(head.as_bytes()).await;
                            match body {
                                RawBody::Hold => {
                                    let _ = sock.read(&mut tmp).await;
                                }
                                RawBody::EndlessChunks => {
                                    let chunk = format!("2000\r\n{}\r\n", "x".repeat(0x2000));
                                    while sock.write_all(chunk.as_bytes()).await.is_ok() {}
                                }
                                RawBody::Bytes(b) => {
                                    let _ = sock.write_all(&b).await;
                                }
                            }
                        }
                        Reply::Drop | Reply::Delayed(..) => {}
                    }
                    let _ = sock.shutdown().await;
                });
            }
        });
        Server {
            base,
            log,
            max_inflight,
        }
    }

    fn requests(&self) -> Vec<Req> {
        self.log.lock().expect("log").clone()
    }
    fn graph_requests(&self) -> Vec<Req> {
        self.requests()
            .into_iter()
            .filter(|r| !r.is_token())
            .collect()
    }
    fn token_requests(&self) -> usize {
        self.requests().iter().filter(|r| r.is_token()).count()
    }
}

fn config(base: &str) -> GraphConfig {
    let mut c = GraphConfig::new(
        Cloud::Custom {
            login_base: base.into(),
            graph_base: base.into(),
        },
        "contoso.onmicrosoft.com",
        "app-id",
        Credentials::secret("s3cret-value"),
    );
    c.retry = fast_policy(4, 6);
    c
}

fn client(base: &str) -> GraphClient {
    GraphClient::new(config(base)).expect("client")
}

/// Token endpoint answering "tok-1" and a Graph handler.
fn with_token(
    graph: impl Fn(&Req) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Req) -> Reply + Send + Sync + 'static {
    move |r| {
        if r.is_token() {
            token_reply("tok-1", json!(3599))
        } else {
            graph(r)
        }
    }
}

fn methods_page(ids: &[String]) -> Reply {
    json_reply(
        200,
        json!({"value": ids.iter().map(|i| json!({"id": i, "displayName": "k"})).collect::<Vec<_>>()}),
    )
}

fn sample_request() -> RegisterRequest {
    RegisterRequest {
        display_name: "YubiKey 5 NFC 12345678 issued at the front desk".into(),
        credential_id: vec![0xfc; 64],
        client_data_json: br#"{"type":"webauthn.create"}"#.to_vec(),
        attestation_object: vec![0xa3, 0x63, 0x66, 0x6d, 0x74],
        client_extension_results: json!({"credProtect": 1}),
    }
}

fn created(cred: &[u8]) -> Reply {
    json_reply(
        201,
        json!({"@odata.type":"#microsoft.graph.fido2AuthenticationMethod","id": method_id_for_credential(cred),
               "displayName":"YubiKey","attestationLevel":"attested"}),
    )
}

#[tokio::test]
async fn token_is_cached_and_each_request_has_fresh_ids() {
    let s = Server::start(with_token(|_| methods_page(&[]))).await;
    let c = client(&s.base);
    for _ in 0..3 {
        assert!(c.list_fido2_methods("u1").await.expect("list").is_empty());
    }
    assert_eq!(s.token_requests(), 1);
    let tok = s
        .requests()
        .into_iter()
        .find(Req::is_token)
        .expect("token req");
    assert_eq!(tok.method, "POST");
    assert_eq!(tok.path(), "/contoso.onmicrosoft.com/oauth2/v2.0/token");
    let f = tok.form();
    assert_eq!(f["client_id"], "app-id");
    assert_eq!(f["client_secret"], "s3cret-value");
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["scope"], "https://graph.microsoft.com/.default");
    let g = s.graph_requests();
    assert_eq!(g.len(), 3);
    let mut ids = std::collections::HashSet::new();
    for r in &g {
        assert_eq!(r.path(), "/beta/users/u1/authentication/fido2Methods");
        assert_eq!(r.header("authorization"), Some("Bearer tok-1"));
        let id = r.header("client-request-id").expect("crid");
        assert!(uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4));
        ids.insert(id.to_owned());
    }
    assert_eq!(ids.len(), 3);
    // Nothing secret in Debug output.
    let dbg = format!("{c:?} {:?}", config(&s.base));
    assert!(!dbg.contains("s3cret"), "{dbg}");
    assert!(!dbg.contains("tok-1"), "{dbg}");
}

#[tokio::test]
async fn group_lookup_escapes_and_reports_none_one_several() {
    let s = Server::start(with_token(|r| {
        let filter = r.query().get("$filter").cloned().unwrap_or_default();
        let g = |id: &str, n: &str| json!({"id": id, "displayName": n});
        let value = match filter.as_str() {
            "displayName eq 'O''Brien & Co'" => vec![g("g1", "O'Brien & Co")],
            "displayName eq 'FIDO2'" => vec![g("g2", "FIDO2"), g("g3", "FIDO2")],
            _ => vec![],
        };
        json_reply(200, json!({ "value": value }))
    }))
    .await;
    let c = client(&s.base);
    let g = c.find_group_by_name("O'Brien & Co").await.expect("one");
    assert_eq!(g.id, "g1");
    let raw = &s.graph_requests()[0].target;
    assert!(raw.contains("%27O%27%27Brien%20%26%20Co%27"), "{raw}");
    assert!(raw.contains("$select=id,displayName"), "{raw}");
    match c.find_group_by_name("FIDO2").await {
        Err(e @ Error::AmbiguousGroup { .. }) => {
            let t = e.to_string();
            assert!(t.contains("g2") && t.contains("g3"), "{t}");
        }
        other => panic!("expected ambiguous, got {other:?}"),
    }
    assert!(matches!(
        c.find_group_by_name("nope").await,
        Err(Error::GroupNotFound { .. })
    ));
    assert!(matches!(
        c.find_group_by_name(" ").await,
        Err(Error::InvalidArgument(_))
    ));
}

#[tokio::test]
async fn members_follow_next_link_verbatim_and_refuse_foreign_hosts() {
    let base = Arc::new(Mutex::new(String::new()));
    let b2 = base.clone();
    let s = Server::start(with_token(move |r| {
        let base = b2.lock().expect("base").clone();
        let q = r.query();
        match (r.path(), q.get("$skiptoken").map(String::as_str)) {
            ("/beta/groups/g1/transitiveMembers", None) => json_reply(200, json!({
                "@odata.nextLink": format!("{base}/beta/groups/g1/transitiveMembers?$select=id&$top=999&$skiptoken=a%2Fb"),
                "value":[{"@odata.type":"#microsoft.graph.user","id":"u1","userPrincipalName":"a@x","userType":"Member"},
                         {"@odata.type":"#microsoft.graph.device","id":"d1","displayName":"KIOSK"}]})),
            ("/beta/groups/g1/transitiveMembers", Some("a/b")) => json_reply(200, json!({
                "@odata.nextLink": format!("{base}/beta/groups/g1/transitiveMembers?$skiptoken=last"),
                "value":[]})),
            ("/beta/groups/g1/transitiveMembers", Some("last")) => json_reply(200, json!({
                "value":[{"@odata.type":"#microsoft.graph.user","id":"u2","userType":"Guest"},
                         {"@odata.type":"#microsoft.graph.user","id":"u3"}]})),
            ("/beta/groups/evil/members", _) => json_reply(200, json!({
                "@odata.nextLink": "https://attacker.example/steal", "value": []})),
            _ => json_reply(404, json!({"error":{"code":"Request_ResourceNotFound","message":"no"}})),
        }
    }))
    .await;
    *base.lock().expect("base") = s.base.clone();
    let c = client(&s.base);
    let m = c.members("g1", true).await.expect("members");
    let ids: Vec<_> = m.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u1", "u3"]);
    assert_eq!(m.skipped.len(), 2);
    let g = s.graph_requests();
    assert_eq!(g.len(), 3);
    let q0 = g[0].query();
    assert_eq!(
        q0["$select"],
        "id,userPrincipalName,displayName,userType,accountEnabled"
    );
    assert_eq!(q0["$top"], "999");
    assert_eq!(
        g[1].target,
        "/beta/groups/g1/transitiveMembers?$select=id&$top=999&$skiptoken=a%2Fb"
    );
    let err = c
        .members("evil", false)
        .await
        .expect_err("foreign nextLink");
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(matches!(
        c.members("missing", false).await,
        Err(Error::GroupNotFound { .. })
    ));
}

#[tokio::test]
async fn throttling_honours_retry_after_and_pauses() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let s = Server::start(with_token(move |_| {
        match n2.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::Resp(
                429,
                vec![("Retry-After", "0.15".into()), ("request-id", "r1".into())],
                r#"{"error":{"code":"TooManyRequests","message":"Please retry again later."}}"#
                    .into(),
            ),
            1 => Reply::Resp(
                503,
                vec![("Retry-After", "0.1".into())],
                "<html><body>Service Unavailable</body></html>".into(),
            ),
            2 => Reply::Resp(
                504,
                vec![("Content-Type", "text/html".into())],
                "<html>Gateway Timeout</html>".into(),
            ),
            _ => methods_page(&["m1".into()]),
        }
    }))
    .await;
    let c = client(&s.base);
    let t0 = Instant::now();
    let list = c.list_fido2_methods("u1").await.expect("eventually ok");
    assert_eq!(list.len(), 1);
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    let g = s.graph_requests();
    assert_eq!(g.len(), 4);
    assert_eq!(g[0].header("retry-attempt"), None);
    assert_eq!(g[3].header("retry-attempt"), Some("3"));
}

#[tokio::test]
async fn throttling_storm_ends_typed_with_request_id() {
    let s = Server::start(with_token(|_| {
        Reply::Resp(
            429,
            vec![
                ("Retry-After", "0".into()),
                ("request-id", "rid-storm".into()),
            ],
            r#"{"error":{"code":"TooManyRequests","message":"x"}}"#.into(),
        )
    }))
    .await;
    let c = client(&s.base);
    let e = c.list_fido2_methods("u1").await.expect_err("throttled");
    assert!(
        matches!(
            e,
            Error::Throttled {
                status: 429,
                attempts: 6,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("rid-storm"), "{e}");
    assert!(e.is_transient());
    // A Retry-After beyond the policy's limit is not waited for.
    let s2 = Server::start(with_token(|_| {
        Reply::Resp(429, vec![("Retry-After", "3600".into())], String::new())
    }))
    .await;
    let t0 = Instant::now();
    let e = client(&s2.base)
        .list_fido2_methods("u")
        .await
        .expect_err("gives up");
    assert!(matches!(e, Error::Throttled { attempts: 1, .. }), "{e:?}");
    assert!(t0.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn server_errors_with_html_bodies_are_typed() {
    let s = Server::start(with_token(|_| {
        Reply::Resp(
            500,
            vec![("request-id", "rid-500".into())],
            "<html><body>\n Internal   error </body></html>".into(),
        )
    }))
    .await;
    let e = client(&s.base)
        .list_fido2_methods("u1")
        .await
        .expect_err("500");
    match &e {
        Error::Graph(g) => {
            assert_eq!(g.status, 500);
            assert_eq!(g.request_id.as_deref(), Some("rid-500"));
            assert!(g.message.contains("Internal error"), "{}", g.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.graph_requests().len(), 1, "500 is not retried");
    // 503 HTML forever → Throttled after the attempts.
    let s = Server::start(with_token(|_| {
        Reply::Resp(503, vec![], "<html>busy</html>".into())
    }))
    .await;
    let e = client(&s.base)
        .list_fido2_methods("u1")
        .await
        .expect_err("503");
    assert!(
        matches!(
            e,
            Error::Throttled {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn refused_token_is_refreshed_once() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t2 = tokens.clone();
    let s = Server::start(move |r| {
        if r.is_token() {
            let n = t2.fetch_add(1, Ordering::SeqCst) + 1;
            return token_reply(&format!("tok-{n}"), json!("3599"));
        }
        if r.header("authorization") == Some("Bearer tok-1") {
            json_reply(401, json!({"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.",
                "innerError":{"request-id":"rid-401","date":"2026-08-23T10:00:00"}}}))
        } else {
            methods_page(&[])
        }
    })
    .await;
    let c = client(&s.base);
    c.list_fido2_methods("u1").await.expect("after refresh");
    assert_eq!(s.token_requests(), 2);
    // A token that is always refused ends after one refresh, with Graph's text.
    let s = Server::start(|r| {
        if r.is_token() {
            token_reply("tok", json!(3599))
        } else {
            json_reply(
                401,
                json!({"error":{"code":"InvalidAuthenticationToken","message":"bad",
                "innerError":{"request-id":"rid-401"}}}),
            )
        }
    })
    .await;
    let e = client(&s.base)
        .list_fido2_methods("u1")
        .await
        .expect_err("401");
    assert_eq!(e.graph_status(), Some(401));
    assert_eq!(e.request_id(), Some("rid-401"));
    assert_eq!(s.token_requests(), 2);
    assert_eq!(s.graph_requests().len(), 2);
}

#[tokio::test]
async fn short_lived_token_is_renewed_before_expiry() {
    let tokens = Arc::new(AtomicUsize::new(0));
    let t2 = tokens.clone();
    let s = Server::start(move |r| {
        if r.is_token() {
            let n = t2.fetch_add(1, Ordering::SeqCst) + 1;
            token_reply(&format!("tok-{n}"), json!("2"))
        } else {
            methods_page(&[])
        }
    })
    .await;
    let c = client(&s.base);
    c.list_fido2_methods("u").await.expect("1");
    c.list_fido2_methods("u").await.expect("2");
    assert_eq!(s.token_requests(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await; // past half of a 2 s lifetime
    c.list_fido2_methods("u").await.expect("3");
    assert_eq!(s.token_requests(), 2);
    let last = s.graph_requests().pop().expect("req");
    assert_eq!(last.header("authorization"), Some("Bearer tok-2"));
}

#[tokio::test]
async fn token_errors_become_operator_text_without_secrets() {
    let s = Server::start(|_| json_reply(401, json!({
        "error":"invalid_client",
        "error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: tr-1\r\nCorrelation ID: co-1\r\nTimestamp: 2026-08-23 10:00:00Z",
        "error_codes":[7000215],"trace_id":"tr-1","correlation_id":"co-1"}))).await;
    let e = client(&s.base).sign_in().await.expect_err("bad secret");
    let Error::Auth(a) = &e else { panic!("{e:?}") };
    assert_eq!(a.aadsts, Some(7000215));
    let text = e.to_string();
    assert!(
        text.contains("tr-1") && text.contains("co-1") && text.contains("AADSTS7000215"),
        "{text}"
    );
    assert!(!text.contains("s3cret") && !format!("{e:?}").contains("s3cret"));
    assert_eq!(
        s.token_requests(),
        1,
        "4xx from the token endpoint is final"
    );
}

#[tokio::test]
async fn register_posts_exact_body_and_returns_method() {
    let req = sample_request();
    let cred = req.credential_id.clone();
    let s = Server::start(with_token(move |_| created(&cred))).await;
    let m = client(&s.base)
        .register_fido2_method("adele@contoso.example", &req)
        .await
        .expect("201");
    assert_eq!(m.id, method_id_for_credential(&req.credential_id));
    let g = s.graph_requests();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].method, "POST");
    assert_eq!(
        g[0].path(),
        "/beta/users/adele%40contoso.example/authentication/fido2Methods"
    );
    assert!(g[0]
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    let body: Value = serde_json::from_slice(&g[0].body).expect("json");
    assert_eq!(
        body,
        json!({"displayName":"YubiKey 5 NFC 12345678 issued",
               "publicKeyCredential":{"id": URL_SAFE_NO_PAD.encode(&req.credential_id),
                 "response":{"clientDataJSON": URL_SAFE_NO_PAD.encode(&req.client_data_json),
                             "attestationObject": URL_SAFE_NO_PAD.encode(&req.attestation_object)},
                 "clientExtensionResults":{"credProtect":1}}})
    );
}

/// A POST whose answer is lost after the server stored the method.
#[tokio::test]
async fn dropped_post_response_is_unknown_then_recognised() {
    let req = sample_request();
    let stored: Arc<Mutex<Vec<String>>> = Arc::default();
    let st = stored.clone();
    let s = Server::start(with_token(move |r| {
        if r.method == "POST" {
            let body: Value = serde_json::from_slice(&r.body).expect("json");
            let id = body["publicKeyCredential"]["id"].as_str().expect("id");
            let cred = URL_SAFE_NO_PAD.decode(id).expect("b64");
            st.lock().expect("st").push(method_id_for_credential(&cred));
            Reply::Drop
        } else {
            let mut ids = vec!["someone-elses-key2".to_owned()];
            ids.extend(st.lock().expect("st").iter().cloned());
            methods_page(&ids)
        }
    }))
    .await;
    let c = client(&s.base);
    let e = c
        .register_fido2_method("u1", &req)
        .await
        .expect_err("unknown");
    assert!(
        matches!(e, Error::RegistrationOutcomeUnknown { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("client-request-id"), "{e}");
    let posts = |s: &Server| {
        s.graph_requests()
            .iter()
            .filter(|r| r.method == "POST")
            .count()
    };
    assert_eq!(
        posts(&s),
        1,
        "an ambiguous POST is never repeated by itself"
    );

    let r = c
        .register_fido2_method_safely("u1", &req, || panic!("must not be asked: method found"))
        .await
        .expect("recognised");
    assert!(r.recovered);
    assert_eq!(r.posts, 1);
    assert_eq!(r.method.id, method_id_for_credential(&req.credential_id));
    assert_eq!(posts(&s), 2);
}

#[tokio::test]
async fn ambiguous_5xx_reposts_only_when_challenge_still_valid() {
    let req = sample_request();
    let cred = req.credential_id.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let s = Server::start(with_token(move |r| {
        if r.method == "POST" {
            if n2.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                Reply::Resp(
                    503,
                    vec![("request-id", "rid-503".into())],
                    "<html>unavailable</html>".into(),
                )
            } else {
                created(&cred)
            }
        } else {
            methods_page(&[])
        }
    }))
    .await;
    let c = client(&s.base);
    let e = c
        .register_fido2_method_safely("u1", &req, || false)
        .await
        .expect_err("challenge expired: no re-post");
    assert!(matches!(e, Error::RegistrationOutcomeUnknown { .. }));
    assert!(e.to_string().contains("rid-503"), "{e}");
    assert_eq!(n.load(Ordering::SeqCst), 1);
    n.store(0, Ordering::SeqCst);
    let r = c
        .register_fido2_method_safely("u1", &req, || true)
        .await
        .expect("second post");
    assert_eq!((r.posts, r.recovered), (2, false));
    assert_eq!(n.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn register_429_is_retried_but_4xx_is_final() {
    let req = sample_request();
    let cred = req.credential_id.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let s = Server::start(with_token(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::Resp(429, vec![("Retry-After", "0.01".into())], String::new())
        } else {
            created(&cred)
        }
    }))
    .await;
    client(&s.base)
        .register_fido2_method("u1", &req)
        .await
        .expect("after 429");
    assert_eq!(n.load(Ordering::SeqCst), 2);

    let s = Server::start(with_token(|_| json_reply(400, json!({"error":{"code":"badRequest",
        "message":"The request is missing a fido2AuthenticationMethod entity","innerError":{"request-id":"rid-400","date":"2024-12-01T12:43:54"}}})))).await;
    let e = client(&s.base)
        .register_fido2_method("u1", &req)
        .await
        .expect_err("400");
    assert_eq!(e.graph_status(), Some(400));
    assert!(
        e.to_string().contains("rid-400") && e.to_string().contains("badRequest"),
        "{e}"
    );
    assert_eq!(s.graph_requests().len(), 1);
}

#[tokio::test]
async fn delete_204_and_404() {
    let s = Server::start(with_token(|r| {
        assert_eq!(r.method, "DELETE");
        if r.path().ends_with("/fido2Methods/_jpuR-TGZgk6aQCLF3BQjA2") {
            Reply::Resp(204, vec![], String::new())
        } else {
            json_reply(
                404,
                json!({"error":{"code":"itemNotFound","message":"gone"}}),
            )
        }
    }))
    .await;
    let c = client(&s.base);
    assert_eq!(
        c.delete_fido2_method("u1", "_jpuR-TGZgk6aQCLF3BQjA2")
            .await
            .expect("204"),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        c.delete_fido2_method("u1", "other0").await.expect("404"),
        DeleteOutcome::AlreadyGone
    );
}

#[tokio::test]
async fn creation_options_url_forms_and_validation() {
    let opts = json!({"challengeTimeoutDateTime":"2026-08-23T10:15:00Z","publicKey":{"rp":{"id":"login.microsoft.com"},
        "user":{"id":"T0Y6","name":"a@x","displayName":"A"},"challenge":"Y2g"}});
    let o2 = opts.clone();
    let s = Server::start(with_token(move |_| {
        json_reply(200, json!({"value": o2.clone()}))
    }))
    .await;
    let c = client(&s.base);
    let o = c.creation_options("a@x", 60).await.expect("beta");
    assert_eq!(o.options.challenge, "Y2g");
    let mut cfg = config(&s.base);
    cfg.api_version = ApiVersion::V1;
    let v1 = GraphClient::new(cfg).expect("v1");
    v1.creation_options("a@x", 5).await.expect("v1");
    let g = s.graph_requests();
    assert_eq!(
        g[0].path(),
        "/beta/users/a%40x/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=60)"
    );
    assert_eq!(
        g[1].path(),
        "/v1.0/users/a%40x/authentication/fido2Methods/creationOptions"
    );
    for bad in [0, 4, 43201] {
        assert!(matches!(
            c.creation_options("a@x", bad).await,
            Err(Error::InvalidArgument(_))
        ));
    }
    assert_eq!(s.graph_requests().len(), 2);
}

#[tokio::test]
async fn unconvertible_creation_options_are_a_decode_error_with_the_request_id() {
    let body = json!({"publicKey":{"rp":{"id":"login.microsoft.com"},"user":{"id":"T0Y6"},
        "challenge":"Y2g","extensions":{"credentialProtectionPolicy":"userVerificationSometimes"}}});
    let s = Server::start(with_token(move |_| {
        Reply::Resp(
            200,
            vec![
                ("Content-Type", "application/json".into()),
                ("request-id", "rid-options".into()),
            ],
            body.to_string(),
        )
    }))
    .await;
    let e = client(&s.base)
        .creation_options("a@x", 60)
        .await
        .expect_err("unknown policy");
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert_eq!(e.request_id(), Some("rid-options"));
    assert!(e.to_string().contains("userVerificationSometimes"), "{e}");
}

#[tokio::test]
async fn concurrency_is_bounded_across_clones() {
    let s = Server::start(with_token(|_| {
        Reply::Delayed(Duration::from_millis(40), Box::new(methods_page(&[])))
    }))
    .await;
    let mut cfg = config(&s.base);
    cfg.concurrency = graph::Concurrency::Adaptive { ceiling: 3 };
    let c = GraphClient::new(cfg).expect("client");
    c.sign_in().await.expect("token");
    let tasks: Vec<_> = (0..18)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.list_fido2_methods(&format!("u{i}")).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("join").expect("list");
    }
    let max = s.max_inflight.load(Ordering::SeqCst);
    assert!((2..=3).contains(&max), "max in flight {max}");
}

#[test]
fn config_is_validated() {
    let mk = |l: &str, g: &str| {
        let mut c = config("http://127.0.0.1:1");
        c.cloud = Cloud::Custom {
            login_base: l.into(),
            graph_base: g.into(),
        };
        GraphClient::new(c)
    };
    assert!(matches!(
        mk("http://graph.example", "https://g.example"),
        Err(Error::InvalidConfig(_))
    ));
    assert!(mk("https://login.example", "https://graph.example").is_ok());
    let mut c = config("http://127.0.0.1:1");
    c.tenant = "common".into();
    assert!(matches!(GraphClient::new(c), Err(Error::InvalidConfig(_))));
    let mut c = config("http://127.0.0.1:1");
    c.concurrency = graph::Concurrency::Fixed(0);
    assert!(GraphClient::new(c).is_err());
    let mut c = config("http://127.0.0.1:1");
    c.credentials = Credentials::secret(" ");
    assert!(GraphClient::new(c).is_err());
    let mut c = config("http://127.0.0.1:1");
    c.tenant = "contoso.onmicrosoft.com/../x".into();
    assert!(GraphClient::new(c).is_err());
}

#[tokio::test]
async fn certificate_assertion_is_ps256_with_thumbprints() {
    let s = Server::start(with_token(|_| methods_page(&[]))).await;
    let creds = Credentials::certificate_from_pem(TEST_CERT_PEM, TEST_KEY_PEM).expect("cert");
    assert!(!format!("{creds:?}").contains("PRIVATE"));
    let Credentials::Certificate { cert_der, .. } = &creds else {
        panic!("variant")
    };
    let cert_der = cert_der.clone();
    let mut cfg = config(&s.base);
    cfg.credentials = creds;
    GraphClient::new(cfg)
        .expect("client")
        .sign_in()
        .await
        .expect("token");
    let tok = s
        .requests()
        .into_iter()
        .find(Req::is_token)
        .expect("token req");
    let f = tok.form();
    assert!(!f.contains_key("client_secret"));
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let jwt = &f["client_assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let dec = |p: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).expect("b64")).expect("json")
    };
    let (h, c) = (dec(parts[0]), dec(parts[1]));
    use sha2::Digest;
    assert_eq!(h["alg"], "PS256");
    assert_eq!(h["typ"], "JWT");
    assert_eq!(
        h["x5t#S256"],
        URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(&cert_der))
    );
    assert_eq!(
        h["x5t"]
            .as_str()
            .map(|s| URL_SAFE_NO_PAD.decode(s).map(|b| b.len()).ok()),
        Some(Some(20))
    );
    assert_eq!(
        c["aud"],
        format!("{}/contoso.onmicrosoft.com/oauth2/v2.0/token", s.base)
    );
    assert_eq!(c["iss"], "app-id");
    assert_eq!(c["sub"], "app-id");
    assert!(uuid::Uuid::parse_str(c["jti"].as_str().expect("jti")).is_ok());
    let (nbf, exp) = (
        c["nbf"].as_u64().expect("nbf"),
        c["exp"].as_u64().expect("exp"),
    );
    assert_eq!(exp - nbf, 600);
    // Verified with the certificate's public key (not the private key the client signed with).
    use x509_cert::der::Decode as _;
    let cert = x509_cert::Certificate::from_der(&cert_der).expect("cert");
    let public = cert
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
        .to_vec();
    let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("sig");
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PSS_2048_8192_SHA256, public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("PS256 signature verifies with the certificate's key");
}

#[test]
fn certificate_problems_are_explained() {
    let e = Credentials::certificate_from_pem(TEST_CERT_PEM, OTHER_KEY_PEM).expect_err("mismatch");
    assert!(e.to_string().contains("does not belong"), "{e}");
    let e = Credentials::certificate_from_pem(TEST_KEY_PEM, TEST_KEY_PEM).expect_err("no cert");
    assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");
    let e = Credentials::certificate_from_pem(
        TEST_CERT_PEM,
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
    )
    .expect_err("encrypted");
    assert!(e.to_string().contains("encrypted"), "{e}");
    // One combined PEM file works too (PKCS#1 key accepted: pair the other key with itself is not
    // possible without a cert, so check the combined cert+PKCS#8 file).
    let combined = format!("{TEST_KEY_PEM}\n{TEST_CERT_PEM}");
    assert!(Credentials::certificate_from_pem(&combined, &combined).is_ok());
}

// ---------------------------------------------------------------- answers too large to read

fn raw_head(status: u16, headers: &[&str]) -> String {
    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// The call must end quickly: the body is refused, not read to its (absent) end.
async fn within_5s<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .expect("the client must give up on its own, not wait for the body")
}

fn expect_too_large(
    e: Error,
    operation: &str,
    limit: usize,
    announced: Option<u64>,
    request_id: &str,
) {
    match &e {
        Error::ResponseTooLarge {
            operation: op,
            limit: l,
            announced: a,
            request_id: r,
            endpoint,
            ..
        } => {
            assert_eq!(*op, operation);
            assert_eq!(*l, limit);
            assert_eq!(*a, announced);
            assert_eq!(r.as_deref(), Some(request_id));
            assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
            assert!(!endpoint.contains('?'), "{endpoint}");
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains(operation) && text.contains(&limit.to_string()),
        "{text}"
    );
    assert!(text.contains(request_id), "{text}");
    assert!(!e.is_transient(), "a too-large answer is not retried");
}

#[tokio::test]
async fn an_announced_oversize_graph_answer_is_refused_before_its_body() {
    let limit = graph::body::MAX_GRAPH_RESPONSE_BYTES;
    let announced = limit as u64 + 1;
    let s = Server::start(with_token(move |_| {
        Reply::Raw(
            raw_head(
                200,
                &[
                    "Content-Type: application/json",
                    &format!("Content-Length: {announced}"),
                    "request-id: rid-announced",
                ],
            ),
            // Not one byte of the announced body comes: reading it would hang.
            RawBody::Hold,
        )
    }))
    .await;
    let e = within_5s(client(&s.base).list_fido2_methods("u1"))
        .await
        .expect_err("too large");
    expect_too_large(
        e,
        "list fido2Methods",
        limit,
        Some(announced),
        "rid-announced",
    );
    assert_eq!(s.graph_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn an_endless_chunked_graph_answer_is_cut_at_the_cap() {
    let s = Server::start(with_token(|_| {
        Reply::Raw(
            raw_head(
                200,
                &[
                    "Content-Type: application/json",
                    "Transfer-Encoding: chunked",
                    "request-id: rid-endless",
                ],
            ),
            RawBody::EndlessChunks,
        )
    }))
    .await;
    let e = within_5s(client(&s.base).members("g1", true))
        .await
        .expect_err("too large");
    expect_too_large(
        e,
        "list group members",
        graph::body::MAX_GRAPH_RESPONSE_BYTES,
        None,
        "rid-endless",
    );
    assert_eq!(s.graph_requests().len(), 1, "not retried");
}

#[tokio::test]
async fn a_lying_content_length_bounds_the_read_not_the_bytes_sent() {
    // Announces 40 bytes, then sends far more than the cap: only the announced bytes are read,
    // which are not a whole answer, so the error is a typed decode error with the request-id.
    let body = format!(
        "{{\"value\":[{}]}}",
        r#"{"id":"m","displayName":"k"},"#.repeat(200_000)
    );
    assert!(body.len() > graph::body::MAX_GRAPH_RESPONSE_BYTES);
    let s = Server::start(with_token(move |_| {
        Reply::Raw(
            raw_head(
                200,
                &[
                    "Content-Type: application/json",
                    "Content-Length: 40",
                    "request-id: rid-lying",
                ],
            ),
            RawBody::Bytes(body.clone().into_bytes()),
        )
    }))
    .await;
    let e = within_5s(client(&s.base).list_fido2_methods("u1"))
        .await
        .expect_err("truncated");
    match &e {
        Error::Decode {
            what, request_id, ..
        } => {
            assert_eq!(*what, "list fido2Methods");
            assert_eq!(request_id.as_deref(), Some("rid-lying"));
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_oversize_registration_answer_is_an_unknown_outcome_then_looked_up() {
    // The POST's answer cannot be read, so whether the method was stored is unknown: the
    // safe registration looks it up (found: stored) instead of posting again.
    let req = sample_request();
    let cred = req.credential_id.clone();
    let s = Server::start(with_token(move |r| {
        if r.method == "POST" {
            Reply::Raw(
                raw_head(201, &["Transfer-Encoding: chunked", "request-id: rid-post"]),
                RawBody::EndlessChunks,
            )
        } else {
            methods_page(&[method_id_for_credential(&cred)])
        }
    }))
    .await;
    let c = client(&s.base);
    let e = within_5s(c.register_fido2_method("u1", &req))
        .await
        .expect_err("unknown");
    match &e {
        Error::RegistrationOutcomeUnknown {
            request_id, cause, ..
        } => {
            assert_eq!(request_id.as_deref(), Some("rid-post"));
            assert!(cause.contains("larger than"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    let r = within_5s(c.register_fido2_method_safely("u1", &req, || {
        panic!("must not be asked: the method is found")
    }))
    .await
    .expect("recognised");
    assert!(r.recovered);
    let posts = s
        .graph_requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(posts, 2, "one POST per call, never a repeat");
}

#[tokio::test]
async fn oversize_token_answers_are_refused_typed() {
    let limit = graph::body::MAX_TOKEN_RESPONSE_BYTES;
    // Client credentials: an endless token answer.
    let s = Server::start(|_| {
        Reply::Raw(
            raw_head(
                200,
                &["Transfer-Encoding: chunked", "x-ms-request-id: rid-token"],
            ),
            RawBody::EndlessChunks,
        )
    })
    .await;
    let e = within_5s(client(&s.base).sign_in())
        .await
        .expect_err("too large");
    expect_too_large(e, "token request", limit, None, "rid-token");
    assert_eq!(s.token_requests(), 1, "not retried");

    // Device code: an announced oversize answer, refused before its body.
    let announced = limit as u64 * 16;
    let s = Server::start(move |_| {
        Reply::Raw(
            raw_head(
                200,
                &[
                    &format!("Content-Length: {announced}"),
                    "x-ms-request-id: rid-device",
                ],
            ),
            RawBody::Hold,
        )
    })
    .await;
    let mut c = config(&s.base);
    c.credentials = Credentials::Delegated;
    let e = within_5s(GraphClient::new(c).expect("client").start_device_sign_in())
        .await
        .expect_err("too large");
    expect_too_large(
        e,
        "device-code request",
        limit,
        Some(announced),
        "rid-device",
    );
}

// ---------------------------------------------------------------- ids that would change the URL

#[tokio::test]
async fn hostile_ids_from_a_member_list_are_refused_and_never_requested() {
    let ids = [
        "u-ok",
        "../../me",
        "..",
        "u1/../../me",
        "%2e%2e",
        "me?$x=1",
        "a\\b",
        "u 1",
        "",
    ];
    let value: Vec<Value> = ids
        .iter()
        .map(|id| json!({"@odata.type":"#microsoft.graph.user","id":id,"userType":"Member"}))
        .collect();
    let s = Server::start(with_token(move |r| match r.path() {
        "/beta/groups/g1/members" => json_reply(200, json!({ "value": value })),
        _ => methods_page(&["m1".into()]),
    }))
    .await;
    let c = client(&s.base);
    let members = c.members("g1", false).await.expect("members");
    assert_eq!(members.users.len(), 9);
    let req = sample_request();
    for user in &members.users {
        let id = user.id.as_str();
        let results = [
            c.list_fido2_methods(id).await.map(|_| ()),
            c.creation_options(id, 60).await.map(|_| ()),
            c.register_fido2_method(id, &req).await.map(|_| ()),
            c.delete_fido2_method(id, "m1").await.map(|_| ()),
        ];
        for r in results {
            match (id, r) {
                ("u-ok", _) => {}
                (_, Err(Error::InvalidId { what: "user", .. })) => {}
                (_, other) => panic!("{id:?} must be refused before a URL is built: {other:?}"),
            }
        }
    }
    for bad in ["..", "../m1", "m1?x", "m%31"] {
        assert!(matches!(
            c.delete_fido2_method("u-ok", bad).await,
            Err(Error::InvalidId {
                what: "method id",
                ..
            })
        ));
    }
    for bad in ["..", "g1/../../users"] {
        assert!(matches!(
            c.group_by_id(bad).await,
            Err(Error::InvalidId {
                what: "group id",
                ..
            })
        ));
        assert!(matches!(
            c.members(bad, true).await,
            Err(Error::InvalidId {
                what: "group id",
                ..
            })
        ));
    }
    // Only the member list and the valid user's four requests reached the server.
    let paths: Vec<String> = s
        .graph_requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path()))
        .collect();
    assert_eq!(
        paths,
        [
            "GET /beta/groups/g1/members",
            "GET /beta/users/u-ok/authentication/fido2Methods",
            "GET /beta/users/u-ok/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=60)",
            "POST /beta/users/u-ok/authentication/fido2Methods",
            "DELETE /beta/users/u-ok/authentication/fido2Methods/m1",
        ],
    );
}
