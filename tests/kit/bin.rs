//! The `passkey-kiosk` binary, run as an operator runs it.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Where Cargo built the binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_passkey-kiosk");

/// The binary, with nothing from the test runner's environment that changes what it does: no
/// PIN, client secret, crash point or log filter.
pub fn kiosk() -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_remove("PASSKEY_KIOSK_PIN")
        .env_remove("PASSKEY_KIOSK_NEW_PIN")
        .env_remove("PASSKEY_KIOSK_CRASH_AFTER")
        .env_remove("PASSKEY_KIOSK_CLIENT_SECRET")
        .env_remove("RUST_LOG");
    cmd
}

/// Runs the binary with `args` and `env` to the end.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    kiosk()
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// `prefetch --config CONFIG ARGS`, run to the end.
pub fn prefetch(config: &Path, args: &[&str]) -> Output {
    kiosk()
        .arg("prefetch")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// [`prefetch`] that must succeed: its stdout.
pub fn prefetch_ok(config: &Path, args: &[&str]) -> String {
    succeeded(&prefetch(config, args))
}

/// The stdout of a run that must have succeeded (the panic shows stdout and stderr).
pub fn succeeded(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// (stdout, stderr) of a run.
pub fn streams(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Everything a run printed: stdout, then stderr.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `passkey-kiosk fake-tenant ARGS` running in the background until dropped, with what it
/// printed up to the end of its configs.json.
pub struct FakeTenantProcess {
    child: std::process::Child,
    /// Kept open: the fake tenant goes on printing, and a closed pipe would end it.
    _stdout: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
    /// Everything printed up to and including the configs.json.
    pub printed: String,
    /// The configs.json it printed.
    pub config: String,
}

impl FakeTenantProcess {
    /// Starts `fake-tenant` with `args` and reads its banner.
    pub fn start(args: &[&str]) -> FakeTenantProcess {
        use std::io::BufRead as _;
        let mut child = kiosk()
            .arg("fake-tenant")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (mut printed, mut config, mut in_config) = (String::new(), String::new(), false);
        let mut lines = std::io::BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            printed.push_str(&line);
            printed.push('\n');
            in_config |= line == "{";
            if in_config {
                config.push_str(&line);
                config.push('\n');
                if line == "}" {
                    break;
                }
            }
        }
        FakeTenantProcess {
            child,
            _stdout: lines,
            printed,
            config,
        }
    }
}

impl Drop for FakeTenantProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
