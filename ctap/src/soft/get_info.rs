//! authenticatorGetInfo (0x04, CTAP 2.1 §6.4; pinComplexityPolicy, its URL and maxPINLength
//! from CTAP 2.2 when the key is configured with them).

use ciborium::value::Value;

use super::config::CredentialManagement;
use super::credential::{CREDENTIAL_ID_LEN, ES256};
use super::key::KeyState;
use crate::cbor::{int, text};

/// maxMsgSize (0x05): what the key promises to accept.
pub(crate) const MAX_MSG_SIZE: usize = 1200;
/// maxCredentialCountInList (0x07).
pub(crate) const MAX_CREDENTIAL_COUNT_IN_LIST: usize = 8;
/// maxCredentialIdLength (0x08): ids longer than this in lists are ignored.
pub(crate) const MAX_CREDENTIAL_ID_LENGTH: usize = 128;
// Our own ids must fit the limit we announce.
const _: () = assert!(CREDENTIAL_ID_LEN <= MAX_CREDENTIAL_ID_LENGTH);
/// maxRPIDsForSetMinPINLength (0x10).
pub(crate) const MAX_RP_IDS_FOR_MIN_PIN_LENGTH: usize = 8;

impl KeyState {
    /// The getInfo response map (keys in canonical order once encoded).
    pub(crate) fn get_info(&self) -> Value {
        let p = &self.persistent;
        let texts = |items: &[&str]| Value::Array(items.iter().map(|s| text(s)).collect());
        let mut options = vec![
            (text("rk"), Value::Bool(true)),
            (text("up"), Value::Bool(true)),
            (text("plat"), Value::Bool(false)),
            (text("clientPin"), Value::Bool(self.pin_is_set())),
            (text("pinUvAuthToken"), Value::Bool(true)),
            (text("setMinPINLength"), Value::Bool(true)),
            (text("makeCredUvNotRqd"), Value::Bool(false)),
            (text("authnrCfg"), Value::Bool(true)),
        ];
        match self.config.credential_management {
            CredentialManagement::Standard => {
                options.push((text("credMgmt"), Value::Bool(true)));
            }
            CredentialManagement::Preview => {
                options.push((text("credentialMgmtPreview"), Value::Bool(true)));
            }
            CredentialManagement::Absent => {}
        }
        let options = Value::Map(options);
        let remaining = self
            .config
            .max_resident_credentials
            .saturating_sub(p.credentials.len());
        let mut info = vec![
            (int(0x01), texts(&["FIDO_2_0", "FIDO_2_1"])),
            (
                int(0x02),
                texts(&["credProtect", "hmac-secret", "minPinLength"]),
            ),
            (int(0x03), Value::Bytes(self.config.aaguid.to_vec())),
            (int(0x04), options),
            (int(0x05), int(MAX_MSG_SIZE as i64)),
            (int(0x06), Value::Array(vec![int(2), int(1)])),
            (int(0x07), int(MAX_CREDENTIAL_COUNT_IN_LIST as i64)),
            (int(0x08), int(MAX_CREDENTIAL_ID_LENGTH as i64)),
            (int(0x09), texts(&["usb"])),
            (
                int(0x0A),
                Value::Array(vec![Value::Map(vec![
                    (text("alg"), int(ES256)),
                    (text("type"), text("public-key")),
                ])]),
            ),
            (int(0x0C), Value::Bool(p.force_pin_change)),
            (int(0x0D), int(i64::from(p.min_pin_length))),
            (int(0x0E), int(i64::from(self.config.firmware_version))),
            (int(0x10), int(MAX_RP_IDS_FOR_MIN_PIN_LENGTH as i64)),
            (int(0x14), int(remaining as i64)),
        ];
        // CTAP 2.2 members, only when configured (a CTAP 2.1 key has neither).
        if let Some(policy) = &self.config.pin_complexity {
            info.push((int(0x1B), Value::Bool(true)));
            if let Some(url) = policy.url() {
                info.push((int(0x1C), Value::Bytes(url.as_bytes().to_vec())));
            }
        }
        if let Some(max) = self.config.max_pin_length {
            info.push((int(0x1D), int(i64::from(max))));
        }
        Value::Map(info)
    }
}
