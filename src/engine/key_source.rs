//! Where keys come from: USB (hot-plug polling), one UDP address (a simulator or software key,
//! polled for "a key is there / a different key is there"), or in-process software keys for
//! the demo and training.
//!
//! A key is identified by where it is and what it says it is (address, serial, AAGUID), so
//! the engine can tell "the key just issued is still in" from "a new key for the next person".

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ctap::device::{self, DeviceAddress, DeviceDescriptor, DeviceSpec};
use ctap::hid::client::Timeouts;
use ctap::hid::HidChannel;
use ctap::soft::{SoftAuthenticator, SoftConfig};
use ctap::transport::udp::UdpTransport;
use ctap::transport::ReportTransport;
use ctap::CtapChannel;

use crate::keys::{self, KeySummary};

/// How often the watcher looks for a key (hot-plug polling; idle CPU stays negligible).
pub const POLL_INTERVAL: Duration = Duration::from_millis(400);

/// Which keys the engine uses.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// Real keys (`hid`, `hid:PATH`) or one simulator address (`udp:HOST:PORT`).
    Device(DeviceSpec),
    /// Software keys plugged in with `Command::InsertSoftKey`: the demo. Only with this
    /// source does the engine take those commands and always accept the test key.
    Soft,
}

/// An inserted, inspected key, with an open channel the job takes over.
pub struct PresentKey {
    /// Where it is.
    pub desc: DeviceDescriptor,
    /// The open channel.
    pub channel: Box<dyn CtapChannel>,
    /// What getInfo, PIN retries and the serial said.
    pub summary: KeySummary,
    /// address + serial + AAGUID: equal identities are the same key.
    pub identity: String,
}

impl std::fmt::Debug for PresentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentKey")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// What the watcher reports.
pub enum KeyEvent {
    /// A key (different from the last one reported) is in.
    Present(Box<PresentKey>),
    /// No key any more.
    Removed,
}

fn identity(desc: &DeviceDescriptor, s: &KeySummary) -> String {
    let place = match &desc.address {
        // A USB path changes on re-plug; the serial says whether it is the same key.
        DeviceAddress::Hid(_) if s.serial.is_some() => "hid".to_owned(),
        other => other.to_string(),
    };
    format!(
        "{place}|{}|{}",
        s.serial.as_deref().unwrap_or("-"),
        s.aaguid
    )
}

/// Opens and inspects `desc`; `None` when nothing answers there.
fn probe_one(desc: &DeviceDescriptor) -> Option<PresentKey> {
    let mut channel: Box<dyn CtapChannel> = match &desc.address {
        DeviceAddress::Udp(addr) => {
            let transport: Box<dyn ReportTransport> = Box::new(UdpTransport::connect(addr).ok()?);
            // Nothing listening must not hold the poll up for the default 3 s.
            let short = Timeouts {
                short: Duration::from_millis(500),
                ..Timeouts::default()
            };
            let mut ch = HidChannel::open_with(transport, short).ok()?;
            // A software key sends keepalives every 100 ms: 10 s of silence means it is gone.
            ch.set_timeouts(Timeouts {
                cbor: Duration::from_secs(10),
                ..Timeouts::default()
            });
            Box::new(ch)
        }
        DeviceAddress::Hid(_) => Box::new(device::open(desc).ok()?),
    };
    let summary = keys::inspect(desc, &mut *channel).ok()?;
    Some(PresentKey {
        identity: identity(desc, &summary),
        desc: desc.clone(),
        channel,
        summary,
    })
}

fn probe(spec: &DeviceSpec) -> Option<PresentKey> {
    let found = device::list(spec).ok()?;
    found.iter().find_map(probe_one)
}

/// Polls `spec` on its own thread and reports identity changes as `wrap(KeyEvent)`. While
/// `busy` is set (a job holds the key) it does not touch the device.
pub fn spawn_watcher<M: Send + 'static>(
    spec: DeviceSpec,
    tx: Sender<M>,
    wrap: fn(KeyEvent) -> M,
    busy: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("key-watcher".into())
        .spawn(move || {
            let mut last: Option<String> = None;
            while !stop.load(Ordering::SeqCst) {
                if !busy.load(Ordering::SeqCst) {
                    let found = probe(&spec);
                    let ident = found.as_ref().map(|k| k.identity.clone());
                    if ident != last {
                        last = ident;
                        let event = match found {
                            Some(k) => KeyEvent::Present(Box::new(k)),
                            None => KeyEvent::Removed,
                        };
                        if tx.send(wrap(event)).is_err() {
                            return;
                        }
                    }
                }
                std::thread::park_timeout(POLL_INTERVAL);
            }
        })
}

static SOFT_SERIAL: AtomicU32 = AtomicU32::new(0);

/// A factory-fresh software key behind an in-process CTAPHID server, with its own serial.
pub fn soft_key() -> anyhow::Result<PresentKey> {
    let n = SOFT_SERIAL.fetch_add(1, Ordering::SeqCst);
    let serial = 90_000_000 + (std::process::id() % 1000) * 1000 + n;
    let key = SoftAuthenticator::new(SoftConfig {
        serial,
        ..SoftConfig::default()
    })?;
    let mut channel: Box<dyn CtapChannel> = Box::new(ctap::hid::server::in_process(key)?);
    let desc = DeviceDescriptor {
        address: DeviceAddress::Udp(format!("soft-key-{serial}")),
        vendor_id: 0,
        product_id: 0,
        product: "Software key (demo)".into(),
        manufacturer: String::new(),
        serial_number: String::new(),
    };
    let summary = keys::inspect(&desc, &mut *channel)?;
    Ok(PresentKey {
        identity: identity(&desc, &summary),
        desc,
        channel,
        summary,
    })
}
