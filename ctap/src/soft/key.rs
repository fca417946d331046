//! The key's whole state, persistent ("flash") and volatile (lost at power-off), and the
//! operations every command shares.

use std::time::Instant;

use p256::SecretKey;
use rand::rngs::OsRng;

use super::attestation::Attestation;
use super::config::{SoftConfig, TouchHandle};
use super::state::PersistentState;
use super::status::{CmdResult, Status};
use super::token::PinUvAuthToken;

/// State that a power cycle (re-plug) wipes.
pub(crate) struct Volatile {
    /// When the key was (re)plugged: starts the reset window.
    pub powered_at: Instant,
    /// The key-agreement key (CTAP 2.1 §6.5.4 initialize), new each power cycle.
    pub key_agreement: SecretKey,
    /// Wrong PINs in a row since power-up; 3 → PIN_AUTH_BLOCKED (CTAP 2.1 §6.5.2.2).
    pub consecutive_pin_mismatches: u8,
    pub token: PinUvAuthToken,
}

impl Volatile {
    pub fn power_up() -> Self {
        Self {
            powered_at: Instant::now(),
            key_agreement: SecretKey::random(&mut OsRng),
            consecutive_pin_mismatches: 0,
            token: PinUvAuthToken::new(),
        }
    }
}

/// Everything one software key holds.
pub(crate) struct KeyState {
    pub config: SoftConfig,
    pub touch: TouchHandle,
    pub persistent: PersistentState,
    pub volatile: Volatile,
    pub attestation: Attestation,
}

impl KeyState {
    pub fn pin_is_set(&self) -> bool {
        self.persistent.pin_hash.is_some()
    }

    /// Writes the persistent state to the state file, if there is one. A key whose flash
    /// write fails answers CTAP1_ERR_OTHER.
    pub fn persist(&self) -> CmdResult<()> {
        let Some(path) = &self.config.state_file else {
            return Ok(());
        };
        self.persistent.save(path).map_err(|e| {
            tracing::error!(error = %e, "soft key: cannot save state");
            Status::Other
        })
    }

    /// A new key-agreement key (CTAP 2.1 §6.5.4 regenerate), after each wrong PIN.
    pub fn regenerate_key_agreement(&mut self) {
        self.volatile.key_agreement = SecretKey::random(&mut OsRng);
    }

    /// Re-plug: volatile state starts over.
    pub fn power_cycle(&mut self) {
        self.volatile = Volatile::power_up();
    }
}
