//! authenticatorClientPIN (0x06, CTAP 2.1 §6.5.5), the authenticator side, on top of the
//! shared PIN/UV auth protocols in [`crate::pin`].
//!
//! Retry rules (CTAP 2.1 §6.5.2.2): 8 attempts in all, persisted; three wrong PINs in a row
//! block PIN use (PIN_AUTH_BLOCKED) until the key is power-cycled; at 0 the PIN is blocked
//! for good (PIN_BLOCKED) and only a reset helps.

use ciborium::value::Value;
use hmac::digest::Digest;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::key::KeyState;
use super::request::Params;
use super::state::MAX_PIN_RETRIES;
use super::status::{CmdResult, Status};
use super::token::permission;
use crate::cbor::int;
use crate::pin::{cose_public_key, public_key_from_cose, PinProtocol, SharedSecret};

/// Request parameter keys (CTAP 2.1 §6.5.5.1).
mod key {
    pub const PROTOCOL: i64 = 0x01;
    pub const SUB_COMMAND: i64 = 0x02;
    pub const KEY_AGREEMENT: i64 = 0x03;
    pub const PIN_UV_AUTH_PARAM: i64 = 0x04;
    pub const NEW_PIN_ENC: i64 = 0x05;
    pub const PIN_HASH_ENC: i64 = 0x06;
    pub const PERMISSIONS: i64 = 0x09;
    pub const RP_ID: i64 = 0x0A;
}

/// Consecutive wrong PINs that block PIN use until power-cycled.
const MAX_CONSECUTIVE_MISMATCHES: u8 = 3;
/// Longest PIN in bytes (CTAP 2.1 §6.5.5.5: at most 63 bytes).
const MAX_PIN_BYTES: usize = 63;
/// Length of paddedNewPin (CTAP 2.1 §6.5.5.5).
const PADDED_PIN_LEN: usize = 64;

