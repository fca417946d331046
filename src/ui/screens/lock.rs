//! Idle lock: the screen is hidden (a PIN on the done page too) until the operator's passcode
//! is entered again, or someone else signs in. A delegated operator is signed out instead.

use egui::{RichText, Ui};
use zeroize::Zeroizing;

use crate::engine::api::Command;

use super::super::operator::{self, OperatorAuth};
use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the lock screen. In delegated mode locking signs the operator out (their tokens are
/// dropped); the next operator signs in afresh.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    widgets::title(ui, "Station locked");
    if state.auth == OperatorAuth::Delegated {
        operator::sign_out_delegated(state, out, true);
        ui.label("Signing out…");
        ui.ctx().request_repaint();
        return;
    }
    let who = state.operator.clone().unwrap_or_default();
    ui.label(format!(
        "Signed in: {who}. Work in progress continues in the background."
    ));
    ui.add_space(12.0);
    let hash = match &state.auth {
        OperatorAuth::AppOnly { passcode_hash } => passcode_hash.clone(),
        _ => None,
    };
    let mut unlock = false;
    if hash.is_some() {
        let pass =
            widgets::labelled_field(ui, "Passcode", &mut state.sign_in.passcode, true, 420.0);
        unlock |= widgets::submitted(ui, &pass);
        if !unlock && ui.memory(|m| m.focused().is_none()) {
            pass.request_focus();
        }
    }
    if let Some(error) = &state.sign_in.error {
        ui.label(RichText::new(error).color(theme::BAD).strong());
    }
    ui.horizontal(|ui| {
        unlock |= widgets::primary(ui, true, "Unlock").clicked();
        if widgets::button(ui, "Switch operator").clicked() {
            out.push(Command::OperatorSignedOut);
            state.operator = None;
            state.locked = false;
            state.sign_in.name.clear();
            state.sign_in.error = None;
        }
    });
    if unlock {
        let ok = hash
            .as_deref()
            .is_none_or(|h| operator::verify_passcode(h, &state.sign_in.passcode));
        state.sign_in.passcode = Zeroizing::new(String::new());
        if ok {
            state.locked = false;
            state.sign_in.error = None;
        } else {
            state.sign_in.error = Some("Wrong passcode.".into());
        }
    }
}
