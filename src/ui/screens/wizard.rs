//! The enrollment wizard: step bar, then the page for where the job stands (insert key, PIN,
//! touch, registering, error). The done page is [`super::done`].

use egui::{RichText, Ui};

use crate::engine::api::{Command, PinRequest, Step};
use crate::keys::{KeySummary, PinState};

use super::super::pin_pad;
use super::super::state::{JobView, Phase, PresenceWords, Stage, State};
use super::super::{theme, widgets};

/// Renders the wizard for `state.job`.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let Some(view) = state.job.clone() else {
        return;
    };
    ui.horizontal(|ui| {
        ui.heading(RichText::new(&view.display_name).strong());
        ui.label(RichText::new(&view.upn).color(theme::MUTED));
        // Cancel lives in the header: always on screen, whatever the page below needs.
        if matches!(view.phase, Phase::Working | Phase::Pin(_) | Phase::Touch) {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                cancel_button(ui, state, out, &view);
            });
        }
    });
    widgets::step_bar(ui, view.stage(), matches!(view.phase, Phase::Failed(_)));
    ui.separator();
    ui.add_space(8.0);
    match &view.phase {
        Phase::Done(_) => super::done::show(ui, state, out),
        Phase::Failed(error) => {
            widgets::error_box(ui, error);
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                if let (true, Some(job)) = (error.retry_possible, view.job) {
                    let retry = widgets::primary(ui, true, "Retry");
                    widgets::default_focus(ui, &retry);
                    if retry.clicked() {
                        out.push(Command::Retry { job });
                        if let Some(v) = state.job.as_mut() {
                            v.phase = Phase::Working;
                        }
                    }
                }
                let back = widgets::button(ui, "Back to the queue");
                widgets::default_focus(ui, &back);
                if back.clicked() {
                    state.close_job();
                }
            });
        }
        Phase::Pin(request) => pin_page(ui, state, out, &view, request),
        Phase::Touch => {
            let words = PresenceWords::for_key(state.key.as_ref());
            ui.add_space(24.0);
            ui.label(
                RichText::new(words.touch)
                    .size(56.0)
                    .strong()
                    .color(theme::ACCENT),
            );
            ui.label(words.touch_hint);
            ui.add_space(16.0);
            ui.add_sized(
                [72.0, 72.0],
                egui::Spinner::new().size(72.0).color(theme::ACCENT),
            );
        }
        Phase::Cancelling => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Cancelling…");
            });
        }
        Phase::Working => working_page(ui, state, &view),
    }
}

fn cancel_button(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>, view: &JobView) {
    match view.job {
        Some(job) => {
            if widgets::button(ui, "Cancel").clicked() {
                out.push(Command::Cancel { job });
                if let Some(v) = state.job.as_mut() {
                    v.phase = Phase::Cancelling;
                }
            }
        }
        // The engine has not named the job yet: nothing to cancel on its side.
        None => {
            if widgets::button(ui, "Cancel").clicked() {
                state.close_job();
            }
        }
    }
}

fn working_page(ui: &mut Ui, state: &State, view: &JobView) {
    let stage = view.stage();
    if stage == Stage::Key {
        // A key an earlier job used is not this job's until it is put in again.
        let reading = view.step == Some(Step::CheckingKey);
        match state.key.as_ref().filter(|_| reading || !state.key_used) {
            None => {
                ui.label(
                    RichText::new("Insert a new security key")
                        .size(48.0)
                        .strong()
                        .color(theme::ACCENT),
                );
                if state.key.is_some() {
                    ui.label(
                        RichText::new(
                            "The key in the reader was already used: take it out, then insert \
                             a new key (or the same one again to retry).",
                        )
                        .strong(),
                    );
                } else if state.takes_cards {
                    ui.label(
                        "Any USB port, or place a FIDO2 card on the reader. The station reads \
                         it as soon as it is there.",
                    );
                } else {
                    ui.label("Any USB port. The station reads it as soon as it is in.");
                }
            }
            Some(key) => {
                // The engine's own refusals (already issued, the tenant's key policy) come as
                // a problem banner: the page must not say "accepted" under it.
                let refused = state
                    .problem
                    .as_ref()
                    .is_some_and(|p| p.code == "key-refused");
                key_details(ui, key, refused);
            }
        }
    } else {
        if let Some(key) = &state.key {
            ui.label(RichText::new(key_line(key)).color(theme::MUTED));
        }
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            ui.add(egui::Spinner::new().size(40.0));
            ui.label(RichText::new(step_text(view.step)).size(32.0).strong());
        });
    }
}

