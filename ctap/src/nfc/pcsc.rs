//! CTAP over PC/SC (pcsc-lite on Linux and macOS, WinSCard on Windows): contactless readers and
//! FIDO2 smart cards. The blocking driver around [`super::Exchange`]: it moves the APDUs, waits
//! between status polls and passes cancellation on.

use std::ffi::CString;
use std::time::{Duration, Instant};

use super::apdu::Command;
use super::{
    otp_serial_request, select, select_fido, Exchange, Next, NfcError, OTP_AID, SELECT_ANSWER,
};
use crate::hid::HidError;
use crate::{CancelToken, CtapChannel, Error, KeepaliveStatus, Result, StatusSink};

/// How long to wait between NFCCTAP_GETRESPONSE polls while the card works.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// The largest message sent: the CTAPHID limit, so the layers above need not care which
/// transport carries them (chaining would allow more).
const MAX_MSG_SIZE: usize = 7609;

/// A PC/SC reader and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// The reader's name as PC/SC reports it.
    pub name: String,
    /// The card on it, when one is present.
    pub card: Option<Card>,
}

/// A card on a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// Its ATR (for a contactless card, built by the reader from its ATS).
    pub atr: Vec<u8>,
    /// The reader's insertion counter: a card taken off and put back has a new one.
    pub insertion: u32,
}

/// The readers PC/SC knows, with their cards. No pcscd running or no reader attached is an
/// empty list, not an error: a station with USB keys only has neither.
pub fn readers() -> Result<Vec<Reader>> {
    Ok(ReaderWatch::new()?
        .map(|watch| watch.readers())
        .unwrap_or_default())
}

/// Follows readers and cards with `SCardGetStatusChange`: a wait blocks in pcscd until a card
/// comes or goes or a reader is plugged in or out, so an idle station does not poll.
pub struct ReaderWatch {
    ctx: pcsc::Context,
    /// The readers, then PC/SC's "reader added or removed" pseudo-reader last.
    states: Vec<pcsc::ReaderState>,
}

impl ReaderWatch {
    /// `None` when pcscd is not running (no PC/SC on this station).
    pub fn new() -> Result<Option<ReaderWatch>> {
        let ctx = match pcsc::Context::establish(pcsc::Scope::User) {
            Ok(ctx) => ctx,
            Err(pcsc::Error::NoService | pcsc::Error::ServiceStopped) => return Ok(None),
            Err(e) => return Err(pcsc_error("PC/SC", e)),
        };
        let mut watch = ReaderWatch {
            ctx,
            states: vec![pcsc::ReaderState::new(
                pcsc::PNP_NOTIFICATION(),
                pcsc::State::UNAWARE,
            )],
        };
        watch.refresh_readers()?;
        Ok(Some(watch))
    }

    /// Waits up to `timeout` for a change; `Ok(true)` when something changed.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        for s in &mut self.states {
            s.sync_current_state();
        }
        match self.ctx.get_status_change(timeout, &mut self.states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return Ok(false),
            Err(e) => return Err(pcsc_error("PC/SC", e)),
        }
        let readers_changed = self
            .states
            .last()
            .is_some_and(|pnp| pnp.event_state().contains(pcsc::State::CHANGED));
        if readers_changed {
            self.refresh_readers()?;
        }
        Ok(true)
    }

    /// Where things stand after the last wait.
    pub fn readers(&self) -> Vec<Reader> {
        self.states
            .iter()
            .filter(|s| s.name() != pcsc::PNP_NOTIFICATION())
            .map(|s| Reader {
                name: s.name().to_string_lossy().into_owned(),
                card: s
                    .event_state()
                    .contains(pcsc::State::PRESENT)
                    .then(|| Card {
                        atr: s.atr().to_vec(),
                        insertion: s.event_count(),
                    }),
            })
            .collect()
    }

    /// Re-reads the reader list, keeping what is known of readers still there.
    fn refresh_readers(&mut self) -> Result<()> {
        let names = match self.ctx.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(pcsc_error("PC/SC", e)),
        };
        let pnp = self.states.pop();
        self.states
            .retain(|s| names.iter().any(|n| n.as_c_str() == s.name()));
        for name in names {
            if !self.states.iter().any(|s| s.name() == name.as_c_str()) {
                self.states
                    .push(pcsc::ReaderState::new(name, pcsc::State::UNAWARE));
            }
        }
        self.states.extend(pnp);
        // New readers are UNAWARE: ask where they stand now, without waiting.
        for s in &mut self.states {
            s.sync_current_state();
        }
        match self.ctx.get_status_change(Duration::ZERO, &mut self.states) {
            Ok(()) | Err(pcsc::Error::Timeout) => Ok(()),
            Err(e) => Err(pcsc_error("PC/SC", e)),
        }
    }
}

/// A CTAP channel to the FIDO applet of the card on one reader.
pub struct PcscChannel {
    card: pcsc::Card,
    reader: String,
    extended: bool,
    buf: Vec<u8>,
}

impl std::fmt::Debug for PcscChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscChannel")
            .field("reader", &self.reader)
            .field("extended", &self.extended)
            .finish_non_exhaustive()
    }
}

impl PcscChannel {
    /// Connects to the card on `reader` and selects its FIDO applet. Whether reader and card
    /// take extended APDUs is tried with a getInfo; if not, long messages are chained.
    pub fn open(reader: &str) -> Result<PcscChannel> {
        Self::open_with(reader, true)
    }

