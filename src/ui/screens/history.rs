//! What this station issued or failed to issue, from its journal, newest first.

use egui::{RichText, Ui};

use crate::engine::api::{Command, HISTORY_LIMIT};
use crate::i18n::Texts;

use super::super::state::{HistoryEntry, State};
use super::super::{theme, widgets};

/// The outcome column and its colour.
fn outcome(t: &Texts, h: &HistoryEntry) -> (String, egui::Color32) {
    let error = h.last_error.as_deref().unwrap_or("");
    let state = h.state.to_string();
    if h.issued() {
        let text = match &h.method_id {
            Some(m) => t.text_with("history-issued-method", &[("method", m.into())]),
            None => t.text("history-issued"),
        };
        (text, theme::OK)
    } else if h.failed() {
        (
            t.text_with("history-failed", &[("error", error.into())]),
            theme::BAD,
        )
    } else if error.is_empty() {
        (
            t.text_with("history-unfinished", &[("state", state.into())]),
            theme::WARN,
        )
    } else {
        (
            t.text_with(
                "history-unfinished-error",
                &[("state", state.into()), ("error", error.into())],
            ),
            theme::WARN,
        )
    }
}

/// Renders the history table.
pub fn show(ui: &mut Ui, state: &mut State, _out: &mut Vec<Command>) {
    let t = state.texts();
    widgets::title(ui, &t.text("history-title"));
    ui.label(
        RichText::new(t.text_with("history-hint", &[("limit", HISTORY_LIMIT.into())]))
            .color(theme::MUTED),
    );
    ui.add_space(8.0);
    if state.history.is_empty() {
        ui.label(t.text("history-empty"));
        return;
    }
    let header = |ui: &mut Ui, text: &str| {
        ui.label(RichText::new(text).strong());
    };
    row(
        ui,
        |ui| header(ui, &t.text("history-time")),
        |ui| header(ui, &t.text("history-person")),
        |ui| header(ui, &t.text("history-serial")),
        |ui| header(ui, &t.text("history-outcome")),
    );
    ui.separator();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for h in state.history.iter().rev() {
                row(
                    ui,
                    |ui| {
                        ui.label(t.date_time(h.at));
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
                        let (text, color) = outcome(&t, h);
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
