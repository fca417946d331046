//! `passkey-kiosk devices`: every key present, as the station sees it.

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
    let found = device::list(spec).with_context(|| format!("listing keys for {spec}"))?;
    if found.is_empty() {
        println!("No FIDO security keys found ({spec}).");
        return Ok(ExitCode::SUCCESS);
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