/// LEFT(SHA-256(pin), 16) as stored by the key (CTAP 2.1 §6.5.5.5).
pub(crate) fn pin_hash(pin: &[u8]) -> [u8; 16] {
    let digest = Sha256::digest(pin);
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

fn protocol(p: &Params<'_>) -> CmdResult<PinProtocol> {
    let n = p.uint(key::PROTOCOL)?;
    u8::try_from(n)
        .ok()
        .and_then(PinProtocol::from_number)
        .ok_or(Status::InvalidParameter)
}

/// A validated new PIN: its hash and its length in code points.
struct NewPin {
    hash: [u8; 16],
    code_points: usize,
}

impl KeyState {
    pub(crate) fn client_pin(&mut self, p: &Params<'_>) -> CmdResult<Option<Value>> {
        match p.uint(key::SUB_COMMAND)? {
            0x01 => Ok(Some(self.get_pin_retries())),
            0x02 => self.get_key_agreement(p).map(Some),
            0x03 => self.set_pin(p).map(|()| None),
            0x04 => self.change_pin(p).map(|()| None),
            0x05 => self.get_pin_token(p, None).map(Some),
            0x09 => {
                let perms = p.uint(key::PERMISSIONS)?;
                self.get_pin_token(p, Some(perms)).map(Some)
            }
            // 0x06 getPinUvAuthTokenUsingUvWithPermissions, 0x07 getUVRetries: no built-in UV.
            _ => Err(Status::InvalidSubcommand),
        }
    }

    /// getPINRetries (CTAP 2.1 §6.5.5.2): {pinRetries, powerCycleState}.
    fn get_pin_retries(&self) -> Value {
        let blocked = self.volatile.consecutive_pin_mismatches >= MAX_CONSECUTIVE_MISMATCHES;
        Value::Map(vec![
            (int(0x03), int(i64::from(self.persistent.pin_retries))),
            (int(0x04), Value::Bool(blocked)),
        ])
    }

    /// getKeyAgreement (CTAP 2.1 §6.5.5.4): the key-agreement public key as COSE_Key.
    fn get_key_agreement(&self, p: &Params<'_>) -> CmdResult<Value> {
        protocol(p)?;
        let pk = self.volatile.key_agreement.public_key();
        Ok(Value::Map(vec![(int(0x01), cose_public_key(&pk))]))
    }

    fn shared_secret(&self, protocol: PinProtocol, p: &Params<'_>) -> CmdResult<SharedSecret> {
        self.decapsulate(protocol, p.require(key::KEY_AGREEMENT)?)
    }

    /// decapsulate (CTAP 2.1 §6.5.6): the shared secret with the platform's COSE
    /// key-agreement key `peer` (clientPIN, and hmac-secret in getAssertion).
    pub(crate) fn decapsulate(
        &self,
        protocol: PinProtocol,
        peer: &Value,
    ) -> CmdResult<SharedSecret> {
        let peer = public_key_from_cose(peer).map_err(|_| Status::InvalidParameter)?;
        protocol
            .decapsulate(&self.volatile.key_agreement, &peer)
            .map_err(|_| Status::InvalidParameter)
    }

    /// PIN_BLOCKED / PIN_AUTH_BLOCKED checks done before any PIN is compared.
    fn check_not_blocked(&self) -> CmdResult<()> {
        if self.persistent.pin_retries == 0 {
            return Err(Status::PinBlocked);
        }
        if self.volatile.consecutive_pin_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
            return Err(Status::PinAuthBlocked);
        }
        Ok(())
    }

    /// Compares pinHashEnc with the stored PIN hash (CTAP 2.1 §6.5.5.5 steps 6–8): a
    /// retry is spent first and given back only on a match.
    fn check_pin_hash(
        &mut self,
        protocol: PinProtocol,
        shared: &SharedSecret,
        pin_hash_enc: &[u8],
    ) -> CmdResult<()> {
        let stored = self.persistent.pin_hash.ok_or(Status::PinNotSet)?;
        self.persistent.pin_retries = self.persistent.pin_retries.saturating_sub(1);
        self.persist()?;
        let matches = match protocol.decrypt(shared, pin_hash_enc) {
            Ok(given) if given.len() == 16 => {
                // Constant-time: fold the XOR of every byte.
                given
                    .iter()
                    .zip(stored.iter())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
            }
            _ => false,
        };
        if !matches {
            self.regenerate_key_agreement();
            self.volatile.consecutive_pin_mismatches =
                self.volatile.consecutive_pin_mismatches.saturating_add(1);
            tracing::info!(retries = self.persistent.pin_retries, "soft key: wrong PIN");
            if self.persistent.pin_retries == 0 {
                return Err(Status::PinBlocked);
            }
            if self.volatile.consecutive_pin_mismatches >= MAX_CONSECUTIVE_MISMATCHES {
                return Err(Status::PinAuthBlocked);
            }
            return Err(Status::PinInvalid);
        }
        self.persistent.pin_retries = MAX_PIN_RETRIES;
        self.volatile.consecutive_pin_mismatches = 0;
        self.persist()
    }

    /// Decrypts and checks newPinEnc (CTAP 2.1 §6.5.5.5): 64 padded bytes, the PIN up to
    /// the first zero, at most 63 bytes, at least minPINLength code points; with CTAP 2.2
    /// settings, at most maxPINLength code points and accepted by the complexity policy.
    fn new_pin(
        &self,
        protocol: PinProtocol,
        shared: &SharedSecret,
        enc: &[u8],
    ) -> CmdResult<NewPin> {
        let padded = protocol
            .decrypt(shared, enc)
            .map_err(|_| Status::InvalidParameter)?;
        if padded.len() < PADDED_PIN_LEN {
            return Err(Status::InvalidParameter);
        }
        let len = padded.iter().position(|&b| b == 0).unwrap_or(padded.len());
        if len > MAX_PIN_BYTES {
            return Err(Status::PinPolicyViolation);
        }
        let pin = Zeroizing::new(padded[..len].to_vec());
        let text = std::str::from_utf8(&pin).map_err(|_| Status::PinPolicyViolation)?;
        let code_points = text.chars().count();
        if code_points < usize::from(self.persistent.min_pin_length) {
            return Err(Status::PinPolicyViolation);
        }
        if let Some(max) = self.config.max_pin_length {
            if code_points > usize::from(max) {
                return Err(Status::PinPolicyViolation);
            }
        }
        if let Some(policy) = &self.config.pin_complexity {
            if !policy.accepts(text) {
                return Err(Status::PinPolicyViolation);
            }
        }
        Ok(NewPin {
            hash: pin_hash(&pin),
            code_points,
        })
    }

    /// setPIN (CTAP 2.1 §6.5.5.5).
    fn set_pin(&mut self, p: &Params<'_>) -> CmdResult<()> {
        let protocol = protocol(p)?;
        p.require(key::KEY_AGREEMENT)?;
        let new_pin_enc = p.bytes(key::NEW_PIN_ENC)?;
        let param = p.bytes(key::PIN_UV_AUTH_PARAM)?;
        if self.pin_is_set() {
            return Err(Status::NotAllowed);
        }
        let shared = self.shared_secret(protocol, p)?;
        if !protocol.verify(shared.as_bytes(), new_pin_enc, param) {
            return Err(Status::PinAuthInvalid);
        }
        let new = self.new_pin(protocol, &shared, new_pin_enc)?;
        self.persistent.pin_hash = Some(new.hash);
        self.persistent.pin_code_points = new.code_points;
        self.persistent.pin_retries = MAX_PIN_RETRIES;
        self.persist()?;
        tracing::info!("soft key: PIN set");
        Ok(())
    }

    /// changePIN (CTAP 2.1 §6.5.5.6).
    fn change_pin(&mut self, p: &Params<'_>) -> CmdResult<()> {
        let protocol = protocol(p)?;
        p.require(key::KEY_AGREEMENT)?;
        let pin_hash_enc = p.bytes(key::PIN_HASH_ENC)?;
        let new_pin_enc = p.bytes(key::NEW_PIN_ENC)?;
        let param = p.bytes(key::PIN_UV_AUTH_PARAM)?;
        if !self.pin_is_set() {
            return Err(Status::PinNotSet);
        }
        self.check_not_blocked()?;
        let shared = self.shared_secret(protocol, p)?;
        let mut msg = new_pin_enc.to_vec();
        msg.extend_from_slice(pin_hash_enc);
        if !protocol.verify(shared.as_bytes(), &msg, param) {
            return Err(Status::PinAuthInvalid);
        }
        self.check_pin_hash(protocol, &shared, pin_hash_enc)?;
        let new = self.new_pin(protocol, &shared, new_pin_enc)?;
        // A forced change must really change the PIN (CTAP 2.1 §6.5.5.6 step 10).
        if self.persistent.force_pin_change && self.persistent.pin_hash == Some(new.hash) {
            return Err(Status::PinPolicyViolation);
        }
        self.persistent.pin_hash = Some(new.hash);
        self.persistent.pin_code_points = new.code_points;
        self.persistent.force_pin_change = false;
        self.persist()?;
        self.volatile.token = super::token::PinUvAuthToken::new();
        tracing::info!("soft key: PIN changed");
        Ok(())
    }

    /// getPinToken (0x05, `permissions` None, CTAP 2.1 §6.5.5.7.1) and
    /// getPinUvAuthTokenUsingPinWithPermissions (0x09, CTAP 2.1 §6.5.5.7.2).
    fn get_pin_token(&mut self, p: &Params<'_>, permissions: Option<u64>) -> CmdResult<Value> {
        let protocol = protocol(p)?;
        p.require(key::KEY_AGREEMENT)?;
        let pin_hash_enc = p.bytes(key::PIN_HASH_ENC)?;
        let rp_id = p.opt_text(key::RP_ID)?.map(str::to_owned);
        let permissions = match permissions {
            // The legacy command grants mc and ga and takes neither parameter (§6.5.5.7.1).
            None => {
                if p.get(key::PERMISSIONS).is_some() || rp_id.is_some() {
                    return Err(Status::InvalidParameter);
                }
                permission::MC | permission::GA
            }
            Some(0) => return Err(Status::InvalidParameter),
            Some(bits) => {
                let bits = u8::try_from(bits).map_err(|_| Status::UnauthorizedPermission)?;
                if bits & !permission::ALL != 0 {
                    return Err(Status::UnauthorizedPermission);
                }
                // mc and ga are per-RP: they need a permissions RP ID (CTAP 2.1 §6.5.5.7.2,
                // rpId note; OpenSK and YubiKeys answer INVALID_PARAMETER too).
                if bits & (permission::MC | permission::GA) != 0 && rp_id.is_none() {
                    return Err(Status::InvalidParameter);
                }
                bits
            }
        };
        if !self.pin_is_set() {
            return Err(Status::PinNotSet);
        }
        self.check_not_blocked()?;
        let shared = self.shared_secret(protocol, p)?;
        self.check_pin_hash(protocol, &shared, pin_hash_enc)?;
        if self.persistent.force_pin_change {
            return Err(Status::PinPolicyViolation);
        }
        // resetPinUvAuthToken then beginUsingPinUvAuthToken: a new value every time.
        self.volatile.token = super::token::PinUvAuthToken::new();
        self.volatile
            .token
            .begin_using(protocol, permissions, rp_id);
        let enc = protocol
            .encrypt(&shared, self.volatile.token.value())
            .map_err(|_| Status::Other)?;
        Ok(Value::Map(vec![(int(0x02), Value::Bytes(enc))]))
    }
}
