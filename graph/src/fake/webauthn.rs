//! WebAuthn registration checks the fake runs on a POSTed credential (WebAuthn L2 §7.1):
//! clientDataJSON parsing, the attestation object (CBOR), authenticator data with attested
//! credential data, COSE keys, and the `packed` (x5c or self) and `none` statements.
//!
//! Pure functions over bytes, so each rule is unit-testable without a server.

use ciborium::Value as Cbor;
use p256::ecdsa::signature::Verifier as _;
use p256::pkcs8::DecodePublicKey as _;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use sha2::{Digest as _, Sha256};
use x509_cert::der::{Decode as _, Encode as _};

/// Why a registration was refused; the message goes into the 400 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected(pub String);

fn rej<T>(msg: impl Into<String>) -> Result<T, Rejected> {
    Err(Rejected(msg.into()))
}

/// The fields of clientDataJSON the server checks.
#[derive(Debug, Clone)]
pub(crate) struct ClientData {
    pub typ: String,
    pub challenge: String,
    pub origin: String,
    pub cross_origin: bool,
}

/// Parses clientDataJSON (WebAuthn §5.8.1).
pub(crate) fn parse_client_data(bytes: &[u8]) -> Result<ClientData, Rejected> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Rejected(format!("clientDataJSON is not valid JSON: {e}")))?;
    let field = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Rejected(format!("clientDataJSON has no '{name}' string.")))
    };
    Ok(ClientData {
        typ: field("type")?,
        challenge: field("challenge")?,
        origin: field("origin")?,
        cross_origin: v
            .get("crossOrigin")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
    })
}

/// A credential public key from COSE_Key (RFC 9053): ES256 on P-256 or RS256.
#[derive(Debug, Clone)]
pub(crate) enum CoseKey {
    Es256(p256::ecdsa::VerifyingKey),
    /// Modulus and exponent, big-endian without leading zeros (checked by ring when verifying).
    Rs256(RsaPublicKeyComponents<Vec<u8>>),
}

impl CoseKey {
    fn alg(&self) -> i64 {
        match self {
            CoseKey::Es256(_) => -7,
            CoseKey::Rs256(_) => -257,
        }
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match self {
            CoseKey::Es256(k) => p256::ecdsa::Signature::from_der(sig)
                .ok()
                .is_some_and(|s| k.verify(msg, &s).is_ok()),
            CoseKey::Rs256(k) => k.verify(&RSA_PKCS1_2048_8192_SHA256, msg, sig).is_ok(),
        }
    }
}

/// What a verified registration yields.
#[derive(Debug, Clone)]
pub(crate) struct Verified {
    pub fmt: String,
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    /// DER certificates from x5c (empty for self and none attestation).
    pub x5c: Vec<Vec<u8>>,
}

fn map_get<'a>(m: &'a [(Cbor, Cbor)], key: &str) -> Option<&'a Cbor> {
    m.iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
}

fn int_get(m: &[(Cbor, Cbor)], key: i64) -> Option<&Cbor> {
    m.iter()
        .find(|(k, _)| k.as_integer().and_then(|i| i64::try_from(i).ok()) == Some(key))
        .map(|(_, v)| v)
}

fn as_i64(v: &Cbor) -> Option<i64> {
    v.as_integer().and_then(|i| i64::try_from(i).ok())
}

