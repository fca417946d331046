//! CTAP over ISO 7816-4 (CTAP 2.1 §11.3, "NFC"): what contactless readers and FIDO2 smart
//! cards speak through PC/SC. Pure framing, no I/O:
//!
//! - [`apdu`]: command and response APDUs, short and extended.
//! - [`exchange`]: the platform side of one command (chaining, `61xx` reassembly, `9100`
//!   status updates and cancellation).
//! - [`card`]: the card side, so the software key can act as a FIDO card; [`vpcd`] puts such
//!   a card into vsmartcard's virtual reader, behind the real pcscd.
//! - [`pcsc`] (feature `pcsc`): the blocking driver over PC/SC, a [`crate::CtapChannel`].

pub mod apdu;
pub mod card;
pub mod exchange;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod vpcd;

pub use exchange::{Exchange, Next};

/// The FIDO applet's AID (CTAP 2.1 §11.3.3).
pub const FIDO_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x06, 0x47, 0x2F, 0x00, 0x01];
/// What a CTAP2 applet answers to SELECT ("U2F_V2" for a CTAP1-only one).
pub const SELECT_ANSWER: &[u8] = b"FIDO_2_0";
/// CLA of the CTAP proprietary commands.
pub const CLA_CTAP: u8 = 0x80;
/// NFCCTAP_MSG: a CTAP message (CTAP 2.1 §11.3.4).
pub const INS_NFCCTAP_MSG: u8 = 0x10;
/// NFCCTAP_GETRESPONSE: poll (or cancel) the message in progress (CTAP 2.1 §11.3.5).
pub const INS_NFCCTAP_GETRESPONSE: u8 = 0x11;

/// Yubico's OTP applet, which answers the key's serial number over NFC as over USB.
pub const OTP_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x05, 0x27, 0x20, 0x01];
/// The OTP applet's request instruction.
pub const INS_OTP_REQUEST: u8 = 0x01;
/// The OTP "slot" that returns the serial number (4 bytes, big-endian).
pub const OTP_SLOT_SERIAL: u8 = 0x10;

/// The SELECT command for an applet.
pub fn select(aid: &[u8]) -> apdu::Command {
    apdu::Command::new(0x00, 0xA4, 0x04, 0x00)
        .with_data(aid.to_vec())
        .with_le(0)
}

/// The SELECT command for the FIDO applet.
pub fn select_fido() -> apdu::Command {
    select(&FIDO_AID)
}

/// The OTP applet's "serial number" request.
pub fn otp_serial_request() -> apdu::Command {
    apdu::Command::new(0x00, INS_OTP_REQUEST, OTP_SLOT_SERIAL, 0x00).with_le(0)
}

/// Framing failures over ISO 7816.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NfcError {
    /// A command too long even for an extended APDU.
    #[error("a command of {len} bytes is too long for the card")]
    TooLong {
        /// Data length asked for.
        len: usize,
    },
    /// Bytes that are not a command APDU.
    #[error("malformed command APDU: {0}")]
    MalformedCommand(&'static str),
    /// An answer shorter than a status word.
    #[error("the card sent an answer without a status word")]
    MalformedResponse,
    /// An answer that never ends.
    #[error("the card's answer is longer than any CTAP message")]
    ResponseTooLong,
    /// The card refused, with an ISO 7816 status word.
    #[error("the card answered status {0:04X} ({meaning})", meaning = status_meaning(*.0))]
    Status(u16),
    /// SELECT of the FIDO applet failed: this card has none.
    #[error("the card has no FIDO applet (SELECT answered {0:04X})")]
    NoFidoApplet(u16),
}

/// What an ISO 7816-4 status word means, for error texts.
pub fn status_meaning(sw: u16) -> &'static str {
    match sw {
        0x6700 => "wrong length",
        0x6982 => "security status not satisfied",
        0x6985 => "conditions of use not satisfied",
        0x6A80 => "incorrect data",
        0x6A82 => "application not found",
        0x6A86 => "incorrect P1/P2",
        0x6D00 => "instruction not supported",
        0x6E00 => "class not supported",
        0x6F00 => "no precise diagnosis",
        _ => "unknown status",
    }
}
