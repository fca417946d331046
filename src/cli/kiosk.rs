//! `kiosk` (the default), `demo` and `set-passcode`: build the engine set-up and run the
//! full-screen station (eframe, glow renderer). `--windowed` is for development.
//!
//! All of the station's I/O is here or in the engine: the UI (`crate::ui`) only renders state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use ctap::device::DeviceSpec;
use graph::fake::{FakeConfig, FakeTenantHandle};

use crate::config::{Config, OperatorSignIn};
use crate::engine::api::{Check, Command, Event, OperatorError, Person, PersonStatus};
use crate::engine::{Engine, EngineHandle, EngineSetup, KeySource};
use crate::station::passcode;
use crate::station::OperatorAuth;
use crate::ui::{EngineLink, KioskApp, State};

/// Arguments of `kiosk` (also what runs with no subcommand).
#[derive(Debug, Clone, clap::Args)]
pub struct KioskArgs {
    /// The configuration file.
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// Where keys are: `hid` (USB), `hid:PATH`, or `udp:HOST:PORT` (a simulator).
    #[arg(long, default_value = "hid")]
    pub device: DeviceSpec,
    /// keysRegistered.csv to append to (default: next to the config).
    #[arg(long)]
    pub keys_registered: Option<PathBuf>,
    /// A normal window with decorations instead of full screen (development).
    #[arg(long)]
    pub windowed: bool,
}

impl Default for KioskArgs {
    fn default() -> Self {
        KioskArgs {
            config: PathBuf::from("configs.json"),
            device: DeviceSpec::AllHid,
            keys_registered: None,
            windowed: false,
        }
    }
}

/// Arguments of `demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Keep the demo's files (journal, keysRegistered.csv, configs.json) in this directory
    /// instead of a temporary one that is removed on exit.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// People in the fake tenant's scope group.
    #[arg(long, default_value_t = 300)]
    pub users: usize,
    /// A normal window with decorations instead of full screen (development).
    #[arg(long)]
    pub windowed: bool,
    /// Benchmark instead of the demo: fill the queue with 100,000 people, type searches for
    /// this many frames, print frame-time percentiles and peak memory, exit.
    #[arg(long)]
    pub bench_frames: Option<usize>,
    /// Delegated operator sign-in: the fake tenant's device-code flow shows a code, approves it
    /// after a few polls, and Graph is called with the demo administrator's token.
    #[arg(long)]
    pub delegated: bool,
    /// Show one scripted screen (see `ui::scenes`) with no engine: for screenshots.
    #[arg(long, hide = true)]
    pub scene: Option<String>,
}

/// Arguments of `set-passcode`.
#[derive(Debug, Clone, clap::Args)]
pub struct SetPasscodeArgs {
    /// The configuration file; the hash is written next to it.
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
}

/// Kiosk settings the engine does not need: how operators sign in, idle lock.
#[derive(Debug, Clone, PartialEq)]
pub struct StationSettings {
    /// Sign-in mode.
    pub auth: OperatorAuth,
    /// Idle lock (None = never).
    pub idle_lock_minutes: Option<u32>,
}

/// The station settings from the validated config: `operatorSignIn`, `operatorPasscodeHash`
/// (or the passcode file `set-passcode` wrote next to the config; a weak hash is refused) and
/// `idleLockMinutes`.
pub fn station_settings(config: &Config) -> Result<StationSettings> {
    let auth = OperatorAuth::from_config(config).map_err(|e| anyhow!(e))?;
    Ok(StationSettings {
        auth,
        idle_lock_minutes: config.idle_lock_minutes,
    })
}

