//! authenticatorGetInfo (0x04, CTAP 2.1 §6.4, with the CTAP 2.2 members the station uses):
//! what the key supports.
//!
//! CTAP 2.2 added, among others, 0x1B `pinComplexityPolicy` (bool), 0x1C
//! `pinComplexityPolicyURL` (bytes) and 0x1D `maxPINLength` (unsigned, code points). The spec
//! text itself was not at hand when they were added here: the numbers and types are those on
//! which independent implementations agree (python-fido2's getInfo field table "CTAP 2.2
//! section 6.4", a Rust and a Swift CTAP client's `Info`), and Yubico's SDK manual (firmware
//! 5.7) says a key enforcing its policy refuses a PIN with CTAP2_ERR_PIN_POLICY_VIOLATION.

use std::collections::BTreeMap;

use ciborium::Value;

use super::{decode_map, Command};
use crate::cbor::{
    expect_array, expect_bool, expect_bytes, expect_int, expect_map, expect_text, expect_u32,
};
use crate::pin::PinProtocol;
use crate::{Error, Result};

/// The getInfo request (no parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct GetInfo;

/// Minimum PIN length when the key does not report one (CTAP 2.1 §6.4 minPINLength).
pub const DEFAULT_MIN_PIN_LENGTH: u32 = 4;

/// A decoded authenticatorGetInfo response (CTAP 2.1 §6.4). Unknown keys are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// 0x01 versions, e.g. "FIDO_2_0", "FIDO_2_1".
    pub versions: Vec<String>,
    /// 0x02 extensions, e.g. "credProtect", "hmac-secret".
    pub extensions: Vec<String>,
    /// 0x03 aaguid.
    pub aaguid: [u8; 16],
    /// 0x04 options (absent options have their spec defaults; see [`Info::option`]).
    pub options: BTreeMap<String, bool>,
    /// 0x05 maxMsgSize.
    pub max_msg_size: Option<u32>,
    /// 0x06 pinUvAuthProtocols, in the key's order of preference.
    pub pin_uv_auth_protocols: Vec<u32>,
    /// 0x07 maxCredentialCountInList.
    pub max_credential_count_in_list: Option<u32>,
    /// 0x08 maxCredentialIdLength.
    pub max_credential_id_length: Option<u32>,
    /// 0x09 transports.
    pub transports: Vec<String>,
    /// 0x0A algorithms: (type, alg) pairs.
    pub algorithms: Vec<(String, i64)>,
    /// 0x0B maxSerializedLargeBlobArray.
    pub max_serialized_large_blob_array: Option<u32>,
    /// 0x0C forcePINChange.
    pub force_pin_change: bool,
    /// 0x0D minPINLength.
    pub min_pin_length: Option<u32>,
    /// 0x0E firmwareVersion.
    pub firmware_version: Option<u64>,
    /// 0x0F maxCredBlobLength.
    pub max_cred_blob_length: Option<u32>,
    /// 0x10 maxRPIDsForSetMinPINLength.
    pub max_rpids_for_set_min_pin_length: Option<u32>,
    /// 0x11 preferredPlatformUvAttempts.
    pub preferred_platform_uv_attempts: Option<u32>,
    /// 0x12 uvModality.
    pub uv_modality: Option<u32>,
    /// 0x14 remainingDiscoverableCredentials.
    pub remaining_discoverable_credentials: Option<u32>,
    /// 0x1B pinComplexityPolicy (CTAP 2.2): `Some(true)` when the key refuses PINs by a
    /// complexity policy of its own beyond minPINLength (with PIN_POLICY_VIOLATION), `Some(false)`
    /// when it has one that is off, `None` when it has none.
    pub pin_complexity_policy: Option<bool>,
    /// 0x1C pinComplexityPolicyURL (CTAP 2.2): where the key's maker describes the policy.
    pub pin_complexity_policy_url: Option<Vec<u8>>,
    /// 0x1D maxPINLength (CTAP 2.2): the longest PIN the key takes, in Unicode code points;
    /// absent, only the 63-byte limit of CTAP 2.1 §6.5.5.5 applies.
    pub max_pin_length: Option<u32>,
}

impl Info {
    /// An option's value, or `None` when the key does not list it.
    pub fn option(&self, name: &str) -> Option<bool> {
        self.options.get(name).copied()
    }

    /// Whether the key lists `name` in its extensions.
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }

    /// Whether the key speaks CTAP 2.1 (or its pre-release "FIDO_2_1_PRE").
    pub fn is_ctap21(&self) -> bool {
        self.versions
            .iter()
            .any(|v| v == "FIDO_2_1" || v == "FIDO_2_1_PRE")
    }

    /// minPINLength, or the spec default of 4.
    pub fn min_pin_length_or_default(&self) -> u32 {
        self.min_pin_length.unwrap_or(DEFAULT_MIN_PIN_LENGTH)
    }

    /// Whether the key enforces a PIN complexity policy (pinComplexityPolicy present and true).
    pub fn enforces_pin_complexity(&self) -> bool {
        self.pin_complexity_policy == Some(true)
    }

    /// The PIN protocol to use: protocol two when the key lists it, else one; `None` when
    /// the key lists neither. Keys that list nothing but have clientPin speak protocol one.
    pub fn preferred_pin_protocol(&self) -> Option<PinProtocol> {
        let listed = |p: PinProtocol| self.pin_uv_auth_protocols.contains(&u32::from(p.number()));
        if listed(PinProtocol::V2) {
            Some(PinProtocol::V2)
        } else if listed(PinProtocol::V1) || self.pin_uv_auth_protocols.is_empty() {
            Some(PinProtocol::V1)
        } else {
            None
        }
    }

    /// The AAGUID as a lower-case UUID string.
    pub fn aaguid_string(&self) -> String {
        uuid_string(&self.aaguid)
    }
}

