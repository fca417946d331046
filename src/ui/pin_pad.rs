//! The PIN pad: touch digits or the keyboard, masked, and the key's minimum length enforced
//! before anything is sent.

use egui::{RichText, Ui, Vec2};
use zeroize::Zeroizing;

use super::secret::SecretBuffer;
use super::{theme, widgets};
use crate::i18n::Texts;

/// CTAP 2.1 §6.5.5.7: a PIN is at most 63 bytes of UTF-8.
pub const MAX_PIN_BYTES: usize = 63;

/// Renders the pad; returns the PIN when it is complete and submitted (the entry is wiped).
/// The buffer holds at most [`MAX_PIN_BYTES`]; `generation` goes into the field's id.
pub fn show(
    ui: &mut Ui,
    t: &Texts,
    entry: &mut SecretBuffer,
    generation: u64,
    min_len: usize,
    submit_label: &str,
) -> Option<Zeroizing<String>> {
    // Field and action on the left, the pad on the right: fits a 1280x800 screen.
    let mut submit = false;
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width(620.0);
            let label = t.text("pin-field");
            let field = widgets::secret_field(ui, "PIN", &label, entry, generation, 360.0);
            let entered = widgets::submitted(ui, &field);
            if !entered && ui.memory(|m| m.focused().is_none()) {
                field.request_focus();
            }
            let len = entry.len_chars();
            let long_enough = len >= min_len;
            ui.label(
                RichText::new(t.text_with(
                    "pin-typed",
                    &[("typed", len.into()), ("needed", min_len.into())],
                ))
                .color(if long_enough { theme::OK } else { theme::MUTED }),
            );
            ui.add_space(12.0);
            submit = entered && long_enough;
            submit |= widgets::primary(ui, long_enough, submit_label).clicked();
        });
        ui.add_space(24.0);
        pad(ui, t, entry);
    });
    if submit && entry.len_chars() >= min_len {
        Some(entry.take_secret())
    } else {
        None
    }
}

fn pad(ui: &mut Ui, t: &Texts, entry: &mut SecretBuffer) {
    let key = Vec2::new(96.0, 64.0);
    egui::Grid::new("pin_pad")
        .spacing([12.0, 10.0])
        .show(ui, |ui| {
            for row in [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]] {
                for digit in row {
                    if digit_button(ui, digit, key) {
                        entry.push_str(digit);
                    }
                }
                ui.end_row();
            }
            if ui
                .add(egui::Button::new(t.text("pin-clear")).min_size(key))
                .clicked()
            {
                entry.wipe();
            }
            if digit_button(ui, "0", key) {
                entry.push_str("0");
            }
            if ui
                .add(egui::Button::new(t.text("pin-delete")).min_size(key))
                .clicked()
            {
                entry.pop();
            }
            ui.end_row();
        });
}

fn digit_button(ui: &mut Ui, digit: &str, size: Vec2) -> bool {
    ui.add(egui::Button::new(RichText::new(digit).size(32.0).strong()).min_size(size))
        .clicked()
}
