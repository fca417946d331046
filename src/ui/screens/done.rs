//! The done page: the random PIN in large digits behind Reveal, "remove the key", next person;
//! with PIN letters, *Print letter* (the engine prints; the page shows how it went).

use egui::{RichText, Ui};

use crate::engine::api::{Command, JobId};

use super::super::state::{LetterPrint, Phase, State};
use super::super::{theme, widgets};

/// Renders the done page of `state.job`.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
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
            RichText::new(format!("Key issued to {}", view.display_name))
                .size(34.0)
                .strong()
                .color(theme::OK),
        );
        if let Some(serial) = &issued.serial {
            ui.label(RichText::new(format!("Key serial {serial}")).color(theme::MUTED));
        }
        // Method ids are long unbroken strings: one line, cut, never wrapped letter by letter.
        ui.add(
            egui::Label::new(
                RichText::new(format!("Entra ID method {}", issued.method_id))
                    .color(theme::MUTED)
                    .small(),
            )
            .truncate(),
        );
        ui.add_space(16.0);
        ui.label(
            RichText::new("Remove the key and give it to the person.")
                .size(28.0)
                .strong(),
        );
        ui.add_space(16.0);
        // Until the PIN was shown or printed, moving on would lose it for good.
        let can_leave = !has_pin || view.revealed || view.letter == LetterPrint::Printed;
        let next_person = widgets::primary(ui, can_leave, "Next person");
        widgets::default_focus(ui, &next_person);
        next = next_person.clicked();
        if !can_leave {
            ui.label(RichText::new("Reveal the PIN first.").color(theme::MUTED));
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
                        ui.label(RichText::new("PIN for this key").strong());
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
                        ui.label("Hand it over privately; it is not shown again.");
                    }
                    (Some(_), false) => {
                        ui.label(RichText::new("The key has a new random PIN.").strong());
                        ui.label("Reveal it only to the person it belongs to.");
                        ui.add_space(8.0);
                        let reveal = widgets::primary(ui, true, "Reveal PIN");
                        widgets::default_focus(ui, &reveal);
                        if reveal.clicked() {
                            view.revealed = true;
                            // The keyboard goes on to the way out, enabled from the next frame.
                            next_person.request_focus();
                        }
                    }
                    (None, _) => {
                        ui.label("The PIN was typed at the station: the person already knows it.");
                    }
                }
                if let (true, true, Some(job)) = (print_letters, has_pin, view.job) {
                    ui.add_space(12.0);
                    letter(ui, &mut view.letter, job, out);
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

/// *Print letter* and how the last print went.
fn letter(ui: &mut Ui, letter: &mut LetterPrint, job: JobId, out: &mut Vec<Command>) {
    let printing = *letter == LetterPrint::Printing;
    let label = if *letter == LetterPrint::Printed {
        "Print letter again"
    } else {
        "Print letter"
    };
    if widgets::button_enabled(ui, !printing, label).clicked() {
        *letter = LetterPrint::Printing;
        out.push(Command::PrintLetter {
            job,
            language: crate::letters::DEFAULT_LANGUAGE.to_owned(),
        });
    }
    match letter {
        LetterPrint::NotAsked => {}
        LetterPrint::Printing => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Printing the letter…");
            });
        }
        LetterPrint::Printed => {
            ui.label(
                RichText::new("The letter went to the printer: give it to the person, folded.")
                    .color(theme::OK),
            );
        }
        LetterPrint::Failed(error) => widgets::error_box(ui, error),
    }
}
