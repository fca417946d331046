//! authenticatorMakeCredential (0x01, CTAP 2.1 §6.1) and the authenticator data it returns
//! (WebAuthn L2 §6.1).

use ciborium::Value;
use serde::{Deserialize, Serialize};

use super::Command;
use crate::cbor::{expect_bytes, expect_text, from_prefix, int, map_entries_raw, text};
use crate::commands::client_pin::PinToken;
use crate::{Error, Result};

/// Relying party (PublicKeyCredentialRpEntity, WebAuthn L2 §5.4.2). In JSON (see
/// [`crate::webauthn::CreationOptions`]): `{"id": …, "name": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelyingParty {
    /// rp.id, e.g. "login.microsoft.com".
    pub id: String,
    /// rp.name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// User (PublicKeyCredentialUserEntity, WebAuthn L2 §5.4.3). In JSON:
/// `{"id": "<base64url>", "name": …, "displayName": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The user handle (decoded bytes, not base64).
    #[serde(with = "crate::webauthn::base64url")]
    pub id: Vec<u8>,
    /// user.name (UPN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// user.displayName.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// credProtect levels (CTAP 2.1 §12.1); in JSON the extension's `credentialProtectionPolicy`
/// strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredProtect {
    /// userVerificationOptional (1).
    #[serde(rename = "userVerificationOptional")]
    UserVerificationOptional = 1,
    /// userVerificationOptionalWithCredentialIDList (2).
    #[serde(rename = "userVerificationOptionalWithCredentialIDList")]
    UserVerificationOptionalWithCredentialIdList = 2,
    /// userVerificationRequired (3).
    #[serde(rename = "userVerificationRequired")]
    UserVerificationRequired = 3,
}

/// Authenticator extensions asked for in makeCredential.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MakeCredentialExtensions {
    /// credProtect (CTAP 2.1 §12.1).
    pub cred_protect: Option<CredProtect>,
    /// hmac-secret (CTAP 2.1 §12.5): `true` to create the credential's HMAC secret.
    pub hmac_secret: bool,
}

/// A makeCredential request (CTAP 2.1 §6.1 parameters).
#[derive(Debug, Clone)]
pub struct MakeCredentialRequest {
    /// 0x01 clientDataHash: SHA-256 of clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// 0x02 rp.
    pub rp: RelyingParty,
    /// 0x03 user.
    pub user: User,
    /// 0x04 pubKeyCredParams: COSE algorithm ids in order of preference (type "public-key").
    pub algorithms: Vec<i64>,
    /// 0x05 excludeList: credential ids.
    pub exclude_list: Vec<Vec<u8>>,
    /// 0x06 extensions.
    pub extensions: MakeCredentialExtensions,
    /// 0x07 options.rk.
    pub resident_key: bool,
    /// 0x07 options.uv (only for built-in UV without a PIN token; never with pinUvAuthParam).
    pub user_verification: bool,
    /// 0x08 pinUvAuthParam and 0x09 pinUvAuthProtocol.
    pub pin_uv_auth: Option<(Vec<u8>, u8)>,
}

impl MakeCredentialRequest {
    /// Authorises the request with `token` (which needs the mc permission):
    /// pinUvAuthParam = authenticate(token, clientDataHash) (CTAP 2.1 §6.1.1).
    pub fn authorize(&mut self, token: &PinToken) {
        let param = token.authenticate(&self.client_data_hash);
        self.pin_uv_auth = Some((param, token.protocol().number()));
    }
}

fn public_key_entry(id: Value) -> Value {
    Value::Map(vec![(text("id"), id), (text("type"), text("public-key"))])
}

impl Command for MakeCredentialRequest {
    const CMD: u8 = 0x01;
    type Response = MakeCredentialResponse;