    /// [`open`](Self::open), with extended APDUs not even tried when `try_extended` is false
    /// (for readers that announce them but fail on them).
    pub fn open_with(reader: &str, try_extended: bool) -> Result<PcscChannel> {
        let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| pcsc_error(reader, e))?;
        let name = CString::new(reader)
            .map_err(|_| Error::InvalidInput(format!("reader name {reader:?}")))?;
        let card = ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .map_err(|e| pcsc_error(reader, e))?;
        let mut channel = PcscChannel {
            card,
            reader: reader.to_owned(),
            extended: try_extended,
            buf: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        };
        channel.select()?;
        if try_extended && channel.probe_get_info().is_err() {
            channel.extended = false;
            channel.select()?;
        }
        Ok(channel)
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Whether long messages go as extended APDUs (else chained).
    pub fn uses_extended_apdus(&self) -> bool {
        self.extended
    }

    /// Selects the FIDO applet and checks it speaks CTAP2.
    fn select(&mut self) -> Result<()> {
        match self.command(&select_fido()) {
            Ok(data) if data == SELECT_ANSWER => Ok(()),
            Ok(data) => Err(Error::Unsupported(format!(
                "CTAP2 over NFC (the card's FIDO applet answered {:?}: CTAP1/U2F only)",
                String::from_utf8_lossy(&data)
            ))),
            Err(Error::Nfc(NfcError::Status(sw))) => Err(NfcError::NoFidoApplet(sw).into()),
            Err(e) => Err(e),
        }
    }

    /// One ISO 7816 command outside CTAP (SELECT, the OTP applet), answer reassembled.
    fn command(&mut self, command: &Command) -> Result<Vec<u8>> {
        let (mut x, mut apdu) = Exchange::start(command, false)?;
        loop {
            let answer = self.transmit(&apdu)?;
            match x.receive(&answer)? {
                Next::Send(next) => apdu = next,
                Next::Working(_) => apdu = x.poll(false)?,
                Next::Done(data) => return Ok(data),
            }
        }
    }

    fn probe_get_info(&mut self) -> Result<()> {
        use crate::commands::Command;
        let request = crate::commands::get_info::GetInfo.to_request();
        let reply = self.cbor(&request, &crate::NoStatus, &CancelToken::new())?;
        match reply.first() {
            Some(0) => Ok(()),
            _ => Err(Error::Malformed("getInfo over NFC".into())),
        }
    }

    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let reader = &self.reader;
        self.card
            .transmit(apdu, &mut self.buf)
            .map(<[u8]>::to_vec)
            .map_err(|e| pcsc_error(reader, e))
    }

    /// Sleeps until the next poll, or less when the operator cancels.
    fn wait_to_poll(cancel: &CancelToken) {
        let until = Instant::now() + POLL_INTERVAL;
        while Instant::now() < until && !cancel.is_cancelled() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl CtapChannel for PcscChannel {
    fn cbor(
        &mut self,
        request: &[u8],
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        let (mut x, mut apdu) = Exchange::ctap_msg(request, self.extended)?;
        let mut last: Option<KeepaliveStatus> = None;
        loop {
            let answer = self.transmit(&apdu)?;
            match x.receive(&answer)? {
                Next::Send(next) => apdu = next,
                Next::Working(s) => {
                    if last != Some(s) {
                        status.status(s);
                        last = Some(s);
                    }
                    Self::wait_to_poll(cancel);
                    apdu = x.poll(cancel.is_cancelled())?;
                }
                Next::Done(reply) => return Ok(reply),
            }
        }
    }

    fn vendor(&mut self, _cmd: u8, _data: &[u8]) -> Result<Vec<u8>> {
        // CTAPHID vendor commands have no NFC form.
        Err(Error::Hid(HidError::InvalidCommand))
    }

    fn wink(&mut self) -> Result<()> {
        // A card has nothing to blink; the reader's own LED already shows where it is.
        Ok(())
    }

    fn max_msg_size(&self) -> usize {
        MAX_MSG_SIZE
    }

    fn yubikey_serial(&mut self) -> Result<Option<u32>> {
        // The OTP applet answers it; the FIDO applet is selected again afterwards.
        let serial = match self.command(&select(&OTP_AID)) {
            Ok(_) => match self.command(&otp_serial_request()) {
                Ok(bytes) => <[u8; 4]>::try_from(bytes.as_slice())
                    .ok()
                    .map(u32::from_be_bytes),
                Err(Error::Nfc(NfcError::Status(_))) => None,
                Err(e) => return Err(e),
            },
            Err(Error::Nfc(NfcError::Status(_))) => None,
            Err(e) => return Err(e),
        };
        self.select()?;
        Ok(serial)
    }
}

/// A PC/SC failure as the operator reads it.
fn pcsc_error(reader: &str, e: pcsc::Error) -> Error {
    let what = match e {
        pcsc::Error::NoService | pcsc::Error::ServiceStopped => {
            "the PC/SC service is not running: start pcscd (systemctl start pcscd.socket)".into()
        }
        pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard => {
            "the card left the reader: hold it on the reader until the station says it is done"
                .into()
        }
        pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => {
            "the reader is gone: check its cable".into()
        }
        pcsc::Error::SharingViolation => {
            "another program holds the card: close it (e.g. a smart-card middleware)".into()
        }
        other => other.to_string(),
    };
    Error::Transport(format!("{reader}: {what}"))
}
