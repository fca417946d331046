//! The host side of CTAPHID (CTAP 2.1 §11.2): a blocking driver over any report transport.
//!
//! One request at a time: send the message, then read reports with a short timeout so a
//! [`CancelToken`] is noticed between reads; keepalives go to the [`StatusSink`].

use std::thread;
use std::time::{Duration, Instant};

use super::framing::{packetize, Message, Reassembler, MAX_MESSAGE_LEN};
use super::{capability, cmd, HidError, BROADCAST_CID};
use crate::error::StatusCode;
use crate::transport::ReportTransport;
use crate::{CancelToken, CtapChannel, Error, KeepaliveStatus, NoStatus, Result, StatusSink};

/// How long one read waits before the cancel flag is checked again.
const POLL: Duration = Duration::from_millis(100);
/// First CHANNEL_BUSY back-off; doubles each retry.
const BUSY_FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// Total time spent retrying CHANNEL_BUSY before giving up.
const BUSY_TOTAL: Duration = Duration::from_secs(2);
/// How long to wait for the key's answer after CTAPHID_CANCEL.
const CANCEL_GRACE: Duration = Duration::from_secs(3);

/// Timeouts of a [`HidChannel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// CTAPHID_CBOR: silence allowed before giving up; each keepalive restarts it.
    pub cbor: Duration,
    /// CTAPHID_CBOR: hard cap, keepalives or not (a touch wait cannot last forever).
    pub cbor_cap: Duration,
    /// INIT, PING, WINK, LOCK, MSG and vendor commands.
    pub short: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            cbor: Duration::from_secs(30),
            cbor_cap: Duration::from_secs(120),
            short: Duration::from_secs(3),
        }
    }
}

/// CTAPHID_INIT capability flags (CTAP 2.1 §11.2.9.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities(pub u8);

impl Capabilities {
    /// CAPABILITY_WINK.
    pub fn wink(self) -> bool {
        self.0 & capability::WINK != 0
    }
    /// CAPABILITY_CBOR: the key speaks CTAP2.
    pub fn cbor(self) -> bool {
        self.0 & capability::CBOR != 0
    }
    /// CAPABILITY_NMSG: the key does NOT implement CTAPHID_MSG (no U2F).
    pub fn nmsg(self) -> bool {
        self.0 & capability::NMSG != 0
    }
}

/// What CTAPHID_INIT told us about the key (CTAP 2.1 §11.2.9.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitInfo {
    /// The channel id the key allocated.
    pub cid: u32,
    /// CTAPHID protocol version (2).
    pub protocol_version: u8,
    /// Device version: major, minor, build.
    pub device_version: (u8, u8, u8),
    /// Capability flags.
    pub capabilities: Capabilities,
}

/// Whether the key behind an open channel is still the one it was, by CTAPHID_PING.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// It answered on this channel (or is busy serving another): still in.
    Present,
    /// Something answers but no longer knows this channel: the key was replugged, reset or
    /// replaced (a restarted simulator), so whatever was read from it is stale.
    Replaced,
    /// Nothing answers.
    Gone,
}

/// A CTAPHID channel to one key, over transport `T`.
pub struct HidChannel<T: ReportTransport> {
    transport: T,
    info: InitInfo,
    timeouts: Timeouts,
    max_msg_size: usize,
}

// By hand so `HidChannel<Box<dyn ReportTransport>>` is Debug too.
impl<T: ReportTransport> std::fmt::Debug for HidChannel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidChannel")
            .field("info", &self.info)
            .field("timeouts", &self.timeouts)
            .field("max_msg_size", &self.max_msg_size)
            .finish_non_exhaustive()
    }
}

impl<T: ReportTransport> HidChannel<T> {
    /// Allocates a channel with CTAPHID_INIT on the broadcast channel.
    pub fn open(transport: T) -> Result<Self> {
        Self::open_with(transport, Timeouts::default())
    }

    /// [`open`](Self::open) with explicit timeouts.
    pub fn open_with(mut transport: T, timeouts: Timeouts) -> Result<Self> {
        let nonce: [u8; 8] = rand::random();
        let info = init(&mut transport, BROADCAST_CID, &nonce, timeouts.short)?;
        if info.cid == 0 || info.cid == BROADCAST_CID {
            return Err(Error::Hid(HidError::InvalidChannel));
        }
        tracing::debug!(
            cid = format_args!("{:08X}", info.cid),
            caps = info.capabilities.0,
            "CTAPHID channel open"
        );
        Ok(Self {
            transport,
            info,
            timeouts,
            max_msg_size: MAX_MESSAGE_LEN,
        })
    }

