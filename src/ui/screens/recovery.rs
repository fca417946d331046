//! Enrollments a previous run left unfinished, and what was done about each. A random PIN
//! the person never received is shown here, with their name, behind Reveal.

use egui::{RichText, Ui};

use crate::engine::api::{Command, Unfinished};

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the list; Continue goes on to sign-in once every recovered PIN was revealed.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    widgets::title(ui, "Unfinished enrollments from the last run");
    ui.label(
        "The station stopped while these were in progress. Nothing was lost: \
         each was finished or needs the action shown.",
    );
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
                        RichText::new(format!("stopped at {}", u.state))
                            .monospace()
                            .color(theme::MUTED),
                    );
                });
                ui.label(&u.resolution);
                if let Some(remedy) = &u.remedy {
                    ui.label(format!("What to do: {}", remedy.ui()));
                }
                if pin_row(ui, u, state.recovered_revealed.contains(&u.enrollment_id)) {
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
    let go_on = widgets::primary(ui, !unrevealed, "Continue");
    if unrevealed {
        ui.label(RichText::new("Reveal the PINs first.").color(theme::MUTED));
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
fn pin_row(ui: &mut Ui, u: &Unfinished, revealed: bool) -> bool {
    let Some(pin) = &u.pin else {
        return false;
    };
    let name = u.display_name.as_deref().unwrap_or(&u.upn);
    if revealed {
        ui.horizontal(|ui| {
            ui.label(format!("Random PIN of {name}:"));
            // Spaced digits are easier to read out and to copy by hand.
            let spaced: String = pin.expose().chars().flat_map(|c| [c, ' ']).collect();
            ui.label(
                RichText::new(spaced.trim_end())
                    .size(theme::PIN_DIGITS / 2.0)
                    .monospace()
                    .strong(),
            );
        });
        ui.label("Hand it over privately to this person only; it is not shown again.");
        false
    } else {
        ui.label(format!("{name} never received the random PIN of this key."));
        widgets::button(ui, &format!("Reveal PIN of {name}")).clicked()
    }
}