/// `set-passcode`: asks for the operator passcode twice and writes its argon2id hash next to
/// the config, owner-only (0600; an existing file is tightened to that too).
pub fn set_passcode(args: &SetPasscodeArgs) -> Result<ExitCode> {
    let first = zeroize::Zeroizing::new(
        rpassword::prompt_password("New operator passcode (at least 8 characters): ")
            .context("reading the passcode")?,
    );
    if first.chars().count() < 8 {
        bail!("the passcode is too short: use at least 8 characters");
    }
    let again = zeroize::Zeroizing::new(
        rpassword::prompt_password("Again: ").context("reading the passcode")?,
    );
    if *first != *again {
        bail!("the two passcodes differ; nothing was changed");
    }
    let hash = passcode::hash_passcode(&first).map_err(|e| anyhow!(e))?;
    let file = passcode::passcode_file(&args.config);
    write_private(&file, &format!("{hash}\n"))?;
    println!(
        "Operator passcode hash written to {} (or put it in configs.json as \"{}\").",
        file.display(),
        passcode::PASSCODE_KEY
    );
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    // `mode` applies only when the file is created: an existing one is tightened before the
    // secret goes in.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("making {} owner-only", path.display()))?;
    }
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// The engine behind the UI's [`EngineLink`].
struct Link(EngineHandle);

impl EngineLink for Link {
    fn send(&mut self, command: Command) {
        self.0.send(command);
    }
    fn try_recv(&mut self) -> Option<Event> {
        self.0.try_recv()
    }
}

/// Wraps a running engine for the UI (tests use this with kittest).
pub fn link(handle: EngineHandle) -> Box<dyn EngineLink> {
    Box::new(Link(handle))
}

/// The repaint callback the engine calls after every event.
pub fn waker(ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}

fn native_options(windowed: bool) -> eframe::NativeOptions {
    let viewport = egui::ViewportBuilder::default()
        .with_title("Passkey Kiosk")
        .with_inner_size([1280.0, 800.0])
        .with_min_inner_size([1024.0, 700.0])
        .with_fullscreen(!windowed)
        .with_decorations(windowed);
    eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        // Flat colours gain nothing from dithering, and software GL pays for it per pixel.
        dithering: false,
        ..Default::default()
    }
}

