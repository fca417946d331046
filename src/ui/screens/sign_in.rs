//! Operator sign-in. App-only mode takes a name and the station's local passcode. Delegated
//! mode shows the Entra ID device code and its address large, with a countdown, while the
//! runtime polls; on approval the operator's UPN is shown and goes on every audit entry.

use egui::{Response, RichText, Ui};

use crate::engine::api::{Command, Passcode};
use crate::i18n::Texts;

use super::super::operator::OperatorAuth;
use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the sign-in form for the configured mode.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("sign-in-title"));
    match state.auth.clone() {
        // No Exit here: leaving full screen needs a signed-in operator.
        OperatorAuth::Delegated => delegated(ui, &t, state, out),
        OperatorAuth::AppOnly {
            passcode_hash: None,
        } => {
            ui.label(
                RichText::new(t.text("sign-in-no-passcode"))
                    .color(theme::BAD)
                    .strong(),
            );
            ui.label(t.text("sign-in-no-passcode-hint"));
        }
        OperatorAuth::AppOnly {
            passcode_hash: Some(_),
        } => form(ui, &t, state, out, true),
        OperatorAuth::Demo => form(ui, &t, state, out, false),
        OperatorAuth::Headless => {}
    }
}

/// Size of the device code and its address: readable from a standing position.
const CODE_SIZE: f32 = 64.0;
const URI_SIZE: f32 = 36.0;

fn delegated(ui: &mut Ui, t: &Texts, state: &mut State, out: &mut Vec<Command>) {
    let now = state.now;
    let view = &mut state.sign_in.delegated;
    if let Some(code) = view.code.clone() {
        let left = code.expires_at - now;
        if left > 0 {
            ui.label(t.text("device-code-open"));
            ui.label(
                RichText::new(&code.verification_uri)
                    .size(URI_SIZE)
                    .strong()
                    .color(theme::ACCENT),
            );
            ui.label(t.text("device-code-enter"));
            ui.add(
                egui::Label::new(
                    RichText::new(&code.user_code)
                        .monospace()
                        .size(CODE_SIZE)
                        .strong(),
                )
                .selectable(true),
            );
            ui.label(
                RichText::new(t.text_with(
                    "device-code-expires",
                    &[("time", format!("{}:{:02}", left / 60, left % 60).into())],
                ))
                .strong(),
            );
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(RichText::new(t.text("device-code-waiting")).color(theme::MUTED));
            });
            // The countdown ticks once a second; nothing else repaints while waiting.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_secs(1));
            ui.add_space(8.0);
            if widgets::button(ui, &t.text("device-code-cancel")).clicked() {
                out.push(Command::CancelDelegatedSignIn);
                view.code = None;
            }
        } else {
            ui.label(
                RichText::new(t.text("device-code-expired"))
                    .color(theme::BAD)
                    .strong(),
            );
            if widgets::primary(ui, true, &t.text("device-code-new")).clicked() {
                out.push(Command::CancelDelegatedSignIn);
                out.push(Command::StartDelegatedSignIn);
                view.code = None;
                view.requested = true;
            }
        }
        return;
    }
    if view.requested {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t.text("device-code-asking"));
        });
        if widgets::button(ui, &t.text("device-code-cancel")).clicked() {
            out.push(Command::CancelDelegatedSignIn);
            view.requested = false;
        }
        return;
    }
    if view.signed_out_idle {
        ui.label(RichText::new(t.text("sign-in-signed-out-idle")).color(theme::MUTED));
    }
    if let Some(failure) = &view.failure {
        widgets::error_box(ui, t, failure);
        ui.add_space(8.0);
    }
    ui.label(t.text("sign-in-delegated-hint"));
    ui.add_space(8.0);
    if widgets::primary(ui, true, &t.text("sign-in-entra")).clicked() {
        out.push(Command::StartDelegatedSignIn);
        view.requested = true;
        view.failure = None;
        view.signed_out_idle = false;
    }
}