    fn params(&self) -> Option<Value> {
        let mut rp = vec![(text("id"), text(&self.rp.id))];
        if let Some(n) = &self.rp.name {
            rp.push((text("name"), text(n)));
        }
        let mut user = vec![(text("id"), Value::Bytes(self.user.id.clone()))];
        if let Some(n) = &self.user.name {
            user.push((text("name"), text(n)));
        }
        if let Some(n) = &self.user.display_name {
            user.push((text("displayName"), text(n)));
        }
        let algs = self
            .algorithms
            .iter()
            .map(|a| {
                Value::Map(vec![
                    (text("alg"), int(*a)),
                    (text("type"), text("public-key")),
                ])
            })
            .collect();
        let mut m = vec![
            (int(0x01), Value::Bytes(self.client_data_hash.to_vec())),
            (int(0x02), Value::Map(rp)),
            (int(0x03), Value::Map(user)),
            (int(0x04), Value::Array(algs)),
        ];
        if !self.exclude_list.is_empty() {
            let list = self
                .exclude_list
                .iter()
                .map(|id| public_key_entry(Value::Bytes(id.clone())))
                .collect();
            m.push((int(0x05), Value::Array(list)));
        }
        let mut ext = Vec::new();
        if let Some(cp) = self.extensions.cred_protect {
            ext.push((text("credProtect"), int(cp as i64)));
        }
        if self.extensions.hmac_secret {
            ext.push((text("hmac-secret"), Value::Bool(true)));
        }
        if !ext.is_empty() {
            m.push((int(0x06), Value::Map(ext)));
        }
        let mut opts = Vec::new();
        if self.resident_key {
            opts.push((text("rk"), Value::Bool(true)));
        }
        if self.user_verification && self.pin_uv_auth.is_none() {
            opts.push((text("uv"), Value::Bool(true)));
        }
        if !opts.is_empty() {
            m.push((int(0x07), Value::Map(opts)));
        }
        if let Some((param, protocol)) = &self.pin_uv_auth {
            m.push((int(0x08), Value::Bytes(param.clone())));
            m.push((int(0x09), int(i64::from(*protocol))));
        }
        Some(Value::Map(m))
    }

    fn decode(body: &[u8]) -> Result<MakeCredentialResponse> {
        decode_make_credential_response(body)
    }
}

/// Authenticator data flags (WebAuthn L2 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// UP: user present.
    pub fn user_present(self) -> bool {
        self.0 & 0x01 != 0
    }
    /// UV: user verified.
    pub fn user_verified(self) -> bool {
        self.0 & 0x04 != 0
    }
    /// AT: attested credential data included.
    pub fn attested_credential_data(self) -> bool {
        self.0 & 0x40 != 0
    }
    /// ED: extension data included.
    pub fn extension_data(self) -> bool {
        self.0 & 0x80 != 0
    }
}

/// Attested credential data (WebAuthn L2 §6.5.1).
#[derive(Debug, Clone, PartialEq)]
pub struct AttestedCredentialData {
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
    /// The new credential's id.
    pub credential_id: Vec<u8>,
    /// The credential public key (COSE_Key).
    pub public_key: Value,
}

/// Parsed authenticator data (WebAuthn L2 §6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthData {
    /// SHA-256 of the RP id.
    pub rp_id_hash: [u8; 32],
    /// Flags byte.
    pub flags: Flags,
    /// Signature counter.
    pub sign_count: u32,
    /// Present when flags.AT is set.
    pub attested_credential_data: Option<AttestedCredentialData>,
    /// Authenticator extension outputs, present when flags.ED is set.
    pub extensions: Option<Value>,
}

fn take<'a>(b: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8]> {
    if b.len() < n {
        return Err(Error::Malformed(format!("authData: truncated at {what}")));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

impl AuthData {
    /// Parses authenticator data bytes (WebAuthn L2 §6.1, §6.5.1); trailing bytes are refused.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let mut b = bytes;
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(take(&mut b, 32, "rpIdHash")?);
        let flags = Flags(take(&mut b, 1, "flags")?[0]);
        let mut count = [0u8; 4];
        count.copy_from_slice(take(&mut b, 4, "signCount")?);
        let sign_count = u32::from_be_bytes(count);
        let attested_credential_data = if flags.attested_credential_data() {
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(take(&mut b, 16, "aaguid")?);
            let len = take(&mut b, 2, "credentialIdLength")?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let credential_id = take(&mut b, len, "credentialId")?.to_vec();
            let (public_key, used) = from_prefix(b)?;
            if !matches!(public_key, Value::Map(_)) {
                return Err(Error::Malformed(
                    "authData: credentialPublicKey is not a map".into(),
                ));
            }
            b = &b[used..];
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                public_key,
            })
        } else {
            None
        };
        let extensions = if flags.extension_data() {
            let (ext, used) = from_prefix(b)?;
            if !matches!(ext, Value::Map(_)) {
                return Err(Error::Malformed("authData: extensions is not a map".into()));
            }
            b = &b[used..];
            Some(ext)
        } else {
            None
        };
        if !b.is_empty() {
            return Err(Error::Malformed(format!(
                "authData: {} trailing bytes",
                b.len()
            )));
        }
        Ok(AuthData {
            rp_id_hash,
            flags,
            sign_count,
            attested_credential_data,
            extensions,
        })
    }

    /// An authenticator extension output by name (e.g. "credProtect", "hmac-secret").
    pub fn extension(&self, name: &str) -> Option<&Value> {
        self.extensions
            .as_ref()
            .and_then(|e| crate::cbor::map_get_text(e, name))
    }
}

