//! Serde for byte strings as unpadded base64url (WebAuthn L2 §5.10.1 "base64url encoding"),
//! the JSON form of user handles and credential ids. Use with `#[serde(with = …)]`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serializer};

/// Writes `bytes` as unpadded base64url.
pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&URL_SAFE_NO_PAD.encode(bytes))
}

/// Reads unpadded base64url, strictly: this form is ours, never a relying party's text.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    decode(&String::deserialize(d)?)
}

fn decode<E: serde::de::Error>(text: &str) -> Result<Vec<u8>, E> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| E::custom(format!("not unpadded base64url: {e}")))
}

/// The same for a list of byte strings.
pub mod list {
    use super::*;
    use serde::ser::SerializeSeq;

    /// Writes each byte string as unpadded base64url.
    pub fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for bytes in list {
            seq.serialize_element(&URL_SAFE_NO_PAD.encode(bytes))?;
        }
        seq.end()
    }

    /// Reads a list of unpadded base64url strings.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|text| decode(&text))
            .collect()
    }
}
