//! A FIDO card in vsmartcard's virtual reader: any [`CtapHandler`] (the software key) served
//! through the real PC/SC stack. The reader driver (`vpcd`, loaded by pcscd) listens on a TCP
//! port; the card connects to it and answers what pcscd passes on.
//!
//! vpcd's wire format: every message is a 2-byte big-endian length and its bytes. One byte is a
//! control (0 power off, 1 power on, 2 reset, 4 "send your ATR"); anything longer is a command
//! APDU, answered with the response APDU.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::apdu::Response;
use super::card::{Action, CardFraming};
use crate::device::{parse_yubikey_config, YUBIKEY_READ_CONFIG};
use crate::handler::{CtapHandler, Running, WorkerLost};
use crate::{Error, Result};

/// How long an answer may take before the card says "still working" (9100) instead.
const STATUS_WAIT: Duration = Duration::from_millis(100);
/// How often the serving thread looks at the stop flag while the reader is quiet.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// ISO 7816-4 "no precise diagnosis": the authenticator failed.
const SW_NO_DIAGNOSIS: u16 = 0x6F00;
/// ISO 7816-4 "conditions of use not satisfied": a poll with nothing running.
const SW_CONDITIONS_NOT_SATISFIED: u16 = 0x6985;

const CTRL_OFF: u8 = 0;
const CTRL_ON: u8 = 1;
const CTRL_RESET: u8 = 2;
const CTRL_ATR: u8 = 4;

/// The card's ATR: ISO 14443-4 as PC/SC part 3 maps it (T=1), historical bytes "PasskeyKiosk".
pub fn atr() -> Vec<u8> {
    let historical = b"PasskeyKiosk";
    let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x80, 0x01];
    atr.extend_from_slice(historical);
    // TCK: XOR of every byte after TS.
    let tck = atr[1..].iter().fold(0u8, |x, b| x ^ b);
    atr.push(tck);
    atr
}

/// A card in the virtual reader; it leaves the reader when dropped.
#[derive(Debug)]
pub struct VirtualCard {
    stop: Arc<AtomicBool>,
    stream: TcpStream,
    thread: Option<JoinHandle<()>>,
}

impl VirtualCard {
    /// Puts a card served by `handler` into the vpcd reader listening at `addr` (HOST:PORT).
    pub fn insert(addr: &str, handler: impl CtapHandler + 'static) -> Result<VirtualCard> {
        let transport = |e: io::Error| Error::Transport(format!("virtual reader at {addr}: {e}"));
        let stream = TcpStream::connect(addr).map_err(transport)?;
        stream.set_nodelay(true).map_err(transport)?;
        stream
            .set_read_timeout(Some(IDLE_POLL))
            .map_err(transport)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut card = Card {
            stream: stream.try_clone().map_err(transport)?,
            handler: Arc::new(Mutex::new(handler)),
            framing: CardFraming::new(),
            running: None,
            inbox: Vec::new(),
        };
        let flag = Arc::clone(&stop);
        let thread = thread::Builder::new()
            .name("vpcd-card".into())
            .spawn(move || {
                if let Err(e) = card.serve(&flag) {
                    if !flag.load(Ordering::SeqCst) {
                        tracing::warn!(error = %e, "the virtual card stopped");
                    }
                }
            })
            .map_err(transport)?;
        Ok(VirtualCard {
            stop,
            stream,
            thread: Some(thread),
        })
    }

    /// Takes the card out of the reader (as dropping does).
    pub fn remove(self) {}
}

impl Drop for VirtualCard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock<H>(m: &Mutex<H>) -> std::sync::MutexGuard<'_, H> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct Card<H> {
    stream: TcpStream,
    handler: Arc<Mutex<H>>,
    framing: CardFraming,
    running: Option<Running>,
    inbox: Vec<u8>,
}

impl<H: CtapHandler + 'static> Card<H> {
    fn serve(&mut self, stop: &AtomicBool) -> io::Result<()> {
        while !stop.load(Ordering::SeqCst) {
            let Some(message) = self.next_message()? else {
                continue;
            };
            match message.as_slice() {
                [CTRL_ATR] => self.send(&atr())?,
                [CTRL_OFF | CTRL_ON | CTRL_RESET] => self.power_cycle(),
                [_] => {}
                apdu => {
                    let answer = self.answer(apdu);
                    self.send(&answer)?;
                }
            }
        }
        Ok(())
    }

    /// One whole message from the reader, `None` when none came within [`IDLE_POLL`].
    fn next_message(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            if let [hi, lo, rest @ ..] = self.inbox.as_slice() {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                if rest.len() >= len {
                    let message = rest[..len].to_vec();
                    self.inbox.drain(..2 + len);
                    return Ok(Some(message));
                }
            }
            let mut buf = [0u8; 4096];
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.inbox.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let len = u16::try_from(bytes.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "answer too long"))?;
        let mut out = Vec::with_capacity(bytes.len() + 2);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
        self.stream.write_all(&out)
    }

    /// The field went away or the reader reset the card: whatever ran is cancelled.
    fn power_cycle(&mut self) {
        if let Some(run) = self.running.take() {
            run.cancel();
        }
        self.framing = CardFraming::new();
    }

    fn answer(&mut self, apdu: &[u8]) -> Vec<u8> {
        match self.framing.on_apdu(apdu) {
            Action::Reply(bytes) => bytes,
            Action::Ctap { message, may_poll } => {
                if let Some(old) = self.running.take() {
                    old.cancel();
                }
                match Running::start(&self.handler, message) {
                    Ok(run) => self.settle(run, may_poll),
                    Err(_) => Response::status(SW_NO_DIAGNOSIS).encode(),
                }
            }
            Action::Serial => {
                let page = lock(&self.handler).handle_vendor(YUBIKEY_READ_CONFIG, &[0]);
                match page.and_then(|p| parse_yubikey_config(&p).ok()) {
                    Some((Some(serial), _)) => self.framing.reply(serial.to_be_bytes().to_vec()),
                    _ => self.framing.refuse(),
                }
            }
            Action::Poll { cancel } => match self.running.take() {
                Some(run) => {
                    if cancel {
                        run.cancel();
                    }
                    self.settle(run, true)
                }
                None => Response::status(SW_CONDITIONS_NOT_SATISFIED).encode(),
            },
        }
    }

    /// The reply when it comes within [`STATUS_WAIT`] (or at all, when the reader cannot
    /// poll), else "still working" with the request kept running.
    fn settle(&mut self, run: Running, may_poll: bool) -> Vec<u8> {
        let wait = if may_poll {
            STATUS_WAIT
        } else {
            Duration::from_secs(60 * 60)
        };
        match run.reply_within(wait) {
            Ok(Some(reply)) => self.framing.reply(reply),
            Ok(None) => {
                let update = self.framing.status_update(run.status());
                self.running = Some(run);
                update
            }
            Err(WorkerLost) => Response::status(SW_NO_DIAGNOSIS).encode(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_atr_checksum_makes_the_bytes_after_ts_xor_to_zero() {
        let atr = super::atr();
        assert_eq!(atr[0], 0x3B);
        assert_eq!(atr[1] & 0x0F, 12);
        assert_eq!(atr[1..].iter().fold(0u8, |x, b| x ^ b), 0);
    }
}
