//! Credential ids and keys. A credential id carries everything needed to rebuild its key,
//! so non-discoverable credentials need no storage (as on real keys):
//!
//! `id = 0x01 || props || nonce[32] || tag[16]`,
//! `props = credProtect | 0x80 if created with hmac-secret`,
//! `tag = HMAC-SHA-256(master, "id" || rpIdHash || 0x01 || props || nonce)[..16]`,
//! `key = HMAC-SHA-256(master, "key" || rpIdHash || nonce)` as a P-256 scalar,
//! `CredRandom = HMAC-SHA-256(master, "cred-random" || uv || rpIdHash || nonce)` (hmac-secret).
//!
//! The tag binds the id to this key and this RP, which is how excludeList and allowList
//! entries are recognised (CTAP 2.1 §6.1.2 step 10, §6.2.2 step 7).

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

/// credProtect userVerificationOptionalWithCredentialIDList (CTAP 2.1 §12.1).
pub(crate) const CRED_PROTECT_UV_OPTIONAL_WITH_LIST: u8 = 2;
/// credProtect userVerificationRequired (CTAP 2.1 §12.1).
pub(crate) const CRED_PROTECT_UV_REQUIRED: u8 = 3;
/// Bit of the id's props byte: the credential was created with hmac-secret.
const PROP_HMAC_SECRET: u8 = 0x80;

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
    hmac_secret: bool,
) -> CmdResult<(Vec<u8>, SigningKey)> {
    let props = if hmac_secret {
        cred_protect | PROP_HMAC_SECRET
    } else {
        cred_protect
    };
    for _ in 0..8 {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let Some(key) = derive_key(master, rp_id_hash, &nonce)? else {
            continue;
        };
        let header = [ID_VERSION, props];
        let t = tag(master, rp_id_hash, &header, &nonce)?;
        let mut id = Vec::with_capacity(CREDENTIAL_ID_LEN);
        id.extend_from_slice(&header);
        id.extend_from_slice(&nonce);
        id.extend_from_slice(&t[..TAG_LEN]);
        return Ok((id, key));
    }
    Err(Status::Other)
}

/// A credential id of ours for this RP, opened: its credProtect level, whether it was
/// created with hmac-secret, and its key.
pub(crate) struct Opened {
    pub cred_protect: u8,
    pub hmac_secret: bool,
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
        cred_protect: header[1] & !PROP_HMAC_SECRET,
        hmac_secret: header[1] & PROP_HMAC_SECRET != 0,
        key,
    }))
}

/// The hmac-secret CredRandom of credential `id` (CTAP 2.1 §12.5): one secret for
/// assertions with UV and another without. `id` must be one [`open`] accepted.
pub(crate) fn cred_random(
    master: &[u8; 32],
    rp_id_hash: &[u8; 32],
    id: &[u8],
    uv: bool,
) -> CmdResult<Zeroizing<[u8; 32]>> {
    let nonce = id.get(2..2 + NONCE_LEN).ok_or(Status::Other)?;
    Ok(Zeroizing::new(mac(
        master,
        &[b"cred-random", &[u8::from(uv)], rp_id_hash, nonce],
    )?))
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
        let (id, key) = create(&master, &rp, 2, false).unwrap();
        assert_eq!(id.len(), CREDENTIAL_ID_LEN);
        let opened = open(&master, &rp, &id).unwrap().unwrap();
        assert_eq!(opened.cred_protect, 2);
        assert!(!opened.hmac_secret);
        assert_eq!(opened.key.to_bytes(), key.to_bytes());
        assert!(open(&master, &[2u8; 32], &id).unwrap().is_none());
        assert!(open(&[8u8; 32], &rp, &id).unwrap().is_none());
        let mut forged = id.clone();
        forged[1] = 1; // downgrade credProtect: the tag must catch it
        assert!(open(&master, &rp, &forged).unwrap().is_none());
    }

    #[test]
    fn hmac_secret_flag_and_cred_random() {
        let master = [7u8; 32];
        let rp = [1u8; 32];
        let (id, _) = create(&master, &rp, 3, true).unwrap();
        let opened = open(&master, &rp, &id).unwrap().unwrap();
        assert_eq!(opened.cred_protect, 3);
        assert!(opened.hmac_secret);
        let with_uv = cred_random(&master, &rp, &id, true).unwrap();
        let without = cred_random(&master, &rp, &id, false).unwrap();
        assert_ne!(*with_uv, *without);
        assert_eq!(*with_uv, *cred_random(&master, &rp, &id, true).unwrap());
        let (other, _) = create(&master, &rp, 3, true).unwrap();
        assert_ne!(*with_uv, *cred_random(&master, &rp, &other, true).unwrap());
    }
}
