//! The lock screen: the screen is hidden (a PIN on the done page too) until the operator's
//! passcode is entered again, or someone else signs in. Unlocking is the sign-in service's
//! answer ([`crate::engine::api::Event::Unlocked`]), never this screen's decision. A delegated
//! operator is signed out instead.

use egui::Ui;

use crate::engine::api::{Command, Passcode};

use super::super::operator::OperatorAuth;
use super::super::state::State;
use super::super::widgets;

/// Renders the lock screen.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    widgets::title(ui, "Station locked");
    if state.auth == OperatorAuth::Delegated {
        // The lock signs a delegated operator out (the service answers `SignedOut`).
        ui.label("Signing out…");
        return;
    }
    let who = state.operator.clone().unwrap_or_default();
    ui.label(format!(
        "Signed in: {who}. Work in progress continues in the background."
    ));
    ui.add_space(12.0);
    let passcode = matches!(
        state.auth,
        OperatorAuth::AppOnly {
            passcode_hash: Some(_)
        }
    );
    let mut unlock = false;
    if passcode {
        let pass = widgets::secret_field(
            ui,
            "Passcode",
            &mut state.sign_in.passcode,
            state.secret_generation,
            420.0,
        );
        unlock |= widgets::submitted(ui, &pass);
        if !unlock && ui.memory(|m| m.focused().is_none()) {
            pass.request_focus();
        }
    }
    let (waiting, may_send) = super::sign_in::refusal_and_wait(ui, state);
    ui.horizontal(|ui| {
        unlock |= widgets::primary(ui, may_send, "Unlock").clicked();
        if widgets::button(ui, "Switch operator").clicked() {
            out.push(Command::SignOut);
            state.forget_secrets();
        }
    });
    if unlock && may_send {
        out.push(Command::Unlock {
            passcode: Passcode::new(state.sign_in.passcode.take_secret().as_str()),
        });
        state.sign_in.checking = passcode;
        state.forget_secrets();
    } else if unlock && waiting {
        state.forget_secrets();
    }
}
