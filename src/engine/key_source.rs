//! Where keys come from: USB (hot-plug polling), one UDP address (a simulator or software key,
//! polled for "a key is there / a different key is there"), cards on PC/SC readers (waiting in
//! pcscd for a card to come or go, no polling), or in-process software keys for the demo and
//! training.
//!
//! A key is identified by where it is and what it says it is (address, serial, AAGUID), so
//! the engine can tell "the key just issued is still in" from "a new key for the next person".

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ctap::device::{self, AnyChannel, DeviceAddress, DeviceDescriptor, DeviceSpec};
use ctap::hid::{Presence, Timeouts};
use ctap::soft::{SoftAuthenticator, SoftConfig};
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
    /// The demo with a card reader too: software keys as with [`KeySource::Soft`], and
    /// software cards put on vsmartcard's virtual reader at `vpcd` (`HOST:PORT`) with
    /// `Command::TapSoftCard`, which the station sees through pcscd like any card.
    SoftWithCards {
        /// Where the virtual reader takes its card.
        vpcd: String,
    },
}

impl KeySource {
    /// Whether this is the demo's (software keys, test key always accepted).
    pub fn is_demo(&self) -> bool {
        matches!(self, KeySource::Soft | KeySource::SoftWithCards { .. })
    }

    /// Whether cards on PC/SC readers are among the keys (the kiosk then says so).
    pub fn takes_cards(&self) -> bool {
        match self {
            KeySource::Device(spec) => spec.is_pcsc(),
            KeySource::SoftWithCards { .. } => true,
            KeySource::Soft => false,
        }
    }

    /// The readers or ports the watcher follows, if any.
    pub fn watched(&self) -> Option<DeviceSpec> {
        match self {
            KeySource::Device(spec) => Some(spec.clone()),
            KeySource::SoftWithCards { .. } => Some(DeviceSpec::Pcsc),
            KeySource::Soft => None,
        }
    }
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

/// Timeouts of a UDP key's channels: nothing listening must not hold a poll up for the
/// default 3 s; a software key sends keepalives every 100 ms, so 10 s of silence means it is
/// gone.
fn udp_timeouts() -> (Timeouts, Timeouts) {
    let open = Timeouts {
        short: Duration::from_millis(500),
        ..Timeouts::default()
    };
    let working = Timeouts {
        cbor: Duration::from_secs(10),
        ..Timeouts::default()
    };
    (open, working)
}

/// Opens and inspects `desc`; `None` when nothing answers there.
fn probe_one(desc: &DeviceDescriptor) -> Option<PresentKey> {
    let mut channel: Box<dyn CtapChannel> = if desc.is_udp() {
        let (open, working) = udp_timeouts();
        let mut ch = device::open_with(desc, open).ok()?;
        ch.set_timeouts(working);
        Box::new(ch)
    } else {
        Box::new(device::open(desc).ok()?)
    };
    let summary = keys::inspect(desc, &mut *channel).ok()?;
    Some(PresentKey {
        identity: identity(desc, &summary),
        desc: desc.clone(),
        channel,
        summary,
    })
}

/// How often a newly seen key is inspected before the watcher leaves it alone until it is
/// plugged in again (a key may not answer in its first moments).
const INSPECTIONS: u8 = 3;

/// One key the watcher sees, from its first sight until it goes.
struct Seen {
    /// Tells this sighting from a later one at the same place.
    id: u64,
    desc: DeviceDescriptor,
    inspections: u8,
    inspected: bool,
    /// UDP keys only: a channel of the watcher's own for presence PINGs.
    ping: Option<AnyChannel>,
}

/// What the watcher knows between polls. Presence is checked cheaply every poll (USB:
/// enumeration, which does not talk to the key; UDP: one CTAPHID_PING); a key's details
/// (serial, getInfo, PIN retries) are read once when it appears, so an idle key is left idle.
struct Watch {
    spec: DeviceSpec,
    seen: Vec<Seen>,
    next_id: u64,
    /// The key last reported present: which sighting, and who it is.
    reported: Option<(u64, String)>,
}

impl Watch {
    fn new(spec: DeviceSpec) -> Self {
        Self {
            spec,
            seen: Vec::new(),
            next_id: 0,
            reported: None,
        }
    }

    /// A key seen for the first time at `desc`; `None` when nothing answers at a UDP address.
    fn first_sight(&mut self, desc: DeviceDescriptor) -> Option<Seen> {
        let ping = if desc.is_udp() {
            Some(device::open_with(&desc, udp_timeouts().0).ok()?)
        } else {
            None
        };
        self.next_id += 1;
        Some(Seen {
            id: self.next_id,
            desc,
            inspections: 0,
            inspected: false,
            ping,
        })
    }

