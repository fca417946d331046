//! Packed attestation (WebAuthn §8.2) with a TEST attestation key and certificate.
//!
//! TEST ONLY: the attestation private key below is public (it is in this source file), so
//! any attestation it signs proves nothing about the hardware. The self-signed certificate
//! is built once per key instance with RustCrypto's x509-cert and meets the packed
//! requirements (WebAuthn §8.2.1): version 3; subject C, O, OU="Authenticator
//! Attestation", CN; basicConstraints CA=false; id-fido-gen-ce-aaguid with the AAGUID.

use std::str::FromStr;
use std::time::Duration;

use ciborium::value::Value;
use p256::ecdsa::{signature::Signer, DerSignature, Signature, SigningKey};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Encode, Length, Writer};
use x509_cert::ext::{AsExtension, Extension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use super::credential::ES256;
use super::status::{CmdResult, Status};
use crate::cbor::{int, text};

/// The test attestation private key (P-256 scalar). Public knowledge: test use only.
const TEST_ATTESTATION_KEY: [u8; 32] = [
    0x6a, 0xd8, 0x3d, 0x37, 0x0b, 0xdd, 0xd2, 0xb5, 0x2f, 0xfc, 0x58, 0xdb, 0x6e, 0xa1, 0xdc, 0x8f,
    0x80, 0x95, 0x6d, 0x04, 0x1f, 0x4d, 0x0c, 0x41, 0x9e, 0x0a, 0x6d, 0xe0, 0xcd, 0xa5, 0xf2, 0xfc,
];

/// Subject (and issuer) of the self-signed test attestation certificate.
const SUBJECT: &str =
    "CN=Passkey Kiosk Soft Key TEST,OU=Authenticator Attestation,O=Passkey Kiosk TEST,C=US";

/// id-fido-gen-ce-aaguid (WebAuthn §8.2.1): the AAGUID as an OCTET STRING.
struct AaguidExtension(OctetString);

impl AssociatedOid for AaguidExtension {
    const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.45724.1.1.4");
}

impl Encode for AaguidExtension {
    fn encoded_len(&self) -> x509_cert::der::Result<Length> {
        self.0.encoded_len()
    }
    fn encode(&self, writer: &mut impl Writer) -> x509_cert::der::Result<()> {
        self.0.encode(writer)
    }
}

impl AsExtension for AaguidExtension {
    // Must not be critical (WebAuthn §8.2.1).
    fn critical(&self, _subject: &Name, _extensions: &[Extension]) -> bool {
        false
    }
}

/// The attestation signer: key and DER certificate.
pub(crate) struct Attestation {
    key: SigningKey,
    certificate: Vec<u8>,
}

impl Attestation {
    /// The test attestation, with a certificate naming `aaguid`.
    pub(crate) fn test(aaguid: &[u8; 16]) -> CmdResult<Self> {
        let key = SigningKey::from_slice(&TEST_ATTESTATION_KEY).map_err(|_| Status::Other)?;
        let certificate = build_certificate(&key, aaguid).map_err(|e| {
            tracing::error!(error = %e, "cannot build the test attestation certificate");
            Status::Other
        })?;
        Ok(Self { key, certificate })
    }

    /// The DER attestation certificate (x5c[0]).
    pub(crate) fn certificate(&self) -> &[u8] {
        &self.certificate
    }

    /// attStmt for "packed" (WebAuthn §8.2): {alg: -7, sig: ECDSA(authData || cdh), x5c: [cert]}.
    pub(crate) fn statement(&self, auth_data: &[u8], client_data_hash: &[u8]) -> Value {
        let mut signed = Vec::with_capacity(auth_data.len() + client_data_hash.len());
        signed.extend_from_slice(auth_data);
        signed.extend_from_slice(client_data_hash);
        let sig: Signature = self.key.sign(&signed);
        Value::Map(vec![
            (text("alg"), int(ES256)),
            (text("sig"), Value::Bytes(sig.to_der().as_bytes().to_vec())),
            (
                text("x5c"),
                Value::Array(vec![Value::Bytes(self.certificate.clone())]),
            ),
        ])
    }
}

fn build_certificate(
    key: &SigningKey,
    aaguid: &[u8; 16],
) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let subject = Name::from_str(SUBJECT)?;
    let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())?;
    // Fixed validity (2024 + 30 years) so the certificate is the same on every run.
    let not_before = Duration::from_secs(1_704_067_200); // 2024-01-01T00:00:00Z
    let validity = Validity {
        not_before: x509_cert::time::Time::try_from(std::time::UNIX_EPOCH + not_before)?,
        not_after: x509_cert::time::Time::try_from(
            std::time::UNIX_EPOCH + not_before + Duration::from_secs(30 * 365 * 86_400),
        )?,
    };
    let profile = Profile::Leaf {
        issuer: subject.clone(),
        enable_key_agreement: false,
        enable_key_encipherment: false,
    };
    let mut builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(1u32),
        validity,
        subject,
        spki,
        key,
    )?;
    builder.add_extension(&AaguidExtension(OctetString::new(aaguid.to_vec())?))?;
    let cert = builder.build::<DerSignature>()?;
    Ok(cert.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;
    use x509_cert::der::Decode;

    #[test]
    fn certificate_is_self_signed_v3_leaf_with_aaguid() {
        let att = Attestation::test(b"PasskeyKioskSoft").unwrap();
        let cert = x509_cert::Certificate::from_der(att.certificate()).unwrap();
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.version, x509_cert::certificate::Version::V3);
        assert!(tbs
            .subject
            .to_string()
            .contains("OU=Authenticator Attestation"));
        let exts = tbs.extensions.as_ref().unwrap();
        let aaguid = exts
            .iter()
            .find(|e| e.extn_id == AaguidExtension::OID)
            .unwrap();
        assert!(!aaguid.critical);
        assert_eq!(&aaguid.extn_value.as_bytes()[2..], b"PasskeyKioskSoft");
        // The certificate's key verifies its own signature (self-signed).
        let pk = VerifyingKey::from_sec1_bytes(
            tbs.subject_public_key_info.subject_public_key.raw_bytes(),
        )
        .unwrap();
        let sig = Signature::from_der(cert.signature.raw_bytes()).unwrap();
        pk.verify(&tbs.to_der().unwrap(), &sig).unwrap();
    }
}
