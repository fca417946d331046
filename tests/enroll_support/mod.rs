//! Shared set-up for the enrollment tests: a fake tenant, a config pointing at it, `prefetch`
//! run for real, and a UDP "key slot" into which a test plugs a fresh software key whenever
//! the `enroll` binary asks for one.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
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

/// A USB port for software keys, at a UDP address the engine polls as it polls a real port.
/// A key put in is served there; taking it out, or swapping it for another, stops that
/// server, as pulling a USB key ends its device: whatever channel was open to the last key
/// is gone, and the next key is a new device.
#[derive(Clone)]
pub struct Slot(Arc<SlotInner>);

struct SlotInner {
    addr: SocketAddr,
    held: Held,
    server: Mutex<Option<ServerHandle>>,
}

/// A request that reached the key in the slot (CTAPHID PING and INIT never reach it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A CTAP2 command (authenticatorGetInfo is 0x04, authenticatorClientPIN 0x06).
    Cbor(u8),
    /// A CTAPHID vendor command (0x42: the YubiKey "read config" that holds the serial).
    Vendor(u8),
}

/// What the server hands requests to: the key in the slot, noting each request.
#[derive(Clone, Default)]
struct Held {
    key: Arc<Mutex<Option<SoftAuthenticator>>>,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl CtapHandler for Held {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        if let Some(&command) = request.first() {
            self.requests.lock().unwrap().push(Request::Cbor(command));
        }
        let key = self.key.lock().unwrap().clone();
        match key {
            Some(k) => k.process(request, presence),
            None => vec![0x01],
        }
    }
    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        self.requests.lock().unwrap().push(Request::Vendor(cmd));
        let mut key = self.key.lock().unwrap().clone()?;
        key.handle_vendor(cmd, data)
    }
}

impl Default for Slot {
    fn default() -> Self {
        Self::new()
    }
}

impl Slot {
    /// An empty slot at a free local address: nothing answers there yet.
    pub fn new() -> Slot {
        let held = Held::default();
        let addr = serve_udp("127.0.0.1:0".parse().unwrap(), held.clone())
            .unwrap()
            .local_addr();
        Slot(Arc::new(SlotInner {
            addr,
            held,
            server: Mutex::new(None),
        }))
    }

    /// Where it is.
    pub fn addr(&self) -> SocketAddr {
        self.0.addr
    }

    /// Its device spec, as `--device` takes it.
    pub fn device(&self) -> String {
        format!("udp:{}", self.0.addr)
    }

    /// Puts `key` in, in place of any other (`None`: takes the key out).
    pub fn insert(&self, key: Option<SoftAuthenticator>) {
        let plugged = key.is_some();
        *self.0.held.key.lock().unwrap() = key;
        self.unplug();
        if plugged {
            self.replug();
        }
    }

    /// Pulls the "USB cable": the address stops answering (a request in flight dies); the
    /// key stays in the slot for [`Slot::replug`].
    pub fn unplug(&self) {
        self.0.server.lock().unwrap().take();
    }

    /// Plugs the key in the slot in again: a new device at the same address.
    pub fn replug(&self) {
        let mut server = self.0.server.lock().unwrap();
        server.take();
        *server = Some(serve_udp(self.0.addr, self.0.held.clone()).unwrap());
    }

    /// Every request that reached a key in this slot so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.0.held.requests.lock().unwrap().clone()
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
    pub addr: SocketAddr,
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

    /// Pulls the "USB cable": the UDP address stops answering (a request in flight dies).
    pub fn unplug(&self) {
        self.slot.unplug();
    }

    /// Serves the slot at the same address again.
    pub fn replug(&self) {
        self.slot.replug();
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