/// 16 bytes (an AAGUID) as a lower-case UUID string.
pub fn uuid_string(bytes: &[u8; 16]) -> String {
    let h: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn text_list(v: &Value, field: &str) -> Result<Vec<String>> {
    expect_array(v, field)?
        .iter()
        .map(|s| expect_text(s, field).map(str::to_owned))
        .collect()
}

impl Command for GetInfo {
    const CMD: u8 = 0x04;
    type Response = Info;

    fn params(&self) -> Option<Value> {
        None
    }

    fn decode(body: &[u8]) -> Result<Info> {
        decode_info(body)
    }
}

/// Decodes a getInfo reply body (CTAP 2.1 §6.4). Required: versions (0x01), aaguid (0x03).
pub fn decode_info(body: &[u8]) -> Result<Info> {
    let map = decode_map(body, "getInfo")?;
    let mut info = Info::default();
    let (mut have_versions, mut have_aaguid) = (false, false);
    for (k, v) in expect_map(&map, "getInfo")? {
        let Value::Integer(k) = k else { continue };
        let Ok(k) = u8::try_from(i128::from(*k)) else {
            continue;
        };
        match k {
            0x01 => {
                info.versions = text_list(v, "versions")?;
                have_versions = true;
            }
            0x02 => info.extensions = text_list(v, "extensions")?,
            0x03 => {
                info.aaguid = expect_bytes(v, "aaguid")?
                    .try_into()
                    .map_err(|_| Error::Malformed("aaguid: expected 16 bytes".into()))?;
                have_aaguid = true;
            }
            0x04 => {
                for (ok, ov) in expect_map(v, "options")? {
                    info.options.insert(
                        expect_text(ok, "options key")?.to_owned(),
                        expect_bool(ov, "options value")?,
                    );
                }
            }
            0x05 => info.max_msg_size = Some(expect_u32(v, "maxMsgSize")?),
            0x06 => {
                info.pin_uv_auth_protocols = expect_array(v, "pinUvAuthProtocols")?
                    .iter()
                    .map(|p| expect_u32(p, "pinUvAuthProtocols"))
                    .collect::<Result<_>>()?
            }
            0x07 => {
                info.max_credential_count_in_list = Some(expect_u32(v, "maxCredentialCountInList")?)
            }
            0x08 => info.max_credential_id_length = Some(expect_u32(v, "maxCredentialIdLength")?),
            0x09 => info.transports = text_list(v, "transports")?,
            0x0A => {
                for a in expect_array(v, "algorithms")? {
                    let ty = crate::cbor::map_get_text(a, "type")
                        .map(|t| expect_text(t, "algorithms type"))
                        .transpose()?;
                    let alg = crate::cbor::map_get_text(a, "alg")
                        .map(|t| expect_int(t, "algorithms alg"))
                        .transpose()?;
                    if let (Some(ty), Some(alg)) = (ty, alg) {
                        info.algorithms.push((ty.to_owned(), alg));
                    }
                }
            }
            0x0B => {
                info.max_serialized_large_blob_array =
                    Some(expect_u32(v, "maxSerializedLargeBlobArray")?)
            }
            0x0C => info.force_pin_change = expect_bool(v, "forcePINChange")?,
            0x0D => info.min_pin_length = Some(expect_u32(v, "minPINLength")?),
            0x0E => {
                let fw = expect_int(v, "firmwareVersion")?;
                info.firmware_version = Some(
                    u64::try_from(fw)
                        .map_err(|_| Error::Malformed("firmwareVersion: negative".into()))?,
                );
            }
            0x0F => info.max_cred_blob_length = Some(expect_u32(v, "maxCredBlobLength")?),
            0x10 => {
                info.max_rpids_for_set_min_pin_length =
                    Some(expect_u32(v, "maxRPIDsForSetMinPINLength")?)
            }
            0x11 => {
                info.preferred_platform_uv_attempts =
                    Some(expect_u32(v, "preferredPlatformUvAttempts")?)
            }
            0x12 => info.uv_modality = Some(expect_u32(v, "uvModality")?),
            0x14 => {
                info.remaining_discoverable_credentials =
                    Some(expect_u32(v, "remainingDiscoverableCredentials")?)
            }
            0x1B => info.pin_complexity_policy = Some(expect_bool(v, "pinComplexityPolicy")?),
            0x1C => {
                info.pin_complexity_policy_url =
                    Some(expect_bytes(v, "pinComplexityPolicyURL")?.to_vec())
            }
            0x1D => info.max_pin_length = Some(expect_u32(v, "maxPINLength")?),
            // certifications (0x13), vendorPrototypeConfigCommands (0x15), the other CTAP 2.2
            // members (0x16..=0x1A, 0x1E, 0x1F) and future keys.
            _ => {}
        }
    }
    if !have_versions {
        return Err(Error::Malformed(
            "getInfo: versions (0x01) is missing".into(),
        ));
    }
    if !have_aaguid {
        return Err(Error::Malformed("getInfo: aaguid (0x03) is missing".into()));
    }
    Ok(info)
}
