//! What the screen knows of operator sign-in. The sign-in itself is a station service
//! ([`crate::station::operator_auth`]): the UI sends the name and passcode and renders the
//! answer. The device-code flow runs on the runtime side (`cli::kiosk`); the UI sends
//! `StartDelegatedSignIn` and shows what [`apply_sign_in`] records from its events.

use super::state::State;
use crate::engine::api::{Event, OperatorError};

pub use crate::station::OperatorAuth;

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

/// Applies the sign-in service's events ([`State::apply`] hands them here).
pub fn apply_sign_in(state: &mut State, event: Event) {
    match event {
        Event::DeviceCode {
            user_code,
            verification_uri,
            expires_at,
            message,
        } => {
            let view = &mut state.sign_in.delegated;
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
            state.sign_in.delegated = DeviceSignIn::default();
            state.sign_in.name.clone_from(&operator);
            state.sign_in.error = None;
            state.sign_in.checking = false;
            state.sign_in.retry_at = None;
            state.operator = Some(operator);
            state.locked = false;
            state.lock_requested = false;
            state.forget_secrets();
        }
        Event::SignInFailed(error) => {
            let view = &mut state.sign_in.delegated;
            view.requested = false;
            view.code = None;
            view.failure = Some(error);
        }
        Event::PasscodeRefused {
            unlock,
            checked,
            failures,
            wait_secs,
        } => {
            state.sign_in.checking = false;
            state.sign_in.retry_at = (wait_secs > 0).then(|| state.now + wait_secs as i64);
            let t = state.texts();
            let wrong = t.text(match (checked, unlock) {
                (false, _) => "passcode-not-checked",
                (true, true) => "passcode-wrong",
                (true, false) => "passcode-wrong-try-again",
            });
            state.sign_in.error = Some(if wait_secs > 0 {
                let failures = t.text_with("passcode-failures", &[("failures", failures.into())]);
                format!("{wrong} {failures}")
            } else {
                wrong
            });
            state.forget_secrets();
        }
        Event::Locked => {
            state.locked = true;
            state.lock_requested = false;
            state.sign_in.error = None;
            state.forget_secrets();
        }
        Event::Unlocked => {
            state.locked = false;
            state.lock_requested = false;
            state.sign_in.error = None;
            state.sign_in.checking = false;
            state.sign_in.retry_at = None;
            state.forget_secrets();
        }
        Event::SignedOut { after_lock } => {
            state.operator = None;
            state.locked = false;
            state.lock_requested = false;
            state.sign_in.name.clear();
            state.sign_in.error = None;
            state.sign_in.checking = false;
            state.sign_in.delegated = DeviceSignIn {
                signed_out_idle: after_lock,
                ..DeviceSignIn::default()
            };
            state.forget_secrets();
        }
        Event::Exiting => state.exit_chosen = true,
        _ => {}
    }
}
