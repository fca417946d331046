//! `passkey-kiosk devices`: every key present, as the station sees it, and the PC/SC readers
//! (NFC, smart-card) with or without a card.

use std::process::ExitCode;

use anyhow::{Context, Result};
use ctap::device;

use super::DeviceArg;
use crate::keys;

/// Arguments of `devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    #[command(flatten)]
    device: DeviceArg,
}

/// Lists keys; a key that cannot be read is reported and the others still shown.
pub fn run(args: &DevicesArgs) -> Result<ExitCode> {
    let spec = &args.device.device;
    let readers = readers(spec)?;
    let mut found = device::list(spec).with_context(|| format!("listing keys for {spec}"))?;
    if *spec == device::DeviceSpec::AllHid && readers.iter().any(|(_, card)| *card) {
        found.extend(device::list(&device::DeviceSpec::Pcsc).context("listing PC/SC cards")?);
    }
    if found.is_empty() {
        println!("No FIDO security keys found ({spec}).");
    }
    if !readers.is_empty() {
        println!("PC/SC readers:");
        for (name, card) in &readers {
            let held = if *card { "a card (below)" } else { "no card" };
            println!("  pcsc:{name}  {held}");
        }
        println!();
    }
    let mut failed = false;
    for desc in &found {
        let summary = device::open(desc).and_then(|mut ch| keys::inspect(desc, &mut ch));
        match summary {
            Ok(s) => println!("{s}\n"),
            Err(e) => {
                failed = true;
                println!(
                    "{}  {}\n  cannot read this key: {e}\n",
                    desc.address, desc.product
                );
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The PC/SC readers to show beside the keys (name, holds a card): with `hid` (the default)
/// and `pcsc`, every reader, so an empty reader shows it is connected.
#[cfg(feature = "pcsc")]
fn readers(spec: &device::DeviceSpec) -> Result<Vec<(String, bool)>> {
    Ok(match spec {
        device::DeviceSpec::AllHid | device::DeviceSpec::Pcsc => ctap::nfc::pcsc::readers()
            .context("listing PC/SC readers")?
            .into_iter()
            .map(|r| (r.name, r.card.is_some()))
            .collect(),
        _ => Vec::new(),
    })
}

#[cfg(not(feature = "pcsc"))]
fn readers(_spec: &device::DeviceSpec) -> Result<Vec<(String, bool)>> {
    Ok(Vec::new())
}
