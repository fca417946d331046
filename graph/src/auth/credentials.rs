//! How the app proves who it is: a client secret, or a certificate and its RSA key (PEM loading,
//! key and certificate checks, thumbprints) signing a client assertion (PS256, `x5t#S256` per the
//! current docs, `x5t` too for older tenants); or no app credential (delegated sign-in).

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::wire::b64url;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ring::error::KeyRejected;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PSS_SHA256};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use x509_cert::der::asn1::{AnyRef, ObjectIdentifier, OctetStringRef, UintRef};
use x509_cert::der::{Decode, Reader as _, SliceReader};

/// Lifetime of a client assertion (docs: 5–10 minutes).
const ASSERTION_LIFETIME: Duration = Duration::from_secs(600);

/// rsaEncryption (RFC 8017): the algorithm of an RSA key in a certificate or PKCS#8.
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The key sizes ring signs with (its private-key limits), for messages.
const SUPPORTED_KEYS: &str = "certificate sign-in (ring) signs with RSA keys of 2048, 3072 or \
     4096 bits and public exponent 65537; create a new key and certificate (e.g. `openssl req \
     -x509 -newkey rsa:2048 -nodes ...`) and upload the certificate to the app registration";

/// An RSA private key (ring); `Debug` prints `***`. ring's `RsaKeyPair` does not wipe its memory
/// on drop (the `rsa` crate used before did); only the DER decoded from the PEM text is wiped.
#[derive(Clone)]
pub struct RsaKey(Arc<RsaKeyPair>);

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl RsaKey {
    /// Wraps a key.
    pub fn new(key: RsaKeyPair) -> Self {
        RsaKey(Arc::new(key))
    }

    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    /// Encrypted keys, other algorithms and sizes ring cannot sign with (under 2048 or over 4096
    /// bits) are refused with a hint. The text may also hold certificates.
    pub fn from_pem(pem: &str) -> Result<Self> {
        for (label, der) in pem_blocks(pem) {
            let pkcs8 = match label.as_str() {
                "PRIVATE KEY" => true,
                "RSA PRIVATE KEY" => false,
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(Error::Credential(
                        "the private key is encrypted; export it unencrypted (e.g. `openssl pkcs8 -topk8 -nocrypt`) \
                         and protect the file with permissions"
                            .into(),
                    ))
                }
                _ => continue,
            };
            let key = if pkcs8 {
                RsaKeyPair::from_pkcs8(&der)
            } else {
                RsaKeyPair::from_der(&der)
            };
            return key
                .map(RsaKey::new)
                .map_err(|e| key_rejected(e, &der, pkcs8));
        }
        Err(Error::Credential(
            "no RSA private key found (expected PEM 'BEGIN PRIVATE KEY' or 'BEGIN RSA PRIVATE KEY')".into(),
        ))
    }
}

/// Explains why ring refused a private key. ring's reason is a fixed word, never key material;
/// the modulus size and public exponent (public values) are read here to name them.
fn key_rejected(e: KeyRejected, der: &[u8], pkcs8: bool) -> Error {
    let reason = e.to_string();
    let info = rsa_key_info(der, pkcs8);
    Error::Credential(match (info, reason.as_str()) {
        (Some(KeyInfo::OtherAlgorithm), _) | (_, "WrongAlgorithm") => {
            "the private key is not an RSA key; certificate sign-in signs with RSA (PS256): \
             configure the certificate's RSA private key"
                .to_owned()
        }
        (Some(KeyInfo::Rsa { bits, e }), _) if !(2048..=4096).contains(&bits) || e < 65537 => {
            format!("the RSA private key has {bits} bits and public exponent {e}: {SUPPORTED_KEYS}")
        }
        (info, "TooSmall" | "TooLarge" | "PrivateModulusLenNotMultipleOf512Bits") => {
            let what = match info {
                Some(KeyInfo::Rsa { bits, .. }) => format!("the RSA private key's size ({bits} bits)"),
                _ => "the RSA private key's size or public exponent".to_owned(),
            };
            format!("{what} is not supported: {SUPPORTED_KEYS}")
        }
        (_, "VersionNotSupported") => "the RSA private key is multi-prime or a PKCS#8 v2 file, \
             which is not supported; export a two-prime PKCS#8 key (`openssl pkcs8 -topk8 -nocrypt`)"
            .to_owned(),
        (_, reason) => format!(
            "cannot read the RSA private key ({reason}): the PEM block is damaged or its parts do \
             not fit together; export the key again"
        ),
    })
}