fn pin_page(
    ui: &mut Ui,
    state: &mut State,
    out: &mut Vec<Command>,
    view: &JobView,
    request: &PinRequest,
) {
    let key_min = state.key.as_ref().map_or(4, |k| k.min_pin_length);
    let (min_len, label) = match request {
        PinRequest::New { min_length } => {
            ui.label(
                RichText::new("Choose the new PIN for this key")
                    .size(30.0)
                    .strong(),
            );
            ui.label("The person will type it whenever they sign in. Digits are fine.");
            ((*min_length).max(key_min).max(4), "Set PIN")
        }
        PinRequest::Current {
            retries_left,
            after_wrong,
        } => {
            ui.label(
                RichText::new("Enter this key's current PIN")
                    .size(30.0)
                    .strong(),
            );
            if *after_wrong {
                ui.label(
                    RichText::new("Wrong PIN: the key kept its PIN. Check it with the person.")
                        .strong()
                        .color(theme::BAD),
                );
            }
            if let Some(r) = retries_left {
                let color = if *r <= 3 { theme::BAD } else { theme::MUTED };
                ui.label(
                    RichText::new(format!("{r} attempts left before the key blocks")).color(color),
                );
            }
            // A current PIN predates today's minimum: only CTAP's absolute minimum applies.
            (4, "Use PIN")
        }
    };
    ui.add_space(8.0);
    let submitted = pin_pad::show(
        ui,
        &mut state.pin_entry,
        state.secret_generation,
        min_len as usize,
        label,
    );
    if submitted.is_some() {
        state.forget_secrets();
    }
    if let (Some(pin), Some(job)) = (submitted, view.job) {
        out.push(Command::ProvidePin {
            job,
            pin: crate::engine::api::Pin::new(pin.as_str()),
        });
        if let Some(v) = state.job.as_mut() {
            v.phase = Phase::Working;
        }
    }
}

fn step_text(step: Option<Step>) -> &'static str {
    match step {
        None | Some(Step::WaitingForKey) => "Waiting for a key…",
        Some(Step::CheckingKey) => "Reading the key…",
        Some(Step::SettingPin) => "Setting the PIN…",
        Some(Step::RefreshingChallenge) => "Fetching a fresh challenge from Entra ID…",
        Some(Step::CreatingPasskey) => "Creating the passkey on the key…",
        Some(Step::Registering) => "Registering the key with Entra ID…",
        Some(Step::Hardening) => "Applying the PIN policy to the key…",
        Some(Step::RemovingOldKeys) => "Removing the person's older keys…",
        Some(Step::Recording) => "Recording the enrollment…",
    }
}

/// One line naming the key (model and serial).
pub fn key_line(key: &KeySummary) -> String {
    match &key.serial {
        Some(s) => format!("Key: {} · serial {s}", key.model),
        None => format!("Key: {}", key.model),
    }
}

/// The key's identity, and the reason when it cannot be issued.
pub fn key_details(ui: &mut Ui, key: &KeySummary, refused: bool) {
    let firmware = key
        .firmware
        .map_or_else(|| "not reported".to_string(), |f| f.to_string());
    let pin = match key.pin {
        PinState::Unsupported => "not supported",
        PinState::NotSet => "not set",
        PinState::Set => "set",
    };
    let min = key.min_pin_length.to_string();
    let pairs = [
        ("Model", key.model.as_str()),
        ("Serial", key.serial.as_deref().unwrap_or("not reported")),
        ("AAGUID", key.aaguid.as_str()),
        ("Firmware", firmware.as_str()),
        ("PIN", pin),
        ("Minimum PIN length", min.as_str()),
    ];
    egui::Grid::new("key_details")
        .spacing([24.0, 8.0])
        .show(ui, |ui| {
            for row in pairs.chunks(2) {
                for (name, value) in row {
                    ui.label(RichText::new(*name).color(theme::MUTED));
                    ui.label(RichText::new(*value).strong());
                }
                ui.end_row();
            }
        });
    ui.add_space(8.0);
    let why = key
        .refusal()
        .or_else(|| refused.then(|| "the reason is in the banner above".to_owned()));
    match why {
        Some(why) => {
            ui.label(
                RichText::new(format!("This key cannot be issued: {why}"))
                    .color(theme::BAD)
                    .size(26.0)
                    .strong(),
            );
            ui.label("Remove it and insert another key.");
        }
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Key accepted, preparing…");
            });
        }
    }
}
