//! Operator identity: how the operator signs in, the local passcode (app-only mode), and what
//! the screen knows of a delegated (device-code) sign-in.
//!
//! The passcode is kept only as an argon2id PHC string (`$argon2id$v=19$...`); verifying it is
//! pure computation (no I/O), so the sign-in and lock screens may call it directly. The
//! device-code flow itself runs on the runtime side (`cli::kiosk`); the UI sends
//! `StartDelegatedSignIn` and shows what [`apply_sign_in`] records from its events.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use super::state::State;
use crate::engine::api::{Command, Event, OperatorError};

/// Config key holding the passcode hash (or the file [`PASSCODE_FILE`] next to the config).
pub const PASSCODE_KEY: &str = "operatorPasscodeHash";
/// File next to `configs.json` written by `passkey-kiosk set-passcode`.
pub const PASSCODE_FILE: &str = "operator-passcode.phc";

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

/// A device code on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCodeView {
    /// The code to type.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// When it stops working (Unix seconds).
    pub expires_at: i64,
    /// Entra's instruction sentence.
    pub message: String,
}

/// Where a delegated sign-in stands, for the sign-in screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceSignIn {
    /// `StartDelegatedSignIn` sent; no code yet.
    pub requested: bool,
    /// The code to show.
    pub code: Option<DeviceCodeView>,
    /// Why the last attempt stopped (with its AADSTS / request ids).
    pub failure: Option<OperatorError>,
    /// The last operator was signed out because the station was idle (or locked).
    pub signed_out_idle: bool,
}

/// Applies the sign-in runner's events ([`State::apply`] hands them here).
pub fn apply_sign_in(state: &mut State, event: Event) {
    let view = &mut state.sign_in.delegated;
    match event {
        Event::DeviceCode {
            user_code,
            verification_uri,
            expires_at,
            message,
        } => {
            view.requested = false;
            view.failure = None;
            view.code = Some(DeviceCodeView {
                user_code,
                verification_uri,
                expires_at,
                message,
            });
        }
        Event::SignedIn { operator } => {
            *view = DeviceSignIn::default();
            state.sign_in.name.clone_from(&operator);
            state.sign_in.error = None;
            state.operator = Some(operator);
            state.locked = false;
        }
        Event::SignInFailed(error) => {
            view.requested = false;
            view.code = None;
            view.failure = Some(error);
        }
        _ => {}
    }
}

/// Delegated mode: signs the operator out (the runner drops their tokens). Used by the idle
/// lock: a locked delegated station keeps no one's rights.
pub fn sign_out_delegated(state: &mut State, out: &mut Vec<Command>, idle: bool) {
    out.push(Command::OperatorSignedOut);
    state.operator = None;
    state.locked = false;
    state.sign_in.name.clear();
    state.sign_in.error = None;
    state.sign_in.delegated = DeviceSignIn {
        signed_out_idle: idle,
        ..DeviceSignIn::default()
    };
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
