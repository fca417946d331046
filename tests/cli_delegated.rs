//! `prefetch` and `enroll` with `"operatorSignIn": "delegated"`: the real binary signs the
//! operator in with the fake tenant's device-code flow (code on stderr, stdout untouched), then
//! runs as with app-only credentials on the operator's token, naming them in the audit log. A
//! declined or expired sign-in, or an account of another tenant, exits 1 and writes nothing.

mod kit;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use graph::fake::{self, DevicePoll, FakeConfig, FakeTenantHandle};
use kit::bin::{self, streams};
use kit::config;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::report::users_to_register::{self, UserRow};
use passkey_kiosk::store::{Journal, QueuedUser, DEFAULT_FILE_NAME};
use serde_json::{json, Value};

/// A fake tenant whose device-code polls answer `flow` with no wait between polls.
fn tenant(users: usize, flow: Vec<DevicePoll>) -> FakeTenantHandle {
    fake::spawn_in_thread(FakeConfig {
        users,
        device_flow: flow,
        device_interval_secs: 0,
        ..FakeConfig::default()
    })
    .unwrap()
}

/// A config for the fake in `dir`: app-only with the client secret, or delegated without it.
/// `tenant` is what `tenantName` says (the tenant's domain or id).
fn write_config(dir: &Path, t: &FakeTenantHandle, tenant: &str, delegated: bool) -> PathBuf {
    let mut fields = json!({
        "tenantName": tenant,
        "deleteExistingUserFIDOCredentials": true,
        "useRandomPIN": true,
        "useCTAP21Features": false,
    });
    if delegated {
        fields["operatorSignIn"] = "delegated".into();
        fields["client_secret"] = Value::Null;
    }
    config::write_config(dir, t, fields)
}

fn csv_rows(path: &Path) -> Vec<UserRow> {
    let (rows, errors) = users_to_register::read(std::fs::File::open(path).unwrap()).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    rows
}

/// A CSV row without what differs on every fetch (the challenge and its expiry).
fn stable_row(r: &UserRow) -> (String, String, String, String) {
    (
        r.upn.clone(),
        r.display_name.clone(),
        r.user_handle.clone(),
        r.rp_id.clone(),
    )
}

/// A queue entry without what differs on every fetch.
fn stable_queued(q: &QueuedUser) -> Value {
    let mut options = q.challenge.options.clone();
    options.challenge = String::new();
    json!({
        "user_id": q.user_id, "upn": q.upn, "display_name": q.display_name,
        "existing_method_ids": q.existing_method_ids, "options": options,
    })
}

/// Nothing secret of the sign-in is ever printed: no device code, no token.
fn assert_no_secret(output: &str) {
    // The fake's device codes start like Entra's; tokens are JWTs (`{"typ":...` in base64url).
    for secret in ["DAQABAAE", "eyJ0eXAi", "access_token", "refresh_token"] {
        assert!(!output.contains(secret), "{secret} printed:\n{output}");
    }
}

/// The sign-in instructions on stderr.
fn assert_sign_in_shown(stderr: &str) {
    assert!(
        stderr.contains("Open:        https://microsoft.com/devicelogin"),
        "{stderr}"
    );
    let code = stderr
        .lines()
        .find_map(|l| l.trim().strip_prefix("Enter code:"))
        .unwrap_or_else(|| panic!("no code shown:\n{stderr}"))
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(code.len(), 9, "{code}");
    // Entra's own sentence, which names the same code.
    assert!(
        stderr
            .lines()
            .any(|l| l.contains("Entra ID:") && l.contains("enter the code") && l.contains(code)),
        "{stderr}"
    );
}

