//! The command line: one module per subcommand; `main.rs` only parses and calls [`run`].

pub mod devices;
pub mod key;
pub mod pin_input;
pub mod soft_key;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use ctap::device::{self, AnyChannel, DeviceDescriptor, DeviceSpec};

/// Passkey Kiosk: issue FIDO2 security keys and register them in Microsoft Entra ID.
#[derive(Debug, Parser)]
#[command(name = "passkey-kiosk", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the security keys present, with model, AAGUID, firmware, PIN state and serial.
    Devices(devices::DevicesArgs),
    /// Key administration for the enrollment desk: info, set-pin, change-pin, min-pin-length, reset.
    Key(key::KeyArgs),
    /// Run a software CTAP 2.1 security key on UDP (training, simulators, tests).
    SoftKey(soft_key::SoftKeyArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Devices(args) => devices::run(&args),
        Command::Key(args) => key::run(&args),
        Command::SoftKey(args) => soft_key::run(&args),
    }
}

/// Which key(s) to use: `hid` (all USB FIDO keys), `hid:PATH`, or `udp:HOST:PORT`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArg {
    /// `hid` (every FIDO USB key), `hid:PATH` (one key) or `udp:HOST:PORT` (a simulator or soft key).
    #[arg(long, global = true, default_value = "hid", value_parser = parse_spec)]
    pub device: DeviceSpec,
}

fn parse_spec(s: &str) -> Result<DeviceSpec, String> {
    s.parse()
        .map_err(|e: device::DeviceSpecError| e.to_string())
}

/// Opens the one key the spec designates; several keys need `--device hid:PATH`.
pub fn open_one(spec: &DeviceSpec) -> Result<(DeviceDescriptor, AnyChannel)> {
    let found = device::list(spec).with_context(|| format!("listing keys for {spec}"))?;
    let desc = match found.as_slice() {
        [] => {
            bail!("no FIDO security key found for {spec}: insert a key (or name one with --device)")
        }
        [one] => one.clone(),
        many => bail!(
            "{} keys are present; choose one with --device:\n{}",
            many.len(),
            many.iter()
                .map(|d| format!("  --device {}   {}", d.address, d.product))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    };
    let channel = device::open(&desc).with_context(|| format!("opening {}", desc.address))?;
    Ok((desc, channel))
}
