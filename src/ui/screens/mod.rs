//! One module per screen, plus the frame around them: DEMO banner, operator bar, key line,
//! problem banner and the dialogs (reset, exit).

pub mod done;
pub mod history;
pub mod lock;
pub mod queue;
pub mod recovery;
pub mod sign_in;
pub mod startup;
pub mod wizard;

use egui::{RichText, Ui};

use crate::engine::api::Command;
use crate::i18n::Texts;

use super::state::{PresenceWords, ResetFlow, Screen, State};
use super::{theme, widgets};

/// Renders the whole station for the current state; commands go to `out`.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let screen = state.screen();
    // Secrets typed on one screen are not kept for the next, in the buffers or in egui.
    if state.shown_screen != Some(screen) {
        if state.shown_screen.is_some() {
            state.forget_secrets();
        }
        state.shown_screen = Some(screen);
    }
    if state.secret_fields_drawn != state.secret_generation {
        widgets::forget_secret_fields(ui.ctx(), state.secret_fields_drawn);
        state.secret_fields_drawn = state.secret_generation;
    }
    // The queue (rows of square buttons and chips, text) has no curve or slanted edge to
    // anti-alias: without the 1-px feathering fringe around every shape, software renderers
    // (llvmpipe) rasterise far fewer thin triangles per frame. Screens with spinners keep it.
    let crisp =
        screen == Screen::Queue && matches!(state.reset, ResetFlow::Idle) && !state.exit_confirm;
    ui.ctx().tessellation_options_mut(|o| o.feathering = !crisp);
    if state.demo {
        demo_banner(ui, state, out);
    }
    if matches!(screen, Screen::Queue | Screen::Wizard | Screen::History) {
        operator_bar(ui, state, out, screen);
    }
    // The bars are white like the window, set apart by their separator lines: a filled bar is
    // 100,000 pixels that a software renderer shades every frame.
    let t = state.texts();
    egui::Panel::bottom("key_line")
        .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(24, 10)))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                let text = match &state.key {
                    Some(k) => wizard::key_line(&t, k),
                    None => t.text("no-key"),
                };
                ui.label(RichText::new(text).strong());
                if state.close_refused {
                    ui.add_space(12.0);
                    ui.label(RichText::new(t.text("close-refused")).color(theme::BAD));
                }
            });
        });
    egui::CentralPanel::default()
        .frame(
            // No fill: the window is cleared to white (KioskApp::clear_color). A full-screen
            // quad less matters on software renderers, which pay per pixel.
            egui::Frame::new().inner_margin(egui::Margin::symmetric(32, 16)),
        )
        .show(ui, |ui| {
            banners(ui, &t, state, screen);
            match screen {
                Screen::Startup => startup::show(ui, state, out),
                Screen::Recovery => recovery::show(ui, state, out),
                Screen::SignIn => sign_in::show(ui, state, out),
                Screen::Lock => lock::show(ui, state, out),
                Screen::Queue => queue::show(ui, state, out),
                Screen::Wizard => wizard::show(ui, state, out),
                Screen::History => history::show(ui, state, out),
            }
        });
    reset_dialog(ui, &t, state, out);
    exit_dialog(ui, &t, state, out);
}

fn demo_banner(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.texts();
    egui::Panel::top("demo_banner")
        .frame(
            egui::Frame::new()
                .fill(theme::DEMO_BG)
                .inner_margin(egui::Margin::symmetric(24, 8)),
        )
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("DEMO").size(30.0).strong().color(theme::TEXT));
                ui.label(RichText::new(t.text("demo-banner")).color(theme::TEXT));
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    let signed_in =
                        state.operator.is_some() && !state.locked && !state.lock_requested;
                    if widgets::button_enabled(
                        ui,
                        signed_in && state.key.is_some(),
                        &t.text("demo-remove-key"),
                    )
                    .clicked()
                    {
                        out.push(Command::RemoveSoftKey);
                    }
                    if widgets::button_enabled(ui, signed_in, &t.text("demo-insert-key")).clicked()
                    {
                        out.push(Command::InsertSoftKey);
                    }
                    if state.takes_cards
                        && widgets::button_enabled(ui, signed_in, &t.text("demo-tap-card"))
                            .clicked()
                    {
                        out.push(Command::TapSoftCard);
                    }
                });
            });
        });
}

fn operator_bar(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>, screen: Screen) {
    let t = state.texts();
    egui::Panel::top("operator_bar")
        .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(24, 8)))
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Passkey Kiosk").size(28.0).strong());
                ui.add_space(16.0);
                let free = screen != Screen::Wizard;
                if ui
                    .add_enabled(
                        free,
                        egui::Button::selectable(screen == Screen::Queue, t.text("nav-queue"))
                            .min_size(egui::vec2(120.0, theme::TOUCH)),
                    )
                    .clicked()
                {
                    state.show_history = false;
                }
                if ui
                    .add_enabled(
                        free,
                        egui::Button::selectable(screen == Screen::History, t.text("nav-history"))
                            .min_size(egui::vec2(120.0, theme::TOUCH)),
                    )
                    .clicked()
                {
                    state.show_history = true;
                }
                let reissue = t.text("nav-reissue");
                if widgets::button_enabled(ui, free && state.key.is_some(), &reissue).clicked() {
                    state.reset = ResetFlow::Confirm;
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if widgets::button(ui, &t.text("nav-exit")).clicked() {
                        state.exit_confirm = true;
                    }
                    if widgets::button(ui, &t.text("nav-lock")).clicked() {
                        out.push(Command::Lock);
                        state.lock_requested = true;
                    }
                    if let Some(op) = &state.operator {
                        let who = t.text_with("nav-operator", &[("operator", op.into())]);
                        ui.label(RichText::new(who).strong());
                    }
                });
            });
        });
}

