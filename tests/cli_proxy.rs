//! Corporate networks reach Microsoft only through a proxy: the `proxy` config key and the
//! standard proxy variables (with `NO_PROXY`) are honoured, shown through a local proxy the test
//! starts (CONNECT tunnels and forwarded requests, as a corporate proxy takes them).

mod kit;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use kit::bin::text;
use kit::station::Station;
use kit::tenant::plain_tenant;

/// A proxy on 127.0.0.1 that relays every connection and remembers its first request line.
struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming().map_while(Result::ok) {
                let log = Arc::clone(&log);
                std::thread::spawn(move || relay(conn, &log));
            }
        });
        Proxy { url, seen }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

fn relay(client: TcpStream, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let first = head[0].trim().to_owned();
    log.lock().unwrap().push(first.clone());
    let mut parts = first.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (authority, connect) = if method == "CONNECT" {
        (target.to_owned(), true)
    } else {
        let rest = target.split_once("://").map_or(target, |(_, r)| r);
        (rest.split('/').next().unwrap_or("").to_owned(), false)
    };
    let Ok(mut upstream) = TcpStream::connect(&authority) else {
        return;
    };
    let mut client = client;
    if connect {
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .unwrap();
    } else {
        // A forwarded request goes on as it came (servers take the absolute form).
        upstream.write_all(head.concat().as_bytes()).unwrap();
    }
    let buffered = reader.buffer().to_vec();
    upstream.write_all(&buffered).unwrap();
    let mut up_read = upstream.try_clone().unwrap();
    let mut client_write = client.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut client_write);
    });
    let mut rest = reader.into_inner();
    let mut buf = [0u8; 8192];
    loop {
        match rest.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if upstream.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
}

fn doctor(st: &Station, env: &[(&str, &str)]) -> String {
    let mut cmd = st.kiosk();
    cmd.args(["doctor", "--config"])
        .arg(&st.config)
        .args(["--device", &st.device]);
    for var in [
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "https_proxy",
        "http_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let shown = text(&out);
    assert!(out.status.success(), "{shown}");
    shown
}

fn private(st: &Station) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn the_configured_proxy_carries_every_request_to_microsoft() {
    let st = Station::new(plain_tenant(1), "");
    let proxy = Proxy::start();
    st.set_config(serde_json::json!({ "proxy": proxy.url }));
    private(&st);
    let out = doctor(&st, &[]);
    assert!(out.contains("ok   Sign-in to Entra ID"), "{out}");
    let seen = proxy.seen();
    let fake = st.tenant.base_url();
    let host = fake.trim_start_matches("http://");
    assert!(!seen.is_empty(), "nothing went through the proxy");
    assert!(seen.iter().all(|l| l.contains(host)), "{seen:?}");
}

#[test]
fn proxy_variables_are_honoured_and_no_proxy_bypasses_them() {
    let st = Station::new(plain_tenant(1), "");
    private(&st);
    let proxy = Proxy::start();
    doctor(&st, &[("ALL_PROXY", &proxy.url)]);
    let through = proxy.seen().len();
    assert!(through > 0, "ALL_PROXY was not used");

    doctor(&st, &[("ALL_PROXY", &proxy.url), ("NO_PROXY", "127.0.0.1")]);
    assert_eq!(proxy.seen().len(), through, "NO_PROXY was not honoured");
}

#[test]
fn a_proxy_that_is_not_a_url_is_refused_with_what_to_write() {
    let st = Station::new(plain_tenant(1), "");
    st.set_config(serde_json::json!({ "proxy": "proxy.corp:3128" }));
    let out = st.run("doctor", &["--device", &st.device]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("proxy") && shown.contains("http://proxy.corp.example:3128"),
        "{shown}"
    );
}

#[test]
fn https_to_microsoft_goes_through_the_proxy_as_a_connect_tunnel() {
    // The real cloud's hosts (no fake URLs): every https request must be a CONNECT tunnel
    // through HTTPS_PROXY, never a direct connection or a forwarded request in clear text.
    let st = Station::new(plain_tenant(1), "");
    st.set_config(serde_json::json!({"loginBaseUrl": null, "graphBaseUrl": null}));
    private(&st);
    let proxy = Proxy::start();
    let mut cmd = st.kiosk();
    cmd.args(["doctor", "--config"])
        .arg(&st.config)
        .args(["--device", &st.device])
        .env_remove("ALL_PROXY")
        .env_remove("NO_PROXY")
        .env("HTTPS_PROXY", &proxy.url);
    let out = cmd.output().unwrap();
    let shown = text(&out);
    // This machine cannot reach Microsoft: the proxy finds no way on, so the checks fail,
    // saying so.
    assert!(!out.status.success(), "{shown}");
    let seen = proxy.seen();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT login.microsoftonline.com:443 ")),
        "{seen:?}"
    );
    assert!(
        seen.iter()
            .any(|l| l.starts_with("CONNECT graph.microsoft.com:443 ")),
        "{seen:?}"
    );
    assert!(seen.iter().all(|l| l.starts_with("CONNECT ")), "{seen:?}");
}
