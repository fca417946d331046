//! The device side of CTAPHID (CTAP 2.1 §11.2): serves any [`CtapHandler`] over a report port.
//!
//! One transaction at a time, as a real key: while a message is being received or a CBOR
//! request runs, other channels get ERR_CHANNEL_BUSY. CBOR requests run on a worker thread so
//! the server keeps sending KEEPALIVE (every ~100 ms) and can pass CTAPHID_CANCEL on.

use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::framing::{packetize, Message, Packet, Reassembler, MAX_MESSAGE_LEN};
use super::{capability, cmd, HidChannel, HidError, BROADCAST_CID};
use crate::handler::{CtapHandler, Running, WorkerLost};
use crate::transport::memory::{self, MemoryTransport};
use crate::transport::udp::UdpServerPort;
use crate::transport::{Report, ReportTransport};
use crate::{KeepaliveStatus, Result};

/// How often a running CBOR request is announced with CTAPHID_KEEPALIVE.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(100);

/// How long after a request starts the server checks for its reply every millisecond.
const FAST_POLL_WINDOW: Duration = Duration::from_millis(200);
/// How long the server waits for the rest of a half-sent message before ERR_MSG_TIMEOUT.
pub const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(1);
/// Capabilities announced in CTAPHID_INIT: CBOR and WINK; NMSG because CTAPHID_MSG (U2F) is
/// not served.
pub const CAPABILITIES: u8 = capability::CBOR | capability::WINK | capability::NMSG;
/// Device version announced in CTAPHID_INIT.
pub const DEVICE_VERSION: (u8, u8, u8) = (1, 0, 0);
/// How many allocated channel ids are remembered (the oldest is forgotten first).
const MAX_CHANNELS: usize = 256;

/// A CBOR request running on the worker thread.
struct Busy {
    cid: u32,
    run: Running,
    started: Instant,
    last_keepalive: Instant,
}

/// A message whose continuation packets are still coming.
struct Receiving {
    reasm: Reassembler,
    started: Instant,
}

struct Server<T, H> {
    port: T,
    handler: Arc<Mutex<H>>,
    channels: VecDeque<u32>,
    next_cid: u32,
    rx: Option<Receiving>,
    busy: Option<Busy>,
}

/// Serves `handler` on `port` until `stop` is set or the port fails (e.g. the in-process
/// client end was dropped, which ends the server normally).
pub fn run<T, H>(port: T, handler: H, stop: &AtomicBool) -> Result<()>
where
    T: ReportTransport,
    H: CtapHandler + 'static,
{
    let mut server = Server {
        port,
        handler: Arc::new(Mutex::new(handler)),
        channels: VecDeque::new(),
        // Start somewhere random so two server runs do not hand out the same ids.
        next_cid: rand::random::<u32>() | 1,
        rx: None,
        busy: None,
    };
    let result = server.serve(stop);
    if let Some(b) = &server.busy {
        b.run.cancel();
    }
    result
}

/// A CTAPHID server on a UDP socket, running on its own thread.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address clients send to (`udp:ADDR`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// Stops the server and waits for its thread (as dropping does).
    pub fn stop(self) {}
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves `handler` on UDP at `bind` (port 0 picks a free one), one report per datagram,
/// answering whoever sent the last datagram (SoloKeys simulator convention).
pub fn serve_udp(
    bind: SocketAddr,
    handler: impl CtapHandler + 'static,
) -> io::Result<ServerHandle> {
    let socket = UdpSocket::bind(bind)?;
    let port = UdpServerPort::new(socket);
    let addr = port.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name(format!("ctaphid-udp-{addr}"))
        .spawn(move || {
            if let Err(e) = run(port, handler, &flag) {
                tracing::warn!(error = %e, "CTAPHID UDP server stopped");
            }
        })?;
    Ok(ServerHandle {
        addr,
        stop,
        thread: Some(thread),
    })
}

/// Starts `handler` behind a CTAPHID server on a thread and returns a client channel to it.
/// The server thread ends when the channel is dropped.
pub fn in_process(handler: impl CtapHandler + 'static) -> Result<HidChannel<MemoryTransport>> {
    let (client, device) = memory::pair();
    thread::Builder::new()
        .name("ctaphid-in-process".into())
        .spawn(move || {
            // Ends with a transport error once the client end is gone: that is the normal exit.
            let _ = run(device, handler, &AtomicBool::new(false));
        })
        .map_err(|e| crate::Error::Transport(format!("cannot start the in-process key: {e}")))?;
    HidChannel::open(client)
}