/// Parses a COSE_Key; only the algorithms creationOptions offers (-7, -257) are accepted.
fn parse_cose(v: &Cbor) -> Result<CoseKey, Rejected> {
    let Some(m) = v.as_map() else {
        return rej("credentialPublicKey is not a COSE_Key map.");
    };
    let kty = int_get(m, 1).and_then(as_i64);
    let alg = int_get(m, 3).and_then(as_i64);
    match (kty, alg) {
        (Some(2), Some(-7)) => {
            if int_get(m, -1).and_then(as_i64) != Some(1) {
                return rej("ES256 credential key is not on curve P-256.");
            }
            let x = int_get(m, -2).and_then(Cbor::as_bytes);
            let y = int_get(m, -3).and_then(Cbor::as_bytes);
            let (Some(x), Some(y)) = (x, y) else {
                return rej("ES256 credential key lacks x or y.");
            };
            if x.len() != 32 || y.len() != 32 {
                return rej("ES256 credential key coordinates are not 32 bytes.");
            }
            let mut sec1 = vec![4u8];
            sec1.extend_from_slice(x);
            sec1.extend_from_slice(y);
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map(CoseKey::Es256)
                .map_err(|_| Rejected("ES256 credential key is not a valid P-256 point.".into()))
        }
        (Some(3), Some(-257)) => {
            let n = int_get(m, -1).and_then(Cbor::as_bytes);
            let e = int_get(m, -2).and_then(Cbor::as_bytes);
            let (Some(n), Some(e)) = (n, e) else {
                return rej("RS256 credential key lacks n or e.");
            };
            // ring wants minimal big-endian integers; COSE encoders may keep a leading zero.
            let strip = |b: &[u8]| b[b.iter().take_while(|&&x| x == 0).count()..].to_vec();
            let (n, e) = (strip(n), strip(e));
            // The bounds ring verifies with: a 2048..=8192-bit modulus, an odd exponent of
            // 3..2^33.
            let n_bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
            let e_value = (e.len() <= 5).then(|| e.iter().fold(0u64, |a, b| a << 8 | u64::from(*b)));
            let e_ok = e_value.is_some_and(|v| (3..1 << 33).contains(&v) && v & 1 == 1);
            if !(2048..=8192).contains(&n_bits) || !e_ok {
                return rej("RS256 credential key is invalid.");
            }
            Ok(CoseKey::Rs256(RsaPublicKeyComponents { n, e }))
        }
        _ => rej(format!(
            "Unsupported credential key (kty {kty:?}, alg {alg:?}); pubKeyCredParams allow -7 and -257."
        )),
    }
}

/// Authenticator data with attested credential data (WebAuthn §6.1, §6.5.1).
struct AuthData {
    rp_id_hash: [u8; 32],
    flags: u8,
    aaguid: [u8; 16],
    credential_id: Vec<u8>,
    key: CoseKey,
}

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

fn parse_auth_data(ad: &[u8]) -> Result<AuthData, Rejected> {
    if ad.len() < 37 + 18 {
        return rej("authData is too short to hold attested credential data.");
    }
    let mut rp_id_hash = [0u8; 32];
    rp_id_hash.copy_from_slice(&ad[..32]);
    let flags = ad[32];
    // ad[33..37] is the signature counter; registration does not check it.
    if flags & AT == 0 {
        return rej("authData flags lack AT (attested credential data).");
    }
    let mut aaguid = [0u8; 16];
    aaguid.copy_from_slice(&ad[37..53]);
    let id_len = usize::from(u16::from_be_bytes([ad[53], ad[54]]));
    let Some(credential_id) = ad.get(55..55 + id_len).map(<[u8]>::to_vec) else {
        return rej("authData credentialIdLength runs past the end.");
    };
    if id_len == 0 || id_len > 1023 {
        return rej("authData credential id length is out of range (1..1023).");
    }
    let mut rest = &ad[55 + id_len..];
    let key_value: Cbor = ciborium::from_reader(&mut rest)
        .map_err(|_| Rejected("credentialPublicKey is not valid CBOR.".into()))?;
    let key = parse_cose(&key_value)?;
    if flags & ED != 0 {
        let ext: Cbor = ciborium::from_reader(&mut rest)
            .map_err(|_| Rejected("authData extensions are not valid CBOR.".into()))?;
        if ext.as_map().is_none() {
            return rej("authData extensions are not a CBOR map.");
        }
    }
    if !rest.is_empty() {
        return rej("authData has trailing bytes.");
    }
    Ok(AuthData {
        rp_id_hash,
        flags,
        aaguid,
        credential_id,
        key,
    })
}

/// id-fido-gen-ce-aaguid (FIDO attestation certificate extension holding the AAGUID).
const AAGUID_OID: &str = "1.3.6.1.4.1.45724.1.1.4";
/// basicConstraints.
const BASIC_CONSTRAINTS_OID: &str = "2.5.29.19";

/// Checks the packed attestation leaf certificate (WebAuthn §8.2.1) and returns its key.
fn leaf_key(der: &[u8], aaguid: &[u8; 16]) -> Result<p256::ecdsa::VerifyingKey, Rejected> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|_| Rejected("x5c[0] is not a DER X.509 certificate.".into()))?;
    let tbs = &cert.tbs_certificate;
    if tbs.version != x509_cert::Version::V3 {
        return rej("The attestation certificate must be X.509 version 3.");
    }
    for ext in tbs.extensions.iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid == AAGUID_OID {
            // OCTET STRING (extnValue) wrapping an OCTET STRING of the 16 AAGUID bytes.
            let inner = x509_cert::der::asn1::OctetString::from_der(ext.extn_value.as_bytes())
                .map_err(|_| {
                    Rejected("The attestation certificate's AAGUID extension is malformed.".into())
                })?;
            if inner.as_bytes() != aaguid {
                return rej("The attestation certificate's AAGUID does not match authData.");
            }
            if ext.critical {
                return rej("The attestation certificate's AAGUID extension must not be critical.");
            }
        } else if oid == BASIC_CONSTRAINTS_OID {
            let bc = x509_cert::ext::pkix::BasicConstraints::from_der(ext.extn_value.as_bytes())
                .map_err(|_| {
                    Rejected("The attestation certificate's basicConstraints is malformed.".into())
                })?;
            if bc.ca {
                return rej("The attestation certificate must not be a CA certificate.");
            }
        }
    }
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|_| Rejected("The attestation certificate's key is unreadable.".into()))?;
    p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|_| {
        Rejected(
            "The attestation certificate's key is not a P-256 key (only ES256 x5c is accepted)."
                .into(),
        )
    })
}

