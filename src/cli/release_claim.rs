//! `passkey-kiosk release-claim`: when a station of a shared journal is out of service for
//! good (broken, stolen, removed), another station takes over its claim of a person, so the
//! person can be enrolled again. A station that only died keeps its claims and settles them
//! itself on restart; this is the explicit, confirmed and audited exception.
//!
//! The held enrollment becomes this station's and is settled at once as a restart settles
//! its own (registered or looked up in Graph, recorded, or failed with its PIN kept); a
//! reservation without an enrollment is simply given back.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::sign_in::{self, sign_in_if_delegated, TerminalSignIn};
use crate::config::Config;
use crate::engine::{Engine, EngineSetup, KeySource};
use crate::store::{Journal, JournalLocation};

/// `release-claim` options.
#[derive(Debug, clap::Args)]
pub struct ReleaseClaimArgs {
    /// The configs.json to use (its journalUrl names the shared journal).
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// The person whose claim is released (UPN or object id).
    #[arg(long)]
    pub user: String,
    /// The station out of service that holds them (as `export --audit` and the kiosk name it).
    #[arg(long)]
    pub from: String,
    /// Why (kept in the audit log), e.g. "desk-3 broken, replaced".
    #[arg(long)]
    pub reason: String,
    /// Confirm without the prompt (scripts); otherwise the person's UPN is typed to confirm.
    #[arg(long)]
    pub yes: bool,
    /// keysRegistered.csv to append to when the taken-over enrollment is recorded here.
    #[arg(long, default_value = "keysRegistered.csv")]
    pub out: PathBuf,
    /// Operator name for the audit log (default: operatorName in the config, else the OS user).
    #[arg(long)]
    pub operator: Option<String>,
    /// This station's name.
    #[command(flatten)]
    pub station: super::StationArg,
}

/// Runs `release-claim`.
pub fn run(args: &ReleaseClaimArgs) -> Result<ExitCode> {
    let mut config = Config::load(&args.config)?;
    args.station.apply(&mut config);
    if args.reason.trim().is_empty() {
        bail!("--reason is empty: say why the claim is released (it is kept in the audit log)");
    }
    let location = JournalLocation::from_config(&config)?;
    if !location.is_shared() {
        bail!(
            "{} is this station's own journal: claims exist only in a shared journal (journalUrl)",
            location
        );
    }
    let mut journal = Journal::open_at(&location)?;
    if !args.yes {
        confirm(args, journal.station())?;
    }
    let operator = super::cli_operator(args.operator.as_deref(), &config);
    let taken = journal.take_over_claim(&args.user, &args.from, &operator, args.reason.trim())?;
    drop(journal);
    let Some((id, state)) = taken.enrollment else {
        println!(
            "released: station {}'s reservation of {} (nothing had been written to a key); they can be enrolled at any station",
            args.from, taken.upn
        );
        return Ok(ExitCode::SUCCESS);
    };
    println!(
        "taken over: enrollment {id} of {} ({}) from station {}; settling it here",
        taken.upn,
        state.as_str(),
        args.from
    );
    settle(args, config, location, operator)
}

/// The operator types the person's UPN (or object id) again: a claim is never released by a
/// slip of the keyboard.
fn confirm(args: &ReleaseClaimArgs, here: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("release-claim asks for confirmation on a terminal: run it there, or pass --yes");
    }
    let mut err = std::io::stderr();
    writeln!(
        err,
        "Station {here} is about to take over station {}'s claim of {}.\n\
         Do this only when {} is out of service for good: a station that restarts settles its own claims.\n\
         Type {} to confirm:",
        args.from, args.user, args.from, args.user
    )?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the confirmation")?;
    if line.trim() != args.user {
        bail!("not confirmed: nothing was released");
    }
    Ok(())
}

/// Settles the taken-over enrollment as this station's start-up recovery does: the engine
/// starts, finishes what it can, reports, and stops.
fn settle(
    args: &ReleaseClaimArgs,
    config: Config,
    location: JournalLocation,
    operator: String,
) -> Result<ExitCode> {
    let graph = crate::tenant::connect(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("operator-sign-in")
        .enable_all()
        .build()
        .context("starting the sign-in runtime")?;
    let operator = match sign_in_if_delegated(&graph, &runtime, "release-claim")? {
        TerminalSignIn::NotNeeded => operator,
        TerminalSignIn::SignedIn(account) => account.username,
        TerminalSignIn::Failed => return Ok(sign_in::failed_exit_code()),
        TerminalSignIn::Cancelled => return Ok(sign_in::cancelled_exit_code()),
    };
    let pins_in_csv = config.pins_in_csv();
    let engine = Engine::start(EngineSetup {
        config,
        graph,
        journal: location,
        keys_registered: args.out.clone(),
        operator,
        // No key is used: settling needs none (what needs the key is left to the operator).
        key_source: KeySource::Device(ctap::device::DeviceSpec::AllHid),
        wake: std::sync::Arc::new(|| {}),
        operator_auth: crate::station::OperatorAuth::Headless,
    })?;
    let (failures, _) = super::enroll::start_up(&engine, pins_in_csv)?;
    drop(engine);
    for f in &failures {
        println!("  failed: {f}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