fn lock_now<H>(m: &Mutex<H>) -> Option<MutexGuard<'_, H>> {
    match m.try_lock() {
        Ok(g) => Some(g),
        // A handler that panicked earlier left its state; serving on beats refusing forever.
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

impl<T: ReportTransport, H: CtapHandler + 'static> Server<T, H> {
    fn serve(&mut self, stop: &AtomicBool) -> Result<()> {
        while !stop.load(Ordering::SeqCst) {
            self.poll_worker();
            self.check_rx_timeout();
            // The worker's reply is noticed only between reads: poll tightly while a request
            // is young (most finish in a few ms), then relax for long touch waits.
            let wait = match &self.busy {
                Some(b) if b.started.elapsed() < FAST_POLL_WINDOW => Duration::from_millis(1),
                Some(_) => Duration::from_millis(20),
                None => Duration::from_millis(50),
            };
            if let Some(report) = self.port.recv(wait)? {
                self.on_report(&report);
            }
        }
        Ok(())
    }

    fn send(&mut self, cid: u32, command: u8, payload: &[u8]) {
        let reports = match packetize(cid, command, payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "handler reply does not fit CTAPHID");
                match packetize(cid, cmd::ERROR, &[0x7F]) {
                    Ok(r) => r,
                    Err(_) => return,
                }
            }
        };
        for r in &reports {
            if let Err(e) = self.port.send(r) {
                // The client went away; the next recv reports it if it is permanent.
                tracing::debug!(error = %e, "cannot send a report");
                return;
            }
        }
    }

    fn error(&mut self, cid: u32, e: HidError) {
        let code = e.code().unwrap_or(0x7F);
        self.send(cid, cmd::ERROR, &[code]);
    }

    fn known(&self, cid: u32) -> bool {
        self.channels.contains(&cid)
    }

    fn allocate(&mut self) -> u32 {
        loop {
            let cid = self.next_cid;
            self.next_cid = self.next_cid.wrapping_add(1);
            if cid != 0 && cid != BROADCAST_CID && !self.known(cid) {
                if self.channels.len() >= MAX_CHANNELS {
                    self.channels.pop_front();
                }
                self.channels.push_back(cid);
                return cid;
            }
        }
    }

    fn poll_worker(&mut self) {
        let Some(busy) = &mut self.busy else { return };
        match busy.run.reply_within(Duration::ZERO) {
            Ok(Some(reply)) => {
                let cid = busy.cid;
                self.busy = None;
                self.send(cid, cmd::CBOR, &reply);
            }
            Ok(None) => {
                if busy.last_keepalive.elapsed() >= KEEPALIVE_INTERVAL {
                    busy.last_keepalive = Instant::now();
                    let status = match busy.run.status() {
                        KeepaliveStatus::Processing => 1,
                        KeepaliveStatus::UpNeeded => 2,
                    };
                    let cid = busy.cid;
                    self.send(cid, cmd::KEEPALIVE, &[status]);
                }
            }
            Err(WorkerLost) => {
                // The handler panicked.
                let cid = busy.cid;
                self.busy = None;
                self.error(cid, HidError::Other);
            }
        }
    }

    fn check_rx_timeout(&mut self) {
        if let Some(rx) = &self.rx {
            if rx.started.elapsed() > TRANSACTION_TIMEOUT {
                let cid = rx.reasm.cid();
                self.rx = None;
                self.error(cid, HidError::MessageTimeout);
            }
        }
    }

    fn on_report(&mut self, report: &Report) {
        match Packet::parse(report) {
            Packet::Init {
                cid,
                cmd: command,
                len,
                data,
            } => {
                if command == cmd::INIT {
                    let mut nonce = [0u8; 8];
                    nonce.copy_from_slice(&data[..8]);
                    return self.on_init(cid, len, nonce);
                }
                if cid == 0 || cid == BROADCAST_CID || !self.known(cid) {
                    return self.error(cid, HidError::InvalidChannel);
                }
                if command == cmd::CANCEL {
                    // CTAP 2.1 §11.2.9.1.5: no reply; the running request ends early.
                    if let Some(b) = &self.busy {
                        if b.cid == cid {
                            b.run.cancel();
                        }
                    }
                    if self.rx.as_ref().is_some_and(|rx| rx.reasm.cid() == cid) {
                        self.rx = None;
                    }
                    return;
                }
                if self.busy.is_some() {
                    return self.error(cid, HidError::ChannelBusy);
                }
                if let Some(rx) = &self.rx {
                    if rx.reasm.cid() != cid {
                        return self.error(cid, HidError::ChannelBusy);
                    }
                    // A new message before the last one finished.
                    self.rx = None;
                    return self.error(cid, HidError::InvalidSequence);
                }
                if usize::from(len) > MAX_MESSAGE_LEN {
                    return self.error(cid, HidError::InvalidLength);
                }
                let mut reasm = Reassembler::new(cid);
                match reasm.push(report) {
                    Ok(Some(msg)) => self.dispatch(cid, msg),
                    Ok(None) => {
                        self.rx = Some(Receiving {
                            reasm,
                            started: Instant::now(),
                        })
                    }
                    Err(_) => self.error(cid, HidError::InvalidLength),
                }
            }
            Packet::Cont { cid, .. } => {
                // Continuations of a message we are not receiving are ignored (spec: the
                // sender already got ERR_CHANNEL_BUSY or ERR_INVALID_SEQ for its start).
                let Some(rx) = &mut self.rx else { return };
                if rx.reasm.cid() != cid {
                    return;
                }
                match rx.reasm.push(report) {
                    Ok(Some(msg)) => {
                        self.rx = None;
                        self.dispatch(cid, msg);
                    }
                    Ok(None) => {}
                    Err(_) => {
                        self.rx = None;
                        self.error(cid, HidError::InvalidSequence);
                    }
                }
            }
        }
    }

    /// CTAPHID_INIT (CTAP 2.1 §11.2.9.1.3): on the broadcast channel allocates a channel; on an
    /// allocated one resynchronizes it, abandoning whatever ran there.
    fn on_init(&mut self, cid: u32, len: u16, nonce: [u8; 8]) {
        if len != 8 {
            return self.error(cid, HidError::InvalidLength);
        }
        let new_cid = if cid == BROADCAST_CID {
            self.allocate()
        } else if cid != 0 && self.known(cid) {
            if self.rx.as_ref().is_some_and(|rx| rx.reasm.cid() == cid) {
                self.rx = None;
            }
            if self.busy.as_ref().is_some_and(|b| b.cid == cid) {
                if let Some(b) = self.busy.take() {
                    b.run.cancel();
                }
            }
            cid
        } else {
            return self.error(cid, HidError::InvalidChannel);
        };
        let (major, minor, build) = DEVICE_VERSION;
        let mut reply = Vec::with_capacity(17);
        reply.extend_from_slice(&nonce);
        reply.extend_from_slice(&new_cid.to_be_bytes());
        reply.extend_from_slice(&[2, major, minor, build, CAPABILITIES]);
        self.send(cid, cmd::INIT, &reply);
    }

    fn dispatch(&mut self, cid: u32, msg: Message) {
        let Message {
            cmd: command,
            payload,
        } = msg;
        match command {
            cmd::PING => self.send(cid, cmd::PING, &payload),
            cmd::WINK => {
                let Some(mut h) = lock_now(&self.handler) else {
                    return self.error(cid, HidError::ChannelBusy);
                };
                h.wink();
                drop(h);
                self.send(cid, cmd::WINK, &[]);
            }
            cmd::CBOR => {
                if payload.is_empty() {
                    return self.error(cid, HidError::InvalidLength);
                }
                self.start_cbor(cid, payload);
            }
            c if (cmd::VENDOR_FIRST..=cmd::VENDOR_LAST).contains(&c) => {
                let Some(mut h) = lock_now(&self.handler) else {
                    return self.error(cid, HidError::ChannelBusy);
                };
                let reply = h.handle_vendor(c, &payload);
                drop(h);
                match reply {
                    Some(r) => self.send(cid, c, &r),
                    None => self.error(cid, HidError::InvalidCommand),
                }
            }
            _ => self.error(cid, HidError::InvalidCommand),
        }
    }

    fn start_cbor(&mut self, cid: u32, request: Vec<u8>) {
        match Running::start(&self.handler, request) {
            Ok(run) => {
                self.busy = Some(Busy {
                    cid,
                    run,
                    started: Instant::now(),
                    last_keepalive: Instant::now(),
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the CBOR worker");
                self.error(cid, HidError::Other);
            }
        }
    }
}
