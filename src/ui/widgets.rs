//! Small building blocks shared by the screens: touch-sized buttons, labelled fields, the step
//! bar and the error box.

use egui::{Color32, RichText, Ui, Vec2};

use crate::engine::api::OperatorError;
use crate::i18n::{Language, Texts};

use super::secret::SecretBuffer;
use super::state::Stage;
use super::theme;

/// A touch-sized button.
pub fn button(ui: &mut Ui, text: &str) -> egui::Response {
    ui.add(egui::Button::new(text).min_size(Vec2::new(140.0, theme::TOUCH)))
}

/// A touch-sized button that may be disabled.
pub fn button_enabled(ui: &mut Ui, enabled: bool, text: &str) -> egui::Response {
    ui.add_enabled(
        enabled,
        egui::Button::new(text).min_size(Vec2::new(140.0, theme::TOUCH)),
    )
}

/// The main action of a screen: filled, white text.
pub fn primary(ui: &mut Ui, enabled: bool, text: &str) -> egui::Response {
    ui.add_enabled(
        enabled,
        egui::Button::new(RichText::new(text).color(Color32::WHITE).strong())
            .fill(if enabled { theme::ACCENT } else { theme::MUTED })
            .min_size(Vec2::new(220.0, theme::TOUCH)),
    )
}

/// Makes `action` the keyboard's way on: when nothing usable has the focus (nothing at all, or
/// a widget under the dialog that `action` is on), it takes it, so Enter or Space does it and
/// Tab moves on from it. Under a dialog, it never does.
pub fn default_focus(ui: &Ui, action: &egui::Response) {
    let usable = |layer| ui.memory(|m| m.allows_interaction(layer));
    let focused = ui.memory(|m| m.focused());
    let taken = focused
        .and_then(|id| ui.ctx().read_response(id))
        .is_some_and(|r| usable(r.layer_id));
    if !taken && usable(ui.layer_id()) && action.enabled() {
        action.request_focus();
    }
}

/// A single-line text field with a visible label tied to it (screen readers and kittest find
/// it by that label).
pub fn labelled_field(ui: &mut Ui, label: &str, text: &mut String, width: f32) -> egui::Response {
    labelled(ui, label, egui::TextEdit::singleline(text), width)
}

/// A masked field for a secret (passcode, PIN). egui keeps an undo/redo history in every
/// `TextEdit`'s state, masked ones included, for the life of the process: here that history
/// keeps nothing (before and after the field runs), and the field's id carries `generation`, so
/// once the screen moves on (see [`forget_secret_fields`]) no earlier state is reachable.
/// `field` (one of [`SECRET_LABELS`]) names it for its id, whatever language `label` is in.
pub fn secret_field(
    ui: &mut Ui,
    field: &'static str,
    label: &str,
    secret: &mut SecretBuffer,
    generation: u64,
    width: f32,
) -> egui::Response {
    let id = secret_id(field, generation);
    keep_no_history(ui.ctx(), id);
    let edit = egui::TextEdit::singleline(secret).password(true).id(id);
    let response = labelled(ui, label, edit, width);
    keep_no_history(ui.ctx(), id);
    response
}

/// The secret fields, by their English labels (their egui state is dropped by
/// [`forget_secret_fields`]).
pub const SECRET_LABELS: [&str; 2] = ["Passcode", "PIN"];

fn secret_id(label: &str, generation: u64) -> egui::Id {
    egui::Id::unique(("secret-field", label, generation))
}

/// An undo history that keeps no entry (`max_undos` 0): Ctrl+Z and Ctrl+Y find nothing.
fn keep_no_history(ctx: &egui::Context, id: egui::Id) {
    let mut state = egui::TextEdit::load_state(ctx, id).unwrap_or_default();
    state.set_undoer(egui::util::undoer::Undoer::with_settings(
        egui::util::undoer::Settings {
            max_undos: 0,
            ..Default::default()
        },
    ));
    egui::TextEdit::store_state(ctx, id, state);
}

/// Removes the egui state of the secret fields of `generation` (after a submit, a lock or a
/// screen change).
pub fn forget_secret_fields(ctx: &egui::Context, generation: u64) {
    for label in SECRET_LABELS {
        let id = secret_id(label, generation);
        ctx.data_mut(|d| d.remove::<egui::text_edit::TextEditState>(id));
        ctx.memory_mut(|m| m.surrender_focus(id));
    }
}

fn labelled(ui: &mut Ui, label: &str, edit: egui::TextEdit<'_>, width: f32) -> egui::Response {
    ui.horizontal(|ui| {
        let label = ui.add_sized(
            Vec2::new(200.0, theme::TOUCH),
            egui::Label::new(RichText::new(label).strong()),
        );
        ui.add(
            edit.desired_width(width)
                .min_size(Vec2::new(width, theme::TOUCH))
                .margin(egui::Margin::symmetric(12, 12)),
        )
        .labelled_by(label.id)
    })
    .inner
}

