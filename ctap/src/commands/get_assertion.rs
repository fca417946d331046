//! authenticatorGetAssertion (0x02, CTAP 2.1 §6.2), used here only as a silent probe
//! (`up = false`) to learn whether a key already holds one of a list of credentials when
//! the exclude list is longer than the key accepts in one request (maxCredentialCountInList).
//! A probe authorised with a pinUvAuthToken that has the ga permission also sees the
//! credentials credProtect hides without user verification (level 3, CTAP 2.1 §12.1).

use ciborium::Value;

use super::{decode_map, Command};
use crate::cbor::{expect_bytes, expect_map, expect_u32, int, map_get_text, text};
use crate::commands::client_pin::PinToken;
use crate::commands::make_credential::AuthData;
use crate::{Error, Result};

/// A getAssertion request (CTAP 2.1 §6.2 parameters); no extensions.
#[derive(Debug, Clone)]
pub struct GetAssertionRequest {
    /// 0x01 rpId.
    pub rp_id: String,
    /// 0x02 clientDataHash.
    pub client_data_hash: [u8; 32],
    /// 0x03 allowList: credential ids.
    pub allow_list: Vec<Vec<u8>>,
    /// 0x05 options.up: `false` for a silent probe that needs no touch.
    pub user_presence: bool,
    /// 0x06 pinUvAuthParam and 0x07 pinUvAuthProtocol.
    pub pin_uv_auth: Option<(Vec<u8>, u8)>,
}

impl GetAssertionRequest {
    /// Authorises the request with `token` (which needs the ga permission for the rpId):
    /// pinUvAuthParam = authenticate(token, clientDataHash) (CTAP 2.1 §6.2.1). Without
    /// `up`, the key uses the token without consuming it (§6.2.2 step 9 is skipped), so the
    /// same token still authorises a makeCredential afterwards when it also has mc.
    pub fn authorize(&mut self, token: &PinToken) {
        let param = token.authenticate(&self.client_data_hash);
        self.pin_uv_auth = Some((param, token.protocol().number()));
    }
}

/// A getAssertion reply (CTAP 2.1 §6.2 response).
#[derive(Debug, Clone, PartialEq)]
pub struct GetAssertionResponse {
    /// 0x01 credential.id (may be omitted when the allow list had one entry).
    pub credential_id: Option<Vec<u8>>,
    /// 0x02 authData.
    pub auth_data: AuthData,
    /// 0x03 signature.
    pub signature: Vec<u8>,
    /// 0x05 numberOfCredentials.
    pub number_of_credentials: Option<u32>,
}

impl Command for GetAssertionRequest {
    const CMD: u8 = 0x02;
    type Response = GetAssertionResponse;

    fn params(&self) -> Option<Value> {
        let mut m = vec![
            (int(0x01), text(&self.rp_id)),
            (int(0x02), Value::Bytes(self.client_data_hash.to_vec())),
        ];
        if !self.allow_list.is_empty() {
            let list = self
                .allow_list
                .iter()
                .map(|id| {
                    Value::Map(vec![
                        (text("id"), Value::Bytes(id.clone())),
                        (text("type"), text("public-key")),
                    ])
                })
                .collect();
            m.push((int(0x03), Value::Array(list)));
        }
        if !self.user_presence {
            m.push((
                int(0x05),
                Value::Map(vec![(text("up"), Value::Bool(false))]),
            ));
        }
        if let Some((param, protocol)) = &self.pin_uv_auth {
            m.push((int(0x06), Value::Bytes(param.clone())));
            m.push((int(0x07), int(i64::from(*protocol))));
        }
        Some(Value::Map(m))
    }

    fn decode(body: &[u8]) -> Result<GetAssertionResponse> {
        decode_get_assertion_response(body)
    }
}

/// Decodes a getAssertion reply body (CTAP 2.1 §6.2). authData and signature are required.
pub fn decode_get_assertion_response(body: &[u8]) -> Result<GetAssertionResponse> {
    let map = decode_map(body, "getAssertion")?;
    let (mut credential_id, mut auth_data, mut signature, mut count) = (None, None, None, None);
    for (k, v) in expect_map(&map, "getAssertion")? {
        let Value::Integer(k) = k else { continue };
        match i128::from(*k) {
            0x01 => {
                let id = map_get_text(v, "id")
                    .ok_or_else(|| Error::Malformed("credential.id is missing".into()))?;
                credential_id = Some(expect_bytes(id, "credential.id")?.to_vec());
            }
            0x02 => auth_data = Some(AuthData::parse(expect_bytes(v, "authData")?)?),
            0x03 => signature = Some(expect_bytes(v, "signature")?.to_vec()),
            0x05 => count = Some(expect_u32(v, "numberOfCredentials")?),
            _ => {}
        }
    }
    Ok(GetAssertionResponse {
        credential_id,
        auth_data: auth_data
            .ok_or_else(|| Error::Malformed("getAssertion: authData (0x02) is missing".into()))?,
        signature: signature
            .ok_or_else(|| Error::Malformed("getAssertion: signature (0x03) is missing".into()))?,
        number_of_credentials: count,
    })
}
