//! `passkey-kiosk key …`: the key administration an enrollment desk needs.
//!
//! PINs come from `PASSKEY_KIOSK_PIN` / `PASSKEY_KIOSK_NEW_PIN` or a hidden prompt and are
//! never echoed. Every change to a key (`key-set-pin`, `key-change-pin`, `key-min-pin-length`,
//! `key-reset`) is audited in the config's journal, with the operator from `--operator`;
//! a change whose audit entry cannot be written still exits non-zero, saying the key changed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ctap::authenticator::Authenticator;
use ctap::device::AnyChannel;
use ctap::{CancelToken, KeepaliveStatus};

use super::pin_input::{current_pin, new_pin};
use super::{open_one, DeviceArg};
use crate::config::Config;
use crate::keys;
use crate::store::Journal;

/// Arguments of `key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    action: KeyAction,
    #[command(flatten)]
    device: DeviceArg,
    #[command(flatten)]
    station: super::StationArg,
    /// The configs.json (locates the journal, where every change to a key is audited).
    #[arg(long, global = true, default_value = "configs.json")]
    config: PathBuf,
    /// Operator name for the audit log (default: operatorName in the config, else the OS user).
    #[arg(long, global = true)]
    operator: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
enum KeyAction {
    /// Show the key: model, AAGUID, versions, firmware, PIN state, serial.
    Info,
    /// Set the first PIN of a key that has none.
    SetPin,
    /// Change the PIN (needs the current one).
    ChangePin,
    /// Raise the minimum PIN length, optionally forcing a PIN change at next use (CTAP 2.1).
    MinPinLength {
        /// New minimum length in Unicode code points (it can only grow).
        length: u32,
        /// Force the user to change the PIN before the key can be used again.
        #[arg(long)]
        force_change: bool,
        /// Relying party allowed to read the minimum PIN length (repeatable).
        #[arg(long = "rp-id")]
        rp_ids: Vec<String>,
    },
    /// Factory-reset the key, erasing every credential on it.
    Reset {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

impl KeyAction {
    /// The audit log's action name (`None`: nothing on the key changes).
    fn audit_name(&self) -> Option<&'static str> {
        match self {
            KeyAction::Info => None,
            KeyAction::SetPin => Some("key-set-pin"),
            KeyAction::ChangePin => Some("key-change-pin"),
            KeyAction::MinPinLength { .. } => Some("key-min-pin-length"),
            KeyAction::Reset { .. } => Some("key-reset"),
        }
    }
}

/// Runs one key action; every one that changes the key is audited, ok or not.
pub fn run(args: &KeyArgs) -> Result<ExitCode> {
    let (desc, mut channel) = open_one(&args.device.device)?;
    let Some(action) = args.action.audit_name() else {
        let summary = keys::inspect(&desc, &mut channel)?;
        println!("{summary}");
        return Ok(ExitCode::SUCCESS);
    };
    // The journal first: a key is never changed while its change could not be audited.
    let mut config = Config::load(&args.config)?;
    args.station.apply(&mut config);
    let mut journal = Journal::open_for(&config)?;
    let operator = super::cli_operator(args.operator.as_deref(), &config);
    if let KeyAction::Reset { yes } = &args.action {
        if !yes && !confirm_reset()? {
            println!("Nothing was changed.");
            return Ok(ExitCode::FAILURE);
        }
    }
    let serial = ctap::device::read_serial(&desc, &mut channel)
        .ok()
        .flatten();
    let subject = match &serial {
        Some(serial) => format!("{} serial {serial}", desc.product),
        None => format!("{} at {}", desc.product, desc.address),
    };
    let outcome = change(&args.action, &mut channel);
    if let (KeyAction::Reset { .. }, Ok(_), Some(serial)) = (&args.action, &outcome, &serial) {
        // A PIN the journal still holds for this key opens nothing any more.
        if let Err(e) = journal.purge_pins_of_key(serial) {
            eprintln!("warning: the reset key's PINs could not be purged from the journal: {e}");
        }
    }
    let result = match &outcome {
        Ok(_) => "ok".to_owned(),
        Err(e) => format!("failed: {e:#}"),
    };
    let audited = journal.audit(&operator, action, Some(&subject), &result, &[]);
    match (outcome, audited) {
        (Ok(done), Ok(())) => {
            println!("{done}");
            Ok(ExitCode::SUCCESS)
        }
        (Ok(done), Err(e)) => bail!(
            "{done} The key WAS changed, but its audit entry ({action}) could not be written: {e}. Check the journal's disk space and permissions"
        ),
        (Err(failed), Ok(())) => Err(failed),
        (Err(failed), Err(e)) => {
            eprintln!("error: the audit entry ({action}) could not be written either: {e}");
            Err(failed)
        }
    }
}

/// Does what `action` asks of the key; what to tell the operator when it worked.
fn change(action: &KeyAction, channel: &mut AnyChannel) -> Result<String> {
    match action {
        KeyAction::Info => Ok(String::new()),
        KeyAction::SetPin => {
            let pin = new_pin()?;
            Authenticator::new(channel)
                .set_pin(&pin)
                .context("setting the PIN")?;
            Ok("PIN set.".into())
        }
        KeyAction::ChangePin => {
            let current = current_pin("Current PIN: ")?;
            let pin = new_pin()?;
            Authenticator::new(channel)
                .change_pin(&current, &pin)
                .context("changing the PIN")?;
            Ok("PIN changed.".into())
        }
        KeyAction::MinPinLength {
            length,
            force_change,
            rp_ids,
        } => {
            let current = current_pin("Current PIN: ")?;
            Authenticator::new(channel)
                .set_min_pin_length(&current, Some(*length), rp_ids, *force_change)
                .context("setting the minimum PIN length")?;
            Ok(format!(
                "Minimum PIN length is now {length}{}.",
                if *force_change {
                    "; the PIN must be changed before next use"
                } else {
                    ""
                }
            ))
        }
        KeyAction::Reset { .. } => {
            let prompt = |s: KeepaliveStatus| {
                if s == KeepaliveStatus::UpNeeded {
                    eprintln!("Touch the key now to confirm the reset.");
                }
            };
            Authenticator::new(channel)
                .reset(&prompt, &CancelToken::new())
                .context("resetting the key (keys accept a reset only within seconds of being plugged in: re-insert it and run this again at once)")?;
            Ok("The key was reset: it has no PIN and no credentials.".into())
        }
    }
}

fn confirm_reset() -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("resetting erases every credential on the key: pass --yes to confirm without a terminal");
    }
    print!("Reset erases every credential on this key. Type RESET to continue: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "RESET")
}
