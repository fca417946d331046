//! Operator sign-in: app-only mode takes a name and the station's local passcode.
//!
//! Delegated (device-code) sign-in needs engine support that does not exist yet, so it is shown
//! as not available rather than pretended.

use egui::{RichText, Ui};
use zeroize::Zeroizing;

use crate::engine::api::Command;

use super::super::operator::{self, OperatorAuth};
use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the sign-in form for the configured mode.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    widgets::title(ui, "Operator sign-in");
    match state.auth.clone() {
        OperatorAuth::Delegated => {
            ui.label(
                RichText::new(
                    "Delegated sign-in (Entra ID device code) is not yet available in this version.",
                )
                .color(theme::BAD)
                .strong(),
            );
            ui.label(
                "Set \"operatorSignIn\": \"app-only\" in configs.json and set a passcode with \
                 `passkey-kiosk set-passcode`, then restart the station.",
            );
            exit_row(ui, state);
        }
        OperatorAuth::AppOnly {
            passcode_hash: None,
        } => {
            ui.label(
                RichText::new("No operator passcode is set up on this station.")
                    .color(theme::BAD)
                    .strong(),
            );
            ui.label(
                "An administrator runs `passkey-kiosk set-passcode` next to configs.json, \
                 then restarts the station.",
            );
            exit_row(ui, state);
        }
        OperatorAuth::AppOnly {
            passcode_hash: Some(hash),
        } => form(ui, state, out, Some(&hash)),
        OperatorAuth::Demo => form(ui, state, out, None),
    }
}

fn exit_row(ui: &mut Ui, state: &mut State) {
    ui.add_space(12.0);
    if widgets::button(ui, "Exit").clicked() {
        state.exit_confirm = true;
    }
}

fn form(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>, hash: Option<&str>) {
    ui.label("Your name goes on every record this station writes.");
    ui.add_space(8.0);
    let name = widgets::labelled_field(ui, "Operator name", &mut state.sign_in.name, false, 420.0);
    let mut submit = widgets::submitted(ui, &name) && hash.is_none();
    if hash.is_some() {
        let pass =
            widgets::labelled_field(ui, "Passcode", &mut state.sign_in.passcode, true, 420.0);
        if widgets::submitted(ui, &name) {
            pass.request_focus();
        }
        submit |= widgets::submitted(ui, &pass);
    } else {
        ui.label(RichText::new("Demo mode: no passcode needed.").color(theme::MUTED));
    }
    if state.sign_in.name.is_empty() && ui.memory(|m| m.focused().is_none()) {
        name.request_focus();
    }
    if let Some(error) = &state.sign_in.error {
        ui.label(RichText::new(error).color(theme::BAD).strong());
    }
    ui.add_space(8.0);
    let ready = !state.sign_in.name.trim().is_empty();
    submit |= widgets::primary(ui, ready, "Sign in").clicked();
    if submit && ready {
        let ok = hash.is_none_or(|h| operator::verify_passcode(h, &state.sign_in.passcode));
        state.sign_in.passcode = Zeroizing::new(String::new());
        if ok {
            let name = state.sign_in.name.trim().to_string();
            out.push(Command::OperatorSignedIn {
                operator: name.clone(),
            });
            state.operator = Some(name);
            state.sign_in.error = None;
            state.locked = false;
        } else {
            state.sign_in.error = Some("Wrong passcode. Try again.".into());
        }
    }
}
