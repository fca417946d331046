//! `kiosk` (the default): build the engine set-up and run the full-screen station (eframe, glow
//! renderer). `--windowed` is for development. The window's link to the engine is in `link`,
//! delegated sign-in in front of the engine in `delegated`; the demo (`demo`) lives in
//! `crate::demo`, only its entry points are re-exported here.
//!
//! All of the station's I/O is here or in the engine: the UI (`crate::ui`) only renders state.

mod delegated;
mod link;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};
use ctap::device::DeviceSpec;

use crate::config::Config;
use crate::engine::api::{Check, CheckKind, Event};
use crate::engine::{Engine, EngineSetup, KeySource};
use crate::station::OperatorAuth;
use crate::ui::{KioskApp, State};

pub use delegated::{delegated_link, sign_in_error};
pub(crate) use link::native_options;
pub use link::{link, waker};

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
    /// This station's name.
    #[command(flatten)]
    pub station: super::StationArg,
}

impl Default for KioskArgs {
    fn default() -> Self {
        KioskArgs {
            config: PathBuf::from("configs.json"),
            device: DeviceSpec::AllHid,
            keys_registered: None,
            windowed: false,
            station: super::StationArg::default(),
        }
    }
}

/// The demo's entry points (`demo`, and its world for the tests); its code is in `crate::demo`.
#[cfg(feature = "demo")]
pub use crate::demo::{generated_people, run_demo, DemoArgs, DemoWorld};

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

/// `kiosk`: the station for the tenant in the config.
pub fn run(args: &KioskArgs) -> Result<ExitCode> {
    let config = Config::load(&args.config).map(|mut c| {
        args.station.apply(&mut c);
        c
    });
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
    state.language = config.as_ref().map(|c| c.language).unwrap_or_default();
    state.takes_cards = KeySource::Device(args.device.clone()).takes_cards();
    state.print_letters = config
        .as_ref()
        .is_ok_and(|c| c.pin_delivery == Some(crate::config::PinDelivery::Letter));
    // A station that cannot start still shows why, with the remedy, instead of vanishing.
    let early_failure = match (&config, &settings) {
        (Err(e), _) => Some((
            CheckKind::Configuration,
            format!(
                "{e}. An administrator fixes the file (every key is documented in \
                 configs.example.json) and restarts the station."
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
            let journal = crate::store::JournalLocation::from_config(&config)?;
            Some((config, graph, keys_registered, journal))
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
                Some((config, graph, keys_registered, journal)) => {
                    let setup = EngineSetup {
                        journal,
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
