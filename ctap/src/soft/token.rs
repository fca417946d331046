//! The pinUvAuthToken and its state (CTAP 2.1 §6.5.2.1): permissions, permissions RP ID,
//! in-use flag and the usage timer.

use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::pin::PinProtocol;

/// Permission bits (CTAP 2.1 §6.5.5.7).
pub(crate) mod permission {
    /// makeCredential.
    pub const MC: u8 = 0x01;
    /// getAssertion.
    pub const GA: u8 = 0x02;
    /// credentialManagement.
    pub const CM: u8 = 0x04;
    /// bioEnrollment.
    pub const BE: u8 = 0x08;
    /// largeBlobWrite.
    pub const LBW: u8 = 0x10;
    /// authenticatorConfig.
    pub const ACFG: u8 = 0x20;
    /// Every bit this key grants.
    pub const ALL: u8 = MC | GA | CM | BE | LBW | ACFG;
}

/// Longest a token lives, however often it is used (CTAP 2.1 §6.5.2.1.1: 10 minutes).
const MAX_USAGE_PERIOD: Duration = Duration::from_secs(600);

/// The authenticator's pinUvAuthToken. Not `Debug`: it holds the token value.
pub(crate) struct PinUvAuthToken {
    value: Zeroizing<[u8; 32]>,
    in_use: bool,
    permissions: u8,
    rp_id: Option<String>,
    issued: Instant,
    last_used: Instant,
    user_verified: bool,
    /// The protocol the token was issued under: each protocol has its own token (CTAP 2.1
    /// §6.5.4), so a MAC made under the other one fails.
    protocol: Option<PinProtocol>,
}

impl PinUvAuthToken {
    /// A fresh random token, not in use (resetPinUvAuthToken, CTAP 2.1 §6.5.5.1).
    pub fn new() -> Self {
        let mut value = Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(&mut value[..]);
        let now = Instant::now();
        Self {
            value,
            in_use: false,
            permissions: 0,
            rp_id: None,
            issued: now,
            last_used: now,
            user_verified: false,
            protocol: None,
        }
    }

    /// beginUsingPinUvAuthToken (CTAP 2.1 §6.5.2.1.1) with the granted permissions.
    pub fn begin_using(&mut self, protocol: PinProtocol, permissions: u8, rp_id: Option<String>) {
        let now = Instant::now();
        self.protocol = Some(protocol);
        self.in_use = true;
        self.permissions = permissions;
        self.rp_id = rp_id;
        self.issued = now;
        self.last_used = now;
        self.user_verified = true;
    }

    /// The token value, to encrypt for the platform.
    pub fn value(&self) -> &[u8] {
        &self.value[..]
    }

    /// Whether the token is in use, expiring it first when its timer ran out: unused for
    /// `idle` or older than the maximum usage period (CTAP 2.1 §6.5.2.1.1).
    pub fn in_use(&mut self, idle: Duration) -> bool {
        if self.in_use
            && (self.last_used.elapsed() > idle || self.issued.elapsed() > MAX_USAGE_PERIOD)
        {
            self.in_use = false;
            self.permissions = 0;
            self.rp_id = None;
        }
        self.in_use
    }

    /// verify(pinUvAuthToken, msg, param) for a token in use; counts as a use.
    pub fn verify(
        &mut self,
        protocol: PinProtocol,
        idle: Duration,
        msg: &[u8],
        param: &[u8],
    ) -> bool {
        if !self.in_use(idle)
            || self.protocol != Some(protocol)
            || !protocol.verify(&self.value[..], msg, param)
        {
            return false;
        }
        self.last_used = Instant::now();
        true
    }

    /// Whether a permissions RP ID is bound (credential management refuses such tokens).
    pub fn has_rp_id(&self) -> bool {
        self.rp_id.is_some()
    }

    pub fn has_permission(&self, p: u8) -> bool {
        self.permissions & p == p
    }

    /// Checks the permissions RP ID against `rp_id`, binding it when none is set yet
    /// (CTAP 2.1 §6.1.2 step 6.5).
    pub fn bind_rp_id(&mut self, rp_id: &str) -> bool {
        match &self.rp_id {
            Some(bound) => bound == rp_id,
            None => {
                self.rp_id = Some(rp_id.to_owned());
                true
            }
        }
    }

    pub fn user_verified(&self) -> bool {
        self.user_verified
    }

    /// clearUserVerifiedFlag + clearPinUvAuthTokenPermissionsExceptLbw (CTAP 2.1 §6.1.2
    /// step 13): a token authorises one makeCredential.
    pub fn consume(&mut self) {
        self.user_verified = false;
        self.permissions &= permission::LBW;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(protocol: PinProtocol, token: &PinUvAuthToken, msg: &[u8]) -> Vec<u8> {
        protocol.authenticate(token.value(), msg)
    }

    #[test]
    fn a_token_verifies_only_under_its_protocol_while_in_use() {
        let idle = Duration::from_secs(30);
        let mut t = PinUvAuthToken::new();
        let sig = mac(PinProtocol::V2, &t, b"m");
        assert!(
            !t.verify(PinProtocol::V2, idle, b"m", &sig),
            "not in use yet"
        );
        t.begin_using(PinProtocol::V2, permission::MC, None);
        assert!(t.verify(PinProtocol::V2, idle, b"m", &sig));
        assert!(!t.verify(PinProtocol::V2, idle, b"other", &sig));
        let v1 = mac(PinProtocol::V1, &t, b"m");
        assert!(!t.verify(PinProtocol::V1, idle, b"m", &v1));
    }

    #[test]
    fn consume_keeps_only_large_blob_write_and_rp_binding_sticks() {
        let mut t = PinUvAuthToken::new();
        t.begin_using(PinProtocol::V1, permission::MC | permission::LBW, None);
        assert!(t.bind_rp_id("a.example"));
        assert!(!t.bind_rp_id("b.example"));
        assert!(t.user_verified());
        t.consume();
        assert!(!t.has_permission(permission::MC));
        assert!(t.has_permission(permission::LBW));
        assert!(!t.user_verified());
    }

    #[test]
    fn an_idle_token_expires() {
        let mut t = PinUvAuthToken::new();
        t.begin_using(PinProtocol::V2, permission::ACFG, None);
        assert!(t.in_use(Duration::from_secs(30)));
        std::thread::sleep(Duration::from_millis(20));
        assert!(!t.in_use(Duration::from_millis(10)));
        assert!(
            !t.has_permission(permission::ACFG),
            "expiry drops the permissions"
        );
    }
}
