//! authenticatorConfig (0x0D, CTAP 2.1 §6.11): setMinPINLength (§6.11.4).

use ciborium::value::Value;

use super::get_info::MAX_RP_IDS_FOR_MIN_PIN_LENGTH;
use super::key::KeyState;
use super::request::{as_array, as_bool, as_map, as_text, as_uint, Params};
use super::status::{CmdResult, Status};
use super::token::permission;
use crate::cbor::{map_get_int, to_canonical_vec};
use crate::pin::PinProtocol;

/// Sub-commands (CTAP 2.1 §6.11).
mod sub {
    pub const ENABLE_ENTERPRISE_ATTESTATION: u64 = 0x01;
    pub const TOGGLE_ALWAYS_UV: u64 = 0x02;
    pub const SET_MIN_PIN_LENGTH: u64 = 0x03;
}

/// Longest PIN in code points a key could ever accept (63 bytes of ASCII).
const MAX_MIN_PIN_LENGTH: u64 = 63;

impl KeyState {
    pub(crate) fn authenticator_config(&mut self, p: &Params<'_>) -> CmdResult<()> {
        let sub_command = p.uint(0x01)?;
        let sub_params = p.get(0x02);
        let param = p.opt_bytes(0x04)?;
        // A PIN-protected key needs a token with the acfg permission; an unprotected one
        // takes the command as is (CTAP 2.1 §6.11 step 4).
        if self.pin_is_set() {
            let param = param.ok_or(Status::PuatRequired)?;
            let protocol = u8::try_from(p.uint(0x03)?)
                .ok()
                .and_then(PinProtocol::from_number)
                .ok_or(Status::InvalidParameter)?;
            // Signed message: 32×0xff || 0x0d || uint8(subCommand) || subCommandParams.
            let mut msg = vec![0xFF; 32];
            msg.push(0x0D);
            msg.push(u8::try_from(sub_command).map_err(|_| Status::InvalidSubcommand)?);
            if let Some(sp) = sub_params {
                msg.extend_from_slice(&to_canonical_vec(sp));
            }
            let idle = self.config.token_timeout;
            let token = &mut self.volatile.token;
            if !token.verify(protocol, idle, &msg, param) || !token.has_permission(permission::ACFG)
            {
                return Err(Status::PinAuthInvalid);
            }
        }
        match sub_command {
            sub::SET_MIN_PIN_LENGTH => {
                self.set_min_pin_length(sub_params.ok_or(Status::MissingParameter)?)
            }
            // Not enterprise-attestation capable, no alwaysUv: as for unknown sub-commands.
            sub::ENABLE_ENTERPRISE_ATTESTATION | sub::TOGGLE_ALWAYS_UV => {
                Err(Status::InvalidParameter)
            }
            _ => Err(Status::InvalidParameter),
        }
    }

    /// setMinPINLength (CTAP 2.1 §6.11.4): raise (never lower) minPINLength, set the RP IDs
    /// allowed to read it, and force a PIN change.
    fn set_min_pin_length(&mut self, params: &Value) -> CmdResult<()> {
        as_map(params)?;
        let current = self.persistent.min_pin_length;
        let new_min = match map_get_int(params, 0x01) {
            Some(v) => {
                let n = as_uint(v)?;
                if n > MAX_MIN_PIN_LENGTH {
                    return Err(Status::PinPolicyViolation);
                }
                n as u8
            }
            None => current,
        };
        if new_min < current {
            return Err(Status::PinPolicyViolation);
        }
        let rp_ids = match map_get_int(params, 0x02) {
            Some(v) => {
                let list = as_array(v)?;
                if list.len() > MAX_RP_IDS_FOR_MIN_PIN_LENGTH {
                    return Err(Status::PinPolicyViolation);
                }
                Some(
                    list.iter()
                        .map(|r| as_text(r).map(str::to_owned))
                        .collect::<CmdResult<Vec<_>>>()?,
                )
            }
            None => None,
        };
        let force = map_get_int(params, 0x03)
            .map(as_bool)
            .transpose()?
            .unwrap_or(false);
        if force && !self.pin_is_set() {
            return Err(Status::PinNotSet);
        }
        self.persistent.min_pin_length = new_min;
        if let Some(rp_ids) = rp_ids {
            self.persistent.min_pin_length_rp_ids = rp_ids;
        }
        let too_short = self.pin_is_set() && self.persistent.pin_code_points < usize::from(new_min);
        if force || too_short {
            self.persistent.force_pin_change = true;
        }
        self.persist()?;
        tracing::info!(
            min_pin_length = new_min,
            force_pin_change = self.persistent.force_pin_change,
            "soft key: PIN policy updated"
        );
        Ok(())
    }
}
