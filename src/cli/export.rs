//! `passkey-kiosk export`: keysRegistered.csv rebuilt from the journal (random PINs only where
//! the journal kept them: `keepPinsInJournal`), or the audit log as CSV, or (`--audit
//! --verify`) a check of the audit log's hash chain. From a shared journal, every station's
//! rows and entries (sealed PINs opened with the journal key).
//!
//! An export creates its file (0600) and never appends to or overwrites one that exists,
//! unless `--force`. Every export is itself audited (`export`, noting whether PINs were in it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::config::Config;
use crate::report::keys_registered::{KeyRow, KeysRegisteredFile, HEADER};
use crate::store::{EnrollmentState, Journal, PinSource};

/// `export` options.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The configs.json (locates the journal).
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// Where to write (must not exist yet unless --force; created 0600).
    #[arg(long, default_value = "keysRegistered.export.csv")]
    pub out: PathBuf,
    /// Export the audit log instead.
    #[arg(long)]
    pub audit: bool,
    /// With --audit: check the audit log's hash chain instead of writing a file; exit 1 at
    /// the first entry that does not match.
    #[arg(long, requires = "audit")]
    pub verify: bool,
    /// Replace --out when it exists.
    #[arg(long)]
    pub force: bool,
    /// Operator name for the audit log (default: operatorName in the config, else the OS user).
    #[arg(long)]
    pub operator: Option<String>,
    /// This station's name.
    #[command(flatten)]
    pub station: super::StationArg,
}

/// Runs `export`.
pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let mut config = Config::load(&args.config)?;
    args.station.apply(&mut config);
    super::warn_loose_files(&config);
    let journal = Journal::open_for(&config)?;
    if args.verify {
        return verify(&journal);
    }
    let file = create(&args.out, args.force)?;
    let written = if args.audit {
        export_audit(&journal, file)
    } else {
        export_keys(&journal, file, &args.out)
    }
    .with_context(|| format!("writing {}", args.out.display()));
    let operator = super::cli_operator(args.operator.as_deref(), &config);
    let subject = args.out.display().to_string();
    let result = match &written {
        Ok(w) => w.audit_text(),
        Err(e) => format!("failed: {e:#}"),
    };
    let audited = journal
        .audit(&operator, "export", Some(&subject), &result, &[])
        .with_context(|| {
            format!(
                "{subject} was written, but the audit entry of this export could not be: check the journal's disk space and permissions"
            )
        });
    let written = written?;
    audited?;
    if written.purged_pins > 0 {
        eprintln!(
            "note: {} random PIN(s) were purged from the journal once recorded (keepPinsInJournal is false): their PIN column is empty",
            written.purged_pins
        );
    }
    println!("{} row(s) written to {subject}", written.rows);
    Ok(ExitCode::SUCCESS)
}

/// `--audit --verify`: how many entries match, or the first that does not (exit 1).
fn verify(journal: &Journal) -> Result<ExitCode> {
    match journal.verify_audit()? {
        Ok((n, last)) => {
            println!(
                "audit log verified: {n} entries, each chained to the one before (newest hash {})",
                last.as_deref().unwrap_or("-")
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            eprintln!(
                "audit log NOT intact: {broken}. Entries from there on cannot be trusted; keep a copy of {} for investigation",
                journal.location()
            );
            Ok(ExitCode::from(1))
        }
    }
}

/// Creates `out` owner-only; an existing file is refused unless `force` (then truncated).
fn create(out: &Path, force: bool) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let file = match crate::owner_only::open(out, &mut options) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
            "{} exists already: an export never appends to or overwrites a file; choose another --out, or pass --force to replace it",
            out.display()
        ),
        other => other.with_context(|| format!("creating {} owner-only", out.display()))?,
    };
    Ok(file)
}

/// What an export wrote.
struct Written {
    rows: usize,
    /// Rows whose PIN column holds a PIN.
    pins: usize,
    /// Random PINs no longer in the journal (their column is empty).
    purged_pins: usize,
    audit_log: bool,
}

impl Written {
    /// The `export` audit entry's result: how much, and whether PINs were in it.
    fn audit_text(&self) -> String {
        let what = if self.audit_log {
            "audit log"
        } else {
            "keysRegistered"
        };
        let pins = match self.pins {
            0 => "no PINs included".to_owned(),
            n => format!("PINs included ({n})"),
        };
        format!("ok: {what}, {} row(s), {pins}", self.rows)
    }
}

fn export_keys(journal: &Journal, file: File, out: &Path) -> Result<Written> {
    let mut written = Written {
        rows: 0,
        pins: 0,
        purged_pins: 0,
        audit_log: false,
    };
    for e in journal.enrollments()? {
        if e.state != EnrollmentState::Recorded {
            continue;
        }
        let random = e.pin_source == Some(PinSource::Random);
        let pin = e.pin.clone().filter(|_| random);
        match (&pin, random) {
            (Some(_), _) => written.pins += 1,
            (None, true) => written.purged_pins += 1,
            (None, false) => {}
        }
        KeysRegisteredFile::new(out).append(&KeyRow {
            upn: e.upn.clone(),
            method_id: e.method_id.clone().unwrap_or_default(),
            serial: e.serial.clone().unwrap_or_default(),
            pin,
        })?;
        written.rows += 1;
    }
    if written.rows == 0 {
        let mut w = csv::Writer::from_writer(file);
        w.write_record(HEADER)?;
        w.flush()?;
    }
    Ok(written)
}

fn export_audit(journal: &Journal, file: File) -> Result<Written> {
    let mut w = csv::Writer::from_writer(file);
    w.write_record([
        "at",
        "operator",
        "action",
        "subject",
        "result",
        "requestIds",
        "station",
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
            a.station.as_deref().unwrap_or(""),
        ])?;
    }
    w.flush()?;
    Ok(Written {
        rows: log.len(),
        pins: 0,
        purged_pins: 0,
        audit_log: true,
    })
}
