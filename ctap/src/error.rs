//! One error type for the crate. Texts are written for an operator at the enrollment desk.

use crate::hid::HidError;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (device unplugged, socket error, OS refused access).
    #[error("cannot talk to the key: {0}")]
    Transport(String),
    /// The key did not answer in time.
    #[error("the key did not answer in time")]
    Timeout,
    /// A CTAPHID-level error or malformed framing.
    #[error(transparent)]
    Hid(#[from] HidError),
    /// The key answered a CTAP2 status other than success.
    #[error("{0}")]
    Ctap(StatusCode),
    /// The key's reply could not be decoded (bad CBOR, missing or mistyped field).
    #[error("the key sent a malformed reply: {0}")]
    Malformed(String),
}

/// CTAP2 status codes (CTAP 2.1 §8.2), named as in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusCode {
    /// CTAP2_ERR_KEEPALIVE_CANCEL (0x2D): the request was cancelled.
    KeepaliveCancel,
    /// Any code without a name here.
    Other(u8),
}

impl From<u8> for StatusCode {
    fn from(code: u8) -> Self {
        match code {
            0x2D => StatusCode::KeepaliveCancel,
            other => StatusCode::Other(other),
        }
    }
}

impl std::fmt::Display for StatusCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusCode::KeepaliveCancel => f.write_str("the operation was cancelled"),
            StatusCode::Other(c) => write!(f, "the key reported error 0x{c:02X}"),
        }
    }
}
