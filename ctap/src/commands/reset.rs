//! authenticatorReset (0x07, CTAP 2.1 §6.6): wipe all credentials and the PIN.
//!
//! Keys accept it only within seconds of power-up and with a touch.

use ciborium::Value;

use super::{decode_empty, Command};
use crate::Result;

/// The reset request (no parameters, empty reply).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reset;

impl Command for Reset {
    const CMD: u8 = 0x07;
    type Response = ();

    fn params(&self) -> Option<Value> {
        None
    }

    fn decode(body: &[u8]) -> Result<()> {
        decode_empty(body)
    }
}
