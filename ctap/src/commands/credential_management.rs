//! authenticatorCredentialManagement (0x0A, CTAP 2.1 §6.8): what discoverable credentials a
//! key holds. Here the read-only sub-commands a station needs to tell whether a key is in
//! use: getCredsMetadata (0x01, §6.8.2) and enumerateRPsBegin / enumerateRPsGetNextRP
//! (0x02 / 0x03, §6.8.3). Keys that only advertise `credentialMgmtPreview` (CTAP 2.1
//! pre-release firmware, e.g. YubiKey 5.2–5.4) take the same messages under the prototype
//! command byte 0x41.
//!
//! pinUvAuthParam = authenticate(pinUvAuthToken, uint8(subCommand) || subCommandParams)
//! with a token holding the `cm` permission (§6.8.1); enumerateRPsGetNextRP carries none.

use ciborium::Value;

use super::{decode_map, Command};
use crate::cbor::{
    expect_bytes, expect_map, expect_text, expect_u32, int, map_get_int, map_get_text,
};
use crate::commands::client_pin::PinToken;
use crate::Result;

/// The prototype command byte of keys with `credentialMgmtPreview` only (CTAP 2.1 §6.13).
pub const PREVIEW_CMD: u8 = 0x41;

/// credentialManagement sub-commands (CTAP 2.1 §6.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredMgmtSubCommand {
    /// getCredsMetadata (0x01).
    GetCredsMetadata = 0x01,
    /// enumerateRPsBegin (0x02).
    EnumerateRpsBegin = 0x02,
    /// enumerateRPsGetNextRP (0x03).
    EnumerateRpsGetNextRp = 0x03,
    /// enumerateCredentialsBegin (0x04).
    EnumerateCredentialsBegin = 0x04,
    /// enumerateCredentialsGetNextCredential (0x05).
    EnumerateCredentialsGetNextCredential = 0x05,
    /// deleteCredential (0x06).
    DeleteCredential = 0x06,
    /// updateUserInformation (0x07).
    UpdateUserInformation = 0x07,
}

/// Which command byte the key takes: 0x0A (`credMgmt`) or the prototype 0x41
/// (`credentialMgmtPreview` only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredMgmtVersion {
    /// authenticatorCredentialManagement, 0x0A.
    Standard,
    /// The prototype command, 0x41.
    Preview,
}

impl CredMgmtVersion {
    /// The command byte.
    pub fn command(self) -> u8 {
        match self {
            CredMgmtVersion::Standard => CredentialManagementRequest::CMD,
            CredMgmtVersion::Preview => PREVIEW_CMD,
        }
    }
}

/// A credentialManagement request (CTAP 2.1 §6.8 parameters).
#[derive(Debug, Clone)]
pub struct CredentialManagementRequest {
    /// Standard (0x0A) or prototype (0x41) command byte.
    pub version: CredMgmtVersion,
    /// 0x01 subCommand.
    pub sub_command: CredMgmtSubCommand,
    /// 0x02 subCommandParams.
    pub sub_command_params: Option<Value>,
    /// 0x03 pinUvAuthProtocol (with a pinUvAuthParam).
    pub protocol: Option<u8>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
}

impl CredentialManagementRequest {
    fn authorized(
        version: CredMgmtVersion,
        sub_command: CredMgmtSubCommand,
        token: &PinToken,
    ) -> Self {
        let msg = auth_message(sub_command, None);
        CredentialManagementRequest {
            version,
            sub_command,
            sub_command_params: None,
            protocol: Some(token.protocol().number()),
            pin_uv_auth_param: Some(token.authenticate(&msg)),
        }
    }

    /// getCredsMetadata (CTAP 2.1 §6.8.2): how many discoverable credentials the key holds.
    pub fn get_creds_metadata(version: CredMgmtVersion, token: &PinToken) -> Self {
        Self::authorized(version, CredMgmtSubCommand::GetCredsMetadata, token)
    }

    /// enumerateRPsBegin (CTAP 2.1 §6.8.3): the first RP and how many there are. A key with
    /// no discoverable credential answers CTAP2_ERR_NO_CREDENTIALS.
    pub fn enumerate_rps_begin(version: CredMgmtVersion, token: &PinToken) -> Self {
        Self::authorized(version, CredMgmtSubCommand::EnumerateRpsBegin, token)
    }

