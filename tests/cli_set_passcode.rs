//! `set-passcode` through the real binary on a terminal (a pty from `script`: the passcode is
//! read from the terminal with echo off, never from a pipe), and the warning headless commands
//! print when a secret-holding file is readable by group or others.
#![cfg(unix)]

mod kit;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use kit::bin::{kiosk, succeeded, BIN};
use passkey_kiosk::station::passcode::{check_hash, verify_passcode};

const CONFIG: &str = r#"{"tenantName":"exampletenant.com","client_id":"11111111-2222-3333-4444-555555555555",
    "client_secret":"s3cr3t~value","usersInScopeGroup":"FIDO2","challengeTimeoutInMinutes":60,
    "deleteExistingUserFIDOCredentials":false,"useRandomPIN":true,"useCTAP21Features":false}"#;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `passkey-kiosk ARGS` on a pseudo-terminal, typing `input`; returns what the terminal
/// showed.
fn on_a_terminal(args: &str, input: &str) -> String {
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &format!("{BIN} {args}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) from util-linux");
    // Typed a line at a time once the prompt is up, as a person would.
    let mut stdin = child.stdin.take().unwrap();
    for line in input.lines() {
        std::thread::sleep(std::time::Duration::from_millis(500));
        writeln!(stdin, "{line}").unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    drop(stdin);
    succeeded(&child.wait_with_output().unwrap())
}

#[test]
fn set_passcode_writes_a_strong_hash_owner_only_and_tightens_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("configs.json");
    std::fs::write(&config, CONFIG).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    // An older file, readable by everyone.
    let file = dir.path().join("operator-passcode.phc");
    std::fs::write(&file, "$argon2id$v=19$m=19456,t=2,p=1$old$old\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let passcode = "correct horse 4711";
    let shown = on_a_terminal(
        &format!("set-passcode --config {}", config.display()),
        &format!("{passcode}\n{passcode}\n"),
    );
    assert!(shown.contains("Operator passcode hash written"), "{shown}");
    assert!(
        !shown.contains(passcode),
        "the passcode is not echoed: {shown}"
    );

    assert_eq!(mode(&file), 0o600, "tightened to owner-only");
    let hash = std::fs::read_to_string(&file).unwrap();
    let hash = hash.trim();
    assert!(
        hash.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{hash}"
    );
    assert_eq!(check_hash(hash), Ok(()));
    assert!(verify_passcode(hash, passcode));
    assert!(!verify_passcode(hash, "correct horse 4712"));
}

#[test]
fn headless_commands_warn_about_secret_files_others_can_read() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("configs.json");
    std::fs::write(&config, CONFIG).unwrap();
    let export = |out: &str| {
        kiosk()
            .args(["export", "--config"])
            .arg(&config)
            .arg("--audit")
            .arg("--out")
            .arg(dir.path().join(out))
            .output()
            .unwrap()
    };

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = export("audit1.csv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "warning: {} is readable by its group and by others (mode 644): an administrator makes it owner-only (`chmod 600 {}`)",
            config.display(),
            config.display()
        )),
        "{stderr}"
    );

    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = export("audit2.csv");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[test]
fn the_kiosk_start_up_checks_name_a_config_others_can_read() {
    use passkey_kiosk::cli::kiosk::DemoWorld;
    use passkey_kiosk::engine::api::{CheckKind, Event};
    use passkey_kiosk::engine::Engine;

    let world = DemoWorld::start(None, 3).unwrap();
    let config = world.dir.join("configs.json");
    let checks = |mode: u32| {
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(mode)).unwrap();
        let engine =
            Engine::start(world.engine_setup(std::sync::Arc::new(|| {})).unwrap()).unwrap();
        loop {
            match engine.recv_timeout(std::time::Duration::from_secs(60)) {
                Some(Event::StartupChecks(checks)) => return checks,
                Some(_) => {}
                None => panic!("no start-up checks"),
            }
        }
    };
    let loose = checks(0o604);
    let files = &loose[0];
    assert_eq!(files.kind, CheckKind::SecretFileModes);
    assert!(!files.ok);
    assert!(
        files.detail.contains(&format!(
            "{} is readable by others (mode 604): an administrator makes it owner-only (`chmod 600 {}`)",
            config.display(),
            config.display()
        )),
        "{}",
        files.detail
    );
    let tight = checks(0o600);
    assert!(tight.iter().all(|c| c.ok), "{tight:?}");
}
