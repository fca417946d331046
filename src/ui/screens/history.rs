//! What this station issued or failed to issue, newest first.

use egui::{RichText, Ui};

use crate::engine::api::Command;

use super::super::state::State;
use super::super::{theme, widgets};

/// Renders the history table.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    widgets::title(ui, "History");
    ui.label(
        RichText::new(
            "Enrollments seen since the station started; the journal keeps the full record \
             (passkey-kiosk export).",
        )
        .color(theme::MUTED),
    );
    ui.add_space(8.0);
    if state.history.is_empty() {
        ui.label("Nothing issued yet.");
        return;
    }
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("history")
                .striped(true)
                .spacing([24.0, 10.0])
                .show(ui, |ui| {
                    ui.label(RichText::new("Time (UTC)").strong());
                    ui.label(RichText::new("Person").strong());
                    ui.label(RichText::new("Outcome").strong());
                    ui.end_row();
                    for h in state.history.iter().rev() {
                        let secs = h.at.rem_euclid(86_400);
                        ui.label(format!("{:02}:{:02}", secs / 3600, secs / 60 % 60));
                        ui.label(&h.upn);
                        let color = if h.ok { theme::OK } else { theme::BAD };
                        ui.label(RichText::new(&h.outcome).color(color));
                        ui.end_row();
                    }
                });
        });
}
