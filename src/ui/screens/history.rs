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
    let header = |ui: &mut Ui, text: &str| {
        ui.label(RichText::new(text).strong());
    };
    row(
        ui,
        |ui| header(ui, "Time (UTC)"),
        |ui| header(ui, "Person"),
        |ui| header(ui, "Key serial"),
        |ui| header(ui, "Outcome"),
    );
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for h in state.history.iter().rev() {
                row(
                    ui,
                    |ui| {
                        ui.label(when(h.at));
                    },
                    |ui| {
                        if let Some(name) = h.display_name.as_deref() {
                            ui.add(egui::Label::new(RichText::new(name).strong()).truncate());
                        }
                        ui.add(egui::Label::new(h.upn.as_str()).truncate());
                    },
                    |ui| {
                        ui.label(h.serial.as_deref().unwrap_or("—"));
                    },
                    |ui| {
                        let (text, color) = outcome(h);
                        ui.add(egui::Label::new(RichText::new(text).color(color)).wrap());
                    },
                );
                ui.add_space(6.0);
            }
        });
}

/// Column widths: time, person, serial; the outcome wraps in the rest.
const COLUMNS: [f32; 3] = [190.0, 400.0, 140.0];

/// One table row with fixed columns (a `Grid` sizes wrapping cells from the previous frame and
/// squeezes them on the first).
fn row(
    ui: &mut Ui,
    time: impl FnOnce(&mut Ui),
    person: impl FnOnce(&mut Ui),
    serial: impl FnOnce(&mut Ui),
    outcome: impl FnOnce(&mut Ui),
) {
    ui.horizontal_top(|ui| {
        for (width, cell) in COLUMNS.into_iter().zip([
            Box::new(time) as Box<dyn FnOnce(&mut Ui)>,
            Box::new(person),
            Box::new(serial),
        ]) {
            ui.allocate_ui_with_layout(
                egui::vec2(width, 0.0),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    ui.set_width(width);
                    cell(ui);
                },
            );
        }
        ui.vertical(outcome);
    });
}