/// The public facts of a private key DER that messages name.
enum KeyInfo {
    /// Modulus size in bits and public exponent (saturated at `u64::MAX`).
    Rsa { bits: usize, e: u64 },
    /// PKCS#8 with another algorithm than rsaEncryption.
    OtherAlgorithm,
}

/// Reads a PKCS#1 `RSAPrivateKey` or PKCS#8 `PrivateKeyInfo` (RFC 8017, RFC 5208) up to the
/// public exponent; `None` when it is not DER of that shape.
fn rsa_key_info(der: &[u8], pkcs8: bool) -> Option<KeyInfo> {
    let body = |der| {
        AnyRef::from_der(der)
            .ok()
            .and_then(|a| SliceReader::new(a.value()).ok())
    };
    let rsa_der = if pkcs8 {
        let mut r = body(der)?;
        let _version: AnyRef = r.decode().ok()?;
        let alg: x509_cert::spki::AlgorithmIdentifierRef = r.decode().ok()?;
        if alg.oid != RSA_ENCRYPTION {
            return Some(KeyInfo::OtherAlgorithm);
        }
        let key: OctetStringRef = r.decode().ok()?;
        key.as_bytes()
    } else {
        der
    };
    let mut r = body(rsa_der)?;
    let _version: AnyRef = r.decode().ok()?;
    let n: UintRef = r.decode().ok()?;
    let e: UintRef = r.decode().ok()?;
    let n = n.as_bytes();
    let bits = n.len() * 8 - n.first().map_or(0, |b| b.leading_zeros() as usize);
    let e = e.as_bytes().iter().try_fold(0u64, |acc, b| {
        acc.checked_mul(256).map(|a| a + u64::from(*b))
    });
    Some(KeyInfo::Rsa {
        bits,
        e: e.unwrap_or(u64::MAX),
    })
}

/// How the app proves who it is.
#[derive(Clone)]
pub enum Credentials {
    /// Client secret VALUE (not its id).
    Secret(SecretString),
    /// Certificate uploaded to the app registration, and its private key.
    Certificate {
        /// DER of the certificate (thumbprints are computed from it).
        cert_der: Vec<u8>,
        /// The matching RSA private key.
        key: RsaKey,
    },
    /// No app credential (a public client): Graph is called with the token of the operator who
    /// signed in with the device code ([`crate::GraphClient::start_device_sign_in`]). The app
    /// registration must allow public client flows.
    Delegated,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Secret(_) => f.write_str("Credentials::Secret(***)"),
            Credentials::Certificate { cert_der, .. } => write!(
                f,
                "Credentials::Certificate {{ x5t#S256: {}, key: *** }}",
                thumbprint_sha256(cert_der)
            ),
            Credentials::Delegated => f.write_str("Credentials::Delegated"),
        }
    }
}

impl Credentials {
    /// A client secret.
    pub fn secret(value: impl Into<String>) -> Self {
        Credentials::Secret(SecretString::new(value))
    }

    /// Certificate + key from PEM texts (both may be the same combined file). Checks that the key
    /// belongs to the certificate and that the certificate has not expired, so the operator gets a
    /// clear message instead of AADSTS700027.
    pub fn certificate_from_pem(cert_pem: &str, key_pem: &str) -> Result<Self> {
        let cert_der = pem_blocks(cert_pem)
            .into_iter()
            .find(|(l, _)| l == "CERTIFICATE")
            .map(|(_, d)| d.to_vec())
            .ok_or_else(|| Error::Credential("no 'BEGIN CERTIFICATE' PEM block found".into()))?;
        let key = RsaKey::from_pem(key_pem)?;
        check_cert_matches_key(&cert_der, &key, SystemTime::now())?;
        Ok(Credentials::Certificate { cert_der, key })
    }