/// Whether Enter was pressed to leave this single-line field.
pub fn submitted(ui: &Ui, field: &egui::Response) -> bool {
    field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
}

/// Screen title.
pub fn title(ui: &mut Ui, text: &str) {
    ui.add_space(8.0);
    ui.heading(RichText::new(text).strong());
    ui.add_space(8.0);
}

/// The wizard's step bar: done steps green, the current one highlighted, a failed one red.
/// Each step says its state to assistive technology too ("4. Touch: done"), as colour alone
/// does not.
pub fn step_bar(ui: &mut Ui, t: &Texts, current: Stage, failed: bool) {
    ui.horizontal_wrapped(|ui| {
        for (i, stage) in Stage::ALL.iter().enumerate() {
            if i > 0 {
                ui.label(RichText::new("  ›  ").color(theme::MUTED));
            }
            let (fill, fg, state) = if *stage < current {
                (theme::OK, Color32::WHITE, "stage-state-done")
            } else if *stage == current && failed {
                (theme::BAD, Color32::WHITE, "stage-state-failed")
            } else if *stage == current {
                (theme::ACCENT, Color32::WHITE, "stage-state-current")
            } else {
                (theme::SURFACE, theme::MUTED, "stage-state-to-do")
            };
            let state = t.text(state);
            // Numbered, not ticked: the bundled font has no check mark; colour tells done.
            let text = format!("{}. {}", i + 1, stage.label(t));
            egui::Frame::new()
                .fill(fill)
                .corner_radius(20)
                .inner_margin(egui::Margin::symmetric(16, 8))
                .show(ui, |ui| {
                    let shown = ui.label(RichText::new(&text).color(fg).strong());
                    let spoken = format!("{text}: {state}");
                    shown.widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Label, true, &spoken)
                    });
                });
        }
    });
}

/// An operator error: what happened, what to do, and Graph's request-id to quote to support.
/// The engine words the error in English; what to do and the frame are in `t`'s language.
pub fn error_box(ui: &mut Ui, t: &Texts, error: &OperatorError) {
    egui::Frame::new()
        .fill(Color32::from_rgb(0xfd, 0xec, 0xee))
        .stroke(egui::Stroke::new(2.0, theme::BAD))
        .corner_radius(8)
        .inner_margin(16)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(
                RichText::new(&error.message)
                    .color(theme::BAD)
                    .strong()
                    .size(26.0),
            );
            let remedy = super::remedy::words(t, &error.remedy);
            ui.label(t.text_with("what-to-do", &[("remedy", remedy.into())]));
            ui.horizontal_wrapped(|ui| {
                ui.label(
                    RichText::new(
                        t.text_with("error-code", &[("code", error.code.as_str().into())]),
                    )
                    .color(theme::MUTED),
                );
                if let Some(id) = &error.request_id {
                    ui.label(RichText::new(t.text("graph-request-id")).color(theme::MUTED));
                    // Selectable so it can be copied into a support ticket.
                    ui.add(egui::Label::new(RichText::new(id).monospace()).selectable(true));
                }
            });
        });
}

/// A coloured status chip.
pub fn chip(ui: &mut Ui, text: &str, fill: Color32) {
    egui::Frame::new()
        .fill(fill)
        .inner_margin(egui::Margin::symmetric(12, 4))
        .show(ui, |ui| {
            ui.label(
                RichText::new(text)
                    .color(Color32::WHITE)
                    .strong()
                    .size(18.0),
            );
        });
}

/// A status chip of fixed width, so the texts beside a column of chips line up.
pub fn chip_fixed(ui: &mut Ui, text: &str, fill: Color32, width: f32) {
    let (rect, _) = ui.allocate_exact_size(Vec2::new(width, 40.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, 0.0, fill);
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(18.0),
        Color32::WHITE,
    );
}

/// The frame of dialogs: padded, outlined.
pub fn dialog_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(Color32::WHITE)
        .stroke(egui::Stroke::new(2.0, theme::TEXT))
        .corner_radius(12)
        .inner_margin(28)
}

/// The person's language switch ("English | Deutsch"), each language named in itself so
/// anyone finds theirs; returns the language chosen this frame. Choosing lets the keyboard
/// focus go, so it returns to the page's way on ([`default_focus`]).
pub fn language_switch(ui: &mut Ui, current: Language) -> Option<Language> {
    let mut chosen = None;
    let mut order = Language::ALL;
    if ui.layout().prefer_right_to_left() {
        order.reverse(); // still read left to right
    }
    for language in &order {
        let button = egui::Button::selectable(*language == current, language.name())
            .min_size(Vec2::new(120.0, theme::TOUCH));
        let response = ui.add(button);
        if response.clicked() {
            ui.memory_mut(|m| m.surrender_focus(response.id));
            if *language != current {
                chosen = Some(*language);
            }
        }
    }
    chosen
}