fn form(ui: &mut Ui, t: &Texts, state: &mut State, out: &mut Vec<Command>, passcode: bool) {
    ui.label(t.text("sign-in-hint"));
    ui.add_space(8.0);
    let name = widgets::labelled_field(ui, &t.text("sign-in-name"), &mut state.sign_in.name, 420.0);
    let mut submit = widgets::submitted(ui, &name) && !passcode;
    let pass = passcode.then(|| {
        let pass = passcode_field(ui, t, state);
        if widgets::submitted(ui, &name) {
            pass.request_focus();
        }
        submit |= widgets::submitted(ui, &pass);
        pass
    });
    if pass.is_none() {
        ui.label(RichText::new(t.text("sign-in-demo")).color(theme::MUTED));
    }
    // With nothing focused, the cursor waits in the first field still to fill (the name, else
    // the passcode), so the keyboard alone signs in: no click needed.
    if ui.memory(|m| m.focused().is_none()) {
        match &pass {
            Some(pass) if !state.sign_in.name.is_empty() => pass.request_focus(),
            _ => name.request_focus(),
        }
    }
    // An empty passcode is no attempt: Enter in an empty field must not count as a failure.
    let passcode_typed = !passcode || !state.sign_in.passcode.is_empty();
    let ready = !state.sign_in.name.trim().is_empty() && passcode_typed;
    let (waiting, submit_now) = refusal_and_wait(ui, t, state);
    ui.add_space(8.0);
    submit |= widgets::primary(ui, ready && submit_now, &t.text("sign-in")).clicked();
    let attempt = Attempt {
        submit,
        may_send: ready && submit_now,
        waiting,
        checking: passcode,
    };
    attempt.send(state, out, |state, passcode| Command::SignIn {
        name: state.sign_in.name.trim().to_string(),
        passcode,
    });
}

/// The operator's passcode field (sign-in and unlock), kept out of undo history.
pub fn passcode_field(ui: &mut Ui, t: &Texts, state: &mut State) -> Response {
    widgets::secret_field(
        ui,
        "Passcode",
        &t.text("passcode-field"),
        &mut state.sign_in.passcode,
        state.secret_generation,
        420.0,
    )
}

/// A sign-in or unlock attempt as this frame left it.
pub struct Attempt {
    /// Enter or the button asked for it.
    pub submit: bool,
    /// It may be sent now (no pause, no check running, the form complete).
    pub may_send: bool,
    /// A pause after repeated failures is running.
    pub waiting: bool,
    /// A passcode goes with it, so the answer waits for the check.
    pub checking: bool,
}

impl Attempt {
    /// Sends the command `command` builds around the typed passcode and forgets the secrets
    /// typed; a submit during the pause only forgets them, so nothing is kept for later.
    pub fn send(
        self,
        state: &mut State,
        out: &mut Vec<Command>,
        command: impl FnOnce(&State, Passcode) -> Command,
    ) {
        if self.submit && self.may_send {
            let passcode = Passcode::new(state.sign_in.passcode.take_secret().as_str());
            out.push(command(state, passcode));
            state.sign_in.checking = self.checking;
            state.forget_secrets();
        } else if self.submit && self.waiting {
            state.forget_secrets();
        }
    }
}

/// Shows the last refusal, the pause left after repeated failures (ticking once a second) or
/// that the passcode is being checked. Returns (a pause is running, an attempt may be sent).
pub fn refusal_and_wait(ui: &mut Ui, t: &Texts, state: &State) -> (bool, bool) {
    if let Some(error) = &state.sign_in.error {
        ui.label(RichText::new(error).color(theme::BAD).strong());
    }
    if let Some(left) = state.sign_in.wait_left(state.now) {
        ui.label(
            RichText::new(t.text_with(
                "passcode-pause",
                &[("time", format!("{}:{:02}", left / 60, left % 60).into())],
            ))
            .color(theme::BAD)
            .strong(),
        );
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_secs(1));
        return (true, false);
    }
    if state.sign_in.checking {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t.text("passcode-checking"));
        });
        return (false, false);
    }
    (false, true)
}