fn banners(ui: &mut Ui, t: &Texts, state: &mut State, screen: Screen) {
    if let Some(problem) = state.problem.clone() {
        widgets::error_box(ui, t, &problem);
        if widgets::button(ui, &t.text("dismiss")).clicked() {
            state.problem = None;
        }
        ui.add_space(8.0);
    }
    if screen != Screen::Queue {
        return;
    }
    if !state.pending_done.is_empty() && state.job.is_none() {
        state.close_job(); // brings the next PIN to hand over on screen
    }
    let mut open = None;
    for (i, (_, upn, error)) in state.background_failures.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new(t.text_with(
                    "background-failure",
                    &[
                        ("upn", upn.as_str().into()),
                        ("error", error.message.as_str().into()),
                    ],
                ))
                .color(theme::BAD)
                .strong(),
            );
            let open_label =
                t.text_with("background-failure-open", &[("upn", upn.as_str().into())]);
            if widgets::button(ui, &open_label).clicked() {
                open = Some(i);
            }
        });
    }
    if let Some(i) = open {
        state.open_background_failure(i);
    }
}

fn reset_dialog(ui: &mut Ui, t: &Texts, state: &mut State, out: &mut Vec<Command>) {
    if state.reset == ResetFlow::Idle {
        return;
    }
    egui::Modal::new(egui::Id::unique("reset_dialog"))
        .frame(widgets::dialog_frame())
        .show(ui.ctx(), |ui| {
            ui.set_width(640.0);
            match state.reset {
                ResetFlow::Confirm => {
                    widgets::title(ui, &t.text("reset-title"));
                    if let Some(key) = &state.key {
                        ui.label(wizard::key_line(t, key));
                    }
                    ui.label(RichText::new(t.text("reset-warning")).color(theme::BAD));
                    ui.horizontal(|ui| {
                        if widgets::primary(ui, true, &t.text("reset-erase")).clicked() {
                            out.push(Command::ResetKey);
                            state.reset = ResetFlow::Waiting;
                        }
                        // The safe answer is the keyboard's default.
                        let keep = widgets::button(ui, &t.text("reset-keep"));
                        widgets::default_focus(ui, &keep);
                        if keep.clicked() {
                            state.reset = ResetFlow::Idle;
                        }
                    });
                }
                ResetFlow::Waiting => {
                    let words = PresenceWords::for_key(state.key.as_ref(), t);
                    widgets::title(ui, &t.text("reset-reinsert-title"));
                    ui.label(RichText::new(words.reinsert).size(28.0).strong());
                    ui.label(words.reinsert_hint);
                    ui.spinner();
                }
                ResetFlow::Touch => {
                    widgets::title(ui, &PresenceWords::for_key(state.key.as_ref(), t).touch);
                    ui.label(
                        RichText::new(t.text("reset-touch-warning"))
                            .size(28.0)
                            .strong(),
                    );
                    ui.spinner();
                }
                ResetFlow::Done => {
                    widgets::title(ui, &t.text("reset-done-title"));
                    ui.label(t.text("reset-done"));
                    let ok = widgets::primary(ui, true, &t.text("ok"));
                    widgets::default_focus(ui, &ok);
                    if ok.clicked() {
                        state.reset = ResetFlow::Idle;
                    }
                }
                ResetFlow::Idle => {}
            }
        });
}

fn exit_dialog(ui: &mut Ui, t: &Texts, state: &mut State, out: &mut Vec<Command>) {
    // Only a signed-in, unlocked operator reaches Exit (the operator bar).
    if !state.exit_confirm
        || !matches!(
            state.screen(),
            Screen::Queue | Screen::Wizard | Screen::History
        )
    {
        state.exit_confirm = false;
        return;
    }
    egui::Modal::new(egui::Id::unique("exit_dialog"))
        .frame(widgets::dialog_frame())
        .show(ui.ctx(), |ui| {
            ui.set_width(560.0);
            widgets::title(ui, &t.text("exit-title"));
            ui.label(t.text("exit-hint"));
            ui.horizontal(|ui| {
                if widgets::primary(ui, true, &t.text("exit-confirm")).clicked() {
                    // The sign-in service audits it and answers `Exiting`; the kiosk closes then.
                    out.push(Command::Exit);
                    state.exit_confirm = false;
                }
                let stay = widgets::button(ui, &t.text("exit-stay"));
                widgets::default_focus(ui, &stay);
                if stay.clicked() {
                    state.exit_confirm = false;
                }
            });
        });
}
