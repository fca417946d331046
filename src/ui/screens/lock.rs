//! The lock screen: the screen is hidden (a PIN on the done page too) until the operator's
//! passcode is entered again, or someone else signs in. Unlocking is the sign-in service's
//! answer ([`crate::engine::api::Event::Unlocked`]), never this screen's decision. A delegated
//! operator is signed out instead.

use egui::Ui;

use crate::engine::api::Command;

use super::super::operator::OperatorAuth;
use super::super::state::State;
use super::super::widgets;

/// Renders the lock screen.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("lock-title"));
    if state.auth == OperatorAuth::Delegated {
        // The lock signs a delegated operator out (the service answers `SignedOut`).
        ui.label(t.text("lock-signing-out"));
        return;
    }
    let who = state.operator.clone().unwrap_or_default();
    ui.label(t.text_with("lock-signed-in", &[("operator", who.into())]));
    ui.add_space(12.0);
    let passcode = matches!(
        state.auth,
        OperatorAuth::AppOnly {
            passcode_hash: Some(_)
        }
    );
    let mut unlock = false;
    if passcode {
        let pass = super::sign_in::passcode_field(ui, &t, state);
        unlock |= widgets::submitted(ui, &pass);
        if !unlock && ui.memory(|m| m.focused().is_none()) {
            pass.request_focus();
        }
    }
    let (waiting, may_send) = super::sign_in::refusal_and_wait(ui, &t, state);
    // An empty passcode is no attempt: Enter in an empty field must not count as a failure.
    let passcode_typed = !passcode || !state.sign_in.passcode.is_empty();
    let may_send = may_send && passcode_typed;
    ui.horizontal(|ui| {
        unlock |= widgets::primary(ui, may_send, &t.text("lock-unlock")).clicked();
        if widgets::button(ui, &t.text("lock-switch-operator")).clicked() {
            out.push(Command::SignOut);
            state.forget_secrets();
        }
    });
    let attempt = super::sign_in::Attempt {
        submit: unlock,
        may_send,
        waiting,
        checking: passcode,
    };
    attempt.send(state, out, |_, passcode| Command::Unlock { passcode });
}
