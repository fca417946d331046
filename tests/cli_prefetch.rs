//! `passkey-kiosk prefetch` and `fake-tenant` end to end: the real binary against the fake
//! tenant (in-process, `graph::fake`), checked against the fake's directory, against what Graph
//! sends, and against the real journal.

mod kit;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use graph::fake::{
    self, ExtraGroup, FakeConfig, FakeTenantHandle, FakeUser, Faults, RetryAfterStyle,
};
use kit::bin::{kiosk, prefetch, streams, FakeTenantProcess};
use kit::config::write_config;
use passkey_kiosk::report::users_to_register::{self, UserRow, HEADER};
use passkey_kiosk::store::{Journal, QueuedUser};
use serde_json::{json, Value};

fn tenant(cfg: FakeConfig) -> FakeTenantHandle {
    fake::spawn_in_thread(cfg).unwrap()
}

fn read_csv(path: &Path) -> (String, Vec<UserRow>) {
    let raw = std::fs::read_to_string(path).unwrap();
    let (rows, errors) = users_to_register::read(raw.as_bytes()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    (raw.lines().next().unwrap_or("").to_owned(), rows)
}

fn journal(dir: &Path) -> Journal {
    Journal::open(&dir.join(passkey_kiosk::store::DEFAULT_FILE_NAME)).unwrap()
}

/// The first `n` member users of the scope group, in member order (guests are not users).
fn scope_users(t: &FakeTenantHandle, n: usize) -> Vec<FakeUser> {
    t.users()
        .into_iter()
        .filter(|u| !u.is_guest)
        .take(n)
        .collect()
}

/// Creation options fetched directly with the Graph client: what Graph sends for this user.
fn graph_options(t: &FakeTenantHandle, user_id: &str) -> graph::IssuedOptions {
    let cfg = t.graph_config(graph::Credentials::secret(t.client_secret()));
    let client = graph::GraphClient::new(cfg).unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.creation_options(user_id, 60))
        .unwrap()
}

