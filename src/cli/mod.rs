//! The command line: one module per subcommand; `main.rs` only parses and calls [`run`].

pub mod devices;
pub mod doctor;
pub mod enroll;
pub mod export;
pub mod fake_tenant;
pub mod key;
pub mod kiosk;
pub mod pin_input;
pub mod prefetch;
pub mod release_claim;
pub mod set_passcode;
pub mod sign_in;
pub mod signals;
pub mod soft_key;

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use ctap::device::{self, AnyChannel, DeviceDescriptor, DeviceSpec};

/// Passkey Kiosk: issue FIDO2 security keys and register them in Microsoft Entra ID.
#[derive(Debug, Parser)]
#[command(name = "passkey-kiosk", version, about)]
pub struct Cli {
    /// What to do (the kiosk when omitted).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The full-screen enrollment station (the default).
    Kiosk(kiosk::KioskArgs),
    /// The station against a local fake tenant with software keys: no account, no key needed.
    #[cfg(feature = "demo")]
    Demo(kiosk::DemoArgs),
    /// Set the local operator passcode (app-only sign-in); its argon2 hash goes next to the config.
    SetPasscode(set_passcode::SetPasscodeArgs),
    /// List the security keys present, with model, AAGUID, firmware, PIN state and serial.
    Devices(devices::DevicesArgs),
    /// Check the station's set-up: configuration, file modes, key and reader access, disk
    /// space, clock, Graph and sign-in; one line per check with its remedy, exit 1 on a failure.
    Doctor(doctor::DoctorArgs),
    /// Key administration for the enrollment desk: info, set-pin, change-pin, min-pin-length, reset.
    Key(key::KeyArgs),
    /// Run a software CTAP 2.1 security key on UDP (training, simulators, tests).
    SoftKey(soft_key::SoftKeyArgs),
    /// Fetch every in-scope user's creation options from Graph and write usersToRegister.csv
    /// (the proof of concept's step 1). Existing keys are recorded, never deleted here.
    #[command(long_about = prefetch::LONG_ABOUT)]
    Prefetch(prefetch::PrefetchArgs),
    /// Run a local fake Entra ID + Microsoft Graph tenant, and print a configs.json for it.
    FakeTenant(fake_tenant::FakeTenantArgs),
    /// Enroll the queued people (the proof of concept's step 2): PIN, passkey, registration,
    /// policy, record; waits for a new key for each person.
    Enroll(enroll::EnrollArgs),
    /// Export keysRegistered.csv (or the audit log with --audit) from the journal.
    Export(export::ExportArgs),
    /// Take over the claim of a person held by a station of the shared journal that is out of
    /// service for good (confirmed, audited); its unfinished enrollment is settled here.
    ReleaseClaim(release_claim::ReleaseClaimArgs),
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    let Some(command) = cli.command else {
        return kiosk::run(&kiosk::KioskArgs::default());
    };
    match command {
        Command::Kiosk(args) => kiosk::run(&args),
        #[cfg(feature = "demo")]
        Command::Demo(args) => kiosk::run_demo(&args),
        Command::SetPasscode(args) => set_passcode::set_passcode(&args),
        Command::Devices(args) => devices::run(&args),
        Command::Doctor(args) => doctor::run(&args),
        Command::Key(args) => key::run(&args),
        Command::SoftKey(args) => soft_key::run(&args),
        Command::Prefetch(args) => prefetch::run(&args),
        Command::FakeTenant(args) => fake_tenant::run(&args),
        Command::Enroll(args) => enroll::run(&args),
        Command::Export(args) => export::run(&args),
        Command::ReleaseClaim(args) => release_claim::run(&args),
    }
}

/// The OS account running the command (`USER`, else `USERNAME`).
pub fn os_user() -> Option<String> {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
}

/// Who an app-only command's audit entries name: `--operator`, else the config's
/// `operatorName`, else the OS user.
pub fn cli_operator(explicit: Option<&str>, config: &crate::config::Config) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| config.operator_name.clone())
        .or_else(os_user)
        .unwrap_or_else(|| "operator".into())
}

/// Which key(s) to use: `hid` (all USB FIDO keys), `hid:PATH`, or `udp:HOST:PORT`.
#[derive(Debug, Clone, clap::Args)]
pub struct DeviceArg {
    /// `hid` (every FIDO USB key), `hid:PATH` (one key), `udp:HOST:PORT` (a simulator or soft
    /// key), `pcsc` (every PC/SC reader) or `pcsc:READER` (one reader).
    #[arg(long, global = true, default_value = "hid", value_parser = parse_spec)]
    pub device: DeviceSpec,
}

/// `--station NAME`: this station on claims, enrollments and audit entries, for the commands
/// that write to the journal.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StationArg {
    /// This station's name on claims, enrollments and audit entries (default: stationName in
    /// the config, else the host name).
    #[arg(long, global = true, value_parser = parse_station)]
    pub station: Option<String>,
}

impl StationArg {
    /// `config` with this station's name, when one was given.
    pub fn apply(&self, config: &mut crate::config::Config) {
        if let Some(name) = &self.station {
            config.station_name = name.clone();
        }
    }
}

fn parse_station(s: &str) -> Result<String, String> {
    if crate::config::is_station_name(s) {
        Ok(s.to_string())
    } else {
        Err("a name of 1 to 64 characters without control characters".into())
    }
}

/// Headless commands: a warning on stderr for each secret-holding file (the config, the
/// certificate key, the passcode file) that group or others may read.
pub fn warn_loose_files(config: &crate::config::Config) {
    for warning in crate::station::file_modes::config_warnings(config) {
        eprintln!("warning: {warning}");
    }
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