/// A makeCredential reply (CTAP 2.1 §6.1 response).
#[derive(Debug, Clone, PartialEq)]
pub struct MakeCredentialResponse {
    /// 0x01 fmt, e.g. "packed".
    pub fmt: String,
    /// 0x02 authData, raw bytes (signed over by the attestation).
    pub auth_data_raw: Vec<u8>,
    /// authData parsed.
    pub auth_data: AuthData,
    /// 0x03 attStmt, the exact CBOR bytes the key sent.
    pub att_stmt_raw: Vec<u8>,
    /// 0x04 epAtt.
    pub enterprise_attestation: Option<bool>,
}

impl MakeCredentialResponse {
    /// The WebAuthn attestation object (WebAuthn L2 §6.5.4): a CBOR map with text keys
    /// "fmt", "attStmt", "authData" in canonical order, attStmt byte for byte as received.
    pub fn attestation_object(&self) -> Vec<u8> {
        let mut out = vec![0xA3];
        out.extend_from_slice(&crate::cbor::to_canonical_vec(&text("fmt")));
        out.extend_from_slice(&crate::cbor::to_canonical_vec(&text(&self.fmt)));
        out.extend_from_slice(&crate::cbor::to_canonical_vec(&text("attStmt")));
        out.extend_from_slice(&self.att_stmt_raw);
        out.extend_from_slice(&crate::cbor::to_canonical_vec(&text("authData")));
        out.extend_from_slice(&crate::cbor::to_canonical_vec(&Value::Bytes(
            self.auth_data_raw.clone(),
        )));
        out
    }
}

/// Decodes a makeCredential reply body (CTAP 2.1 §6.1). fmt, authData and attStmt are
/// required; authData must carry attested credential data.
pub fn decode_make_credential_response(body: &[u8]) -> Result<MakeCredentialResponse> {
    let entries = map_entries_raw(body)?;
    let (mut fmt, mut auth, mut att, mut ep) = (None, None, None, None);
    for (k, raw) in entries {
        let Value::Integer(k) = k else { continue };
        match i128::from(k) {
            0x01 => fmt = Some(expect_text(&crate::cbor::from_slice(raw)?, "fmt")?.to_owned()),
            0x02 => auth = Some(expect_bytes(&crate::cbor::from_slice(raw)?, "authData")?.to_vec()),
            0x03 => {
                if !matches!(crate::cbor::from_slice(raw)?, Value::Map(_)) {
                    return Err(Error::Malformed("attStmt: expected a map".into()));
                }
                att = Some(raw.to_vec());
            }
            0x04 => {
                ep = Some(crate::cbor::expect_bool(
                    &crate::cbor::from_slice(raw)?,
                    "epAtt",
                )?)
            }
            _ => {}
        }
    }
    let fmt =
        fmt.ok_or_else(|| Error::Malformed("makeCredential: fmt (0x01) is missing".into()))?;
    let auth_data_raw =
        auth.ok_or_else(|| Error::Malformed("makeCredential: authData (0x02) is missing".into()))?;
    let att_stmt_raw =
        att.ok_or_else(|| Error::Malformed("makeCredential: attStmt (0x03) is missing".into()))?;
    let auth_data = AuthData::parse(&auth_data_raw)?;
    if auth_data.attested_credential_data.is_none() {
        return Err(Error::Malformed(
            "makeCredential: authData lacks attested credential data".into(),
        ));
    }
    Ok(MakeCredentialResponse {
        fmt,
        auth_data_raw,
        auth_data,
        att_stmt_raw,
        enterprise_attestation: ep,
    })
}
