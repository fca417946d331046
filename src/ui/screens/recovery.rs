//! Enrollments a previous run left unfinished, and what was done about each. A random PIN
//! the person never received is shown here, with their name, behind Reveal.

use egui::{RichText, Ui};

use crate::engine::api::{Command, Unfinished};
use crate::i18n::Texts;

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the list; Continue goes on to sign-in once every recovered PIN was revealed.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("recovery-title"));
    ui.label(t.text("recovery-hint"));
    ui.add_space(8.0);
    let mut reveal = None;
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 1.5 * theme::TOUCH)
        .show(ui, |ui| {
            // A list, not a grid: resolutions are sentences and must wrap.
            for u in &state.recovered {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(person(u)).strong());
                    ui.label(
                        RichText::new(t.text_with(
                            "recovery-stopped-at",
                            &[("state", u.state.as_str().into())],
                        ))
                        .monospace()
                        .color(theme::MUTED),
                    );
                });
                ui.label(&u.resolution);
                if let Some(remedy) = &u.remedy {
                    let remedy = super::super::remedy::words(&t, remedy);
                    ui.label(t.text_with("what-to-do", &[("remedy", remedy.into())]));
                }
                if pin_row(
                    ui,
                    &t,
                    u,
                    state.recovered_revealed.contains(&u.enrollment_id),
                ) {
                    reveal = Some(u.enrollment_id);
                }
                ui.add_space(10.0);
            }
        });
    if let Some(id) = reveal {
        state.recovered_revealed.push(id);
    }
    // Moving on before a PIN was shown would leave it where nobody sees it.
    let unrevealed = state
        .recovered
        .iter()
        .any(|u| u.pin.is_some() && !state.recovered_revealed.contains(&u.enrollment_id));
    let go_on = widgets::primary(ui, !unrevealed, &t.text("recovery-continue"));
    if unrevealed {
        ui.label(RichText::new(t.text("recovery-reveal-first")).color(theme::MUTED));
    } else {
        widgets::default_focus(ui, &go_on);
    }
    if go_on.clicked() {
        state.recovery_done = true;
        // Shown once: the screen keeps no PIN once left.
        for u in &mut state.recovered {
            u.pin = None;
        }
        state.recovered_revealed.clear();
    }
}

/// "Name (upn)", or the UPN alone when the queue does not know the name.
fn person(u: &Unfinished) -> String {
    match &u.display_name {
        Some(name) => format!("{name} ({})", u.upn),
        None => u.upn.clone(),
    }
}

/// The recovered PIN of `u`, or its Reveal button; true when Reveal was clicked.
fn pin_row(ui: &mut Ui, t: &Texts, u: &Unfinished, revealed: bool) -> bool {
    let Some(pin) = &u.pin else {
        return false;
    };
    let name = u.display_name.as_deref().unwrap_or(&u.upn);
    if revealed {
        ui.horizontal(|ui| {
            ui.label(t.text_with("recovery-pin-of", &[("name", name.into())]));
            // Spaced digits are easier to read out and to copy by hand.
            let spaced: String = pin.expose().chars().flat_map(|c| [c, ' ']).collect();
            ui.label(
                RichText::new(spaced.trim_end())
                    .size(theme::PIN_DIGITS / 2.0)
                    .monospace()
                    .strong(),
            );
        });
        ui.label(t.text("recovery-pin-hint"));
        false
    } else {
        ui.label(t.text_with("recovery-pin-never-received", &[("name", name.into())]));
        let reveal = t.text_with("recovery-reveal", &[("name", name.into())]);
        widgets::button(ui, &reveal).clicked()
    }
}
