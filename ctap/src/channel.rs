//! The message-level interface between CTAPHID (or any other carrier) and the CTAP2 commands.

use crate::{CancelToken, Result, StatusSink};

/// A connection to one authenticator that exchanges whole CTAP messages.
///
/// Implemented by the CTAPHID driver over any report transport; command code in `commands`
/// only ever sees this trait.
pub trait CtapChannel: Send {
    /// Sends one CTAP2 request (command byte followed by CBOR parameters, CTAPHID_CBOR) and
    /// returns the response (status byte followed by CBOR). Keepalives go to `status`;
    /// when `cancel` fires the driver sends CTAPHID_CANCEL and returns
    /// `Error::Ctap(StatusCode::KeepaliveCancel)` (or whatever the key answers).
    fn cbor(
        &mut self,
        request: &[u8],
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>>;

    /// Sends a vendor-specific CTAPHID command (`cmd` without the init bit, e.g. 0x42 for
    /// YubiKey's 0xC2) and returns its payload. A key that does not know it answers
    /// `Error::Hid(HidError::InvalidCommand)`.
    fn vendor(&mut self, cmd: u8, data: &[u8]) -> Result<Vec<u8>>;

    /// CTAPHID_WINK: make the key blink so the operator sees which one is meant.
    fn wink(&mut self) -> Result<()>;

    /// Largest message the key accepts (CTAPHID limit, or getInfo maxMsgSize when smaller).
    fn max_msg_size(&self) -> usize;

    /// The YubiKey serial number, when the key tells it: by default the CTAPHID vendor
    /// "read config" command; a card answers through its OTP applet. `Ok(None)` when the key
    /// has no such command or no serial.
    fn yubikey_serial(&mut self) -> Result<Option<u32>> {
        crate::device::yubikey_config_serial(self)
    }
}
