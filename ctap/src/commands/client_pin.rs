//! authenticatorClientPIN (0x06, CTAP 2.1 §6.5.5): PIN retries, key agreement, set/change
//! PIN and PIN tokens.
//!
//! Builders here do the protocol crypto (CTAP 2.1 §6.5.5.5–§6.5.5.7) so callers only hold a
//! shared secret and a PIN. PINs are checked against the key's rules before anything is sent.

use std::ops::BitOr;

use ciborium::Value;
use p256::PublicKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{decode_empty, decode_map, Command};
use crate::cbor::{expect_bool, expect_bytes, expect_map, expect_u32, int};
use crate::pin::{cose_public_key, public_key_from_cose, PinProtocol, SharedSecret};
use crate::{Error, Result};

/// Longest PIN in UTF-8 bytes (CTAP 2.1 §6.5.5.5: the padded PIN block is 64 bytes and
/// must end in a zero byte).
pub const MAX_PIN_BYTES: usize = 63;

/// clientPIN subcommands (CTAP 2.1 §6.5.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubCommand {
    /// getPINRetries (0x01).
    GetPinRetries = 0x01,
    /// getKeyAgreement (0x02).
    GetKeyAgreement = 0x02,
    /// setPIN (0x03).
    SetPin = 0x03,
    /// changePIN (0x04).
    ChangePin = 0x04,
    /// getPinToken (0x05, the CTAP 2.0 token without permissions).
    GetPinToken = 0x05,
    /// getPinUvAuthTokenUsingUvWithPermissions (0x06).
    GetPinUvAuthTokenUsingUvWithPermissions = 0x06,
    /// getUVRetries (0x07).
    GetUvRetries = 0x07,
    /// getPinUvAuthTokenUsingPinWithPermissions (0x09).
    GetPinUvAuthTokenUsingPinWithPermissions = 0x09,
}

/// pinUvAuthToken permissions (CTAP 2.1 §6.5.5.7), combined with `|`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(pub u8);

impl Permissions {
    /// mc: authenticatorMakeCredential.
    pub const MAKE_CREDENTIAL: Self = Self(0x01);
    /// ga: authenticatorGetAssertion.
    pub const GET_ASSERTION: Self = Self(0x02);
    /// cm: authenticatorCredentialManagement.
    pub const CREDENTIAL_MANAGEMENT: Self = Self(0x04);
    /// be: authenticatorBioEnrollment.
    pub const BIO_ENROLLMENT: Self = Self(0x08);
    /// lbw: largeBlobWrite.
    pub const LARGE_BLOB_WRITE: Self = Self(0x10);
    /// acfg: authenticatorConfig.
    pub const AUTHENTICATOR_CONFIG: Self = Self(0x20);

    /// The bit mask.
    pub fn bits(self) -> u8 {
        self.0
    }
    /// Whether every bit of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Permissions {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A decrypted pinUvAuthToken with the protocol it belongs to. Debug prints `***`.
#[derive(Clone)]
pub struct PinToken {
    protocol: PinProtocol,
    token: Zeroizing<Vec<u8>>,
}

impl PinToken {
    /// Wraps a token (tests and the authenticator side).
    pub fn new(protocol: PinProtocol, token: Vec<u8>) -> Self {
        Self {
            protocol,
            token: Zeroizing::new(token),
        }
    }
    /// The protocol the token was issued under.
    pub fn protocol(&self) -> PinProtocol {
        self.protocol
    }
    /// pinUvAuthParam over `msg` with this token (CTAP 2.1 §6.5.5.7 / §6.5.6 authenticate).
    pub fn authenticate(&self, msg: &[u8]) -> Vec<u8> {
        self.protocol.authenticate(&self.token, msg)
    }
    /// The raw token bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.token
    }
}

impl std::fmt::Debug for PinToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PinToken({:?}, ***)", self.protocol)
    }
}

