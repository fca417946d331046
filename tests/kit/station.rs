//! A station for the enrollment tests: a fake tenant, a config pointing at it, `prefetch`
//! run for real, a journal and keysRegistered.csv in a directory of its own, and a key slot
//! into which a test plugs a fresh software key whenever `enroll` or the engine asks for one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::sync::Arc;

use ctap::soft::SoftAuthenticator;
use graph::fake::{FakeConfig, FakeTenantHandle};
use passkey_kiosk::store::{EnrollmentState, Journal, QueuedUser};
use serde_json::json;

use super::bin;
use super::config::{edit_config, members, write_config};
use super::keys::soft_key;
use super::slot::Slot;

pub struct Station {
    pub tenant: FakeTenantHandle,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub journal: PathBuf,
    pub out: PathBuf,
    pub slot: Slot,
    pub addr: SocketAddr,
    pub device: String,
}

impl Station {
    /// A tenant with `users` members, a config (named by the tenant's id; `extra`: JSON members
    /// such as `,"useRandomPIN":true` set over it; the software keys allowed, as `fake-tenant` prints it) and an empty key slot on UDP.
    pub fn new(fake: FakeConfig, extra: &str) -> Station {
        Self::with_test_keys(fake, extra, true)
    }

    /// [`Station::new`] whose config says nothing of `allowTestKeys`: a production station,
    /// which refuses the software key.
    pub fn refusing_test_keys(fake: FakeConfig, extra: &str) -> Station {
        Self::with_test_keys(fake, extra, false)
    }

    fn with_test_keys(fake: FakeConfig, extra: &str, allow: bool) -> Station {
        let tenant = graph::fake::spawn_in_thread(fake).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let named = json!({"tenantName": tenant.tenant()});
        let config = write_config(dir.path(), &tenant, named);
        if allow {
            edit_config(&config, json!({"allowTestKeys": true}));
        }
        edit_config(&config, members(extra));
        let slot = Slot::new();
        let addr = slot.addr();
        let device = slot.device();
        Station {
            journal: dir.path().join("passkey-kiosk.journal.sqlite"),
            out: dir.path().join("keysRegistered.csv"),
            tenant,
            dir,
            config,
            slot,
            addr,
            device,
        }
    }

    /// Puts a fresh software key with this serial number in the slot (in place of any other).
    pub fn insert_key(&self, serial: u32) -> SoftAuthenticator {
        let key = soft_key(serial);
        self.slot.insert(Some(key.clone()));
        key
    }

    /// Pulls the "USB cable": the UDP address stops answering (a request in flight dies).
    pub fn unplug(&self) {
        self.slot.unplug();
    }

    /// Serves the slot at the same address again.
    pub fn replug(&self) {
        self.slot.replug();
    }

    pub fn kiosk(&self) -> Command {
        let mut cmd = bin::kiosk();
        cmd.current_dir(self.dir.path());
        cmd
    }

    /// `prefetch` for real: the queue in the journal gets Graph's whole options.
    pub fn prefetch(&self) {
        let csv = self.dir.path().join("usersToRegister.csv");
        bin::succeeded(&self.run("prefetch", &["--out", csv.to_str().unwrap()]));
    }

    /// The journal's queue.
    pub fn queue(&self) -> Vec<QueuedUser> {
        Journal::open(&self.journal).unwrap().queue().unwrap()
    }

    /// The states of `user_id`'s enrollments, oldest first.
    pub fn states(&self, user_id: &str) -> Vec<EnrollmentState> {
        Journal::open(&self.journal)
            .unwrap()
            .enrollments_of(user_id)
            .unwrap()
            .iter()
            .map(|e| e.state)
            .collect()
    }

    /// Sets `fields` in the station's config (a `null` field removes the key).
    pub fn set_config(&self, fields: serde_json::Value) {
        edit_config(&self.config, fields);
    }

    /// `passkey-kiosk COMMAND --config CONFIG ARGS`, run to the end.
    pub fn run(&self, command: &str, args: &[&str]) -> Output {
        self.kiosk()
            .arg(command)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap()
    }

