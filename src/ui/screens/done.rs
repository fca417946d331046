//! The done page: the random PIN in large digits behind Reveal, "remove the key", next person;
//! with PIN letters, *Print letter* (the engine prints; the page shows how it went).

use egui::{RichText, Ui};

use crate::engine::api::{Command, JobId};

use super::super::state::{LetterPrint, Phase, State};
use super::super::{theme, widgets};
use crate::i18n::Texts;

/// Renders the done page of `state.job`, in the person's language.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.person_texts();
    let print_letters = state.print_letters;
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
        // Until the PIN was shown or printed, moving on would lose it for good.
        let can_leave = !has_pin || view.revealed || view.letter == LetterPrint::Printed;
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
                if let (true, true, Some(job)) = (print_letters, has_pin, view.job) {
                    ui.add_space(12.0);
                    letter(ui, &t, &mut view.letter, job, out);
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

/// *Print letter* and how the last print went (the letter in the person's language).
fn letter(ui: &mut Ui, t: &Texts, letter: &mut LetterPrint, job: JobId, out: &mut Vec<Command>) {
    let printing = *letter == LetterPrint::Printing;
    let label = if *letter == LetterPrint::Printed {
        t.text("done-print-letter-again")
    } else {
        t.text("done-print-letter")
    };
    if widgets::button_enabled(ui, !printing, &label).clicked() {
        *letter = LetterPrint::Printing;
        out.push(Command::PrintLetter {
            job,
            language: t.language().code().to_owned(),
        });
    }
    match letter {
        LetterPrint::NotAsked => {}
        LetterPrint::Printing => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(t.text("done-printing"));
            });
        }
        LetterPrint::Printed => {
            ui.label(RichText::new(t.text("done-printed")).color(theme::OK));
        }
        LetterPrint::Failed(error) => widgets::error_box(ui, t, error),
    }
}