    /// Reads [`Credentials::certificate_from_pem`] from files.
    pub fn certificate_from_files(cert: &std::path::Path, key: &std::path::Path) -> Result<Self> {
        let read = |p: &std::path::Path| {
            std::fs::read_to_string(p)
                .map_err(|e| Error::Credential(format!("cannot read {}: {e}", p.display())))
        };
        let key_text = zeroize::Zeroizing::new(read(key)?);
        Self::certificate_from_pem(&read(cert)?, &key_text)
    }
}

/// `x5t#S256`: base64url(SHA-256(DER)).
pub fn thumbprint_sha256(cert_der: &[u8]) -> String {
    b64url(&Sha256::digest(cert_der))
}

/// `x5t`: base64url(SHA-1(DER)) — the raw 20 bytes, not the hex text.
pub fn thumbprint_sha1(cert_der: &[u8]) -> String {
    b64url(&Sha1::digest(cert_der))
}

fn check_cert_matches_key(cert_der: &[u8], key: &RsaKey, now: SystemTime) -> Result<()> {
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| Error::Credential(format!("cannot parse the certificate: {e}")))?;
    let spki = &cert.tbs_certificate.subject_public_key_info;
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(Error::Credential(format!(
            "the certificate's public key is not an RSA key (algorithm {}); certificate sign-in \
             signs with RSA (PS256): create an RSA certificate and key",
            spki.algorithm.oid
        )));
    }
    // The subjectPublicKey of rsaEncryption is the PKCS#1 RSAPublicKey DER, as ring encodes it.
    if spki.subject_public_key.as_bytes() != Some(key.0.public().as_ref()) {
        return Err(Error::Credential(
            "the private key does not belong to the certificate; configure the matching pair"
                .into(),
        ));
    }
    let not_after = cert.tbs_certificate.validity.not_after.to_system_time();
    if not_after < now {
        return Err(Error::Credential(format!(
            "the certificate expired on {}; create a new one and upload it to the app registration",
            httpdate::fmt_http_date(not_after)
        )));
    }
    Ok(())
}