/// Verifies an attestation object against the clientDataJSON bytes and the RP id.
pub(crate) fn verify_attestation(
    attestation_object: &[u8],
    client_data_json: &[u8],
    rp_id: &str,
) -> Result<Verified, Rejected> {
    let top: Cbor = ciborium::from_reader(attestation_object)
        .map_err(|_| Rejected("attestationObject is not valid CBOR.".into()))?;
    let Some(m) = top.as_map() else {
        return rej("attestationObject is not a CBOR map.");
    };
    let fmt = map_get(m, "fmt").and_then(Cbor::as_text).unwrap_or("");
    let Some(att_stmt) = map_get(m, "attStmt").and_then(Cbor::as_map) else {
        return rej("attestationObject has no attStmt map.");
    };
    let Some(auth_data) = map_get(m, "authData").and_then(Cbor::as_bytes) else {
        return rej("attestationObject has no authData byte string.");
    };
    if fmt != "packed" && fmt != "none" {
        return rej(format!(
            "Attestation format '{fmt}' is not supported; only 'packed' and 'none' are accepted."
        ));
    }
    let ad = parse_auth_data(auth_data)?;
    if ad.rp_id_hash[..] != Sha256::digest(rp_id.as_bytes())[..] {
        return rej(format!(
            "authData rpIdHash does not match SHA-256('{rp_id}')."
        ));
    }
    if ad.flags & UP == 0 {
        return rej("authData flags lack UP (user present).");
    }
    if ad.flags & UV == 0 {
        return rej("authData flags lack UV (user verified); userVerification is required.");
    }
    let mut x5c = Vec::new();
    if fmt == "none" {
        if !att_stmt.is_empty() {
            return rej("attStmt must be empty for the 'none' format.");
        }
    } else {
        let alg = map_get(att_stmt, "alg").and_then(as_i64);
        let Some(sig) = map_get(att_stmt, "sig").and_then(Cbor::as_bytes) else {
            return rej("packed attStmt has no sig.");
        };
        if map_get(att_stmt, "ecdaaKeyId").is_some() {
            return rej("ECDAA attestation is not supported.");
        }
        let mut signed = auth_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        match map_get(att_stmt, "x5c") {
            Some(chain) => {
                let Some(certs) = chain.as_array().filter(|a| !a.is_empty()) else {
                    return rej("packed attStmt x5c must be a non-empty array.");
                };
                for c in certs {
                    let Some(der) = c.as_bytes() else {
                        return rej("packed attStmt x5c entries must be byte strings.");
                    };
                    x5c.push(der.clone());
                }
                if alg != Some(-7) {
                    return rej("packed attStmt alg must be -7 (ES256) with x5c.");
                }
                let key = leaf_key(&x5c[0], &ad.aaguid)?;
                let ok = p256::ecdsa::Signature::from_der(sig)
                    .ok()
                    .is_some_and(|s| key.verify(&signed, &s).is_ok());
                if !ok {
                    return rej(
                        "packed attestation signature does not verify with the x5c leaf key.",
                    );
                }
            }
            None => {
                if alg != Some(ad.key.alg()) {
                    return rej("packed self attestation alg does not match the credential key.");
                }
                if !ad.key.verify(&signed, sig) {
                    return rej("packed self attestation signature does not verify with the credential key.");
                }
            }
        }
    }
    Ok(Verified {
        fmt: fmt.to_owned(),
        aaguid: ad.aaguid,
        credential_id: ad.credential_id,
        x5c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_data_requires_fields() {
        assert!(parse_client_data(br#"{"type":"webauthn.create"}"#).is_err());
        let cd = parse_client_data(
            br#"{"type":"webauthn.create","challenge":"abc","origin":"https://login.microsoft.com","crossOrigin":false}"#,
        )
        .expect("valid");
        assert_eq!(cd.challenge, "abc");
        assert!(!cd.cross_origin);
    }

    /// The attestationObject of `shared/graph-spec/examples/fido2-registration-fixture.json`
    /// (fmt none, ES256 key, credProtect + hmac-secret extensions).
    const FIXTURE_ATT: &str = concat!(
        "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjfNWye1KCTIblpXx6vkYID8bVfaJ2mH7yWGEwVfdpoDIHFAAAAAO6IKHly",
        "HEkTl3U9_M6XByoAQPxt3lAEhZKenx5ilOaUaMsZifTqBg1TWW_mqdQhJBfo9t4nncTJFxBlk-Pr8InS87d_olPQGztz86gS",
        "rIQ0psWlAQIDJiABIVggI6uI7fk14xy1APfjdGPkBU6JqD4aGmJXahX8CbmU7xIiWCDhKK-InVrggNVmEEABIk_46oHCdk55",
        "zEphRRDKujpgYKJrY3JlZFByb3RlY3QBa2htYWMtc2VjcmV09Q",
    );

    #[test]
    fn shared_fixture_attestation_verifies() {
        use base64::Engine as _;
        let att = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(FIXTURE_ATT)
            .expect("fixture is base64url");
        let v = verify_attestation(&att, b"{}", "login.microsoft.com").expect("fixture verifies");
        assert_eq!(v.fmt, "none");
        assert!(v.x5c.is_empty());
        assert_eq!(v.credential_id.len(), 64);
        assert_eq!(&v.credential_id[..4], &[0xfc, 0x6d, 0xde, 0x50]);
        assert_eq!(
            uuid::Uuid::from_bytes(v.aaguid).to_string(),
            "ee882879-721c-4913-9775-3dfcce97072a"
        );
        let err = verify_attestation(&att, b"{}", "login.microsoftonline.com").expect_err("rp id");
        assert!(err.0.contains("rpIdHash"));
    }

    #[test]
    fn rs256_cose_key_verifies_with_ring() {
        use base64::Engine as _;
        use ring::signature::{KeyPair as _, RsaKeyPair, RSA_PKCS1_SHA256};
        let pem = include_str!("../../tests/data/test-key.pem");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let pkcs8 = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("pem");
        let key = RsaKeyPair::from_pkcs8(&pkcs8).expect("key");
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(key.public_key());
        let cose = |n: Vec<u8>, e: Vec<u8>| {
            Cbor::Map(vec![
                (Cbor::Integer(1.into()), Cbor::Integer(3.into())),
                (Cbor::Integer(3.into()), Cbor::Integer((-257).into())),
                (Cbor::Integer((-1).into()), Cbor::Bytes(n)),
                (Cbor::Integer((-2).into()), Cbor::Bytes(e)),
            ])
        };
        // A leading zero on n (as some encoders write it) is accepted.
        let mut padded = vec![0];
        padded.extend_from_slice(&public.n);
        let parsed = parse_cose(&cose(padded, public.e.clone())).expect("RS256 key");
        assert_eq!(parsed.alg(), -257);
        let mut sig = vec![0; key.public().modulus_len()];
        let rng = ring::rand::SystemRandom::new();
        key.sign(&RSA_PKCS1_SHA256, &rng, b"signed", &mut sig)
            .expect("sign");
        assert!(parsed.verify(b"signed", &sig));
        assert!(!parsed.verify(b"other", &sig));
        // Moduli ring does not verify with (under 2048 bits) and even exponents are refused.
        let err = parse_cose(&cose(public.n[..128].to_vec(), public.e.clone())).expect_err("1024");
        assert!(err.0.contains("RS256 credential key is invalid"));
        assert!(parse_cose(&cose(public.n.clone(), vec![2])).is_err());
    }

    #[test]
    fn rejects_other_formats_and_garbage() {
        assert!(verify_attestation(b"\x01\x02", b"{}", "login.microsoft.com").is_err());
        // {"fmt":"tpm","attStmt":{},"authData":h''}
        let mut buf = Vec::new();
        let v = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text("tpm".into())),
            (Cbor::Text("attStmt".into()), Cbor::Map(vec![])),
            (Cbor::Text("authData".into()), Cbor::Bytes(vec![])),
        ]);
        ciborium::into_writer(&v, &mut buf).expect("encode");
        let err = verify_attestation(&buf, b"{}", "login.microsoft.com").expect_err("tpm refused");
        assert!(err.0.contains("'tpm'"));
    }
}