    /// `enroll --user UPN` that the test hook aborts at crash point `point`: its output.
    pub fn enroll_crashing(&self, upn: &str, point: &str) -> String {
        let (status, out) = self.enroll(
            &["--user", upn],
            &[("PASSKEY_KIOSK_CRASH_AFTER", point)],
            |_| {},
        );
        assert!(!status.success() && out.contains("aborting now"), "{out}");
        out
    }

    /// Runs `enroll` with `args`; `on_line` sees every stdout line as it comes (to plug keys
    /// in when asked). Returns the exit status and all output.
    pub fn enroll(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        mut on_line: impl FnMut(&str),
    ) -> (ExitStatus, String) {
        self.enroll_until(args, env, |l| {
            on_line(l);
            true
        })
    }

    /// [`Station::enroll`], but the run is killed as soon as `on_line` returns false.
    pub fn enroll_until(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        mut on_line: impl FnMut(&str) -> bool,
    ) -> (ExitStatus, String) {
        let mut cmd = self.kiosk();
        cmd.arg("enroll")
            .arg("--config")
            .arg(&self.config)
            .arg("--out")
            .arg(&self.out)
            .args(["--device", &self.device])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err_thread = std::thread::spawn(move || {
            let mut s = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                s.push_str(&line);
                s.push('\n');
            }
            s
        });
        let mut all = String::new();
        for line in BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map_while(Result::ok)
        {
            all.push_str(&line);
            all.push('\n');
            if !on_line(&line) {
                let _ = child.kill();
                break;
            }
        }
        let status = child.wait().unwrap();
        all.push_str(&err_thread.join().unwrap());
        (status, all)
    }

    /// The engine itself (as the kiosk drives it) on this station's config, journal and key slot.
    pub fn engine(&self, operator: &str) -> passkey_kiosk::engine::EngineHandle {
        self.engine_with(operator, self.keys())
    }

    /// The station's keys: its `device` (the slot's UDP address unless a test points it
    /// elsewhere, e.g. at a PC/SC reader).
    pub fn keys(&self) -> passkey_kiosk::engine::KeySource {
        passkey_kiosk::engine::KeySource::Device(self.device.parse().unwrap())
    }

    /// [`Station::engine`] with keys from `keys` (`KeySource::Soft`: the demo's).
    pub fn engine_with(
        &self,
        operator: &str,
        keys: passkey_kiosk::engine::KeySource,
    ) -> passkey_kiosk::engine::EngineHandle {
        self.engine_signing_in(
            operator,
            keys,
            passkey_kiosk::station::OperatorAuth::Headless,
        )
    }

    /// [`Station::engine_with`] where operators sign in at the station as `auth` says.
    pub fn engine_signing_in(
        &self,
        operator: &str,
        keys: passkey_kiosk::engine::KeySource,
        auth: passkey_kiosk::station::OperatorAuth,
    ) -> passkey_kiosk::engine::EngineHandle {
        let config = passkey_kiosk::config::Config::load(&self.config).unwrap();
        passkey_kiosk::engine::Engine::start(passkey_kiosk::engine::EngineSetup {
            graph: passkey_kiosk::tenant::connect(&config).unwrap(),
            journal: passkey_kiosk::store::JournalLocation::from_config(&config).unwrap(),
            config,
            keys_registered: self.out.clone(),
            operator: operator.into(),
            key_source: keys,
            wake: Arc::new(|| {}),
            operator_auth: auth,
        })
        .unwrap()
    }

    /// `enroll` as another station of this station's shared journal, named `name`, with keys
    /// from `slot` and its records in `NAME.csv` beside the config: stdout piped (the caller
    /// plugs keys in when asked), stdin and stderr closed.
    pub fn spawn_enroll_as(
        &self,
        name: &str,
        slot: &Slot,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Child {
        self.kiosk()
            .args(["enroll", "--config"])
            .arg(&self.config)
            .arg("--out")
            .arg(self.dir.path().join(format!("{name}.csv")))
            .args(["--device", &slot.device(), "--station", name])
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// keysRegistered.csv rows (after the header).
    pub fn csv_rows(&self) -> Vec<Vec<String>> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        let mut lines = text.lines();
        if let Some(h) = lines.next() {
            assert_eq!(h, "#upn,entraIDAuthMethodObjectId,serialNumber,PIN");
        }
        lines
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect()
    }
}