/// All PEM blocks of a text, as (label, DER); the DER (it may be a private key) is wiped on drop.
/// Tolerates CRLF, indentation and other text around.
fn pem_blocks(text: &str) -> Vec<(String, zeroize::Zeroizing<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = zeroize::Zeroizing::new(String::new());
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            // Skip RFC 1421 headers such as "Proc-Type:" (encrypted legacy keys).
            if !l.contains(':') {
                b64.push_str(l);
            }
        }
        if closed {
            if let Ok(der) = STANDARD.decode(b64.as_bytes()) {
                out.push((label.to_owned(), zeroize::Zeroizing::new(der)));
            }
        }
    }
    out
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Builds a signed client assertion (compact JWS, PS256) for `aud` = the token endpoint URL.
pub fn client_assertion(
    cert_der: &[u8],
    key: &RsaKey,
    client_id: &str,
    audience: &str,
    now: SystemTime,
) -> Result<SecretString> {
    let header = serde_json::json!({
        "alg": "PS256",
        "typ": "JWT",
        "x5t#S256": thumbprint_sha256(cert_der),
        "x5t": thumbprint_sha1(cert_der),
    });
    let nbf = unix_secs(now);
    let claims = serde_json::json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": uuid::Uuid::new_v4().to_string(),
        "nbf": nbf,
        "iat": nbf,
        "exp": nbf + ASSERTION_LIFETIME.as_secs(),
    });
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    // PSS with salt length = hash length (RFC 7518 §3.5). ring's private-key operation is
    // constant-time (RUSTSEC-2023-0071 concerned the `rsa` crate used before).
    let mut sig = vec![0u8; key.0.public().modulus_len()];
    key.0
        .sign(
            &RSA_PSS_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| {
            Error::Credential(
                "cannot sign the client assertion: the RSA key failed its self-check while \
                 signing (a damaged key?); create a new key and certificate"
                    .into(),
            )
        })?;
    Ok(SecretString::new(format!(
        "{signing_input}.{}",
        b64url(&sig)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str = include_str!("../../tests/data/test-cert.pem");
    const KEY: &str = include_str!("../../tests/data/test-key.pem");

    #[test]
    fn expired_certificate_is_refused_with_remedy() {
        let der = pem_blocks(CERT).remove(0).1;
        let key = RsaKey::from_pem(KEY).expect("key");
        assert!(check_cert_matches_key(&der, &key, SystemTime::now()).is_ok());
        // The test certificate is valid for 100 years; look at it from further ahead.
        let later = SystemTime::now() + Duration::from_secs(200 * 365 * 86_400);
        let e = check_cert_matches_key(&der, &key, later).expect_err("expired");
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn pem_blocks_tolerate_crlf_and_noise() {
        let text = format!("junk\r\n{}\r\nmore", CERT.replace('\n', "\r\n  "));
        let blocks = pem_blocks(&text);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].0, "CERTIFICATE");
        assert_eq!(format!("{:?}", key_debug()), "\"***\"");
    }

    fn key_debug() -> String {
        format!("{:?}", RsaKey::from_pem(KEY).expect("key"))
    }

    fn cert_der() -> Vec<u8> {
        pem_blocks(CERT).remove(0).1.to_vec()
    }

    #[test]
    fn assertion_is_ps256_verifiable_with_the_certificate_key() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use ring::signature::{UnparsedPublicKey, RSA_PSS_2048_8192_SHA256};
        let key = RsaKey::from_pem(KEY).expect("key");
        let der = cert_der();
        let aud = "https://login.example/t/oauth2/v2.0/token";
        let jwt = client_assertion(&der, &key, "app-id", aud, SystemTime::now()).expect("sign");
        let parts: Vec<&str> = jwt.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).expect("b64")).expect("json");
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["x5t#S256"], thumbprint_sha256(&der));

        // Independently: the certificate's SubjectPublicKeyInfo, not the key pair.
        let cert = x509_cert::Certificate::from_der(&der).expect("cert");
        let spki = cert.tbs_certificate.subject_public_key_info;
        let public = UnparsedPublicKey::new(
            &RSA_PSS_2048_8192_SHA256,
            spki.subject_public_key.raw_bytes(),
        );
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        assert_eq!(sig.len(), 256);
        let input = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(input.as_bytes(), &sig)
            .expect("PS256 verifies");
        let tampered = format!("{}.{}x", parts[0], parts[1]);
        assert!(public.verify(tampered.as_bytes(), &sig).is_err());
        // Randomized (PSS salt): two assertions never share a signature.
        let again = client_assertion(&der, &key, "app-id", aud, SystemTime::now()).expect("sign");
        assert_ne!(again.expose_secret().split('.').nth(2), Some(parts[2]));
    }

    #[test]
    fn key_of_another_certificate_is_refused() {
        let other = include_str!("../../tests/data/other-key-pkcs1.pem");
        let e = Credentials::certificate_from_pem(CERT, other).expect_err("mismatch");
        assert!(
            e.to_string().contains("does not belong to the certificate"),
            "{e}"
        );
        assert!(!e.to_string().contains("MII"), "{e}");
        // The same key as PKCS#1 matches.
        let pkcs1 = include_str!("../../tests/data/test-key-pkcs1.pem");
        assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
        assert!(Credentials::certificate_from_pem(CERT, pkcs1).is_ok());
    }

    #[test]
    fn unsupported_keys_are_explained() {
        let small = include_str!("../../tests/data/rsa1024-key.pem");
        let e = RsaKey::from_pem(small).expect_err("1024 bits");
        let text = e.to_string();
        assert!(text.contains("has 1024 bits"), "{text}");
        assert!(text.contains("2048, 3072 or 4096 bits"), "{text}");

        let ec_key = include_str!("../../tests/data/p256-key.pem");
        let e = RsaKey::from_pem(ec_key).expect_err("P-256");
        assert!(e.to_string().contains("not an RSA key"), "{e}");

        let ec_cert = include_str!("../../tests/data/p256-cert.pem");
        let e = Credentials::certificate_from_pem(ec_cert, KEY).expect_err("EC certificate");
        assert!(
            e.to_string()
                .contains("certificate's public key is not an RSA key"),
            "{e}"
        );

        let damaged = KEY.replacen("MIIE", "MIIF", 1);
        let e = RsaKey::from_pem(&damaged).expect_err("damaged");
        assert!(
            e.to_string().contains("cannot read the RSA private key"),
            "{e}"
        );
    }
}