/// `kiosk`: the station for the tenant in the config.
pub fn run(args: &KioskArgs) -> Result<ExitCode> {
    let config = Config::load(&args.config);
    let settings = config.as_ref().ok().map(station_settings);
    let (auth, idle) = match &settings {
        Some(Ok(s)) => (s.auth.clone(), s.idle_lock_minutes),
        _ => (
            OperatorAuth::AppOnly {
                passcode_hash: None,
            },
            None,
        ),
    };
    let mut state = State::new(auth.clone(), false);
    state.idle_lock_secs = idle.map(|m| f64::from(m) * 60.0);
    // A station that cannot start still shows why, with the remedy, instead of vanishing.
    let early_failure = match (&config, &settings) {
        (Err(e), _) => Some((
            "Configuration valid",
            format!(
                "{e}. Fix the file (every key is documented in configs.example.json), or start \
                 with `passkey-kiosk kiosk --config PATH`."
            ),
        )),
        (_, Some(Err(e))) => Some(("Station settings valid", format!("{e:#}"))),
        _ => None,
    };
    if let Some((name, detail)) = early_failure {
        state.apply(Event::StartupChecks(vec![Check {
            name: name.into(),
            ok: false,
            detail,
        }]));
    }
    // Refused settings (e.g. a weak passcode hash) start no engine: the failed check and its
    // remedy stay on screen instead of being replaced by the engine's checks.
    let settings_ok = matches!(settings, Some(Ok(_)));
    let setup = match config {
        Ok(config) if settings_ok => {
            let graph = crate::tenant::connect(&config)?;
            let keys_registered = args
                .keys_registered
                .clone()
                .unwrap_or_else(|| config.dir().join("keysRegistered.csv"));
            Some((config, graph, keys_registered))
        }
        _ => None,
    };
    let device = args.device.clone();
    let delegated = auth == OperatorAuth::Delegated;
    let auth = auth.clone();
    eframe::run_native(
        "Passkey Kiosk",
        native_options(args.windowed),
        Box::new(move |cc| {
            let link = match setup {
                Some((config, graph, keys_registered)) => {
                    let setup = EngineSetup {
                        journal_path: config.journal_path.clone(),
                        config,
                        graph,
                        keys_registered,
                        operator: String::new(),
                        key_source: KeySource::Device(device),
                        wake: waker(&cc.egui_ctx),
                        operator_auth: auth,
                    };
                    Some(if delegated {
                        delegated_link(setup)?
                    } else {
                        link(Engine::start(setup)?)
                    })
                }
                None => None,
            };
            let terminate = super::signals::close_on_signals(cc.egui_ctx.clone())?;
            Ok(Box::new(
                KioskApp::new(&cc.egui_ctx, state, link).close_when(terminate),
            ))
        }),
    )
    .map_err(|e| anyhow!("the kiosk window failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// Delegated mode's runtime side: runs the device-code sign-in the UI asks for (the UI only
/// shows the code from [`Event::DeviceCode`]), starts the engine once the first operator has
/// signed in (its start-up checks need the operator's token), tells it who signed in, and drops
/// the tokens on sign-out. Everything else passes through to the engine.
struct DelegatedLink {
    graph: graph::GraphClient,
    rt: tokio::runtime::Runtime,
    tx: mpsc::Sender<(u64, SignInOutcome)>,
    rx: mpsc::Receiver<(u64, SignInOutcome)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    setup: Option<EngineSetup>,
    engine: Option<EngineHandle>,
    /// The current sign-in attempt; answers of older (cancelled) ones are dropped.
    attempt: u64,
    flow: Option<tokio::task::JoinHandle<()>>,
    ready: std::collections::VecDeque<Event>,
}

enum SignInOutcome {
    Event(Event),
    SignedIn(String),
}

/// Wraps an engine set-up whose Graph client is delegated (`Credentials::Delegated`): the engine
/// starts after the first sign-in.
pub fn delegated_link(setup: EngineSetup) -> Result<Box<dyn EngineLink>> {
    if !setup.graph.is_delegated() {
        bail!("delegated_link needs a delegated Graph client (operatorSignIn \"delegated\")");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("operator-sign-in")
        .enable_all()
        .build()
        .context("starting the sign-in runtime")?;
    let (tx, rx) = mpsc::channel();
    let mut ready = std::collections::VecDeque::new();
    // The Graph checks (sign-in, group, policy) run when the engine starts, after sign-in.
    ready.push_back(Event::StartupChecks(vec![Check {
        name: "Configuration valid".into(),
        ok: true,
        detail: "delegated operator sign-in: the Entra ID and Graph checks run once an operator \
                 has signed in"
            .into(),
    }]));
    Ok(Box::new(DelegatedLink {
        graph: setup.graph.clone(),
        wake: Arc::clone(&setup.wake),
        rt,
        tx,
        rx,
        setup: Some(setup),
        engine: None,
        attempt: 0,
        flow: None,
        ready,
    }))
}

/// A sign-in failure as the operator sees it; AADSTS code, trace and correlation ids are in
/// the message (Graph's request-id, when there is one, in its field).
pub fn sign_in_error(e: &graph::Error) -> OperatorError {
    let (code, remedy) = match e {
        graph::Error::DeviceSignIn { failure, .. } => (
            failure.code().to_owned(),
            "choose \"Sign in with Entra ID\" to get a new code".to_owned(),
        ),
        graph::Error::Auth(a) => ("sign-in".to_owned(), a.remedy().to_owned()),
        graph::Error::WrongTenant { .. } => (
            "wrong-tenant".to_owned(),
            "sign in with an account of the station's tenant (or an account invited to it)"
                .to_owned(),
        ),
        graph::Error::Http { .. } | graph::Error::Throttled { .. } => (
            "network".to_owned(),
            "check the station's network connection, then sign in again".to_owned(),
        ),
        _ => (
            "sign-in".to_owned(),
            "check the configuration (tenant, client_id, cloud), then sign in again".to_owned(),
        ),
    };
    OperatorError {
        code,
        message: e.to_string(),
        remedy,
        request_id: e.request_id().map(str::to_owned),
        retry_possible: true,
    }
}

impl DelegatedLink {
    fn stop_flow(&mut self) {
        self.attempt += 1;
        if let Some(flow) = self.flow.take() {
            flow.abort();
        }
    }

    fn start_flow(&mut self) {
        self.stop_flow();
        let attempt = self.attempt;
        let graph = self.graph.clone();
        let tx = self.tx.clone();
        let wake = Arc::clone(&self.wake);
        let send = move |o: SignInOutcome| {
            let _ = tx.send((attempt, o));
            wake();
        };
        self.flow = Some(self.rt.spawn(async move {
            let auth = match graph.start_device_sign_in().await {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "device-code sign-in could not start");
                    return send(SignInOutcome::Event(Event::SignInFailed(sign_in_error(&e))));
                }
            };
            let expires_at = auth
                .expires_at()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            send(SignInOutcome::Event(Event::DeviceCode {
                user_code: auth.user_code.clone(),
                verification_uri: auth.verification_uri.clone(),
                expires_at,
                message: auth.message.clone(),
            }));
            match graph.finish_device_sign_in(&auth).await {
                Ok(account) => send(SignInOutcome::SignedIn(account.username)),
                Err(e) => {
                    tracing::warn!(error = %e, "device-code sign-in stopped");
                    send(SignInOutcome::Event(Event::SignInFailed(sign_in_error(&e))))
                }
            }
        }));
    }

    /// The operator is in: start the engine (first time) and name them on the audit log.
    fn signed_in(&mut self, operator: String) -> Event {
        if let Some(setup) = self.setup.take() {
            match Engine::start(setup) {
                Ok(engine) => self.engine = Some(engine),
                Err(e) => self.ready.push_back(Event::StartupChecks(vec![Check {
                    name: "Station engine started".into(),
                    ok: false,
                    detail: format!("{e:#}"),
                }])),
            }
        }
        if let Some(engine) = &self.engine {
            engine.send(Command::OperatorSignedIn {
                operator: operator.clone(),
            });
        }
        Event::SignedIn { operator }
    }
}

impl EngineLink for DelegatedLink {
    fn send(&mut self, command: Command) {
        match command {
            Command::StartDelegatedSignIn => self.start_flow(),
            Command::CancelDelegatedSignIn => self.stop_flow(),
            // Signing out, and locking (which signs a delegated operator out): the engine's
            // sign-in service audits it and answers; the tokens go here.
            command @ (Command::SignOut | Command::Lock) => {
                self.stop_flow();
                let graph = self.graph.clone();
                // Tokens dropped off the UI thread (a refresh in flight holds the cache briefly).
                self.rt.spawn(async move { graph.sign_out().await });
                if let Some(engine) = &self.engine {
                    engine.send(command);
                }
            }
            other => {
                if let Some(engine) = &self.engine {
                    engine.send(other);
                }
            }
        }
    }

    fn try_recv(&mut self) -> Option<Event> {
        if let Some(e) = self.ready.pop_front() {
            return Some(e);
        }
        while let Ok((attempt, outcome)) = self.rx.try_recv() {
            if attempt != self.attempt {
                continue;
            }
            return Some(match outcome {
                SignInOutcome::Event(e) => e,
                SignInOutcome::SignedIn(operator) => {
                    self.flow = None;
                    self.signed_in(operator)
                }
            });
        }
        self.engine.as_ref().and_then(EngineHandle::try_recv)
    }
}

impl Drop for DelegatedLink {
    fn drop(&mut self) {
        self.stop_flow();
        // The engine finishes what is in flight before the sign-in runtime goes away.
        self.engine = None;
    }
}

/// A demo's world: a fake tenant on 127.0.0.1 and a directory with its config and journal.
pub struct DemoWorld {
    /// The fake Entra ID + Graph.
    pub tenant: FakeTenantHandle,
    /// The validated config pointing at it.
    pub config: Config,
    /// Where the demo's files are.
    pub dir: PathBuf,
    remove_on_drop: bool,
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl DemoWorld {
    /// Starts a fake tenant with `users` people and writes its config into `dir` (a fresh
    /// temporary directory, removed on drop, when `None`).
    pub fn start(dir: Option<&Path>, users: usize) -> Result<DemoWorld> {
        Self::start_with(dir, users, None, true)
    }

    /// [`Self::start`] without `prefetch`: the journal's queue is empty, so the engine fetches
    /// it live from the scope group when it starts (a station whose operator never ran
    /// `prefetch`).
    pub fn start_without_queue(dir: Option<&Path>, users: usize) -> Result<DemoWorld> {
        Self::start_with(dir, users, None, false)
    }

    /// [`Self::start`] with delegated operator sign-in: the config has `operatorSignIn:
    /// "delegated"` and no client secret, and the fake tenant answers the device-code polls
    /// with pending, pending, approve, `poll_interval_secs` apart. (The queue is still
    /// prefetched app-only, as an administrator would have done beforehand.)
    pub fn start_delegated(
        dir: Option<&Path>,
        users: usize,
        poll_interval_secs: u64,
    ) -> Result<DemoWorld> {
        Self::start_with(dir, users, Some(poll_interval_secs), true)
    }

    fn start_with(
        dir: Option<&Path>,
        users: usize,
        delegated_interval: Option<u64>,
        prefetch: bool,
    ) -> Result<DemoWorld> {
        let (dir, remove_on_drop) = match dir {
            Some(d) => (d.to_path_buf(), false),
            None => (
                std::env::temp_dir().join(format!(
                    "passkey-kiosk-demo-{}-{}",
                    std::process::id(),
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.subsec_nanos())
                )),
                true,
            ),
        };
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let mut fake = FakeConfig {
            users,
            ..FakeConfig::default()
        };
        if let Some(interval) = delegated_interval {
            use graph::fake::DevicePoll;
            fake.device_flow = vec![
                DevicePoll::Pending,
                DevicePoll::Pending,
                DevicePoll::Approve,
            ];
            fake.device_interval_secs = interval;
        }
        let tenant =
            graph::fake::spawn_in_thread(fake).context("starting the demo's fake tenant")?;
        let config_path = dir.join("configs.json");
        let app_only_text = super::fake_tenant::configs_json(&tenant);
        let app_only = Config::parse(&config_path, &app_only_text, None)
            .map_err(|e| anyhow!("the demo's config is invalid: {e}"))?;
        let text = match delegated_interval {
            None => app_only_text,
            Some(_) => delegated_config_text(&app_only_text)?,
        };
        write_private(&config_path, &text)?;
        let config = Config::parse(&config_path, &text, None)
            .map_err(|e| anyhow!("the demo's config is invalid: {e}"))?;
        if prefetch {
            prefetch_into_journal(&app_only, &dir)?;
        }
        Ok(DemoWorld {
            tenant,
            config,
            dir,
            remove_on_drop,
        })
    }

    /// The engine set-up for this world: software keys, journal and CSV in the directory.
    pub fn engine_setup(&self, wake: Arc<dyn Fn() + Send + Sync>) -> Result<EngineSetup> {
        Ok(EngineSetup {
            config: self.config.clone(),
            graph: crate::tenant::connect(&self.config)?,
            journal_path: self.config.journal_path.clone(),
            keys_registered: self.dir.join("keysRegistered.csv"),
            operator: String::new(),
            key_source: KeySource::Soft,
            wake,
            operator_auth: match self.config.operator_sign_in {
                OperatorSignIn::Delegated => OperatorAuth::Delegated,
                OperatorSignIn::AppOnly => OperatorAuth::Demo,
            },
        })
    }
}

/// The same config for delegated sign-in: no client secret, `operatorSignIn: "delegated"`.
fn delegated_config_text(app_only: &str) -> Result<String> {
    let mut map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(app_only).context("the demo's config")?;
    map.remove("client_secret");
    map.insert("operatorSignIn".into(), "delegated".into());
    serde_json::to_string_pretty(&map).context("the demo's config")
}

/// The demo's queue comes the way a real station's does: `prefetch` into the journal.
fn prefetch_into_journal(config: &Config, dir: &Path) -> Result<()> {
    let client = crate::tenant::connect(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the demo's prefetch runtime")?;
    let request = crate::prefetch::PrefetchRequest::from_config(config);
    let report = runtime
        .block_on(crate::prefetch::prefetch(&client, &request, &mut |_| {}))
        .context("prefetching the demo's queue")?;
    let mut journal = crate::store::Journal::open(&config.journal_path)
        .with_context(|| format!("opening {}", config.journal_path.display()))?;
    report.save(&dir.join("usersToRegister.csv"), &mut journal)?;
    Ok(())
}

/// `demo`: the station against a fake tenant with software keys.
pub fn run_demo(args: &DemoArgs) -> Result<ExitCode> {
    if let Some(frames) = args.bench_frames {
        return bench::run(frames, args.windowed);
    }
    if let Some(name) = &args.scene {
        return run_scene(name, args.windowed);
    }
    let world = if args.delegated {
        DemoWorld::start_delegated(args.dir.as_deref(), args.users, 2)?
    } else {
        DemoWorld::start(args.dir.as_deref(), args.users)?
    };
    eprintln!("demo files in {}", world.dir.display());
    let setup_world = &world;
    let delegated = args.delegated;
    let mut state = State::new(
        if delegated {
            OperatorAuth::Delegated
        } else {
            OperatorAuth::Demo
        },
        true,
    );
    if delegated {
        state.idle_lock_secs = world.config.idle_lock_minutes.map(|m| f64::from(m) * 60.0);
    }
    let result = eframe::run_native(
        "Passkey Kiosk (demo)",
        native_options(args.windowed),
        Box::new(move |cc| {
            let setup = setup_world.engine_setup(waker(&cc.egui_ctx))?;
            let link = if delegated {
                delegated_link(setup)?
            } else {
                link(Engine::start(setup)?)
            };
            let terminate = super::signals::close_on_signals(cc.egui_ctx.clone())?;
            Ok(Box::new(
                KioskApp::new(&cc.egui_ctx, state, Some(link)).close_when(terminate),
            ))
        }),
    );
    drop(world);
    result.map_err(|e| anyhow!("the kiosk window failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn run_scene(name: &str, windowed: bool) -> Result<ExitCode> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let state = crate::ui::scenes::scene(name, now).ok_or_else(|| {
        anyhow!(
            "no scene \"{name}\"; scenes: {}",
            crate::ui::scenes::SCENES.join(", ")
        )
    })?;
    eframe::run_native(
        "Passkey Kiosk",
        native_options(windowed),
        Box::new(move |cc| {
            let mut app = KioskApp::new(&cc.egui_ctx, state, None);
            app.set_now(now);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| anyhow!("the kiosk window failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// People for the benchmark and screenshots: `n` generated names.
pub fn generated_people(n: usize, now: i64) -> Vec<Person> {
    const FIRST: [&str; 12] = [
        "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Tim",
        "Margaret", "Dennis",
    ];
    const LAST: [&str; 10] = [
        "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
        "Perlman", "Hamilton",
    ];
    (0..n)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            Person {
                user_id: format!("{:08x}-0000-4000-8000-{:012x}", i, i),
                upn: format!("{}.{}{}@contoso.example", first, last, i).to_lowercase(),
                display_name: format!("{first} {last} {i}"),
                status: match i % 11 {
                    0 => PersonStatus::Enrolled,
                    1 => PersonStatus::Waiting,
                    7 => PersonStatus::Failed,
                    _ => PersonStatus::Ready,
                },
                challenge_expires_at: Some(now + 300 + (i as i64 % 5000)),
            }
        })
        .collect()
}

mod bench {
    //! `demo --bench-frames N`: frame times with 100,000 people while a search is typed.

    use super::*;

    struct BenchApp {
        inner: KioskApp,
        frames: usize,
        intervals_ms: Vec<f64>,
        ui_ms: Vec<f64>,
        last: Option<Instant>,
        typed: usize,
        cpu_ms: Vec<f64>,
        /// Repaint without typing: the renderer's floor, for comparison.
        static_frames: bool,
    }

    /// What is typed, one character per frame; `\u{8}` is Backspace, and it starts over.
    const SCRIPT: &str = "ada lovelace 4\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}grace 9\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}";

    impl eframe::App for BenchApp {
        fn raw_input_hook(&mut self, _ctx: &egui::Context, raw: &mut egui::RawInput) {
            if self.static_frames {
                return;
            }
            let c = SCRIPT.chars().nth(self.typed % SCRIPT.chars().count());
            self.typed += 1;
            match c {
                Some('\u{8}') => {
                    for pressed in [true, false] {
                        raw.events.push(egui::Event::Key {
                            key: egui::Key::Backspace,
                            physical_key: None,
                            pressed,
                            repeat: false,
                            modifiers: egui::Modifiers::NONE,
                        });
                    }
                }
                Some(c) => raw.events.push(egui::Event::Text(c.to_string())),
                None => {}
            }
        }

        fn logic(&mut self, ctx: &egui::Context, frame: &mut eframe::Frame) {
            let now = Instant::now();
            if let Some(last) = self.last {
                self.intervals_ms
                    .push(now.duration_since(last).as_secs_f64() * 1e3);
            }
            self.last = Some(now);
            if let Some(cpu) = frame.info().cpu_usage {
                self.cpu_ms.push(f64::from(cpu) * 1e3);
            }
            self.inner.logic(ctx, frame);
            ctx.request_repaint();
        }

        fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
            self.inner.clear_color(visuals)
        }

        fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
            let start = Instant::now();
            self.inner.ui(ui, frame);
            self.ui_ms.push(start.elapsed().as_secs_f64() * 1e3);
            if self.ui_ms.len() == self.frames {
                report(&mut self.intervals_ms, &mut self.ui_ms, &mut self.cpu_ms);
                self.inner.state.exit_chosen = true;
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
    }

    fn percentile(sorted: &[f64], p: f64) -> f64 {
        if sorted.is_empty() {
            return 0.0;
        }
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        sorted[i.min(sorted.len() - 1)]
    }

    fn report(intervals: &mut [f64], ui: &mut [f64], cpu: &mut [f64]) {
        // The first frames include font atlas and shader set-up: not what typing costs.
        let skip = 10.min(intervals.len());
        let intervals = &mut intervals[skip..];
        let ui_skip = skip.min(ui.len());
        let ui = &mut ui[ui_skip..];
        intervals.sort_by(f64::total_cmp);
        ui.sort_by(f64::total_cmp);
        println!("frames measured: {}", intervals.len());
        println!(
            "frame interval (ui + tessellate + paint + swap), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(intervals, 0.5),
            percentile(intervals, 0.9),
            percentile(intervals, 0.99),
            percentile(intervals, 1.0)
        );
        println!(
            "ui pass (search + layout), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(ui, 0.5),
            percentile(ui, 0.9),
            percentile(ui, 0.99),
            percentile(ui, 1.0)
        );
        let cpu_skip = skip.min(cpu.len());
        let cpu = &mut cpu[cpu_skip..];
        cpu.sort_by(f64::total_cmp);
        println!(
            "eframe frame CPU time (ui + tessellate + GL calls, no swap), ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            percentile(cpu, 0.5),
            percentile(cpu, 0.9),
            percentile(cpu, 0.99),
            percentile(cpu, 1.0)
        );
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            for line in status.lines() {
                if line.starts_with("VmHWM") || line.starts_with("VmRSS") {
                    println!("{line}");
                }
            }
        }
    }

    pub fn run(frames: usize, windowed: bool) -> Result<ExitCode> {
        let mut state = State::new(OperatorAuth::Demo, true);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        state.apply(Event::StartupChecks(vec![]));
        state.apply(Event::Queue(generated_people(100_000, now)));
        state.operator = Some("bench".into());
        let mut options = native_options(windowed);
        options.glow_options.vsync = false;
        eframe::run_native(
            "Passkey Kiosk (bench)",
            options,
            Box::new(move |cc| {
                Ok(Box::new(BenchApp {
                    inner: KioskApp::new(&cc.egui_ctx, state, None),
                    frames: frames.max(20),
                    intervals_ms: Vec::new(),
                    ui_ms: Vec::new(),
                    last: None,
                    typed: 0,
                    cpu_ms: Vec::new(),
                    static_frames: std::env::var_os("PASSKEY_KIOSK_BENCH_STATIC").is_some(),
                }))
            }),
        )
        .map_err(|e| anyhow!("the bench window failed: {e}"))?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrong_tenant_sign_in_says_which_account_to_use() {
        let e = graph::Error::WrongTenant {
            username: "ops@fabrikam.com".into(),
            signed_in: Some("22222222-2222-2222-2222-222222222222".into()),
            configured: "11111111-1111-1111-1111-111111111111".into(),
        };
        let shown = super::sign_in_error(&e);
        assert_eq!(shown.code, "wrong-tenant");
        assert!(shown
            .message
            .contains("22222222-2222-2222-2222-222222222222"));
        assert!(shown
            .message
            .contains("11111111-1111-1111-1111-111111111111"));
        assert!(shown.remedy.contains("station's tenant"));
    }
}