fn b64url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn parse_utc(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn writes_every_user_in_the_seed_format_and_keeps_the_whole_options() {
    let t = tenant(FakeConfig {
        users: 300,
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &t, json!({}));
    let out = prefetch(&config, &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let (header, rows) = read_csv(&dir.path().join("usersToRegister.csv"));
    assert_eq!(header, HEADER.join(","));
    assert_eq!(
        header,
        "#User.Name,User.DisplayName,User.ID,Challenge,ChallengeExpiryTime,RP.ID"
    );
    let users = scope_users(&t, 300);
    assert_eq!(rows.len(), 300);
    let now = time::OffsetDateTime::now_utc();
    let mut challenges = HashSet::new();
    for (row, user) in rows.iter().zip(&users) {
        assert_eq!(row.upn, user.upn, "member order");
        assert_eq!(row.display_name, user.display_name);
        assert_eq!(row.rp_id, "login.microsoft.com");
        assert!(challenges.insert(row.challenge.clone()), "challenge reused");
        // challengeTimeoutInMinutes = 60 was asked for (generous bounds: no timing assertion).
        let expiry = parse_utc(&row.challenge_expiry);
        assert!(expiry > now + Duration::from_secs(50 * 60), "{expiry}");
        assert!(expiry < now + Duration::from_secs(70 * 60), "{expiry}");
    }
    // User handle and rp id are what Graph sends for that user.
    for (row, user) in rows.iter().zip(&users).step_by(60) {
        let direct = graph_options(&t, &user.id).options;
        assert_eq!(b64url(&row.user_handle), direct.user.id);
        assert_eq!(row.rp_id, direct.rp.id);
        assert_eq!(Some(&row.upn), direct.user.name.as_ref());
    }

    // The journal queue holds Graph's whole options, matching the CSV.
    let j = journal(dir.path());
    let queue: Vec<QueuedUser> = j.queue().unwrap();
    assert_eq!(queue.len(), 300);
    for (row, user) in rows.iter().zip(&users) {
        let q = j.queued_user(&user.id).unwrap().unwrap();
        assert_eq!(q.upn, user.upn);
        let o = &q.challenge.options;
        assert_eq!(o.challenge, row.challenge);
        assert_eq!(o.user.id, b64url(&row.user_handle));
        assert_eq!(o.rp.id, "login.microsoft.com");
        assert_eq!(
            Some(q.challenge.expires_at.unwrap()),
            Some(parse_utc(&row.challenge_expiry).unix_timestamp())
        );
        assert_eq!(
            o.extensions.credential_protection_policy,
            Some(ctap::webauthn::CredProtect::UserVerificationOptional)
        );
        assert_eq!(o.attestation, ctap::webauthn::Attestation::Direct);
        // excludeCredentials lists the user's existing keys (every 7th user has one).
        let registered = t.registrations(&user.id);
        assert_eq!(
            o.exclude_credentials.is_empty(),
            registered.is_empty(),
            "{}",
            user.upn
        );
        for m in &registered {
            assert!(
                o.exclude_credentials.contains(&m.credential_id),
                "{}",
                user.upn
            );
        }
        assert!(q.existing_method_ids.is_empty(), "not asked to record them");
    }
    assert!(users.iter().any(|u| !t.registrations(&u.id).is_empty()));

    // Non-users and guests are reported, by count and name.
    assert!(
        stdout.contains("users:                     300"),
        "{stdout}"
    );
    assert!(stdout.contains("non-users/guests skipped:  5"), "{stdout}");
    for name in [
        "guest",
        "KIOSK-07",
        "Provisioning App",
        "External Vendor",
        "FIDO2 - Wave 2",
    ] {
        assert!(stdout.contains(name), "{name} not reported:\n{stdout}");
    }
    assert!(
        stdout.contains("creation options fetched:  300"),
        "{stdout}"
    );
    assert!(stdout.contains("failures:                  0"), "{stdout}");

    let audit = j.audit_log().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].action, "prefetch");
    assert_eq!(audit[0].result, "ok: 300 users");

    // A second run refreshes the same queue entries with new challenges.
    let out = prefetch(
        &config,
        &["--out", dir.path().join("again.csv").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));
    let (_, again) = read_csv(&dir.path().join("again.csv"));
    assert_eq!(again.len(), 300);
    assert!(again.iter().all(|r| !challenges.contains(&r.challenge)));
    assert_eq!(journal(dir.path()).queue().unwrap().len(), 300);
}

#[test]
fn nested_groups_only_with_include_nested_groups() {
    let t = tenant(FakeConfig {
        users: 20,
        ..FakeConfig::default()
    });
    let nested: Vec<String> = t.users().iter().skip(21).map(|u| u.upn.clone()).collect();
    assert_eq!(nested.len(), 3, "the default nested group has 3 users");

    let direct_dir = tempfile::tempdir().unwrap();
    let direct = write_config(direct_dir.path(), &t, json!({}));
    let out = prefetch(&direct, &["--concurrency", "3"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let (_, rows) = read_csv(&direct_dir.path().join("usersToRegister.csv"));
    assert_eq!(rows.len(), 20);
    assert!(rows.iter().all(|r| !nested.contains(&r.upn)));

    let trans_dir = tempfile::tempdir().unwrap();
    let trans = write_config(trans_dir.path(), &t, json!({"includeNestedGroups": true}));
    let out = prefetch(&trans, &[]);
    let (stdout, _) = streams(&out);
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let (_, rows) = read_csv(&trans_dir.path().join("usersToRegister.csv"));
    assert_eq!(rows.len(), 23);
    let upns: Vec<&str> = rows.iter().map(|r| r.upn.as_str()).collect();
    for n in &nested {
        assert!(upns.contains(&n.as_str()), "{n} missing");
    }
    assert!(stdout.contains("including nested groups"), "{stdout}");
    assert_eq!(journal(trans_dir.path()).queue().unwrap().len(), 23);
}

#[test]
fn delete_existing_records_method_ids_and_deletes_nothing() {
    let t = tenant(FakeConfig {
        users: 40,
        existing_methods_every_nth: Some(3),
        ..FakeConfig::default()
    });
    let users = scope_users(&t, 40);
    let before: Vec<Vec<String>> = users
        .iter()
        .map(|u| t.registrations(&u.id).into_iter().map(|m| m.id).collect())
        .collect();
    assert!(before.iter().filter(|m| !m.is_empty()).count() >= 10);

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &t,
        json!({"deleteExistingUserFIDOCredentials": true}),
    );
    let out = prefetch(&config, &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let j = journal(dir.path());
    for (user, ids) in users.iter().zip(&before) {
        let q = j.queued_user(&user.id).unwrap().unwrap();
        assert_eq!(&q.existing_method_ids, ids, "{}", user.upn);
        let now: Vec<String> = t
            .registrations(&user.id)
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            &now, ids,
            "{}: nothing may be deleted by prefetch",
            user.upn
        );
    }
    assert!(stdout.contains("recorded (not deleted)"), "{stdout}");

    let help = kiosk().args(["prefetch", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("does NOT delete"), "{help}");
}

#[test]
fn throttling_and_server_errors_still_fetch_every_user() {
    let t = tenant(FakeConfig {
        users: 200,
        faults: Faults {
            throttle_every_nth: Some(7),
            retry_after: RetryAfterStyle::Decimal,
            retry_after_value: Duration::from_millis(50),
            random_5xx_ratio: 0.03,
            ..Faults::default()
        },
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &t,
        json!({"deleteExistingUserFIDOCredentials": true}),
    );
    let out = prefetch(&config, &["--concurrency", "16"]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let (_, rows) = read_csv(&dir.path().join("usersToRegister.csv"));
    let expected: Vec<String> = scope_users(&t, 200).into_iter().map(|u| u.upn).collect();
    assert_eq!(
        rows.iter().map(|r| r.upn.clone()).collect::<Vec<_>>(),
        expected
    );
    assert!(t.throttled_count() >= 50, "{}", t.throttled_count());
    assert!(t.faulted_count() > 0, "no 5xx was injected");
    assert_eq!(journal(dir.path()).queue().unwrap().len(), 200);
}

#[test]
fn wrong_secret_fails_with_the_aadsts_text_and_never_prints_a_secret() {
    let t = tenant(FakeConfig {
        users: 3,
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Zz9~wrongSecretValue_0123456789abcdefghij";
    let config = write_config(dir.path(), &t, json!({"client_secret": wrong}));
    let out = prefetch(&config, &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.contains("AADSTS7000215"), "{stderr}");
    assert!(stderr.contains("secret VALUE"), "{stderr}");
    for s in [wrong, t.client_secret()] {
        assert!(!stdout.contains(s) && !stderr.contains(s), "secret printed");
    }
    assert!(!dir.path().join("usersToRegister.csv").exists());
    let audit = journal(dir.path()).audit_log().unwrap();
    assert_eq!(audit.len(), 1);
    assert!(audit[0].result.contains("AADSTS7000215"), "{:?}", audit[0]);
    assert!(!audit[0].result.contains(wrong));
}

#[test]
fn group_not_found_or_ambiguous_is_a_clear_message() {
    let t = tenant(FakeConfig {
        users: 3,
        extra_groups: vec![ExtraGroup {
            display_name: "FIDO2".into(),
            users: 1,
            nested_in_scope: false,
        }],
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();

    let config = write_config(
        dir.path(),
        &t,
        json!({"usersInScopeGroup": "No Such Group"}),
    );
    let out = prefetch(&config, &[]);
    let (_, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no group named \"No Such Group\""),
        "{stderr}"
    );

    let config = write_config(dir.path(), &t, json!({}));
    let out = prefetch(&config, &[]);
    let (_, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("2 groups are named \"FIDO2\""), "{stderr}");
    assert!(stderr.contains(&t.group_id()), "{stderr}");
    assert!(stderr.contains("by object id"), "{stderr}");

    // By id, the same tenant works.
    let config = write_config(
        dir.path(),
        &t,
        json!({"usersInScopeGroup": null, "usersInScopeGroupId": t.group_id()}),
    );
    let out = prefetch(&config, &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let (_, rows) = read_csv(&dir.path().join("usersToRegister.csv"));
    assert_eq!(rows.len(), 3);
}

const REFUSED_REQUEST_ID: &str = "5f0c2b1e-0000-4000-8000-refusedbyproxy";

/// A Graph front that answers 403 (with a request-id) for one path and forwards everything else
/// to the fake, one request per connection.
fn refusing_proxy(upstream: SocketAddr, refuse: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let refuse = refuse.clone();
            std::thread::spawn(move || {
                let _ = relay(conn, upstream, &refuse);
            });
        }
    });
    addr
}

fn relay(mut client: TcpStream, upstream: SocketAddr, refuse: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line == "\r\n" {
            break;
        }
        if !line.to_ascii_lowercase().starts_with("connection:") {
            head.push(line);
        }
    }
    let path = head
        .first()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    if path.contains(refuse) {
        let body =
            json!({"error": {"code": "accessDenied", "message": "Request Authorization failed",
            "innerError": {"request-id": REFUSED_REQUEST_ID, "date": "2026-11-23T10:00:00"}}})
            .to_string();
        write!(
            client,
            "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\nrequest-id: {REFUSED_REQUEST_ID}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )?;
        return Ok(());
    }
    // Graph GETs carry no body; `Connection: close` makes the fake end the exchange.
    let mut up = TcpStream::connect(upstream)?;
    up.write_all(format!("{}connection: close\r\n\r\n", head.concat()).as_bytes())?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&response)
}

#[test]
fn a_user_whose_options_fail_is_listed_with_request_id_and_the_others_are_written() {
    let t = tenant(FakeConfig {
        users: 30,
        ..FakeConfig::default()
    });
    let users = scope_users(&t, 30);
    let bad = &users[4];
    let proxy = refusing_proxy(
        t.addr(),
        format!(
            "/users/{}/authentication/fido2Methods/creationOptions",
            bad.id
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &t,
        json!({"graphBaseUrl": format!("http://{proxy}")}),
    );
    let out = prefetch(&config, &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.contains(&bad.upn))
        .unwrap_or_else(|| panic!("{} not listed:\n{stdout}", bad.upn));
    assert!(line.contains("HTTP 403"), "{line}");
    assert!(line.contains(REFUSED_REQUEST_ID), "{line}");
    assert!(stdout.contains("failures:                  1"), "{stdout}");

    let (_, rows) = read_csv(&dir.path().join("usersToRegister.csv"));
    let expected: Vec<&str> = users
        .iter()
        .filter(|u| u.id != bad.id)
        .map(|u| u.upn.as_str())
        .collect();
    assert_eq!(
        rows.iter().map(|r| r.upn.as_str()).collect::<Vec<_>>(),
        expected
    );
    let j = journal(dir.path());
    assert_eq!(j.queue().unwrap().len(), 29);
    assert!(j.queued_user(&bad.id).unwrap().is_none());
    let audit = j.audit_log().unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].request_ids, REFUSED_REQUEST_ID);
    assert!(
        audit[0].result.starts_with("1 of 30 users failed"),
        "{:?}",
        audit[0]
    );
}

#[test]
fn fake_tenant_command_prints_a_config_that_prefetch_uses() {
    let fake = FakeTenantProcess::start(&["--port", "0", "--users", "7"]);
    let (printed, snippet) = (&fake.printed, &fake.config);
    assert!(printed.contains("client secret:"), "{printed}");
    assert!(printed.contains("scope group:   FIDO2"), "{printed}");
    let cfg: Value = serde_json::from_str(snippet).unwrap();
    assert!(cfg["graphBaseUrl"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    // Training against the fake tenant uses the software key.
    assert_eq!(cfg["allowTestKeys"], true, "{snippet}");

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("configs.json");
    std::fs::write(&config, snippet).unwrap();
    let out = prefetch(&config, &[]);
    drop(fake);
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let (_, rows) = read_csv(&dir.path().join("usersToRegister.csv"));
    assert_eq!(rows.len(), 7);
}
