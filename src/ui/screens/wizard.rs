//! The enrollment wizard: step bar, then the page for where the job stands (insert key, PIN,
//! touch, registering, error). The done page is [`super::done`].

use egui::{RichText, Ui};

use crate::engine::api::{Command, PinRequest, Step};
use crate::i18n::Texts;
use crate::keys::{KeySummary, PinState};

use super::super::pin_pad;
use super::super::state::{JobView, Phase, PresenceWords, Stage, State};
use super::super::{theme, widgets};

/// Renders the wizard for `state.job`, in the person's language.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let Some(view) = state.job.clone() else {
        return;
    };
    let t = state.person_texts();
    ui.horizontal(|ui| {
        ui.heading(RichText::new(&view.display_name).strong());
        ui.label(RichText::new(&view.upn).color(theme::MUTED));
        let cancel = matches!(view.phase, Phase::Working | Phase::Pin(_) | Phase::Touch);
        // The pages the person reads offer their language.
        let switch = matches!(view.phase, Phase::Touch | Phase::Done(_));
        if cancel || switch {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                // Cancel lives in the header: always on screen, whatever the page below needs.
                if cancel {
                    cancel_button(ui, &t, state, out, &view);
                    ui.add_space(24.0);
                }
                if switch {
                    if let Some(language) = widgets::language_switch(ui, view.language) {
                        if let Some(v) = state.job.as_mut() {
                            v.language = language;
                        }
                    }
                }
            });
        }
    });
    widgets::step_bar(ui, &t, view.stage(), matches!(view.phase, Phase::Failed(_)));
    ui.separator();
    ui.add_space(8.0);
    match &view.phase {
        Phase::Done(_) => super::done::show(ui, state, out),
        Phase::Failed(error) => {
            widgets::error_box(ui, &t, error);
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                if let (true, Some(job)) = (error.retry_possible, view.job) {
                    let retry = widgets::primary(ui, true, &t.text("retry"));
                    widgets::default_focus(ui, &retry);
                    if retry.clicked() {
                        out.push(Command::Retry { job });
                        if let Some(v) = state.job.as_mut() {
                            v.phase = Phase::Working;
                        }
                    }
                }
                let back = widgets::button(ui, &t.text("back-to-queue"));
                widgets::default_focus(ui, &back);
                if back.clicked() {
                    state.close_job();
                }
            });
        }
        Phase::Pin(request) => pin_page(ui, &t, state, out, &view, request),
        Phase::Touch => {
            let words = PresenceWords::for_key(state.key.as_ref(), &t);
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
                ui.label(t.text("cancelling"));
            });
        }
        Phase::Working => working_page(ui, &t, state, &view),
    }
}

fn cancel_button(
    ui: &mut Ui,
    t: &Texts,
    state: &mut State,
    out: &mut Vec<Command>,
    view: &JobView,
) {
    let cancel = t.text("cancel");
    match view.job {
        Some(job) => {
            if widgets::button(ui, &cancel).clicked() {
                out.push(Command::Cancel { job });
                if let Some(v) = state.job.as_mut() {
                    v.phase = Phase::Cancelling;
                }
            }
        }
        // The engine has not named the job yet: nothing to cancel on its side.
        None => {
            if widgets::button(ui, &cancel).clicked() {
                state.close_job();
            }
        }
    }
}

fn working_page(ui: &mut Ui, t: &Texts, state: &State, view: &JobView) {
    let stage = view.stage();
    if stage == Stage::Key {
        // A key an earlier job used is not this job's until it is put in again.
        let reading = view.step == Some(Step::CheckingKey);
        match state.key.as_ref().filter(|_| reading || !state.key_used) {
            None => {
                ui.label(
                    RichText::new(t.text("insert-key"))
                        .size(48.0)
                        .strong()
                        .color(theme::ACCENT),
                );
                if state.key.is_some() {
                    ui.label(RichText::new(t.text("insert-key-used")).strong());
                } else if state.takes_cards {
                    ui.label(t.text("insert-key-or-card-hint"));
                } else {
                    ui.label(t.text("insert-key-hint"));
                }
            }
            Some(key) => {
                // The engine's own refusals (already issued, the tenant's key policy) come as
                // a problem banner: the page must not say "accepted" under it.
                let refused = state
                    .problem
                    .as_ref()
                    .is_some_and(|p| p.code == "key-refused");
                key_details(ui, t, key, refused);
            }
        }
    } else {
        if let Some(key) = &state.key {
            ui.label(RichText::new(key_line(t, key)).color(theme::MUTED));
        }
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            ui.add(egui::Spinner::new().size(40.0));
            ui.label(
                RichText::new(t.text(step_text(view.step)))
                    .size(32.0)
                    .strong(),
            );
        });
    }
}

