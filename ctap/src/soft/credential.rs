//! Credential ids and keys. A credential id carries everything needed to rebuild its key,
//! so non-discoverable credentials need no storage (as on real keys):
//!
//! `id = 0x01 || credProtect || nonce[32] || tag[16]`,
//! `tag = HMAC-SHA-256(master, "id" || rpIdHash || 0x01 || credProtect || nonce)[..16]`,
//! `key = HMAC-SHA-256(master, "key" || rpIdHash || nonce)` as a P-256 scalar.
//!
//! The tag binds the id to this key and this RP, which is how excludeList entries are
//! recognised (CTAP 2.1 §6.1.2 step 10).

use ciborium::value::Value;
use hmac::{Hmac, Mac};
use p256::ecdsa::SigningKey;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::status::{CmdResult, Status};
use crate::cbor::int;

type HmacSha256 = Hmac<Sha256>;

const ID_VERSION: u8 = 0x01;
const NONCE_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// Length of the credential ids this key issues.
pub(crate) const CREDENTIAL_ID_LEN: usize = 2 + NONCE_LEN + TAG_LEN;

/// COSE algorithm ES256 (RFC 8152): the only one this key supports.
pub(crate) const ES256: i64 = -7;

fn keyed(master: &[u8; 32], parts: &[&[u8]]) -> CmdResult<HmacSha256> {
    let mut m = HmacSha256::new_from_slice(master).map_err(|_| Status::Other)?;
    for p in parts {
        m.update(p);
    }
    Ok(m)
}

fn mac(master: &[u8; 32], parts: &[&[u8]]) -> CmdResult<[u8; 32]> {
    Ok(keyed(master, parts)?.finalize().into_bytes().into())
}

fn tag(
    master: &[u8; 32],
    rp_id_hash: &[u8; 32],
    header: &[u8],
    nonce: &[u8],
) -> CmdResult<[u8; 32]> {
    mac(master, &[b"id", rp_id_hash, header, nonce])
}

fn derive_key(
    master: &[u8; 32],
    rp_id_hash: &[u8; 32],
    nonce: &[u8],
) -> CmdResult<Option<SigningKey>> {
    let scalar = Zeroizing::new(mac(master, &[b"key", rp_id_hash, nonce])?);
    // A digest is ≥ the group order with probability ~2^-32; the caller then picks a new nonce.
    Ok(SigningKey::from_slice(&scalar[..]).ok())
}

/// Creates a new credential for `rp_id_hash`: its id and its private key.
pub(crate) fn create(
    master: &[u8; 32],
    rp_id_hash: &[u8; 32],
    cred_protect: u8,
) -> CmdResult<(Vec<u8>, SigningKey)> {
    for _ in 0..8 {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let Some(key) = derive_key(master, rp_id_hash, &nonce)? else {
            continue;
        };
        let header = [ID_VERSION, cred_protect];
        let t = tag(master, rp_id_hash, &header, &nonce)?;
        let mut id = Vec::with_capacity(CREDENTIAL_ID_LEN);
        id.extend_from_slice(&header);
        id.extend_from_slice(&nonce);
        id.extend_from_slice(&t[..TAG_LEN]);
        return Ok((id, key));
    }
    Err(Status::Other)
}

/// A credential id of ours for this RP, opened: its credProtect level and key.
pub(crate) struct Opened {
    pub cred_protect: u8,
    #[allow(dead_code)] // used once getAssertion is implemented
    pub key: SigningKey,
}

/// Opens `id` if this key issued it for `rp_id_hash`; `None` for foreign ids.
pub(crate) fn open(
    master: &[u8; 32],
    rp_id_hash: &[u8; 32],
    id: &[u8],
) -> CmdResult<Option<Opened>> {
    if id.len() != CREDENTIAL_ID_LEN || id[0] != ID_VERSION {
        return Ok(None);
    }
    let (header, rest) = id.split_at(2);
    let (nonce, got) = rest.split_at(NONCE_LEN);
    // Constant-time comparison of the truncated tag.
    let expected = keyed(master, &[b"id", rp_id_hash, header, nonce])?;
    if expected.verify_truncated_left(got).is_err() {
        return Ok(None);
    }
    Ok(derive_key(master, rp_id_hash, nonce)?.map(|key| Opened {
        cred_protect: header[1],
        key,
    }))
}

/// The credential public key as COSE_Key (CTAP 2.1 §6.1, RFC 8152 §13.1.1):
/// {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
pub(crate) fn cose_es256(key: &SigningKey) -> Value {
    let point = key.verifying_key().to_encoded_point(false);
    let coord =
        |c: Option<&p256::FieldBytes>| Value::Bytes(c.map(|b| b.to_vec()).unwrap_or_default());
    Value::Map(vec![
        (int(1), int(2)),
        (int(3), int(ES256)),
        (int(-1), int(1)),
        (int(-2), coord(point.x())),
        (int(-3), coord(point.y())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_open_only_for_their_rp_and_master() {
        let master = [7u8; 32];
        let rp = [1u8; 32];
        let (id, key) = create(&master, &rp, 2).unwrap();
        assert_eq!(id.len(), CREDENTIAL_ID_LEN);
        let opened = open(&master, &rp, &id).unwrap().unwrap();
        assert_eq!(opened.cred_protect, 2);
        assert_eq!(opened.key.to_bytes(), key.to_bytes());
        assert!(open(&master, &[2u8; 32], &id).unwrap().is_none());
        assert!(open(&[8u8; 32], &rp, &id).unwrap().is_none());
        let mut forged = id.clone();
        forged[1] = 1; // downgrade credProtect: the tag must catch it
        assert!(open(&master, &rp, &forged).unwrap().is_none());
    }
}
