//! The done page: the random PIN in large digits behind Reveal, "remove the key", next person.

use egui::{RichText, Ui};

use crate::engine::api::Command;

use super::super::state::{Phase, State};
use super::super::{theme, widgets};

/// Renders the done page of `state.job`, in the person's language.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.person_texts();
    let Some(view) = state.job.as_mut() else {
        return;
    };
    let Phase::Done(issued) = &view.phase else {
        return;
    };
    let has_pin = issued.pin.is_some();
    let mut next = false;
    // Two columns so the PIN and the way on both fit a 1280x800 screen.
    ui.columns(2, |cols| {
        let ui = &mut cols[0];
        ui.label(
            RichText::new(t.text_with(
                "done-issued-to",
                &[("name", view.display_name.as_str().into())],
            ))
            .size(34.0)
            .strong()
            .color(theme::OK),
        );
        if let Some(serial) = &issued.serial {
            ui.label(
                RichText::new(t.text_with("done-serial", &[("serial", serial.into())]))
                    .color(theme::MUTED),
            );
        }
        // Method ids are long unbroken strings: one line, cut, never wrapped letter by letter.
        ui.add(
            egui::Label::new(
                RichText::new(t.text_with(
                    "done-method",
                    &[("method", issued.method_id.as_str().into())],
                ))
                .color(theme::MUTED)
                .small(),
            )
            .truncate(),
        );
        ui.add_space(16.0);
        ui.label(RichText::new(t.text("done-remove-key")).size(28.0).strong());
        ui.add_space(16.0);
        // Until the PIN was shown, moving on would lose it for good.
        let can_leave = !has_pin || view.revealed;
        let next_person = widgets::primary(ui, can_leave, &t.text("done-next-person"));
        widgets::default_focus(ui, &next_person);
        next = next_person.clicked();
        if !can_leave {
            ui.label(RichText::new(t.text("done-reveal-first")).color(theme::MUTED));
        }

        let ui = &mut cols[1];
        egui::Frame::new()
            .fill(theme::SURFACE)
            .corner_radius(12)
            .inner_margin(20)
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                match (&issued.pin, view.revealed) {
                    (Some(pin), true) => {
                        ui.label(RichText::new(t.text("done-pin-title")).strong());
                        // Spaced digits are easier to read out and to copy by hand.
                        let spaced: String = pin.expose().chars().flat_map(|c| [c, ' ']).collect();
                        ui.add(
                            egui::Label::new(
                                RichText::new(spaced.trim_end())
                                    .size(theme::PIN_DIGITS)
                                    .monospace()
                                    .strong(),
                            )
                            .wrap_mode(egui::TextWrapMode::Extend),
                        );
                        ui.label(t.text("done-pin-hint"));
                    }
                    (Some(_), false) => {
                        ui.label(RichText::new(t.text("done-pin-hidden")).strong());
                        ui.label(t.text("done-pin-hidden-hint"));
                        ui.add_space(8.0);
                        let reveal = widgets::primary(ui, true, &t.text("done-reveal"));
                        widgets::default_focus(ui, &reveal);
                        if reveal.clicked() {
                            view.revealed = true;
                            // The keyboard goes on to the way out, enabled from the next frame.
                            next_person.request_focus();
                        }
                    }
                    (None, _) => {
                        ui.label(t.text("done-pin-typed"));
                    }
                }
            });
    });
    if next {
        if let (true, Some(job)) = (has_pin, view.job) {
            out.push(Command::PinDelivered { job });
        }
        state.close_job();
    }
}
