//! `kiosk` (the default) and `set-passcode`: build the engine set-up and run the full-screen
//! station (eframe, glow renderer). `--windowed` is for development. The demo (`demo`) lives
//! in `crate::demo`; only its entry points are re-exported here.
//!
//! All of the station's I/O is here or in the engine: the UI (`crate::ui`) only renders state.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{mpsc, Arc};

use anyhow::{anyhow, bail, Context, Result};
use ctap::device::DeviceSpec;

use crate::config::Config;
use crate::engine::api::{Check, CheckKind, Command, Event, OperatorError, Remedy};
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

/// The demo's entry points (`demo`, and its world for the tests); its code is in `crate::demo`.
#[cfg(feature = "demo")]
pub use crate::demo::{generated_people, run_demo, DemoArgs, DemoWorld};

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

pub(crate) fn write_private(path: &Path, text: &str) -> Result<()> {
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

pub(crate) fn native_options(windowed: bool) -> eframe::NativeOptions {
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
            CheckKind::Configuration,
            format!(
                "{e}. Fix the file (every key is documented in configs.example.json), or start \
                 with `passkey-kiosk kiosk --config PATH`."
            ),
        )),
        (_, Some(Err(e))) => Some((CheckKind::StationSettings, format!("{e:#}"))),
        _ => None,
    };
    if let Some((kind, detail)) = early_failure {
        state.apply(Event::StartupChecks(vec![Check {
            kind,
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
                        config: config.for_kiosk(),
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
        kind: CheckKind::Configuration,
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
            Remedy::Text("choose \"Sign in with Entra ID\" to get a new code".into()),
        ),
        graph::Error::Auth(a) => ("sign-in".to_owned(), Remedy::Administrator(a.remedy())),
        graph::Error::WrongTenant { .. } => (
            "wrong-tenant".to_owned(),
            Remedy::Text(
                "sign in with an account of the station's tenant (or an account invited to it)"
                    .into(),
            ),
        ),
        graph::Error::Http { .. } | graph::Error::Throttled { .. } => (
            "network".to_owned(),
            Remedy::Text("check the station's network connection, then sign in again".into()),
        ),
        _ => ("sign-in".to_owned(), Remedy::CheckConfiguration),
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
                    kind: CheckKind::EngineStarted,
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
        assert!(shown.remedy.ui().contains("station's tenant"));
    }
}
