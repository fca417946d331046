//! The key's whole state, persistent ("flash") and volatile (lost at power-off), and the
//! operations every command shares.

use std::time::Instant;

use p256::SecretKey;
use rand::rngs::OsRng;

use super::attestation::Attestation;
use super::config::{SoftConfig, TouchHandle};
use super::get_assertion::PendingAssertions;
use super::presence;
use super::request::Params;
use super::state::PersistentState;
use super::status::{CmdResult, Status};
use super::token::PinUvAuthToken;
use crate::handler::PresenceContext;
use crate::pin::PinProtocol;

/// State that a power cycle (re-plug) wipes.
pub(crate) struct Volatile {
    /// When the key was (re)plugged: starts the reset window.
    pub powered_at: Instant,
    /// The key-agreement key (CTAP 2.1 §6.5.4 initialize), new each power cycle.
    pub key_agreement: SecretKey,
    /// Wrong PINs in a row since power-up; 3 → PIN_AUTH_BLOCKED (CTAP 2.1 §6.5.2.2).
    pub consecutive_pin_mismatches: u8,
    pub token: PinUvAuthToken,
    /// What authenticatorGetNextAssertion continues, if the last command left anything.
    pub assertions: Option<PendingAssertions>,
    /// The RP ids enumerateRPsGetNextRP has still to return, after an enumerateRPsBegin.
    pub rp_enumeration: Option<Vec<String>>,
}

impl Volatile {
    pub fn power_up() -> Self {
        Self {
            powered_at: Instant::now(),
            key_agreement: SecretKey::random(&mut OsRng),
            consecutive_pin_mismatches: 0,
            token: PinUvAuthToken::new(),
            assertions: None,
            rp_enumeration: None,
        }
    }
}

/// A pinUvAuthParam and the protocol it was made under (makeCredential, getAssertion).
#[derive(Clone, Copy)]
pub(crate) struct PinUvAuth<'a> {
    pub param: &'a [u8],
    pub protocol: PinProtocol,
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

    /// The pinUvAuthParam / pinUvAuthProtocol pair of a makeCredential or getAssertion
    /// request, at keys `param_key` / `protocol_key` (CTAP 2.1 §6.1.2 and §6.2.2, steps 1–2).
    /// A zero-length pinUvAuthParam is a platform's "which key?" probe: a touch, then
    /// PIN_INVALID (PIN set) or PIN_NOT_SET. A pinUvAuthParam needs a protocol we speak.
    pub fn pin_uv_auth<'p>(
        &self,
        p: &Params<'p>,
        param_key: i64,
        protocol_key: i64,
        presence_ctx: &dyn PresenceContext,
    ) -> CmdResult<Option<PinUvAuth<'p>>> {
        let Some(param) = p.opt_bytes(param_key)? else {
            return Ok(None);
        };
        if param.is_empty() {
            presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)?;
            return Err(if self.pin_is_set() {
                Status::PinInvalid
            } else {
                Status::PinNotSet
            });
        }
        let protocol = u8::try_from(p.uint(protocol_key)?)
            .ok()
            .and_then(PinProtocol::from_number)
            .ok_or(Status::InvalidParameter)?;
        Ok(Some(PinUvAuth { param, protocol }))
    }

    /// The token checks of makeCredential and getAssertion (CTAP 2.1 §6.1.2 step 11,
    /// §6.2.2 step 6): verify(pinUvAuthToken, clientDataHash, pinUvAuthParam), the
    /// `permission`, the permissions RP ID (bound to `rp_id` when none is yet) and the
    /// user-verified flag; any failure is PIN_AUTH_INVALID. `Ok` means UV.
    pub fn check_pin_uv_auth(
        &mut self,
        auth: PinUvAuth<'_>,
        client_data_hash: &[u8],
        permission: u8,
        rp_id: &str,
    ) -> CmdResult<()> {
        let idle = self.config.token_timeout;
        let token = &mut self.volatile.token;
        if !token.verify(auth.protocol, idle, client_data_hash, auth.param)
            || !token.has_permission(permission)
            || !token.user_verified()
            || !token.bind_rp_id(rp_id)
        {
            return Err(Status::PinAuthInvalid);
        }
        Ok(())
    }

    /// Re-plug: volatile state starts over.
    pub fn power_cycle(&mut self) {
        self.volatile = Volatile::power_up();
    }
}
