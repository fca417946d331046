//! Operator identity: how the operator signs in, and the local passcode (app-only mode).
//!
//! The passcode is kept only as an argon2id PHC string (`$argon2id$v=19$...`); verifying it is
//! pure computation (no I/O), so the sign-in and lock screens may call it directly.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Config key holding the passcode hash (or the file [`PASSCODE_FILE`] next to the config).
pub const PASSCODE_KEY: &str = "operatorPasscodeHash";
/// File next to `configs.json` written by `passkey-kiosk set-passcode`.
pub const PASSCODE_FILE: &str = "operator-passcode.phc";
/// Config key: minutes without input before the station locks (0 = never).
pub const IDLE_LOCK_KEY: &str = "idleLockMinutes";
/// Config key: `app-only` (name + local passcode) or `delegated` (device-code sign-in).
pub const SIGN_IN_KEY: &str = "operatorSignIn";
/// Idle lock when the config says nothing.
pub const DEFAULT_IDLE_LOCK_MINUTES: u32 = 5;

/// How operators sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorAuth {
    /// A name and the station's local passcode; Graph is called with the app's identity.
    AppOnly {
        /// argon2 PHC string; `None` means no passcode was set up (sign-in is refused).
        passcode_hash: Option<String>,
    },
    /// Entra ID device-code sign-in with the operator's own rights.
    Delegated,
    /// Demo mode: a name is enough.
    Demo,
}

/// Hashes a passcode with argon2id and a fresh random salt (for `set-passcode`).
pub fn hash_passcode(passcode: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(passcode.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the passcode: {e}"))
}

/// Whether `passcode` matches the stored PHC string (a malformed hash never matches).
pub fn verify_passcode(hash: &str, passcode: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(passcode.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a PHC string's shape (for the start-up checks and `set-passcode`).
pub fn hash_is_well_formed(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let hash = hash_passcode("4711 open").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(hash_is_well_formed(&hash));
        assert!(verify_passcode(&hash, "4711 open"));
        assert!(!verify_passcode(&hash, "4711 opem"));
        assert!(!verify_passcode("not a hash", "4711 open"));
    }
}
