//! Start-up checks, each with its remedy, before anything else.

use egui::{RichText, Ui};

use crate::engine::api::Command;

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the checks (or a spinner until they arrive).
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("startup-title"));
    let Some(checks) = &state.checks else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(t.text("startup-running"));
        });
        return;
    };
    egui::ScrollArea::vertical()
        .max_height(ui.available_height() - 2.0 * theme::TOUCH)
        .show(ui, |ui| {
            for check in checks {
                ui.horizontal(|ui| {
                    if check.ok {
                        widgets::chip_fixed(ui, &t.text("startup-ok"), theme::OK, 96.0);
                    } else {
                        widgets::chip_fixed(ui, &t.text("startup-failed"), theme::BAD, 96.0);
                    }
                    ui.vertical(|ui| {
                        ui.label(RichText::new(check.name()).strong());
                        if !check.detail.is_empty() {
                            let color = if check.ok { theme::MUTED } else { theme::BAD };
                            ui.label(RichText::new(&check.detail).color(color));
                        }
                    });
                });
                ui.add_space(6.0);
            }
        });
    if checks.iter().any(|c| !c.ok) {
        ui.label(RichText::new(t.text("startup-fix")).strong());
        // No Exit here: leaving full screen needs a signed-in operator (continue, sign in).
        if widgets::button(ui, &t.text("startup-continue")).clicked() {
            state.checks_done = true;
        }
    }
}