/// A clientPIN request (CTAP 2.1 §6.5.5.1 parameters).
#[derive(Clone, Default)]
pub struct ClientPinRequest {
    /// 0x01 pinUvAuthProtocol.
    pub protocol: Option<PinProtocol>,
    /// 0x02 subCommand.
    pub sub_command: Option<SubCommand>,
    /// 0x03 keyAgreement (the platform's COSE key).
    pub key_agreement: Option<PublicKey>,
    /// 0x04 pinUvAuthParam.
    pub pin_uv_auth_param: Option<Vec<u8>>,
    /// 0x05 newPinEnc.
    pub new_pin_enc: Option<Vec<u8>>,
    /// 0x06 pinHashEnc.
    pub pin_hash_enc: Option<Vec<u8>>,
    /// 0x09 permissions.
    pub permissions: Option<Permissions>,
    /// 0x0A rpId.
    pub rp_id: Option<String>,
}

impl std::fmt::Debug for ClientPinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Encrypted PIN fields are not secret in themselves but are kept out of logs anyway.
        f.debug_struct("ClientPinRequest")
            .field("protocol", &self.protocol)
            .field("sub_command", &self.sub_command)
            .field("permissions", &self.permissions)
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

/// A clientPIN reply (CTAP 2.1 §6.5.5.1 response).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientPinResponse {
    /// 0x01 keyAgreement: the authenticator's key-agreement public key.
    pub key_agreement: Option<PublicKey>,
    /// 0x02 pinUvAuthToken, encrypted with the shared secret.
    pub pin_uv_auth_token_enc: Option<Vec<u8>>,
    /// 0x03 pinRetries.
    pub pin_retries: Option<u32>,
    /// 0x04 powerCycleState: the key must be re-inserted before it accepts a PIN again.
    pub power_cycle_state: Option<bool>,
    /// 0x05 uvRetries.
    pub uv_retries: Option<u32>,
}

impl std::fmt::Debug for ClientPinResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientPinResponse")
            .field("key_agreement", &self.key_agreement.is_some())
            .field(
                "pin_uv_auth_token_enc",
                &self.pin_uv_auth_token_enc.as_ref().map(|_| "***"),
            )
            .field("pin_retries", &self.pin_retries)
            .field("power_cycle_state", &self.power_cycle_state)
            .field("uv_retries", &self.uv_retries)
            .finish()
    }
}

impl Command for ClientPinRequest {
    const CMD: u8 = 0x06;
    type Response = ClientPinResponse;

    fn params(&self) -> Option<Value> {
        let mut m = Vec::new();
        if let Some(p) = self.protocol {
            m.push((int(0x01), int(i64::from(p.number()))));
        }
        if let Some(s) = self.sub_command {
            m.push((int(0x02), int(s as i64)));
        }
        if let Some(k) = &self.key_agreement {
            m.push((int(0x03), cose_public_key(k)));
        }
        if let Some(a) = &self.pin_uv_auth_param {
            m.push((int(0x04), Value::Bytes(a.clone())));
        }
        if let Some(e) = &self.new_pin_enc {
            m.push((int(0x05), Value::Bytes(e.clone())));
        }
        if let Some(e) = &self.pin_hash_enc {
            m.push((int(0x06), Value::Bytes(e.clone())));
        }
        if let Some(p) = self.permissions {
            m.push((int(0x09), int(i64::from(p.bits()))));
        }
        if let Some(r) = &self.rp_id {
            m.push((int(0x0A), Value::Text(r.clone())));
        }
        Some(Value::Map(m))
    }

    fn decode(body: &[u8]) -> Result<ClientPinResponse> {
        decode_client_pin_response(body)
    }
}

/// Decodes a clientPIN reply body (CTAP 2.1 §6.5.5.1). setPIN and changePIN reply with an
/// empty body, which decodes to all-`None`.
pub fn decode_client_pin_response(body: &[u8]) -> Result<ClientPinResponse> {
    let mut r = ClientPinResponse::default();
    if decode_empty(body).is_ok() {
        return Ok(r);
    }
    let map = decode_map(body, "clientPIN")?;
    for (k, v) in expect_map(&map, "clientPIN")? {
        let Value::Integer(k) = k else { continue };
        match i128::from(*k) {
            0x01 => r.key_agreement = Some(public_key_from_cose(v)?),
            0x02 => r.pin_uv_auth_token_enc = Some(expect_bytes(v, "pinUvAuthToken")?.to_vec()),
            0x03 => r.pin_retries = Some(expect_u32(v, "pinRetries")?),
            0x04 => r.power_cycle_state = Some(expect_bool(v, "powerCycleState")?),
            0x05 => r.uv_retries = Some(expect_u32(v, "uvRetries")?),
            _ => {}
        }
    }
    Ok(r)
}

