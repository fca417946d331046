//! `passkey-kiosk export`: keysRegistered.csv rebuilt from the journal (random PINs only where
//! the journal kept them: `keepPinsInJournal`), or the audit log as CSV.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::report::keys_registered::{KeyRow, KeysRegisteredFile};
use crate::store::{EnrollmentState, Journal, PinSource};

/// `export` options.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The configs.json (locates the journal).
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// Where to write (must not exist yet; created 0600).
    #[arg(long, default_value = "keysRegistered.export.csv")]
    pub out: PathBuf,
    /// Export the audit log instead.
    #[arg(long)]
    pub audit: bool,
}

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let config = Config::load(&args.config)?;
    super::warn_loose_files(&config);
    let journal = Journal::open(&config.journal_path)?;
    if args.out.exists() {
        bail!(
            "{} exists already: choose another --out (an export never overwrites)",
            args.out.display()
        );
    }
    let rows = if args.audit {
        export_audit(&journal, &args.out)?
    } else {
        export_keys(&journal, &args.out)?
    };
    println!("{rows} row(s) written to {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

fn export_keys(journal: &Journal, out: &std::path::Path) -> Result<usize> {
    let file = KeysRegisteredFile::new(out);
    let mut n = 0;
    let mut without_pin = 0;
    for e in journal.enrollments()? {
        if e.state != EnrollmentState::Recorded {
            continue;
        }
        let random = e.pin_source == Some(PinSource::Random);
        if random && e.pin.is_none() {
            without_pin += 1;
        }
        file.append(&KeyRow {
            upn: e.upn.clone(),
            method_id: e.method_id.clone().unwrap_or_default(),
            serial: e.serial.clone().unwrap_or_default(),
            pin: e.pin.clone().filter(|_| random),
        })
        .with_context(|| format!("writing {}", out.display()))?;
        n += 1;
    }
    if without_pin > 0 {
        eprintln!("note: {without_pin} random PIN(s) were purged from the journal once recorded (keepPinsInJournal is false): their PIN column is empty");
    }
    Ok(n)
}

fn export_audit(journal: &Journal, out: &std::path::Path) -> Result<usize> {
    let file = crate::report::open_private_append(out)
        .with_context(|| format!("creating {}", out.display()))?;
    let mut w = csv::Writer::from_writer(file);
    w.write_record([
        "at",
        "operator",
        "action",
        "subject",
        "result",
        "requestIds",
    ])?;
    let log = journal.audit_log()?;
    for a in &log {
        let at = time::OffsetDateTime::from_unix_timestamp(a.at)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| a.at.to_string());
        w.write_record([
            at.as_str(),
            &a.operator,
            &a.action,
            a.subject.as_deref().unwrap_or(""),
            &a.result,
            &a.request_ids,
        ])?;
    }
    w.flush()?;
    Ok(log.len())
}
