//! clientDataJSON for a registration (WebAuthn L2 §5.8.1), serialized exactly as the
//! WebAuthn "limited verification" algorithm (§5.8.1.2) expects.

/// `{"type":"webauthn.create","challenge":"<challenge>","origin":"https://<rp_id>","crossOrigin":false}`
/// with the challenge string kept verbatim (the relying party's base64url text).
pub fn client_data_json(challenge: &str, rp_id: &str) -> Vec<u8> {
    // serde_json escapes exactly as JSON requires; base64url and host names need none.
    let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    format!(
        "{{\"type\":\"webauthn.create\",\"challenge\":{},\"origin\":{},\"crossOrigin\":false}}",
        q(challenge),
        q(&format!("https://{rp_id}"))
    )
    .into_bytes()
}
