//! `passkey-kiosk prefetch`: the proof of concept's step 1. Fetches every in-scope user's
//! creation options, writes `usersToRegister.csv` in the seed's format and keeps Graph's whole
//! options in the journal queue; prints a summary and exits non-zero if any user failed.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::sign_in::{self, sign_in_if_delegated, TerminalSignIn};
use crate::config::Config;
use crate::engine::prefetch::{
    self, describe_skipped, PrefetchReport, PrefetchRequest, Progress, QueueChanges,
};
use crate::store::Journal;

/// File name of the step-1 output, next to the config by default.
pub const DEFAULT_OUT: &str = "usersToRegister.csv";

/// `prefetch --help`: what it does, how it differs from the proof of concept, exit status.
pub const LONG_ABOUT: &str =
    "Fetch WebAuthn creation options from Microsoft Graph for every user of the \
usersInScopeGroup (the proof of concept's step 1), write usersToRegister.csv in its exact format, \
and keep Graph's whole options (excludeCredentials, extensions) in the journal's queue. \
Queued people who are no longer members of the group are removed from the journal's queue, \
except those enrolled or with an enrollment under way (their records stay).\n\n\
Non-users and guests in the group are reported and skipped. Requests run in parallel, as many \
as Graph answers without throttling, never more than maxConcurrentGraphRequests (or \
--concurrency, default 32), and honour Retry-After.\n\n\
Unlike the proof of concept, deleteExistingUserFIDOCredentials does NOT delete anything here: \
each user's existing FIDO2 method ids are recorded, and deleted only after that user's new key \
is registered, so nobody is ever left without a key.\n\n\
With \"operatorSignIn\": \"delegated\" the operator first signs in with a device code shown on \
stderr (open the address, enter the code) and Graph is called with their rights; the audit entry \
names them.\n\n\
Exit status: 0 when every user's options were fetched, 1 when some users failed (listed with \
Graph's request-id) or the operator's sign-in was declined, expired or of another tenant (nothing written), 2 when \
nothing could be done (configuration, sign-in, group).";

/// Arguments of `prefetch`.
#[derive(Debug, clap::Args)]
pub struct PrefetchArgs {
    /// The proof of concept's configs.json (plus our optional keys).
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// This station's name.
    #[command(flatten)]
    pub station: super::StationArg,
    /// Where to write the CSV [default: usersToRegister.csv next to the config].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most Graph requests in flight at once, the ceiling of the adaptive limit (overrides
    /// maxConcurrentGraphRequests; 1 = sequential).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
}

/// Runs `prefetch`.
pub fn run(args: &PrefetchArgs) -> Result<ExitCode> {
    let mut config = Config::load(&args.config).context("loading the configuration")?;
    args.station.apply(&mut config);
    super::warn_loose_files(&config);
    for key in &config.unknown_keys {
        eprintln!("warning: {}: {key}", config.path.display());
    }
    if let Some(n) = args.concurrency {
        config.max_concurrent_graph_requests = usize::from(n);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| config.dir().join(DEFAULT_OUT));
    let client = crate::tenant::connect(&config)?;
    let request = PrefetchRequest::from_config(&config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // Delegated config: the operator signs in first (code on stderr), and is the one named in
    // the audit entry. A sign-in that does not complete writes nothing.
    let operator = match sign_in_if_delegated(&client, &runtime, "prefetch")? {
        TerminalSignIn::NotNeeded => operator(),
        TerminalSignIn::SignedIn(account) => account.username,
        TerminalSignIn::Failed => return Ok(sign_in::failed_exit_code()),
        TerminalSignIn::Cancelled => return Ok(sign_in::cancelled_exit_code()),
    };

    // Opened before the Graph calls: an unwritable journal must stop us before minutes of them.
    let mut journal = Journal::open_for(&config).context("opening the journal")?;
    let bar = progress_bar();
    let result = runtime.block_on(prefetch::prefetch(&client, &request, &mut |p| match p {
        Progress::Members { users, .. } => {
            bar.set_length(users as u64);
            bar.set_position(0);
            bar.set_style(bar_style());
            bar.set_message("");
        }
        Progress::UserDone { .. } => bar.inc(1),
    }));
    bar.finish_and_clear();

    let report = match result {
        Ok(report) => report,
        Err(err) => {
            let request_id = err.request_id().map(str::to_owned);
            let err = anyhow::Error::new(err);
            let text = format!("failed: {err:#}");
            let ids: Vec<&str> = request_id.iter().map(String::as_str).collect();
            if let Err(audit) = journal.audit(
                &operator,
                "prefetch",
                Some(&group_label(&config)),
                &text,
                &ids,
            ) {
                eprintln!("error: the audit entry could not be written: {audit}");
            }
            return Err(err);
        }
    };
    let changes = report.save(&out, &mut journal)?;
    let removed = &changes.removed;
    let failures = report.failures().count();
    let mut result_text = report.audit_text();
    if !removed.is_empty() {
        result_text.push_str(&format!("; {}", prefetch::removed_text(removed)));
    }
    journal
        .audit(
            &operator,
            "prefetch",
            Some(&group_label(&config)),
            &result_text,
            &report.failure_request_ids(),
        )
        .context("writing the audit entry")?;
    print_summary(&report, &config, &out, &changes);
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn progress_bar() -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message("signing in and listing the group's members...");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{bar:40} {pos}/{len} users  {elapsed} elapsed, ~{eta} left")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Who ran the command, for the audit log (app-only; delegated: the signed-in account).
fn operator() -> String {
    let user = super::os_user().unwrap_or_else(|| "unknown".into());
    format!("cli:{user}")
}

fn group_label(config: &Config) -> String {
    prefetch::group_label(&config.group)
}

fn print_summary(report: &PrefetchReport, config: &Config, out: &Path, changes: &QueueChanges) {
    let fetched = report.fetched().count();
    let failures: Vec<_> = report.failures().collect();
    println!(
        "Group {:?} ({}), {}:",
        report.group.display_name.as_deref().unwrap_or(""),
        report.group.id,
        if report.transitive {
            "members including nested groups"
        } else {
            "direct members"
        }
    );
    println!("  users:                     {}", report.outcomes.len());
    println!("  non-users/guests skipped:  {}", report.skipped.len());
    for m in &report.skipped {
        println!("    - {}", describe_skipped(m));
    }
    println!("  creation options fetched:  {fetched}");
    if config.delete_existing_credentials {
        let (ids, users) = report.fetched().fold((0, 0), |(ids, users), f| {
            let n = f.existing_method_ids.len();
            (ids + n, users + usize::from(n > 0))
        });
        println!(
            "  existing FIDO2 methods:    {ids} on {users} users, recorded (not deleted): each is \
             deleted only after that user's new key is registered"
        );
    }
    println!("  failures:                  {}", failures.len());
    for f in &failures {
        println!("    - {f}");
    }
    if changes.kept > 0 {
        println!(
            "  left as they were:         {} (enrolled or being enrolled in the journal)",
            changes.kept
        );
    }
    println!(
        "  removed from the queue:    {} (left the group)",
        changes.removed.len()
    );
    println!(
        "Wrote {} ({fetched} rows) and the journal queue in {}.",
        out.display(),
        config.journal_url.as_ref().map_or_else(
            || config.journal_path.display().to_string(),
            ToString::to_string
        )
    );
}