    /// Updates what is plugged in, without reading any key's details.
    fn look(&mut self) {
        // An enumeration error is as good as no key: the next poll tries again.
        let listed = device::list(&self.spec).unwrap_or_default();
        let mut before = std::mem::take(&mut self.seen);
        for desc in listed {
            let old = before
                .iter()
                .position(|s| s.desc == desc)
                .map(|i| before.swap_remove(i));
            let still = match old {
                Some(mut s) => match s.ping.as_mut().map(|p| p.presence()) {
                    None | Some(Presence::Present) => Some(s),
                    Some(Presence::Replaced) => self.first_sight(desc),
                    Some(Presence::Gone) => None,
                },
                None => self.first_sight(desc),
            };
            self.seen.extend(still);
        }
    }

    /// Whether a key seen has not answered yet and will be asked again.
    fn inspecting(&self) -> bool {
        self.seen
            .iter()
            .any(|s| !s.inspected && s.inspections < INSPECTIONS)
    }

    /// One poll: what changed since the last.
    fn poll(&mut self) -> Vec<KeyEvent> {
        self.look();
        let mut events = Vec::new();
        if let Some((id, _)) = &self.reported {
            if !self.seen.iter().any(|s| s.id == *id) {
                self.reported = None;
                events.push(KeyEvent::Removed);
                // Keys still in are judged afresh, as when they were the only ones.
                for s in &mut self.seen {
                    s.inspections = 0;
                    s.inspected = false;
                }
            }
        }
        for s in &mut self.seen {
            if s.inspected || s.inspections >= INSPECTIONS {
                continue;
            }
            s.inspections += 1;
            let Some(key) = probe_one(&s.desc) else {
                continue;
            };
            s.inspected = true;
            if self.reported.as_ref().map(|(_, i)| i) != Some(&key.identity) {
                self.reported = Some((s.id, key.identity.clone()));
                events.push(KeyEvent::Present(Box::new(key)));
            }
        }
        events
    }
}

/// Polls `spec` on its own thread and reports keys put in and taken out as `wrap(KeyEvent)`.
/// While `busy` is set (a job holds the key) it does not touch the device.
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
            let mut wait = Wait::for_spec(&spec);
            let mut watch = Watch::new(spec);
            let mut look = true;
            while !stop.load(Ordering::SeqCst) {
                let busy_now = busy.load(Ordering::SeqCst);
                if look && !busy_now {
                    for event in watch.poll() {
                        if tx.send(wrap(event)).is_err() {
                            return;
                        }
                    }
                }
                // Look again when something changed, when a job just gave the device back
                // (changes during it were not looked at), or while a new key still has
                // inspections left.
                look = wait.next() || busy_now || watch.inspecting();
            }
        })
}

/// How the watcher waits between looks: a fixed interval, or (PC/SC) until pcscd reports a
/// change, bounded so a stop is noticed.
enum Wait {
    Interval,
    #[cfg(feature = "pcsc")]
    Readers(Option<ctap::nfc::pcsc::ReaderWatch>),
}

impl Wait {
    fn for_spec(spec: &DeviceSpec) -> Wait {
        #[cfg(feature = "pcsc")]
        if spec.is_pcsc() {
            return Wait::Readers(None);
        }
        let _ = spec;
        Wait::Interval
    }

    /// Waits; whether anything may have changed (an interval always may).
    fn next(&mut self) -> bool {
        match self {
            Wait::Interval => {
                std::thread::park_timeout(POLL_INTERVAL);
                true
            }
            #[cfg(feature = "pcsc")]
            Wait::Readers(watch) => {
                // pcscd may start after the station: retry the connection at the interval.
                if watch.is_none() {
                    *watch = ctap::nfc::pcsc::ReaderWatch::new().ok().flatten();
                    if watch.is_some() {
                        return true;
                    }
                }
                let waited = watch.as_mut().map(|w| w.wait(Duration::from_millis(500)));
                match waited {
                    Some(Ok(changed)) => changed,
                    // pcscd went away: reconnect on the next wait.
                    Some(Err(_)) | None => {
                        *watch = None;
                        std::thread::park_timeout(POLL_INTERVAL);
                        true
                    }
                }
            }
        }
    }
}

static SOFT_SERIAL: AtomicU32 = AtomicU32::new(0);

/// A factory-fresh software key with a serial of its own.
fn fresh_soft_key() -> anyhow::Result<SoftAuthenticator> {
    let n = SOFT_SERIAL.fetch_add(1, Ordering::SeqCst);
    let serial = 90_000_000 + (std::process::id() % 1000) * 1000 + n;
    Ok(SoftAuthenticator::new(SoftConfig {
        serial,
        ..SoftConfig::default()
    })?)
}

/// A factory-fresh software key as a card on the virtual reader at `vpcd`; it leaves the
/// reader when the returned card is dropped.
pub fn soft_card(vpcd: &str) -> anyhow::Result<ctap::nfc::vpcd::VirtualCard> {
    Ok(ctap::nfc::vpcd::VirtualCard::insert(
        vpcd,
        fresh_soft_key()?,
    )?)
}

/// A factory-fresh software key behind an in-process CTAPHID server, with its own serial.
pub fn soft_key() -> anyhow::Result<PresentKey> {
    let key = fresh_soft_key()?;
    let serial = key.config().serial;
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