/// Checks a new PIN against the rules (CTAP 2.1 §6.5.5.5): at least `min_len` Unicode code
/// points, at most 63 UTF-8 bytes, no NUL (it would be cut off by the zero padding).
/// Error texts name the rule, never the PIN.
pub fn check_new_pin(pin: &str, min_len: u32) -> Result<()> {
    let chars = pin.chars().count();
    if chars < min_len as usize {
        return Err(Error::PinRules(format!(
            "at least {min_len} characters are required, got {chars}"
        )));
    }
    if pin.len() > MAX_PIN_BYTES {
        return Err(Error::PinRules(format!(
            "at most {MAX_PIN_BYTES} bytes (UTF-8) are allowed"
        )));
    }
    if pin.contains('\0') {
        return Err(Error::PinRules(
            "the PIN must not contain a NUL character".into(),
        ));
    }
    Ok(())
}

/// Checks a new PIN against the key's maxPINLength (CTAP 2.2 getInfo 0x1D, in code points),
/// when it announces one. Error texts name the rule, never the PIN.
pub fn check_max_pin_length(pin: &str, max_len: Option<u32>) -> Result<()> {
    let chars = pin.chars().count();
    match max_len {
        Some(max) if chars > max as usize => Err(Error::PinRules(format!(
            "this key takes at most {max} characters, got {chars}"
        ))),
        _ => Ok(()),
    }
}

/// The PIN padded with zeros to 64 bytes (CTAP 2.1 §6.5.5.5 paddedPin).
fn padded_pin(pin: &str) -> Zeroizing<Vec<u8>> {
    let mut p = Zeroizing::new(Vec::with_capacity(64));
    p.extend_from_slice(pin.as_bytes());
    p.resize(64, 0);
    p
}

/// LEFT(SHA-256(pin), 16), encrypted (CTAP 2.1 §6.5.5.6 pinHashEnc).
fn pin_hash_enc(protocol: PinProtocol, shared: &SharedSecret, pin: &str) -> Result<Vec<u8>> {
    let digest = Zeroizing::new(Sha256::digest(pin.as_bytes()).to_vec());
    protocol.encrypt(shared, &digest[..16])
}

/// getPINRetries (CTAP 2.1 §6.5.5.2). The protocol field is optional here; sent when known.
pub fn get_pin_retries(protocol: Option<PinProtocol>) -> ClientPinRequest {
    ClientPinRequest {
        protocol,
        sub_command: Some(SubCommand::GetPinRetries),
        ..Default::default()
    }
}

/// getKeyAgreement (CTAP 2.1 §6.5.5.4).
pub fn get_key_agreement(protocol: PinProtocol) -> ClientPinRequest {
    ClientPinRequest {
        protocol: Some(protocol),
        sub_command: Some(SubCommand::GetKeyAgreement),
        ..Default::default()
    }
}

/// setPIN (CTAP 2.1 §6.5.5.5): newPinEnc = encrypt(paddedPin), pinUvAuthParam =
/// authenticate(shared, newPinEnc). `platform_key` is our half of the key agreement.
pub fn set_pin(
    protocol: PinProtocol,
    shared: &SharedSecret,
    platform_key: PublicKey,
    new_pin: &str,
    min_len: u32,
) -> Result<ClientPinRequest> {
    check_new_pin(new_pin, min_len)?;
    let new_pin_enc = protocol.encrypt(shared, &padded_pin(new_pin))?;
    let auth = protocol.authenticate(shared.as_bytes(), &new_pin_enc);
    Ok(ClientPinRequest {
        protocol: Some(protocol),
        sub_command: Some(SubCommand::SetPin),
        key_agreement: Some(platform_key),
        pin_uv_auth_param: Some(auth),
        new_pin_enc: Some(new_pin_enc),
        ..Default::default()
    })
}

