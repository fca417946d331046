//! PIN/UV auth protocols one (CTAP 2.1 §6.5.6) and two (CTAP 2.1 §6.5.7).
//!
//! Both share the same shape: ECDH on P-256 → KDF → AES-256-CBC for PINs and tokens,
//! HMAC-SHA-256 for pinUvAuthParam. Secrets live in [`Zeroizing`] buffers and never print.

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use ciborium::value::Value;
use hmac::{Hmac, Mac};
use p256::elliptic_curve::sec1::{FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use rand::rngs::OsRng;
use rand::RngCore;
use ring::agreement;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::cbor::{expect_bytes, expect_int, int, map_get_int};
use crate::{Error, Result};

type HmacSha256 = Hmac<Sha256>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// A PIN/UV auth protocol version (pinUvAuthProtocol in requests, CTAP 2.1 §6.5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinProtocol {
    /// PIN/UV auth protocol one (CTAP 2.1 §6.5.6).
    V1,
    /// PIN/UV auth protocol two (CTAP 2.1 §6.5.7).
    V2,
}

/// Output of the protocol's KDF: 32 bytes (v1) or HMAC key || AES key, 64 bytes (v2).
#[derive(Clone, PartialEq, Eq)]
pub struct SharedSecret(Zeroizing<Vec<u8>>);

impl SharedSecret {
    /// Wraps raw key material (tests and the authenticator side).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// The key material.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(***)")
    }
}

/// COSE_Key for a key-agreement public key (CTAP 2.1 §6.5.6 getPublicKey):
/// {1: 2 (EC2), 3: -25 (ECDH-ES+HKDF-256), -1: 1 (P-256), -2: x, -3: y}.
pub fn cose_public_key(pk: &PublicKey) -> Value {
    let point = pk.to_encoded_point(false);
    let coord =
        |c: Option<&p256::FieldBytes>| Value::Bytes(c.map(|b| b.to_vec()).unwrap_or_default());
    Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(-25)),
        (int(-1), int(1)),
        (int(-2), coord(point.x())),
        (int(-3), coord(point.y())),
    ])
}

/// Parses a P-256 COSE_Key (EC2) such as the authenticator's keyAgreement or a credential
/// public key; `alg` (3) is not checked because keys use both -25 and -7 here.
pub fn public_key_from_cose(v: &Value) -> Result<PublicKey> {
    let get = |k: i64, name: &str| {
        map_get_int(v, k).ok_or_else(|| Error::Malformed(format!("COSE key: {name} is missing")))
    };
    if expect_int(get(1, "kty")?, "COSE kty")? != 2 {
        return Err(Error::Malformed("COSE key: kty is not EC2".into()));
    }
    if expect_int(get(-1, "crv")?, "COSE crv")? != 1 {
        return Err(Error::Malformed("COSE key: curve is not P-256".into()));
    }
    let x = expect_bytes(get(-2, "x")?, "COSE x")?;
    let y = expect_bytes(get(-3, "y")?, "COSE y")?;
    if x.len() != 32 || y.len() != 32 {
        return Err(Error::Malformed(
            "COSE key: coordinates must be 32 bytes".into(),
        ));
    }
    let point = EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    Option::from(PublicKey::from_encoded_point(&point))
        .ok_or_else(|| Error::Malformed("COSE key: point is not on P-256".into()))
}

impl PinProtocol {
    /// The protocol's number on the wire (1 or 2).
    pub fn number(self) -> u8 {
        match self {
            PinProtocol::V1 => 1,
            PinProtocol::V2 => 2,
        }
    }

