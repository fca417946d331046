//! A private pcscd for tests: the real PC/SC daemon with vsmartcard's virtual reader driver
//! (Debian packages `pcscd` and `vsmartcard-vpcd`), started per test and stopped on drop.
//!
//! pcsc-lite 1.9 always puts its socket at /run/pcscd/pcscd.comm, so the daemon runs in a
//! mount namespace of its own with a temporary folder over /run/pcscd; clients find it through
//! `PCSCLITE_CSOCK_NAME`, which libpcsclite honours. Two slots: "Virtual PCD 00 00" takes its
//! card on `port`, "Virtual PCD 00 01" on `port + 1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The vpcd driver as Debian installs it.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";

/// A running private pcscd.
pub struct Pcscd {
    child: Child,
    dir: tempfile::TempDir,
    /// The TCP port of the first slot's card (the second slot's is `port + 1`).
    pub port: u16,
}

/// Why the PC/SC stack cannot run here, with what to install.
pub fn missing() -> Option<String> {
    if !Path::new(VPCD_DRIVER).exists() {
        return Some(format!(
            "{VPCD_DRIVER} is missing: apt-get install vsmartcard-vpcd"
        ));
    }
    let pcscd = Command::new("pcscd").arg("--version").output();
    match pcscd {
        Ok(o) if o.status.success() => None,
        _ => Some("pcscd is missing: apt-get install pcscd".into()),
    }
}

fn free_port_pair() -> u16 {
    loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

impl Pcscd {
    /// Starts pcscd with the two vpcd slots; panics with the remedy when the stack is missing.
    pub fn start() -> Pcscd {
        if let Some(why) = missing() {
            panic!("the PC/SC tests need the real stack: {why}");
        }
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("reader.conf.d");
        let run = socket_dir();
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        let _ = std::fs::remove_file(run.join("pcscd.comm"));
        let port = free_port_pair();
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME /dev/null:{port}\nLIBPATH {VPCD_DRIVER}\nCHANNELID {port}\n"
            ),
        )
        .unwrap();
        let script = format!(
            "mount --bind {run} /run/pcscd 2>/dev/null || {{ mkdir -p /run/pcscd && mount --bind {run} /run/pcscd; }} && exec pcscd --foreground --config {conf}",
            run = run.display(),
            conf = conf.display()
        );
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("unshare (util-linux) runs pcscd in a mount namespace of its own");
        let mut pcscd = Pcscd { child, dir, port };
        pcscd.wait_ready();
        pcscd
    }

    /// The socket clients must be pointed at (`PCSCLITE_CSOCK_NAME`).
    pub fn socket(&self) -> PathBuf {
        socket_dir().join("pcscd.comm")
    }

    /// `HOST:PORT` of slot `n`'s virtual card connection.
    pub fn card_addr(&self, slot: u16) -> String {
        format!("127.0.0.1:{}", self.port + slot)
    }

    /// Points this process's PC/SC clients at the daemon. Tests of one binary share the
    /// variable, so a binary runs one daemon at a time (see [`lock`]).
    pub fn export_socket(&self) {
        export_socket();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("pcscd exited at start ({status}): {err}");
            }
            // The socket appears once the drivers are loaded and their ports listen.
            if self.socket().exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("pcscd did not come up within 10 s");
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        // SIGTERM lets pcscd shut its drivers down; then make sure it is gone.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The next daemon of this process must not be mistaken for ready by a stale socket.
        let _ = std::fs::remove_file(self.socket());
    }
}

/// Points this process's PC/SC clients at where this binary's daemons put their socket, also
/// before one runs (libpcsclite keeps the first path it reads).
pub fn export_socket() {
    std::env::set_var("PCSCLITE_CSOCK_NAME", socket_dir().join("pcscd.comm"));
}

/// libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process, so every daemon a test binary
/// starts puts its socket in the same folder.
fn socket_dir() -> PathBuf {
    std::env::temp_dir().join(format!("passkey-kiosk-pcscd-{}", std::process::id()))
}

/// Serialises the tests of one binary that use a daemon (the socket variable is per process).
pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until PC/SC sees a card on `reader` (or none, when `present` is false).
pub fn wait_for_card(reader: &str, present: bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = ctap::nfc::pcsc::readers()
            .unwrap()
            .iter()
            .any(|r| r.name == reader && r.card.is_some());
        if seen == present {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{reader}: card present should be {present}; readers: {:?}",
            ctap::nfc::pcsc::readers().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