    /// What CTAPHID_INIT reported.
    pub fn info(&self) -> InitInfo {
        self.info
    }
    /// The allocated channel id.
    pub fn cid(&self) -> u32 {
        self.info.cid
    }
    /// CTAPHID protocol version.
    pub fn protocol_version(&self) -> u8 {
        self.info.protocol_version
    }
    /// Device version (major, minor, build).
    pub fn device_version(&self) -> (u8, u8, u8) {
        self.info.device_version
    }
    /// Capability flags.
    pub fn capabilities(&self) -> Capabilities {
        self.info.capabilities
    }

    /// Sets the CTAPHID_CBOR timeout (silence allowed between keepalives).
    pub fn set_timeout(&mut self, cbor: Duration) {
        self.timeouts.cbor = cbor;
    }
    /// Sets all timeouts.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        self.timeouts = timeouts;
    }
    /// Current timeouts.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Lowers the message limit, e.g. to getInfo's maxMsgSize (never above 7609).
    pub fn set_max_msg_size(&mut self, size: usize) {
        self.max_msg_size = size.min(MAX_MESSAGE_LEN);
    }

    /// CTAPHID_PING: returns the echo, which must equal `data`.
    pub fn ping(&mut self, data: &[u8]) -> Result<Vec<u8>> {
        let echo = self.transact(
            cmd::PING,
            data,
            self.short(),
            &NoStatus,
            &CancelToken::new(),
        )?;
        if echo != data {
            return Err(Error::Malformed(
                "the key's PING echo differs from what was sent".into(),
            ));
        }
        Ok(echo)
    }

    /// Whether the key is still there and still the same, with one CTAPHID_PING: no CTAP
    /// command, so nothing on the key runs and an idle key stays idle.
    pub fn presence(&mut self) -> Presence {
        match self.ping(b"presence") {
            Ok(_) | Err(Error::Hid(HidError::ChannelBusy)) => Presence::Present,
            Err(Error::Hid(HidError::InvalidChannel)) => Presence::Replaced,
            Err(e) => {
                tracing::debug!(error = %e, "no answer to a presence PING");
                Presence::Gone
            }
        }
    }

    /// CTAPHID_MSG: one U2F/CTAP1 APDU, returns the response APDU.
    pub fn msg(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        self.transact(cmd::MSG, apdu, self.short(), &NoStatus, &CancelToken::new())
    }

    /// CTAPHID_LOCK for `seconds` (0 releases, at most 10).
    pub fn lock(&mut self, seconds: u8) -> Result<()> {
        self.transact(
            cmd::LOCK,
            &[seconds],
            self.short(),
            &NoStatus,
            &CancelToken::new(),
        )
        .map(|_| ())
    }

    /// The transport, e.g. to reopen a channel on it.
    pub fn into_inner(self) -> T {
        self.transport
    }

    fn short(&self) -> Deadline {
        Deadline {
            idle: self.timeouts.short,
            cap: self.timeouts.short,
        }
    }

    /// Sends one message and returns the reply payload, retrying CHANNEL_BUSY with back-off.
    fn transact(
        &mut self,
        command: u8,
        payload: &[u8],
        deadline: Deadline,
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        if payload.len() > self.max_msg_size {
            return Err(Error::Hid(HidError::MessageTooLong {
                len: payload.len(),
                max: self.max_msg_size,
            }));
        }
        let reports = packetize(self.info.cid, command, payload)?;
        let started = Instant::now();
        let mut backoff = BUSY_FIRST_BACKOFF;
        loop {
            for r in &reports {
                self.transport.send(r)?;
            }
            match self.read_reply(command, deadline, status, cancel) {
                Err(Error::Hid(HidError::ChannelBusy))
                    if started.elapsed() + backoff <= BUSY_TOTAL && !cancel.is_cancelled() =>
                {
                    tracing::debug!(?backoff, "key busy with another channel; retrying");
                    thread::sleep(backoff);
                    backoff = backoff.saturating_mul(2);
                }
                other => return other,
            }
        }
    }

    /// Reads until the reply to `command` on our channel arrives.
    fn read_reply(
        &mut self,
        command: u8,
        deadline: Deadline,
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        let cid = self.info.cid;
        let start = Instant::now();
        let cap = start + deadline.cap;
        let mut until = (start + deadline.idle).min(cap);
        let mut reasm = Reassembler::new(cid);
        let mut last_status = None;
        let mut cancel_sent = false;
        loop {
            if !cancel_sent && command == cmd::CBOR && cancel.is_cancelled() {
                // CTAP 2.1 §11.2.9.1.5: CANCEL has no reply of its own; the pending request
                // ends with CTAP2_ERR_KEEPALIVE_CANCEL (or its normal reply if too late).
                for r in packetize(cid, cmd::CANCEL, &[])? {
                    self.transport.send(&r)?;
                }
                cancel_sent = true;
                until = Instant::now() + CANCEL_GRACE;
            }
            let now = Instant::now();
            if now >= until {
                if cancel_sent {
                    tracing::warn!("the key did not confirm the cancellation in time");
                    return Err(Error::Ctap(StatusCode::from(0x2D)));
                }
                return Err(Error::Timeout);
            }
            let Some(report) = self.transport.recv(POLL.min(until - now))? else {
                continue;
            };
            let Message { cmd: got, payload } = match reasm.push(&report) {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                // Leftovers of an earlier, abandoned reply: harmless.
                Err(HidError::SpuriousContinuation { seq }) => {
                    tracing::debug!(seq, "ignoring a stray continuation packet");
                    continue;
                }
                Err(e) => return Err(Error::Hid(e)),
            };
            match got {
                cmd::KEEPALIVE => {
                    let s = match payload.first() {
                        Some(1) => KeepaliveStatus::Processing,
                        Some(2) => KeepaliveStatus::UpNeeded,
                        other => {
                            tracing::debug!(?other, "ignoring keepalive with unknown status");
                            continue;
                        }
                    };
                    if last_status != Some(s) {
                        last_status = Some(s);
                        status.status(s);
                    }
                    if !cancel_sent {
                        until = (Instant::now() + deadline.idle).min(cap);
                    }
                }
                cmd::ERROR => {
                    let code = payload.first().copied().unwrap_or(0x7F);
                    return Err(Error::Hid(HidError::from_code(code)));
                }
                c if c == command => {
                    if cancel_sent {
                        if let Some(&code) = payload.first() {
                            if code != 0 {
                                return Err(Error::Ctap(StatusCode::from(code)));
                            }
                        }
                    }
                    return Ok(payload);
                }
                other => {
                    return Err(Error::Hid(HidError::UnexpectedCommand {
                        expected: command,
                        got: other,
                    }))
                }
            }
        }
    }
}