fn pin_page(
    ui: &mut Ui,
    t: &Texts,
    state: &mut State,
    out: &mut Vec<Command>,
    view: &JobView,
    request: &PinRequest,
) {
    let key_min = state.key.as_ref().map_or(4, |k| k.min_pin_length);
    let (min_len, label) = match request {
        PinRequest::New { min_length } => {
            ui.label(RichText::new(t.text("pin-new")).size(30.0).strong());
            ui.label(t.text("pin-new-hint"));
            ((*min_length).max(key_min).max(4), t.text("pin-set"))
        }
        PinRequest::Current {
            retries_left,
            after_wrong,
        } => {
            ui.label(RichText::new(t.text("pin-current")).size(30.0).strong());
            if *after_wrong {
                ui.label(
                    RichText::new(t.text("pin-wrong"))
                        .strong()
                        .color(theme::BAD),
                );
            }
            if let Some(r) = retries_left {
                let color = if *r <= 3 { theme::BAD } else { theme::MUTED };
                ui.label(
                    RichText::new(t.text_with("pin-retries-left", &[("retries", (*r).into())]))
                        .color(color),
                );
            }
            // A current PIN predates today's minimum: only CTAP's absolute minimum applies.
            (4, t.text("pin-use"))
        }
    };
    ui.add_space(8.0);
    let submitted = pin_pad::show(
        ui,
        t,
        &mut state.pin_entry,
        state.secret_generation,
        min_len as usize,
        &label,
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

/// The message saying what the engine is doing.
fn step_text(step: Option<Step>) -> &'static str {
    match step {
        None | Some(Step::WaitingForKey) => "step-waiting-for-key",
        Some(Step::CheckingKey) => "step-checking-key",
        Some(Step::SettingPin) => "step-setting-pin",
        Some(Step::RefreshingChallenge) => "step-refreshing-challenge",
        Some(Step::CreatingPasskey) => "step-creating-passkey",
        Some(Step::Registering) => "step-registering",
        Some(Step::Hardening) => "step-hardening",
        Some(Step::RemovingOldKeys) => "step-removing-old-keys",
        Some(Step::Recording) => "step-recording",
    }
}

/// One line naming the key (model and serial).
pub fn key_line(t: &Texts, key: &KeySummary) -> String {
    match &key.serial {
        Some(s) => t.text_with(
            "key-line-serial",
            &[("model", key.model.as_str().into()), ("serial", s.into())],
        ),
        None => t.text_with("key-line", &[("model", key.model.as_str().into())]),
    }
}

/// The key's identity, and the reason when it cannot be issued.
pub fn key_details(ui: &mut Ui, t: &Texts, key: &KeySummary, refused: bool) {
    let not_reported = t.text("key-not-reported");
    let firmware = key
        .firmware
        .map_or_else(|| not_reported.clone(), |f| f.to_string());
    let pin = t.text(match key.pin {
        PinState::Unsupported => "key-pin-unsupported",
        PinState::NotSet => "key-pin-not-set",
        PinState::Set => "key-pin-set",
    });
    let min = key.min_pin_length.to_string();
    let pairs = [
        (t.text("key-model"), key.model.as_str()),
        (
            t.text("key-serial"),
            key.serial.as_deref().unwrap_or(&not_reported),
        ),
        (t.text("key-aaguid"), key.aaguid.as_str()),
        (t.text("key-firmware"), firmware.as_str()),
        (t.text("key-pin"), pin.as_str()),
        (t.text("key-min-pin-length"), min.as_str()),
    ];
    egui::Grid::new("key_details")
        .spacing([24.0, 8.0])
        .show(ui, |ui| {
            for row in pairs.chunks(2) {
                for (name, value) in row {
                    ui.label(RichText::new(name).color(theme::MUTED));
                    ui.label(RichText::new(*value).strong());
                }
                ui.end_row();
            }
        });
    ui.add_space(8.0);
    let why = key
        .refusal()
        .or_else(|| refused.then(|| t.text("key-refused-see-banner")));
    match why {
        Some(why) => {
            ui.label(
                RichText::new(t.text_with("key-refused", &[("why", why.into())]))
                    .color(theme::BAD)
                    .size(26.0)
                    .strong(),
            );
            ui.label(t.text("key-refused-hint"));
        }
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t.text("key-accepted"));
            });
        }
    }
}
