//! `passkey-kiosk soft-key --udp ADDR`: a software CTAP 2.1 key on UDP, for training,
//! simulators and tests (`--device udp:ADDR` reaches it); `--vpcd HOST:PORT` puts it as a card
//! into vsmartcard's virtual reader instead, so it is reached through pcscd (`--device pcsc`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use ctap::hid::server::serve_udp;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy};

/// Arguments of `soft-key`.
#[derive(Debug, clap::Args)]
pub struct SoftKeyArgs {
    /// Address to serve on, one 64-byte report per datagram.
    #[arg(long, default_value = "127.0.0.1:8111")]
    udp: SocketAddr,
    /// Put the key as a card into the vsmartcard virtual reader listening at HOST:PORT
    /// (Debian's vsmartcard-vpcd: 127.0.0.1:35963) instead of serving UDP.
    #[arg(long, value_name = "HOST:PORT")]
    vpcd: Option<String>,
    /// Keep the key's state (PIN, credentials) in this file between runs. TEST ONLY: the
    /// file holds the key's secrets in the clear.
    #[arg(long)]
    state: Option<PathBuf>,
    /// What the simulated person does when the key asks for a touch:
    /// `immediate`, `deny`, `never`, or `delay=MILLISECONDS`.
    #[arg(long, default_value = "immediate", value_parser = parse_touch)]
    touch: TouchPolicy,
    /// Serial number reported through the YubiKey vendor command (default: random).
    #[arg(long)]
    serial: Option<u32>,
    /// Minimum PIN length of the fresh key.
    #[arg(long, default_value_t = 4)]
    min_pin_length: u8,
}

fn parse_touch(s: &str) -> Result<TouchPolicy, String> {
    match s {
        "immediate" => Ok(TouchPolicy::Immediate),
        "deny" => Ok(TouchPolicy::Deny),
        "never" => Ok(TouchPolicy::Never),
        _ => s
            .strip_prefix("delay=")
            .and_then(|ms| ms.parse::<u64>().ok())
            .map(|ms| TouchPolicy::Delay(Duration::from_millis(ms)))
            .ok_or_else(|| format!("{s:?}: use immediate, deny, never or delay=MILLISECONDS")),
    }
}

/// Serves until interrupted.
pub fn run(args: &SoftKeyArgs) -> Result<ExitCode> {
    let config = SoftConfig {
        serial: args
            .serial
            .unwrap_or_else(|| rand::random::<u32>() % 90_000_000 + 10_000_000),
        touch: args.touch,
        min_pin_length: args.min_pin_length.max(4),
        state_file: args.state.clone(),
        ..SoftConfig::default()
    };
    let serial = config.serial;
    let key = SoftAuthenticator::new(config).context("starting the software key")?;
    if let Some(addr) = &args.vpcd {
        let _card = ctap::nfc::vpcd::VirtualCard::insert(addr, key)
            .with_context(|| format!("putting the card into the virtual reader at {addr}"))?;
        eprintln!(
            "Software security key (serial {serial}) as a card in the virtual reader at {addr}; \
             use --device pcsc. Ctrl-C takes it out."
        );
        loop {
            std::thread::park();
        }
    }
    let server =
        serve_udp(args.udp, key).with_context(|| format!("serving on udp:{}", args.udp))?;
    eprintln!(
        "Software security key (serial {serial}) on udp:{}; use --device udp:{}. Ctrl-C stops it.",
        server.local_addr(),
        server.local_addr()
    );
    loop {
        std::thread::park();
    }
}
