//! Lenient decoding of credential ids as Graph sends them in excludeCredentials.
//!
//! Graph has sent three encodings (graph-spec CONTRACT §4): standard base64 with `+/=`,
//! base64url without padding, and base64url with a trailing digit 0/1/2 standing for that
//! many `=`. The last is ambiguous with the second, so both readings are returned; an extra
//! id in an exclude list is harmless, a missing one lets a key be registered twice.

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// base64url, no padding, tolerant of non-zero trailing bits (seen from some encoders).
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Base64 in either alphabet, padded or not, as unpadded base64url (Graph mixes them).
pub(crate) fn normalize_base64url(s: &str) -> String {
    s.trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect()
}

/// Every plausible byte string for an id as Graph wrote it, most likely first; empty when
/// it decodes under no rule.
pub fn decode_credential_id(id: &str) -> Vec<Vec<u8>> {
    let trimmed = id.trim();
    let had_padding = trimmed.ends_with('=');
    let normalized = normalize_base64url(trimmed);
    let mut out: Vec<Vec<u8>> = Vec::new();
    if !had_padding {
        if let Some(digit @ ('0' | '1' | '2')) = normalized.chars().last() {
            let pads = usize::from(digit as u8 - b'0');
            let stripped = &normalized[..normalized.len() - 1];
            // Only a length consistent with that padding count is a real pad-count suffix.
            if (stripped.len() + pads).is_multiple_of(4) && !stripped.is_empty() {
                if let Ok(b) = LENIENT.decode(stripped) {
                    out.push(b);
                }
            }
        }
    }
    if let Ok(b) = LENIENT.decode(&normalized) {
        if !b.is_empty() && !out.contains(&b) {
            out.push(b);
        }
    }
    out
}
