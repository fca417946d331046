//! authenticatorCredentialManagement (0x0A, CTAP 2.1 §6.8), and the prototype 0x41 of
//! `credentialMgmtPreview` keys: getCredsMetadata (§6.8.2) and enumerateRPsBegin /
//! enumerateRPsGetNextRP (§6.8.3). The other sub-commands (enumerating, deleting and
//! updating credentials) answer CTAP2_ERR_INVALID_SUBCOMMAND.

use ciborium::value::Value;
use sha2::{Digest, Sha256};

use super::key::KeyState;
use super::request::Params;
use super::status::{CmdResult, Status};
use super::token::permission;
use crate::cbor::{int, text, to_canonical_vec};
use crate::pin::PinProtocol;

/// Sub-commands (CTAP 2.1 §6.8).
mod sub {
    pub const GET_CREDS_METADATA: u64 = 0x01;
    pub const ENUMERATE_RPS_BEGIN: u64 = 0x02;
    pub const ENUMERATE_RPS_GET_NEXT_RP: u64 = 0x03;
}

impl KeyState {
    pub(crate) fn credential_management(&mut self, p: &Params<'_>) -> CmdResult<Value> {
        let sub_command = p.uint(0x01)?;
        // An enumeration continues only with the command right after it.
        let remaining = self.volatile.rp_enumeration.take();
        match sub_command {
            sub::GET_CREDS_METADATA => {
                self.check_cm_auth(p, sub_command)?;
                let count = self.persistent.credentials.len();
                let left = self.config.max_resident_credentials.saturating_sub(count);
                Ok(Value::Map(vec![
                    (int(0x01), int(count as i64)),
                    (int(0x02), int(left as i64)),
                ]))
            }
            sub::ENUMERATE_RPS_BEGIN => {
                self.check_cm_auth(p, sub_command)?;
                let mut rp_ids: Vec<String> = Vec::new();
                for c in &self.persistent.credentials {
                    if !rp_ids.contains(&c.rp_id) {
                        rp_ids.push(c.rp_id.clone());
                    }
                }
                let total = rp_ids.len();
                let mut rp_ids = rp_ids.into_iter();
                let first = rp_ids.next().ok_or(Status::NoCredentials)?;
                self.volatile.rp_enumeration = Some(rp_ids.collect());
                let mut reply = rp_entry(&first);
                reply.push((int(0x05), int(total as i64)));
                Ok(Value::Map(reply))
            }
            sub::ENUMERATE_RPS_GET_NEXT_RP => {
                let mut rest = remaining.ok_or(Status::NotAllowed)?;
                if rest.is_empty() {
                    return Err(Status::NotAllowed);
                }
                let next = rest.remove(0);
                self.volatile.rp_enumeration = Some(rest);
                Ok(Value::Map(rp_entry(&next)))
            }
            _ => Err(Status::InvalidSubcommand),
        }
    }

    /// The checks of getCredsMetadata and enumerateRPsBegin (CTAP 2.1 §6.8.2, §6.8.3):
    /// a pinUvAuthParam over uint8(subCommand) by a token with the cm permission and no
    /// permissions RP ID.
    fn check_cm_auth(&mut self, p: &Params<'_>, sub_command: u64) -> CmdResult<()> {
        let param = p.opt_bytes(0x04)?.ok_or(Status::PuatRequired)?;
        let protocol = u8::try_from(p.uint(0x03)?)
            .ok()
            .and_then(PinProtocol::from_number)
            .ok_or(Status::InvalidParameter)?;
        let mut msg = vec![u8::try_from(sub_command).map_err(|_| Status::InvalidSubcommand)?];
        if let Some(sp) = p.get(0x02) {
            msg.extend_from_slice(&to_canonical_vec(sp));
        }
        let idle = self.config.token_timeout;
        let token = &mut self.volatile.token;
        if !token.verify(protocol, idle, &msg, param)
            || !token.has_permission(permission::CM)
            || token.has_rp_id()
        {
            return Err(Status::PinAuthInvalid);
        }
        Ok(())
    }
}

/// rp (0x03) and rpIDHash (0x04) of one enumerated RP.
fn rp_entry(rp_id: &str) -> Vec<(Value, Value)> {
    vec![
        (int(0x03), Value::Map(vec![(text("id"), text(rp_id))])),
        (
            int(0x04),
            Value::Bytes(Sha256::digest(rp_id.as_bytes()).to_vec()),
        ),
    ]
}