    /// The protocol with wire number `n`, if we implement it.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            1 => Some(PinProtocol::V1),
            2 => Some(PinProtocol::V2),
            _ => None,
        }
    }

    /// Platform side of key agreement (CTAP 2.1 §6.5.6 encapsulate): a fresh ephemeral key,
    /// ECDH with the authenticator's key, then the KDF. Returns our public key to send.
    pub fn encapsulate(self, peer: &PublicKey) -> Result<(PublicKey, SharedSecret)> {
        // ring's P-256 (assembly, constant time) is ~5x faster than the pure-Rust p256 crate,
        // and these three key agreements are nearly all of an enrollment's client work.
        let rng = ring::rand::SystemRandom::new();
        let ephemeral = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
            .map_err(|_| Error::Transport("the OS random generator failed".into()))?;
        let platform = ephemeral
            .compute_public_key()
            .map_err(|_| Error::InvalidInput("key agreement: no public key".into()))
            .and_then(|pk| {
                PublicKey::from_sec1_bytes(pk.as_ref())
                    .map_err(|_| Error::InvalidInput("key agreement: bad public key".into()))
            })?;
        let peer_bytes = peer.to_encoded_point(false);
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer_bytes.as_bytes());
        // Z is the x-coordinate of the shared point (CTAP 2.1 §6.5.6 ecdh); ring hands out
        // exactly that and wipes it after the closure.
        let shared =
            agreement::agree_ephemeral(ephemeral, &peer, |z| self.kdf(z)).map_err(|_| {
                Error::Malformed("the key's key-agreement key is not a valid P-256 point".into())
            })?;
        Ok((platform, shared))
    }

    /// [`encapsulate`](Self::encapsulate) with a caller-chosen ephemeral key, for test vectors.
    pub fn encapsulate_with(
        self,
        ephemeral: SecretKey,
        peer: &PublicKey,
    ) -> Result<(PublicKey, SharedSecret)> {
        let shared = self.decapsulate(&ephemeral, peer)?;
        Ok((ephemeral.public_key(), shared))
    }

    /// Authenticator side (CTAP 2.1 §6.5.6 decapsulate): ECDH with the platform's key + KDF.
    pub fn decapsulate(self, own: &SecretKey, peer: &PublicKey) -> Result<SharedSecret> {
        let z = p256::ecdh::diffie_hellman(own.to_nonzero_scalar(), peer.as_affine());
        // Z is the x-coordinate of the shared point (CTAP 2.1 §6.5.6 ecdh).
        Ok(self.kdf(z.raw_secret_bytes()))
    }

    /// KDF (CTAP 2.1 §6.5.6 / §6.5.7): v1 SHA-256(Z); v2 HKDF-SHA-256 with 32 zero bytes of
    /// salt, "CTAP2 HMAC key" || "CTAP2 AES key", 64 bytes in all.
    pub fn kdf(self, z: &[u8]) -> SharedSecret {
        match self {
            PinProtocol::V1 => SharedSecret::new(Sha256::digest(z).to_vec()),
            PinProtocol::V2 => {
                let hk = hkdf::Hkdf::<Sha256>::new(Some(&[0u8; 32]), z);
                let mut out = Zeroizing::new(vec![0u8; 64]);
                // 32-byte outputs are far below HKDF's 255*32 limit, so expand cannot fail.
                let (hmac_key, aes_key) = out.split_at_mut(32);
                let _ = hk.expand(b"CTAP2 HMAC key", hmac_key);
                let _ = hk.expand(b"CTAP2 AES key", aes_key);
                SharedSecret(out)
            }
        }
    }

    fn aes_key(self, key: &SharedSecret) -> Result<&[u8]> {
        let k = key.as_bytes();
        match (self, k.len()) {
            (PinProtocol::V1, 32) => Ok(k),
            (PinProtocol::V2, 64) => Ok(&k[32..]),
            _ => Err(Error::Malformed(
                "shared secret has the wrong length".into(),
            )),
        }
    }

    /// Encrypts `pt` (a multiple of 16 bytes) (CTAP 2.1 §6.5.6 / §6.5.7 encrypt):
    /// v1 AES-256-CBC with a zero IV; v2 with a random IV prepended to the ciphertext.
    pub fn encrypt(self, key: &SharedSecret, pt: &[u8]) -> Result<Vec<u8>> {
        if !pt.len().is_multiple_of(16) {
            return Err(Error::Malformed(
                "plaintext is not a multiple of the AES block".into(),
            ));
        }
        let k = self.aes_key(key)?;
        let mut iv = [0u8; 16];
        if self == PinProtocol::V2 {
            OsRng.fill_bytes(&mut iv);
        }
        let enc = Aes256CbcEnc::new_from_slices(k, &iv)
            .map_err(|_| Error::Malformed("bad AES key length".into()))?;
        let ct = enc.encrypt_padded_vec_mut::<NoPadding>(pt);
        Ok(match self {
            PinProtocol::V1 => ct,
            PinProtocol::V2 => iv.iter().copied().chain(ct).collect(),
        })
    }

    /// Decrypts `ct` (CTAP 2.1 §6.5.6 / §6.5.7 decrypt); v2 expects IV || ciphertext.
    pub fn decrypt(self, key: &SharedSecret, ct: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let k = self.aes_key(key)?;
        let (iv, body) = match self {
            PinProtocol::V1 => (&[0u8; 16][..], ct),
            PinProtocol::V2 if ct.len() >= 16 => ct.split_at(16),
            PinProtocol::V2 => {
                return Err(Error::Malformed("ciphertext shorter than its IV".into()))
            }
        };
        if !body.len().is_multiple_of(16) {
            return Err(Error::Malformed(
                "ciphertext is not a multiple of the AES block".into(),
            ));
        }
        let dec = Aes256CbcDec::new_from_slices(k, iv)
            .map_err(|_| Error::Malformed("bad AES key length".into()))?;
        dec.decrypt_padded_vec_mut::<NoPadding>(body)
            .map(Zeroizing::new)
            .map_err(|_| Error::Malformed("ciphertext could not be decrypted".into()))
    }

    fn mac(self, key: &[u8], msg: &[u8]) -> HmacSha256 {
        let key = match self {
            // v2 with a 64-byte shared secret authenticates with its first half (HMAC key).
            PinProtocol::V2 if key.len() > 32 => &key[..32],
            _ => key,
        };
        // HMAC accepts keys of any length, so this never fails; fall back to an empty key
        // rather than panicking to satisfy the crate lints.
        let mut mac = HmacSha256::new_from_slice(key)
            .unwrap_or_else(|_| <HmacSha256 as hmac::digest::KeyInit>::new(&Default::default()));
        mac.update(msg);
        mac
    }

    /// pinUvAuthParam over `msg` (CTAP 2.1 §6.5.6 / §6.5.7 authenticate): HMAC-SHA-256,
    /// truncated to 16 bytes for v1, full 32 bytes for v2.
    pub fn authenticate(self, key: &[u8], msg: &[u8]) -> Vec<u8> {
        let tag = self.mac(key, msg).finalize().into_bytes();
        match self {
            PinProtocol::V1 => tag[..16].to_vec(),
            PinProtocol::V2 => tag.to_vec(),
        }
    }

    /// Checks `sig` over `msg` in constant time (CTAP 2.1 §6.5.6 / §6.5.7 verify).
    pub fn verify(self, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
        let mac = self.mac(key, msg);
        match self {
            PinProtocol::V1 => sig.len() == 16 && mac.verify_truncated_left(sig).is_ok(),
            PinProtocol::V2 => sig.len() == 32 && mac.verify_slice(sig).is_ok(),
        }
    }
}
