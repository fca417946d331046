//! Shared set-up for the enrollment tests: a fake tenant, a config pointing at it, `prefetch`
//! run for real, and a UDP "key slot" into which a test plugs a fresh software key whenever
//! the `enroll` binary asks for one.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ctap::authenticator::Authenticator;
use ctap::handler::{CtapHandler, PresenceContext};
use ctap::hid::server::{serve_udp, ServerHandle};
use ctap::soft::{SoftAuthenticator, SoftConfig};
use graph::fake::{FakeConfig, FakeTenantHandle};
use passkey_kiosk::engine::api::Event;
use passkey_kiosk::engine::EngineHandle;

/// The key currently "inserted" at the UDP address (none: every request fails, as if empty).
#[derive(Clone, Default)]
pub struct Slot(pub Arc<Mutex<Option<SoftAuthenticator>>>);

impl Slot {
    pub fn insert(&self, key: Option<SoftAuthenticator>) {
        *self.0.lock().unwrap() = key;
    }
    fn current(&self) -> Option<SoftAuthenticator> {
        self.0.lock().unwrap().clone()
    }
}

impl CtapHandler for Slot {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        match self.current() {
            Some(k) => k.process(request, presence),
            None => vec![0x01],
        }
    }
    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        let mut key = self.current()?;
        key.handle_vendor(cmd, data)
    }
}

/// A tenant of `users` plain members: all in the scope group directly, no other groups, no
/// methods already registered.
pub fn plain_tenant(users: usize) -> FakeConfig {
    FakeConfig {
        users,
        mixed_members: false,
        extra_groups: Vec::new(),
        existing_methods_every_nth: None,
        ..FakeConfig::default()
    }
}

pub fn soft_key(serial: u32) -> SoftAuthenticator {
    SoftAuthenticator::new(SoftConfig {
        serial,
        ..SoftConfig::default()
    })
    .unwrap()
}

/// Whether `pin` is the key's PIN, checked the way its owner first uses it: changePIN
/// verifies the current PIN (a pending forced change makes token requests fail before the
/// PIN is even looked at, so they prove nothing). Changes the PIN when it opens.
pub fn pin_opens(key: &SoftAuthenticator, pin: &str) -> bool {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let mut auth = Authenticator::new(&mut ch);
    match auth.change_pin(pin, "73914682") {
        Ok(()) => true,
        Err(ctap::Error::PinInvalid { .. }) => false,
        Err(e) => panic!("unexpected: {e}"),
    }
}

pub struct Station {
    pub tenant: FakeTenantHandle,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub journal: PathBuf,
    pub out: PathBuf,
    pub slot: Slot,
    pub server: Mutex<Option<ServerHandle>>,
    pub addr: std::net::SocketAddr,
    pub device: String,
}

impl Station {
    /// A tenant with `users` members, a config (`extra` JSON members appended; the software
    /// keys allowed, as `fake-tenant` prints it) and an empty key slot on UDP.
    pub fn new(fake: FakeConfig, extra: &str) -> Station {
        Self::with_test_keys(fake, extra, true)
    }

    /// [`Station::new`] whose config says nothing of `allowTestKeys`: a production station,
    /// which refuses the software key.
    pub fn refusing_test_keys(fake: FakeConfig, extra: &str) -> Station {
        Self::with_test_keys(fake, extra, false)
    }

