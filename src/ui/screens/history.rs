//! What this station issued or failed to issue, from its journal, newest first.

use egui::{RichText, Ui};

use crate::engine::api::{Command, HISTORY_LIMIT};

use super::super::state::{HistoryEntry, State};
use super::super::{theme, widgets};

/// `YYYY-MM-DD HH:MM` (UTC) for Unix seconds.
fn when(at: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(at) {
        Ok(t) => format!("{} {:02}:{:02}", t.date(), t.hour(), t.minute()),
        Err(_) => "?".to_string(),
    }
}

/// The outcome column and its colour.
fn outcome(h: &HistoryEntry) -> (String, egui::Color32) {
    let error = h.last_error.as_deref().unwrap_or("");
    if h.issued() {
        let text = match &h.method_id {
            Some(m) => format!("key issued (method {m})"),
            None => "key issued".to_string(),
        };
        (text, theme::OK)
    } else if h.failed() {
        (format!("failed: {error}"), theme::BAD)
    } else if error.is_empty() {
        (format!("unfinished ({})", h.state), theme::WARN)
    } else {
        (format!("unfinished ({}): {error}", h.state), theme::WARN)
    }
}

/// Renders the history table.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    widgets::title(ui, "History");
    ui.label(
        RichText::new(format!(
            "Enrollments in this station's journal, newest first (the last {HISTORY_LIMIT}); \
             passkey-kiosk export has the full record."
        ))
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
                    ui.label(RichText::new("Key serial").strong());
                    ui.label(RichText::new("Outcome").strong());
                    ui.end_row();
                    for h in state.history.iter().rev() {
                        ui.label(when(h.at));
                        ui.vertical(|ui| {
                            if let Some(name) = h.display_name.as_deref() {
                                ui.label(RichText::new(name).strong());
                            }
                            ui.label(&h.upn);
                        });
                        ui.label(h.serial.as_deref().unwrap_or("—"));
                        let (text, color) = outcome(h);
                        ui.label(RichText::new(text).color(color));
                        ui.end_row();
                    }
                });
        });
}
