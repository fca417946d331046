//! Enrollments a previous run left unfinished, and what was done about each.

use egui::{RichText, Ui};

use crate::engine::api::Command;

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the list; Continue goes on to sign-in.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    widgets::title(ui, "Unfinished enrollments from the last run");
    ui.label(
        "The station stopped while these were in progress. Nothing was lost: \
         each was finished or needs the action shown.",
    );
    ui.add_space(8.0);
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 1.5 * theme::TOUCH)
        .show(ui, |ui| {
            // A list, not a grid: resolutions are sentences and must wrap.
            for u in &state.recovered {
                ui.horizontal(|ui| {
                    ui.label(RichText::new(&u.upn).strong());
                    ui.label(
                        RichText::new(format!("stopped at {}", u.state))
                            .monospace()
                            .color(theme::MUTED),
                    );
                });
                ui.label(&u.resolution);
                ui.add_space(10.0);
            }
        });
    let go_on = widgets::primary(ui, true, "Continue");
    widgets::default_focus(ui, &go_on);
    if go_on.clicked() {
        state.recovery_done = true;
    }
}