#[test]
fn delegated_prefetch_writes_what_app_only_writes_and_names_the_operator() {
    let t = tenant(40, vec![DevicePoll::Pending, DevicePoll::Approve]);
    let admin = t.admin().unwrap();
    let root = tempfile::tempdir().unwrap();

    let app_dir = root.path().join("app-only");
    let out = bin::prefetch(&write_config(&app_dir, &t, t.tenant_domain(), false), &[]);
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let (app_stdout, app_stderr) = streams(&out);
    assert!(!app_stderr.contains("Enter code"), "{app_stderr}");

    // Named by tenant id, so the signed-in account's tenant is checked too.
    let del_dir = root.path().join("delegated");
    let out = bin::prefetch(&write_config(&del_dir, &t, t.tenant(), true), &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert_sign_in_shown(&stderr);
    assert!(
        stderr.contains(&format!("Signed in as {}", admin.upn)),
        "{stderr}"
    );
    assert_no_secret(&stdout);
    assert_no_secret(&stderr);
    // stdout is the same report as app-only: nothing of the sign-in on it.
    assert!(!stdout.contains("devicelogin") && !stdout.contains("Signed in"));
    let summary = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("Wrote "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(summary(&stdout), summary(&app_stdout));

    // The same CSV (but for the challenges, fresh on every fetch) ...
    let app_rows = csv_rows(&app_dir.join("usersToRegister.csv"));
    let rows = csv_rows(&del_dir.join("usersToRegister.csv"));
    assert_eq!(rows.len(), 40);
    assert_eq!(
        rows.iter().map(stable_row).collect::<Vec<_>>(),
        app_rows.iter().map(stable_row).collect::<Vec<_>>()
    );
    let raw_header = |d: &Path| {
        std::fs::read_to_string(d.join("usersToRegister.csv"))
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(raw_header(&del_dir), raw_header(&app_dir));
    // ... and the same journal queue, existing method ids included.
    let app_journal = Journal::open(&app_dir.join(DEFAULT_FILE_NAME)).unwrap();
    let journal = Journal::open(&del_dir.join(DEFAULT_FILE_NAME)).unwrap();
    let queue = journal.queue().unwrap();
    assert_eq!(
        queue.iter().map(stable_queued).collect::<Vec<_>>(),
        app_journal
            .queue()
            .unwrap()
            .iter()
            .map(stable_queued)
            .collect::<Vec<_>>()
    );
    assert!(queue.iter().any(|q| !q.existing_method_ids.is_empty()));
    for r in &rows {
        let q = queue.iter().find(|q| q.upn == r.upn).unwrap();
        assert_eq!(q.challenge.options.challenge, r.challenge, "{}", r.upn);
    }

    // The audit entry names the operator who signed in.
    let audit = journal.audit_log().unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, "prefetch");
    assert_eq!(audit[0].result, "ok: 40 users");
    assert_eq!(audit[0].operator, admin.upn);
    assert!(app_journal.audit_log().unwrap()[0]
        .operator
        .starts_with("cli:"));
}

#[test]
fn a_declined_or_expired_sign_in_exits_1_and_writes_nothing() {
    for (last, words) in [
        (DevicePoll::Declined, "declined"),
        (DevicePoll::Expired, "expired"),
    ] {
        let t = tenant(5, vec![DevicePoll::Pending, last]);
        let dir = tempfile::tempdir().unwrap();
        let config = write_config(dir.path(), &t, t.tenant_domain(), true);
        let out = bin::prefetch(&config, &[]);
        let (stdout, stderr) = streams(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
        assert_sign_in_shown(&stderr);
        assert!(
            stderr.contains("did not complete") && stderr.contains(words),
            "{stderr}"
        );
        assert!(
            stderr.contains("run `passkey-kiosk prefetch` again"),
            "{stderr}"
        );
        assert_no_secret(&stderr);
        assert_eq!(stdout, "", "nothing on stdout");
        // Nothing written: no CSV, no journal (so no queue and no audit entry).
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(files, vec!["configs.json".to_string()]);
    }
}

#[test]
fn an_account_of_another_tenant_is_refused() {
    const OTHER: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
    let t = tenant(5, vec![DevicePoll::Approve]);
    t.set_id_token_tenant(Some(OTHER));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &t, t.tenant(), true);
    let out = bin::prefetch(&config, &[]);
    let (stdout, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains(OTHER) && stderr.contains(t.tenant()) && stderr.contains("not signed in"),
        "{stderr}"
    );
    assert!(!stderr.contains("Signed in as"), "{stderr}");
    assert!(!dir.path().join("usersToRegister.csv").exists());
    assert!(!dir.path().join(DEFAULT_FILE_NAME).exists());
}

#[test]
fn a_multi_tenant_authority_is_refused_at_config_load() {
    let t = tenant(1, vec![DevicePoll::Approve]);
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &t, "organizations", true);
    let out = bin::prefetch(&config, &[]);
    let (_, stderr) = streams(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("tenantName")
            && stderr.contains("\"organizations\"")
            && !stderr.contains("Enter code"),
        "{stderr}"
    );
    assert_eq!(t.request_count(), 0, "refused before any request");
}

#[test]
fn delegated_enroll_signs_in_on_the_terminal_and_audits_the_operator() {
    let st = Station::new(
        FakeConfig {
            device_flow: vec![DevicePoll::Pending, DevicePoll::Approve],
            device_interval_secs: 0,
            ..plain_tenant(2)
        },
        r#","useRandomPIN":true,"useCTAP21Features":false"#,
    );
    // The queue from an earlier prefetch (app-only); the station then goes delegated.
    st.prefetch();
    st.set_config(json!({"client_secret": null, "operatorSignIn": "delegated"}));
    let admin = st.tenant.admin().unwrap();

    let mut keys = 0u32;
    let (status, out) = st.enroll(&["--operator", "Desk 9"], &[], |line| {
        assert!(!line.contains("Enter code"), "sign-in on stdout: {line}");
        if line.contains("insert a new key for") {
            keys += 1;
            st.insert_key(61_000_000 + keys);
        }
    });
    assert!(status.success(), "{out}");
    assert!(
        out.contains("summary: 2 enrolled, 0 already enrolled, 0 failed"),
        "{out}"
    );
    assert_sign_in_shown(&out);
    assert!(
        out.contains(&format!("Signed in as {}", admin.upn)),
        "{out}"
    );
    assert!(out.contains("--operator \"Desk 9\" is ignored"), "{out}");
    assert_no_secret(&out);
    assert_eq!(st.csv_rows().len(), 2);

    let log = Journal::open(&st.journal).unwrap().audit_log().unwrap();
    let enrollment: Vec<_> = log.iter().filter(|e| e.action != "prefetch").collect();
    assert!(
        enrollment.iter().filter(|e| e.action == "register").count() == 2,
        "{log:?}"
    );
    assert!(
        enrollment.iter().all(|e| e.operator == admin.upn),
        "{enrollment:?}"
    );
}

#[test]
fn a_declined_enroll_sign_in_exits_1_before_touching_the_journal() {
    let st = Station::new(
        FakeConfig {
            users: 1,
            device_flow: vec![DevicePoll::Declined],
            device_interval_secs: 0,
            ..FakeConfig::default()
        },
        r#","operatorSignIn":"delegated""#,
    );
    // Station writes a client secret; delegated mode refuses one, so take it out.
    st.set_config(json!({"client_secret": null}));
    let (status, out) = st.enroll(&[], &[], |_| {});
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("declined") && out.contains("enroll` again"),
        "{out}"
    );
    assert!(!st.journal.exists(), "journal created");
    assert!(!st.out.exists(), "keysRegistered.csv created");
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_waiting_for_the_sign_in_stops_and_writes_nothing() {
    use std::io::{BufRead, BufReader};

    let t = fake::spawn_in_thread(FakeConfig {
        users: 3,
        device_flow: vec![DevicePoll::Pending],
        device_interval_secs: 1,
        ..FakeConfig::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &t, t.tenant_domain(), true);
    let mut child = bin::kiosk()
        .arg("prefetch")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Waiting for the sign-in") {
        line.clear();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "stderr closed");
    }
    // What Ctrl-C in the terminal sends.
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(
        rest.contains("Cancelled (Ctrl-C): nobody signed in"),
        "{rest}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, vec!["configs.json".to_string()]);
}
