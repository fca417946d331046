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
