//! `passkey-kiosk key …`: the key administration an enrollment desk needs.
//!
//! PINs come from `PASSKEY_KIOSK_PIN` / `PASSKEY_KIOSK_NEW_PIN` or a hidden prompt and are
//! never echoed.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ctap::authenticator::Authenticator;
use ctap::{CancelToken, KeepaliveStatus};

use super::pin_input::{current_pin, new_pin};
use super::{open_one, DeviceArg};
use crate::keys;

/// Arguments of `key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    action: KeyAction,
    #[command(flatten)]
    device: DeviceArg,
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

/// Runs one key action.
pub fn run(args: &KeyArgs) -> Result<ExitCode> {
    let (desc, mut channel) = open_one(&args.device.device)?;
    match &args.action {
        KeyAction::Info => {
            let summary = keys::inspect(&desc, &mut channel)?;
            println!("{summary}");
        }
        KeyAction::SetPin => {
            let pin = new_pin()?;
            Authenticator::new(&mut channel)
                .set_pin(&pin)
                .context("setting the PIN")?;
            println!("PIN set.");
        }
        KeyAction::ChangePin => {
            let current = current_pin("Current PIN: ")?;
            let pin = new_pin()?;
            Authenticator::new(&mut channel)
                .change_pin(&current, &pin)
                .context("changing the PIN")?;
            println!("PIN changed.");
        }
        KeyAction::MinPinLength {
            length,
            force_change,
            rp_ids,
        } => {
            let current = current_pin("Current PIN: ")?;
            Authenticator::new(&mut channel)
                .set_min_pin_length(&current, Some(*length), rp_ids, *force_change)
                .context("setting the minimum PIN length")?;
            println!(
                "Minimum PIN length is now {length}{}.",
                if *force_change {
                    "; the PIN must be changed before next use"
                } else {
                    ""
                }
            );
        }
        KeyAction::Reset { yes } => {
            if !yes && !confirm_reset()? {
                println!("Nothing was changed.");
                return Ok(ExitCode::FAILURE);
            }
            let prompt = |s: KeepaliveStatus| {
                if s == KeepaliveStatus::UpNeeded {
                    eprintln!("Touch the key now to confirm the reset.");
                }
            };
            Authenticator::new(&mut channel)
                .reset(&prompt, &CancelToken::new())
                .context("resetting the key (keys accept a reset only within seconds of being plugged in: re-insert it and run this again at once)")?;
            println!("The key was reset: it has no PIN and no credentials.");
        }
    }
    Ok(ExitCode::SUCCESS)
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