    /// enumerateRPsGetNextRP (CTAP 2.1 §6.8.3): the next RP; no pinUvAuthParam.
    pub fn enumerate_rps_get_next_rp(version: CredMgmtVersion) -> Self {
        CredentialManagementRequest {
            version,
            sub_command: CredMgmtSubCommand::EnumerateRpsGetNextRp,
            sub_command_params: None,
            protocol: None,
            pin_uv_auth_param: None,
        }
    }
}

/// The message a credentialManagement pinUvAuthParam covers (CTAP 2.1 §6.8.1):
/// uint8(subCommand) followed by the canonical subCommandParams, if any.
pub fn auth_message(sub_command: CredMgmtSubCommand, params: Option<&Value>) -> Vec<u8> {
    let mut msg = vec![sub_command as u8];
    if let Some(p) = params {
        msg.extend_from_slice(&crate::cbor::to_canonical_vec(p));
    }
    msg
}

/// A credentialManagement reply: the fields of the read sub-commands (CTAP 2.1 §6.8).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialManagementResponse {
    /// 0x01 existingResidentCredentialsCount.
    pub existing_resident_credentials_count: Option<u32>,
    /// 0x02 maxPossibleRemainingResidentCredentialsCount.
    pub max_possible_remaining_resident_credentials_count: Option<u32>,
    /// 0x03 rp: its `id`.
    pub rp_id: Option<String>,
    /// 0x04 rpIDHash.
    pub rp_id_hash: Option<Vec<u8>>,
    /// 0x05 totalRPs.
    pub total_rps: Option<u32>,
}

impl Command for CredentialManagementRequest {
    const CMD: u8 = 0x0A;
    type Response = CredentialManagementResponse;

    fn params(&self) -> Option<Value> {
        let mut m = vec![(int(0x01), int(self.sub_command as i64))];
        if let Some(p) = &self.sub_command_params {
            m.push((int(0x02), p.clone()));
        }
        if let Some(protocol) = self.protocol {
            m.push((int(0x03), int(i64::from(protocol))));
        }
        if let Some(param) = &self.pin_uv_auth_param {
            m.push((int(0x04), Value::Bytes(param.clone())));
        }
        Some(Value::Map(m))
    }

    fn decode(body: &[u8]) -> Result<CredentialManagementResponse> {
        let v = decode_map(body, "credentialManagement")?;
        let u32_at =
            |k: i64, name: &str| map_get_int(&v, k).map(|x| expect_u32(x, name)).transpose();
        let rp_id = match map_get_int(&v, 0x03) {
            Some(rp) => {
                expect_map(rp, "credentialManagement rp (0x03)")?;
                map_get_text(rp, "id")
                    .map(|id| expect_text(id, "credentialManagement rp.id").map(str::to_owned))
                    .transpose()?
            }
            None => None,
        };
        Ok(CredentialManagementResponse {
            existing_resident_credentials_count: u32_at(
                0x01,
                "existingResidentCredentialsCount (0x01)",
            )?,
            max_possible_remaining_resident_credentials_count: u32_at(
                0x02,
                "maxPossibleRemainingResidentCredentialsCount (0x02)",
            )?,
            rp_id,
            rp_id_hash: map_get_int(&v, 0x04)
                .map(|h| expect_bytes(h, "rpIDHash (0x04)").map(<[u8]>::to_vec))
                .transpose()?,
            total_rps: u32_at(0x05, "totalRPs (0x05)")?,
        })
    }

    /// Command byte 0x0A, or 0x41 for the prototype; then the canonical parameters.
    fn to_request(&self) -> Vec<u8> {
        let mut out = vec![self.version.command()];
        if let Some(p) = self.params() {
            out.extend_from_slice(&crate::cbor::to_canonical_vec(&p));
        }
        out
    }
}

/// The discoverable credentials on a key, as credential management reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredCredentials {
    /// existingResidentCredentialsCount.
    pub count: u32,
    /// The RP ids they belong to (empty when the count is 0).
    pub rp_ids: Vec<String>,
}
