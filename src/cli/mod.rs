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

/// The manual's sections after `--help`: what an installed station reads and writes, its
/// environment and exit status, where the rest is documented.
const MANUAL: &str = "\
FILES
    /etc/passkey-kiosk/configs.json   the station's configuration (0640 root:passkey-kiosk);
                                      every key is documented in configs.example.json
    /var/lib/passkey-kiosk/           the journal (SQLite), keysRegistered.csv and PIN
                                      letters (0700, the passkey-kiosk user only)
    /usr/share/doc/passkey-kiosk/     configs.example.json, deploying.md, pcsc.md,
                                      pin-letters.md

ENVIRONMENT
    PASSKEY_KIOSK_CLIENT_SECRET   the app's client secret (instead of clientSecret in the file)
    PASSKEY_KIOSK_JOURNAL_URL     the shared journal (overrides journalUrl)
    PASSKEY_KIOSK_JOURNAL_KEY     the deployment's journal key, base64 of 32 bytes
    PGPASSWORD                    the shared journal's password, when not in its URL
    PASSKEY_KIOSK_PIN, PASSKEY_KIOSK_NEW_PIN
                                  a key's current and new PIN for headless commands
                                  (otherwise asked for on the terminal)
    HTTPS_PROXY, NO_PROXY         the proxy to Entra ID and Graph (or proxy in the file)
    RUST_LOG                      log detail (never PINs or secrets)

EXIT STATUS
    0 on success; 1 when something failed (each failure is printed with what to do);
    2 for a command line that does not parse.

SEE ALSO
    passkey-kiosk COMMAND --help for each command; passkey-kiosk doctor to check a station.
";

/// Passkey Kiosk: issue FIDO2 security keys and register them in Microsoft Entra ID.
#[derive(Debug, Parser)]
#[command(
    name = "passkey-kiosk",
    version,
    about,
    long_about = "Passkey Kiosk issues FIDO2 security keys in an enrollment room: an operator picks a \
person, inserts a new key, and the station sets its PIN and policy, creates a passkey on it for \
Microsoft Entra ID, registers it through Microsoft Graph on the person's behalf, and records the \
result in its journal so that no PIN is ever lost.\n\nWithout a command it runs the full-screen \
kiosk on the configuration in the current folder (an installed station: \
/etc/passkey-kiosk/configs.json, started by its systemd unit).",
    after_long_help = MANUAL
)]
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