    fn with_test_keys(fake: FakeConfig, extra: &str, allow: bool) -> Station {
        let extra = if allow {
            format!(r#","allowTestKeys":true{extra}"#)
        } else {
            extra.to_owned()
        };
        let tenant = graph::fake::spawn_in_thread(fake).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("configs.json");
        let text = format!(
            r#"{{"tenantName":"{}","client_id":"{}","client_secret":"{}","usersInScopeGroup":"{}",
            "challengeTimeoutInMinutes":60,"loginBaseUrl":"{base}","graphBaseUrl":"{base}"{extra}}}"#,
            tenant.tenant(),
            tenant.client_id(),
            tenant.client_secret(),
            tenant.group_name(),
            base = tenant.base_url(),
        );
        std::fs::write(&config, text).unwrap();
        let slot = Slot::default();
        let server = serve_udp("127.0.0.1:0".parse().unwrap(), slot.clone()).unwrap();
        let addr = server.local_addr();
        let device = format!("udp:{addr}");
        Station {
            journal: dir.path().join("passkey-kiosk.journal.sqlite"),
            out: dir.path().join("keysRegistered.csv"),
            tenant,
            dir,
            config,
            slot,
            server: Mutex::new(Some(server)),
            addr,
            device,
        }
    }

    /// Pulls the "USB cable": the UDP address stops answering (a request in flight dies).
    pub fn unplug(&self) {
        self.server.lock().unwrap().take();
    }

    /// Serves the slot at the same address again.
    pub fn replug(&self) {
        let server = serve_udp(self.addr, self.slot.clone()).unwrap();
        *self.server.lock().unwrap() = Some(server);
    }

    pub fn kiosk(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passkey-kiosk"));
        cmd.current_dir(self.dir.path())
            .env_remove("PASSKEY_KIOSK_PIN")
            .env_remove("PASSKEY_KIOSK_NEW_PIN")
            .env_remove("PASSKEY_KIOSK_CRASH_AFTER")
            .env_remove("PASSKEY_KIOSK_CLIENT_SECRET");
        cmd
    }

    /// `prefetch` for real: the queue in the journal gets Graph's whole options.
    pub fn prefetch(&self) {
        let out = self
            .kiosk()
            .args(["prefetch", "--config"])
            .arg(&self.config)
            .arg("--out")
            .arg(self.dir.path().join("usersToRegister.csv"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
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
        self.engine_with(
            operator,
            passkey_kiosk::engine::KeySource::Device(self.device.parse().unwrap()),
        )
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
            journal_path: self.journal.clone(),
            config,
            keys_registered: self.out.clone(),
            operator: operator.into(),
            key_source: keys,
            wake: Arc::new(|| {}),
            operator_auth: auth,
        })
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

/// Whether `pin` gets a PIN token from a key with no forced change pending (leaves the PIN).
pub fn pin_token_ok(key: &SoftAuthenticator, pin: &str) -> bool {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    let mut auth = Authenticator::new(&mut ch);
    match auth.token(
        pin,
        ctap::commands::client_pin::Permissions::MAKE_CREDENTIAL,
        Some("login.microsoft.com"),
    ) {
        Ok(_) => true,
        Err(ctap::Error::PinInvalid { .. }) => false,
        Err(e) => panic!("unexpected: {e}"),
    }
}

/// Every event an engine sent, in order, while waiting for one that `want` picks.
#[derive(Default)]
pub struct Log {
    /// The events seen so far.
    pub seen: Vec<Event>,
}

impl Log {
    /// Receives events until `want` picks one (60 s at most; the panic lists what came).
    pub fn until<T>(
        &mut self,
        engine: &EngineHandle,
        what: &str,
        want: impl Fn(&Event) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let left = Duration::from_secs(60).saturating_sub(start.elapsed());
            let Some(e) = engine.recv_timeout(left) else {
                panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    self.seen
                );
            };
            let hit = want(&e);
            self.seen.push(e);
            if let Some(t) = hit {
                return t;
            }
        }
    }
}

/// Makes every audit write to the journal at `journal` fail (created and migrated first), as
/// a full disk or a read-only file would.
pub fn disable_audit(journal: &std::path::Path) {
    drop(passkey_kiosk::store::Journal::open(journal).unwrap());
    rusqlite::Connection::open(journal)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_audit BEFORE INSERT ON audit
             BEGIN SELECT RAISE(ABORT, 'audit disabled by test'); END;",
        )
        .unwrap();
}
