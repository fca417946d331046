//! The authenticator side of a channel: what a CTAPHID device server hands requests to.

use crate::KeepaliveStatus;

/// Lets an authenticator working on a request report status and notice CTAPHID_CANCEL.
pub trait PresenceContext {
    /// Sets the status the server sends in keepalives from now on.
    fn set_status(&self, status: KeepaliveStatus);
    /// Whether the client sent CTAPHID_CANCEL for the request in progress.
    fn is_cancelled(&self) -> bool;
}

/// An authenticator: turns request messages into response messages.
pub trait CtapHandler: Send {
    /// Handles one CTAPHID_CBOR message (command byte + CBOR) and returns status byte + CBOR.
    /// May block (waiting for a touch); must poll `presence.is_cancelled()` while it does.
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8>;

    /// Handles a vendor CTAPHID command (`cmd` without the init bit). `None` means the
    /// server answers ERR_INVALID_CMD.
    fn handle_vendor(&mut self, _cmd: u8, _data: &[u8]) -> Option<Vec<u8>> {
        None
    }

    /// CTAPHID_WINK.
    fn wink(&mut self) {}
}
