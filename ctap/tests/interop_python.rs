//! Interop: python-fido2 (an independent CTAP 2.1 client) drives the software key over
//! CTAPHID-in-UDP and verifies its answers, including packed attestation with
//! `PackedAttestation().verify`. Fails when python3 or the `fido2` module is missing, so a
//! machine (or CI) without them cannot pass it unnoticed; skipped only when
//! `PASSKEY_KIOSK_SKIP_PYTHON_INTEROP=1` says so explicitly.
#![cfg(feature = "soft")]

#[cfg(feature = "pcsc")]
mod pcsc_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ctap::hid::server::serve_udp;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy};

/// Why interop cannot run here, or `None` when python3 with fido2 2.x is available.
fn missing_python() -> Option<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import fido2, sys, importlib.metadata as m; sys.stdout.write(m.version('fido2'))",
        ])
        .output();
    match out {
        Err(e) => Some(format!("python3 not runnable: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "python3 has no fido2 module (pip install fido2): {}",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        )),
        Ok(o) => {
            let version = String::from_utf8_lossy(&o.stdout).to_string();
            (!version.starts_with('2')).then(|| format!("fido2 {version} found, 2.x needed"))
        }
    }
}

/// Set to `1` to skip this test where python-fido2 cannot be installed.
const OPT_OUT: &str = "PASSKEY_KIOSK_SKIP_PYTHON_INTEROP";

/// Whether to run: false with the explicit opt-out; panics with the remedy when python3,
/// fido2 (or, for PC/SC, pyscard) is missing.
fn python_ready(pcsc: bool) -> bool {
    if std::env::var(OPT_OUT).as_deref() == Ok("1") {
        eprintln!("SKIPPED interop_python: {OPT_OUT}=1");
        return false;
    }
    if let Some(reason) = missing_python() {
        panic!(
            "{reason}; install it (python3 -m pip install 'fido2>=2,<3' pyscard) or skip this \
             test explicitly with {OPT_OUT}=1"
        );
    }
    if pcsc {
        let pyscard = Command::new("python3")
            .args(["-c", "import smartcard"])
            .status();
        assert!(
            pyscard.is_ok_and(|s| s.success()),
            "python3 has no pyscard (python3 -m pip install pyscard), which python-fido2's \
             PC/SC device needs; or skip this test explicitly with {OPT_OUT}=1"
        );
    }
    true
}

/// Runs the python-fido2 client with `args` and `env`, and checks it passed every check.
fn run_client(args: &[String], env: &[(&str, &std::ffi::OsStr)]) {
    let script: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "interop",
        "fido2_client.py",
    ]
    .iter()
    .collect();
    let mut child = Command::new("python3")
        .arg(&script)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success(),
        "python-fido2 client failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("fido2 interop: all "));
}

#[test]
fn python_fido2_client_against_the_soft_key_over_udp() {
    if !python_ready(false) {
        return;
    }
    let serial = 4_242_424;
    let key = SoftAuthenticator::new(SoftConfig {
        serial,
        // A short real wait so the client sees keepalive UPNEEDED.
        touch: TouchPolicy::Delay(Duration::from_millis(250)),
        ..SoftConfig::default()
    })
    .unwrap();
    let server = serve_udp("127.0.0.1:0".parse().unwrap(), key.clone()).unwrap();
    let port = server.local_addr().port();

    run_client(&[port.to_string(), serial.to_string()], &[]);

    // The key's own view agrees with what the client did: two resident credentials for
    // the same user overwrite each other, one remains.
    let creds = key.resident_credentials();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].user_id, b"user-handle-1");
    assert_eq!(key.pin_retries(), 8);
    server.stop();
}

/// The same client over PC/SC: python-fido2's CtapPcscDevice (pyscard) through a private
/// pcscd to the software key in vsmartcard's virtual reader.
#[cfg(feature = "pcsc")]
#[test]
fn python_fido2_client_against_the_soft_card_over_pcsc() {
    if !python_ready(true) {
        return;
    }
    let daemon = pcsc_support::Pcscd::start();
    let key = SoftAuthenticator::new(SoftConfig {
        touch: TouchPolicy::Delay(Duration::from_millis(250)),
        ..SoftConfig::default()
    })
    .unwrap();
    let _card = ctap::nfc::vpcd::VirtualCard::insert(&daemon.card_addr(0), key.clone()).unwrap();
    daemon.export_socket();
    pcsc_support::wait_for_card("Virtual PCD 00 00", true);
    run_client(
        &["--pcsc".into(), "Virtual PCD 00 00".into()],
        &[("PCSCLITE_CSOCK_NAME", daemon.socket().as_os_str())],
    );
    let creds = key.resident_credentials();
    assert_eq!(creds.len(), 1);
    assert_eq!(key.pin_retries(), 8);
}