/// Timeouts for one request: `idle` restarts on each keepalive, `cap` never moves.
#[derive(Debug, Clone, Copy)]
struct Deadline {
    idle: Duration,
    cap: Duration,
}

/// CTAPHID_INIT (CTAP 2.1 §11.2.9.1.3) on `cid`: replies with another nonce are someone
/// else's and are skipped.
fn init<T: ReportTransport + ?Sized>(
    transport: &mut T,
    cid: u32,
    nonce: &[u8; 8],
    timeout: Duration,
) -> Result<InitInfo> {
    for r in packetize(cid, cmd::INIT, nonce)? {
        transport.send(&r)?;
    }
    let until = Instant::now() + timeout;
    let mut reasm = Reassembler::new(cid);
    loop {
        let now = Instant::now();
        if now >= until {
            return Err(Error::Timeout);
        }
        let Some(report) = transport.recv(POLL.min(until - now))? else {
            continue;
        };
        let msg = match reasm.push(&report) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                // Another program's traffic on the broadcast channel must not break ours.
                tracing::debug!(error = %e, "ignoring malformed traffic during INIT");
                continue;
            }
        };
        match msg.cmd {
            cmd::INIT => {}
            cmd::ERROR => {
                let code = msg.payload.first().copied().unwrap_or(0x7F);
                return Err(Error::Hid(HidError::from_code(code)));
            }
            // Keepalives or stray replies for someone else on the broadcast channel.
            _ => continue,
        }
        let p = &msg.payload;
        if p.len() >= 8 && p[..8] != nonce[..] {
            continue;
        }
        if p.len() < 17 {
            return Err(Error::Hid(HidError::ShortReply { cmd: cmd::INIT }));
        }
        return Ok(InitInfo {
            cid: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
            protocol_version: p[12],
            device_version: (p[13], p[14], p[15]),
            capabilities: Capabilities(p[16]),
        });
    }
}

impl<T: ReportTransport> CtapChannel for HidChannel<T> {
    fn cbor(
        &mut self,
        request: &[u8],
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        let deadline = Deadline {
            idle: self.timeouts.cbor,
            cap: self.timeouts.cbor_cap.max(self.timeouts.cbor),
        };
        let reply = self.transact(cmd::CBOR, request, deadline, status, cancel)?;
        if reply.is_empty() {
            return Err(Error::Malformed(
                "empty CTAPHID_CBOR reply (no status byte)".into(),
            ));
        }
        Ok(reply)
    }

    fn vendor(&mut self, command: u8, data: &[u8]) -> Result<Vec<u8>> {
        self.transact(
            command & 0x7F,
            data,
            self.short(),
            &NoStatus,
            &CancelToken::new(),
        )
    }

    fn wink(&mut self) -> Result<()> {
        self.transact(cmd::WINK, &[], self.short(), &NoStatus, &CancelToken::new())
            .map(|_| ())
    }

    fn max_msg_size(&self) -> usize {
        self.max_msg_size
    }
}
