//! `passkey-kiosk doctor`: is this station set up right? One line per check with its remedy,
//! exit 1 if any failed. The machine's checks are the kiosk's start-up checks (one
//! implementation, `station::host_checks`), and so are the Graph checks (`policy_check`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::DeviceArg;
use crate::config::Config;
use crate::engine::api::{Check, CheckKind};

/// More apart than this, challenges and tokens go wrong.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Arguments of `doctor`.
#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// The configuration file.
    #[arg(long, default_value = "configs.json")]
    config: PathBuf,
    #[command(flatten)]
    device: DeviceArg,
}

/// Runs every check and prints them.
pub fn run(args: &DoctorArgs) -> Result<ExitCode> {
    let checks = checks(args)?;
    for c in &checks {
        println!(
            "{} {}: {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name(),
            c.detail
        );
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        println!("All {} checks passed.", checks.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{failed} of {} checks failed.", checks.len());
        Ok(ExitCode::from(1))
    }
}

fn checks(args: &DoctorArgs) -> Result<Vec<Check>> {
    let config = match Config::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            return Ok(vec![Check {
                kind: CheckKind::Configuration,
                ok: false,
                detail: format!("{e} (every key is documented in configs.example.json)"),
            }])
        }
    };
    let mut checks = vec![Check {
        kind: CheckKind::Configuration,
        ok: true,
        detail: args.config.display().to_string(),
    }];
    checks.extend(crate::station::host_checks::run(
        &config,
        Some(&args.device.device),
    ));
    checks.push(journal(&config));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let graph = crate::tenant::connect(&config)?;
    checks.push(clock(rt.block_on(graph.server_time())));
    checks.extend(crate::engine::policy_check::run_with(&graph, rt.handle(), &config.tenant).0);
    Ok(checks)
}

/// The journal opens as the station would open it: the SQLite file, or the shared database
/// (connection with verified TLS, schema version, the journal key for sealed PINs).
fn journal(config: &Config) -> Check {
    let opened = crate::store::JournalLocation::from_config(config)
        .and_then(|location| crate::store::Journal::open_at(&location).map(|_| location));
    let (ok, detail) = match opened {
        Ok(location) => (
            true,
            format!("{location} (station \"{}\")", location.station),
        ),
        Err(e) => (false, e.to_string()),
    };
    Check {
        kind: CheckKind::Journal,
        ok,
        detail,
    }
}

/// The station's clock against Graph's `Date` (which also shows Graph is reachable over
/// verified TLS, through `HTTPS_PROXY` when set).
fn clock(server: graph::Result<Option<SystemTime>>) -> Check {
    let (ok, detail) = match server {
        Err(e) => (false, format!("Microsoft Graph is not reachable: {e}")),
        Ok(None) => (true, "Graph answered without a date; not compared".into()),
        Ok(Some(theirs)) => {
            let ours = SystemTime::now();
            let skew = ours
                .duration_since(theirs)
                .or_else(|_| theirs.duration_since(ours))
                .unwrap_or_default();
            if skew <= MAX_CLOCK_SKEW {
                (
                    true,
                    format!("within {} s of Microsoft Graph", skew.as_secs()),
                )
            } else {
                (
                    false,
                    format!(
                        "{} s off Microsoft Graph's clock: an administrator turns on time \
                         synchronisation (systemd-timesyncd or chrony); challenges and tokens \
                         expire by the clock",
                        skew.as_secs()
                    ),
                )
            }
        }
    };
    Check {
        kind: CheckKind::Clock,
        ok,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clock_minutes_off_fails_with_the_remedy() {
        let off = clock(Ok(Some(SystemTime::now() - Duration::from_secs(300))));
        assert!(!off.ok);
        assert!(off.detail.contains("time synchronisation"), "{off:?}");
        assert!(clock(Ok(Some(SystemTime::now()))).ok);
    }
}
