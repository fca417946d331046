//! PIN/UV auth protocols (CTAP 2.1 §6.5): key agreement, encryption and authentication.
//!
//! Used by both sides: the client commands and the software authenticator.

pub mod protocol;

pub use protocol::{cose_public_key, public_key_from_cose, PinProtocol, SharedSecret};