/// changePIN (CTAP 2.1 §6.5.5.6): pinUvAuthParam = authenticate(shared, newPinEnc || pinHashEnc).
pub fn change_pin(
    protocol: PinProtocol,
    shared: &SharedSecret,
    platform_key: PublicKey,
    current_pin: &str,
    new_pin: &str,
    min_len: u32,
) -> Result<ClientPinRequest> {
    check_new_pin(new_pin, min_len)?;
    let pin_hash_enc = pin_hash_enc(protocol, shared, current_pin)?;
    let new_pin_enc = protocol.encrypt(shared, &padded_pin(new_pin))?;
    let mut msg = new_pin_enc.clone();
    msg.extend_from_slice(&pin_hash_enc);
    let auth = protocol.authenticate(shared.as_bytes(), &msg);
    Ok(ClientPinRequest {
        protocol: Some(protocol),
        sub_command: Some(SubCommand::ChangePin),
        key_agreement: Some(platform_key),
        pin_uv_auth_param: Some(auth),
        new_pin_enc: Some(new_pin_enc),
        pin_hash_enc: Some(pin_hash_enc),
        ..Default::default()
    })
}

/// getPinToken (CTAP 2.1 §6.5.5.7.1, the CTAP 2.0 way: all permissions, no rpId).
pub fn get_pin_token(
    protocol: PinProtocol,
    shared: &SharedSecret,
    platform_key: PublicKey,
    pin: &str,
) -> Result<ClientPinRequest> {
    Ok(ClientPinRequest {
        protocol: Some(protocol),
        sub_command: Some(SubCommand::GetPinToken),
        key_agreement: Some(platform_key),
        pin_hash_enc: Some(pin_hash_enc(protocol, shared, pin)?),
        ..Default::default()
    })
}

/// getPinUvAuthTokenUsingPinWithPermissions (CTAP 2.1 §6.5.5.7.2).
pub fn get_pin_uv_auth_token_using_pin_with_permissions(
    protocol: PinProtocol,
    shared: &SharedSecret,
    platform_key: PublicKey,
    pin: &str,
    permissions: Permissions,
    rp_id: Option<&str>,
) -> Result<ClientPinRequest> {
    if permissions.bits() == 0 {
        return Err(Error::InvalidInput(
            "a PIN token needs at least one permission".into(),
        ));
    }
    // mc and ga are bound to one RP: the rpId parameter is required with them
    // (CTAP 2.1 §6.5.5.7.2; keys answer INVALID_PARAMETER otherwise).
    let per_rp = Permissions::MAKE_CREDENTIAL | Permissions::GET_ASSERTION;
    if permissions.bits() & per_rp.bits() != 0 && rp_id.is_none() {
        return Err(Error::InvalidInput(
            "a PIN token for makeCredential/getAssertion needs the RP id".into(),
        ));
    }
    Ok(ClientPinRequest {
        protocol: Some(protocol),
        sub_command: Some(SubCommand::GetPinUvAuthTokenUsingPinWithPermissions),
        key_agreement: Some(platform_key),
        pin_hash_enc: Some(pin_hash_enc(protocol, shared, pin)?),
        permissions: Some(permissions),
        rp_id: rp_id.map(str::to_owned),
        ..Default::default()
    })
}

/// Decrypts the token of a getPinToken / getPinUvAuthToken… reply (CTAP 2.1 §6.5.5.7).
pub fn decrypt_token(
    protocol: PinProtocol,
    shared: &SharedSecret,
    response: &ClientPinResponse,
) -> Result<PinToken> {
    let enc = response
        .pin_uv_auth_token_enc
        .as_deref()
        .ok_or_else(|| Error::Malformed("clientPIN: pinUvAuthToken (0x02) is missing".into()))?;
    let token = protocol.decrypt(shared, enc)?;
    // v1 tokens are 16 or 32 bytes; v2 tokens are 32 (CTAP 2.1 §6.5.2).
    let ok = match protocol {
        PinProtocol::V1 => token.len() == 16 || token.len() == 32,
        PinProtocol::V2 => token.len() == 32,
    };
    if !ok {
        return Err(Error::Malformed(
            "clientPIN: pinUvAuthToken has the wrong length".into(),
        ));
    }
    Ok(PinToken { protocol, token })
}
