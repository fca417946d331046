//! CTAP 2.1 client for FIDO2 security keys, with no knowledge of Graph or any UI.
//!
//! Layers, bottom up:
//! - [`transport`]: move one 64-byte HID report (hidapi, UDP, in-process).
//! - [`hid`]: CTAPHID framing and the channel protocol (sans-I/O framing + a blocking driver),
//!   exposed to the layers above as a [`channel::CtapChannel`].
//! - [`cbor`], [`pin`], [`commands`]: CTAP2 requests and responses, PIN/UV auth protocols 1 and 2.
//! - [`soft`] (feature `soft`): a software CTAP 2.1 authenticator behind [`handler::CtapHandler`].
//!
//! Blocking and runtime-free: callers run it on a thread of their own. Status (touch needed)
//! flows out through [`signal::StatusSink`], cancellation in through [`signal::CancelToken`].
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]
#![warn(missing_docs)]

pub mod authenticator;
pub mod cbor;
pub mod channel;
pub mod commands;
pub mod device;
pub mod error;
pub mod handler;
pub mod hid;
pub mod nfc;
pub mod pin;
pub mod signal;
#[cfg(feature = "soft")]
pub mod soft;
pub mod transport;
pub mod webauthn;

pub use channel::CtapChannel;
pub use error::{Error, Result};
pub use signal::{CancelToken, KeepaliveStatus, NoStatus, StatusSink};
