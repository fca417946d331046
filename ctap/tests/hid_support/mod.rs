//! Shared test fixtures: a scripted report device and a small echo authenticator.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use ctap::handler::{CtapHandler, PresenceContext};
use ctap::hid::framing::Packet;
use ctap::hid::{cmd, packetize, BROADCAST_CID};
use ctap::transport::{Report, ReportTransport};
use ctap::KeepaliveStatus;

#[derive(Default)]
pub struct State {
    /// Every report the client sent.
    pub sent: Vec<Report>,
    /// Reports the client will read, in order.
    pub queue: VecDeque<Report>,
    /// Channel id given out on INIT; `None` = do not answer INIT.
    pub init_cid: Option<u32>,
    /// Capability byte in the INIT reply.
    pub caps: u8,
    /// Send an INIT reply with someone else's nonce first.
    pub foreign_init_first: bool,
    /// Reports queued when the client sends CTAPHID_CANCEL.
    pub on_cancel: Vec<Report>,
    /// Reports queued after each non-INIT, non-CANCEL message start (consumed one entry each).
    pub on_request: VecDeque<Vec<Report>>,
    /// Delay before each queued report is handed out (a key that answers slowly).
    pub pace: Duration,
}

/// A report device that replays queued reports and records what was sent.
#[derive(Clone)]
pub struct Scripted(pub Arc<Mutex<State>>);

pub const CID: u32 = 0x1122_3344;

impl Scripted {
    /// Answers INIT with [`CID`] and capabilities WINK|CBOR.
    pub fn new() -> Self {
        let s = State {
            init_cid: Some(CID),
            caps: 0x05,
            ..State::default()
        };
        Scripted(Arc::new(Mutex::new(s)))
    }
    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }
    /// Queues a whole message from the "key".
    pub fn push_msg(&self, cid: u32, command: u8, payload: &[u8]) {
        let reports = packetize(cid, command, payload).unwrap();
        self.state().queue.extend(reports);
    }
    pub fn push_raw(&self, r: Report) {
        self.state().queue.push_back(r);
    }
    /// Queues `reports` to be released when the next request message starts.
    pub fn reply_to_next(&self, reports: Vec<Report>) {
        self.state().on_request.push_back(reports);
    }
    /// (cid, cmd) of every initialization packet sent, INIT included.
    pub fn sent_commands(&self) -> Vec<(u32, u8)> {
        self.state()
            .sent
            .iter()
            .filter_map(|r| match Packet::parse(r) {
                Packet::Init { cid, cmd, .. } => Some((cid, cmd)),
                Packet::Cont { .. } => None,
            })
            .collect()
    }
}

impl ReportTransport for Scripted {
    fn send(&mut self, report: &Report) -> ctap::Result<()> {
        let mut s = self.state();
        s.sent.push(*report);
        if let Packet::Init {
            cid, cmd: c, data, ..
        } = Packet::parse(report)
        {
            if c == cmd::INIT && cid == BROADCAST_CID {
                if let Some(new_cid) = s.init_cid {
                    let mut nonce = [0u8; 8];
                    nonce.copy_from_slice(&data[..8]);
                    if s.foreign_init_first {
                        let mut other = nonce.map(|b| !b).to_vec();
                        other.extend_from_slice(&0xDEAD_BEEFu32.to_be_bytes());
                        other.extend_from_slice(&[2, 9, 9, 9, 0]);
                        s.queue
                            .extend(packetize(BROADCAST_CID, cmd::INIT, &other).unwrap());
                    }
                    let mut reply = nonce.to_vec();
                    reply.extend_from_slice(&new_cid.to_be_bytes());
                    reply.extend_from_slice(&[2, 5, 4, 3, s.caps]);
                    s.queue
                        .extend(packetize(BROADCAST_CID, cmd::INIT, &reply).unwrap());
                }
            } else if c == cmd::CANCEL {
                let r = std::mem::take(&mut s.on_cancel);
                s.queue.extend(r);
            } else if let Some(r) = s.on_request.pop_front() {
                s.queue.extend(r);
            }
        }
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> ctap::Result<Option<Report>> {
        let pace = self.state().pace;
        if !pace.is_zero() {
            thread::sleep(pace.min(timeout));
        }
        let next = self.state().queue.pop_front();
        if next.is_none() {
            // Stand in for the key's silence without slowing the tests.
            thread::sleep(timeout.min(Duration::from_millis(2)));
        }
        Ok(next)
    }
}

/// A small authenticator for server tests.
///
/// Request byte 0x01: echo the rest after status 0. 0x02: wait for a "touch" (see
/// [`Echo::touch`]) with status UPNEEDED, honouring cancel (0x2D). Vendor 0x42: a YubiKey
/// config page with serial 0x01020304. Anything else: status 0x01 (invalid command).
#[derive(Clone, Default)]
pub struct Echo {
    pub touched: Arc<AtomicBool>,
    pub winks: Arc<AtomicUsize>,
}

impl Echo {
    pub fn touch(&self) {
        self.touched.store(true, Ordering::SeqCst);
    }
}

impl CtapHandler for Echo {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        match request.first() {
            Some(0x01) => {
                let mut r = vec![0x00];
                r.extend_from_slice(&request[1..]);
                r
            }
            Some(0x02) => {
                presence.set_status(KeepaliveStatus::UpNeeded);
                let until = Instant::now() + Duration::from_secs(10);
                while Instant::now() < until {
                    if presence.is_cancelled() {
                        return vec![0x2D];
                    }
                    if self.touched.swap(false, Ordering::SeqCst) {
                        return vec![0x00, 0xAA];
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                vec![0x2F] // USER_ACTION_TIMEOUT
            }
            _ => vec![0x01],
        }
    }

    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        (cmd == 0x42 && data == [0]).then(|| vec![6, 0x02, 4, 1, 2, 3, 4])
    }

    fn wink(&mut self) {
        self.winks.fetch_add(1, Ordering::SeqCst);
    }
}
