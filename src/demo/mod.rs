//! Everything only the demo needs, behind one boundary (the default-on `demo` cargo feature):
//! `passkey-kiosk demo` (the station against a fake tenant with software keys), its world
//! ([`DemoWorld`]), generated people, the screenshot scenes and the frame bench. A station
//! built without the feature (`--no-default-features`) has none of it.

mod bench;
mod people;
pub mod scenes;
mod world;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Result};

use crate::cli::kiosk::{delegated_link, link, native_options, waker};
use crate::engine::Engine;
use crate::i18n::Language;
use crate::ui::operator::OperatorAuth;
use crate::ui::{KioskApp, State};

pub use people::generated_people;
pub use world::DemoWorld;

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
    /// Software cards too ("Tap a card"), on vsmartcard's virtual reader taking its card at
    /// HOST:PORT (Debian's vsmartcard-vpcd with pcscd: 127.0.0.1:35963); the station sees
    /// them through pcscd like any card.
    #[arg(long, value_name = "HOST:PORT")]
    pub vpcd: Option<String>,
    /// Show one scripted screen (see `demo::scenes`) with no engine: for screenshots.
    #[arg(long, hide = true)]
    pub scene: Option<String>,
    /// The station's language, as `language` in the config: en (English) or de (Deutsch).
    #[arg(long, default_value = "en", value_parser = parse_language)]
    pub language: Language,
}

fn parse_language(code: &str) -> Result<Language, String> {
    Language::from_code(code).ok_or_else(|| format!("one of {}", Language::supported()))
}

/// `demo`: the station against a fake tenant with software keys.
pub fn run_demo(args: &DemoArgs) -> Result<ExitCode> {
    if let Some(frames) = args.bench_frames {
        return bench::run(frames, args.windowed);
    }
    if let Some(name) = &args.scene {
        return run_scene(name, args.windowed, args.language);
    }
    let mut world = if args.delegated {
        DemoWorld::start_delegated(args.dir.as_deref(), args.users, 2)?
    } else {
        DemoWorld::start(args.dir.as_deref(), args.users)?
    };
    world.card_reader.clone_from(&args.vpcd);
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
    state.takes_cards = world.key_source().takes_cards();
    state.language = args.language;
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
            let terminate = crate::cli::signals::close_on_signals(cc.egui_ctx.clone())?;
            Ok(Box::new(
                KioskApp::new(&cc.egui_ctx, state, Some(link)).close_when(terminate),
            ))
        }),
    );
    drop(world);
    result.map_err(|e| anyhow!("the kiosk window failed: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn run_scene(name: &str, windowed: bool, language: Language) -> Result<ExitCode> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let state = scenes::scene_in(name, now, language)
        .ok_or_else(|| anyhow!("no scene \"{name}\"; scenes: {}", scenes::SCENES.join(", ")))?;
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
