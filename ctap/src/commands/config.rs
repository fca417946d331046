//! authenticatorConfig (0x0D, CTAP 2.1 §6.11): here setMinPINLength (§6.11.4), which can
//! also force a PIN change.

use ciborium::Value;

use super::{decode_empty, Command};
use crate::cbor::{int, to_canonical_vec};
use crate::commands::client_pin::PinToken;
use crate::Result;

/// authenticatorConfig subcommands (CTAP 2.1 §6.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSubCommand {
    /// enableEnterpriseAttestation (0x01).
    EnableEnterpriseAttestation = 0x01,
    /// toggleAlwaysUv (0x02).
    ToggleAlwaysUv = 0x02,
    /// setMinPINLength (0x03).
    SetMinPinLength = 0x03,
}

/// setMinPINLength parameters (CTAP 2.1 §6.11.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetMinPinLength {
    /// 0x01 newMinPINLength (may only grow).
    pub new_min_pin_length: Option<u32>,
    /// 0x02 minPinLengthRPIDs: RPs allowed to read the minimum via the minPinLength extension.
    pub rp_ids: Vec<String>,
    /// 0x03 forceChangePin.
    pub force_change_pin: bool,
}

impl SetMinPinLength {
    fn to_value(&self) -> Value {
        let mut m = Vec::new();
        if let Some(n) = self.new_min_pin_length {
            m.push((int(0x01), int(i64::from(n))));
        }
        if !self.rp_ids.is_empty() {
            m.push((
                int(0x02),
                Value::Array(self.rp_ids.iter().cloned().map(Value::Text).collect()),
            ));
        }
        if self.force_change_pin {
            m.push((int(0x03), Value::Bool(true)));
        }
        Value::Map(m)
    }
}

/// An authenticatorConfig request (CTAP 2.1 §6.11 parameters).
#[derive(Debug, Clone)]
pub struct ConfigRequest {
    /// 0x01 subCommand.
    pub sub_command: ConfigSubCommand,
    /// 0x02 subCommandParams.
    pub sub_command_params: Option<Value>,
    /// 0x03 pinUvAuthProtocol.
    pub protocol: u8,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Vec<u8>,
}

impl ConfigRequest {
    /// setMinPINLength authorised by `token` (which needs the acfg permission):
    /// pinUvAuthParam = authenticate(token, 32×0xff || 0x0d || 0x03 || canonical(params))
    /// (CTAP 2.1 §6.11.1).
    pub fn set_min_pin_length(params: &SetMinPinLength, token: &PinToken) -> Self {
        let sub_command = ConfigSubCommand::SetMinPinLength;
        let value = params.to_value();
        let msg = auth_message(sub_command, Some(&value));
        ConfigRequest {
            sub_command,
            sub_command_params: Some(value),
            protocol: token.protocol().number(),
            pin_uv_auth_param: token.authenticate(&msg),
        }
    }
}

/// The message a config pinUvAuthParam covers (CTAP 2.1 §6.11.1).
pub fn auth_message(sub_command: ConfigSubCommand, params: Option<&Value>) -> Vec<u8> {
    let mut msg = vec![0xFF; 32];
    msg.push(ConfigRequest::CMD);
    msg.push(sub_command as u8);
    if let Some(p) = params {
        msg.extend_from_slice(&to_canonical_vec(p));
    }
    msg
}

impl Command for ConfigRequest {
    const CMD: u8 = 0x0D;
    type Response = ();

    fn params(&self) -> Option<Value> {
        let mut m = vec![(int(0x01), int(self.sub_command as i64))];
        if let Some(p) = &self.sub_command_params {
            m.push((int(0x02), p.clone()));
        }
        m.push((int(0x03), int(i64::from(self.protocol))));
        m.push((int(0x04), Value::Bytes(self.pin_uv_auth_param.clone())));
        Some(Value::Map(m))
    }

    fn decode(body: &[u8]) -> Result<()> {
        decode_empty(body)
    }
}
