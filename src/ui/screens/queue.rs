//! The queue: search as you type over the whole scope group, badge scans select directly.
//!
//! The list is virtualised (`ScrollArea::show_rows`): a frame lays out only the visible rows,
//! whatever the queue's size; the search itself lives in [`QueueIndex`](super::super::queue_index).

use egui::{Align, Layout, RichText, Ui, Vec2};

use crate::engine::api::{Command, Person, PersonStatus};

use super::super::state::State;
use super::super::{theme, widgets};

/// The button that fetches the queue live from the scope group.
pub const REFRESH: &str = "Refresh from the group";

/// Challenges closer than this to expiry are flagged.
const EXPIRY_WARN_SECS: i64 = 10 * 60;

/// Renders the search field and the list.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let field = widgets::labelled_field(ui, "Find a person", &mut state.search, 560.0);
    if field.changed() {
        state.queue.set_query(&state.search);
    }
    if widgets::submitted(ui, &field) {
        let chosen = state
            .queue
            .resolve_scan(&state.search)
            .map(|p| p.user_id.clone());
        if let Some(user_id) = chosen {
            select(state, out, &user_id);
        }
    }
    // Badge scanners type into whatever has focus: keep it on the search field (after the
    // Enter check above, which needs the focus to have been let go this frame).
    if ui.memory(|m| m.focused().is_none()) {
        field.request_focus();
    }

    let counts = state.queue.counts();
    let refreshing = state.queue_refresh.running;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!(
                "{} shown of {} · {} ready · {} waiting · {} enrolled · {} failed",
                state.queue.matches().len(),
                state.queue.len(),
                counts.ready,
                counts.waiting,
                counts.enrolled,
                counts.failed
            ))
            .color(theme::MUTED),
        );
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.add_space(20.0);
            if widgets::button_enabled(ui, !refreshing, REFRESH).clicked() {
                out.push(Command::RefreshQueue);
            }
        });
    });
    if let Some((line, bad)) = state.queue_refresh.status_line() {
        let text = RichText::new(line).color(if bad { theme::BAD } else { theme::MUTED });
        ui.label(if refreshing { text } else { text.strong() });
    }
    ui.separator();

    if state.queue.is_empty() {
        ui.label(if refreshing {
            "The queue is being fetched from the scope group."
        } else {
            "The queue is empty: nobody in the scope group yet, or it could not be fetched."
        });
        return;
    }

    let mut clicked: Option<String> = None;
    let row_height = theme::TOUCH;
    let total = state.queue.matches().len();
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, total, |ui, rows| {
            for row in rows {
                let Some(&index) = state.queue.matches().get(row) else {
                    continue;
                };
                let Some(person) = state.queue.person(index) else {
                    continue;
                };
                if row_ui(ui, person, state.now, row_height) {
                    clicked = Some(person.user_id.clone());
                }
            }
        });
    if let Some(user_id) = clicked {
        select(state, out, &user_id);
    }
}

fn select(state: &mut State, out: &mut Vec<Command>, user_id: &str) {
    state.begin(user_id);
    out.push(Command::Enroll {
        user_id: user_id.to_string(),
    });
    state.search.clear();
    state.queue.set_query("");
}

/// One row; true when the person was chosen.
fn row_ui(ui: &mut Ui, person: &Person, now: i64, height: f32) -> bool {
    ui.horizontal(|ui| {
        ui.set_height(height);
        let chosen = ui
            .add(
                // Framed only under the pointer: a list of filled buttons is a fifth of the
                // screen that a software renderer shades every frame.
                egui::Button::new((
                    RichText::new(person.display_name.as_str()).strong(),
                    egui::Atom::grow(), // the name starts at the left, as in a table
                ))
                .min_size(Vec2::new(380.0, height))
                .frame_when_inactive(false)
                .truncate(),
            )
            .clicked();
        ui.allocate_ui_with_layout(
            Vec2::new(380.0, height),
            Layout::left_to_right(Align::Center),
            |ui| {
                ui.set_width(380.0);
                ui.add(
                    egui::Label::new(RichText::new(person.upn.as_str()).color(theme::MUTED))
                        .truncate(),
                );
            },
        );
        let (text, color) = status(person.status);
        widgets::chip(ui, text, color);
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.add_space(20.0); // clear of the scroll bar
            if let Some(at) = person.challenge_expires_at {
                let left = at - now;
                if left <= 0 {
                    ui.label(RichText::new("challenge expired").color(theme::BAD));
                } else if left < EXPIRY_WARN_SECS {
                    ui.label(
                        RichText::new(format!("expires in {} min", (left + 59) / 60))
                            .color(theme::WARN),
                    );
                } else {
                    ui.label(
                        RichText::new(format!("valid {}", duration(left))).color(theme::MUTED),
                    );
                }
            }
        });
        chosen
    })
    .inner
}

fn status(s: PersonStatus) -> (&'static str, egui::Color32) {
    match s {
        PersonStatus::Waiting => ("waiting", theme::MUTED),
        PersonStatus::Ready => ("ready", theme::ACCENT),
        PersonStatus::InProgress => ("in progress", theme::WARN),
        PersonStatus::Enrolled => ("enrolled", theme::OK),
        PersonStatus::Failed => ("failed", theme::BAD),
    }
}

fn duration(secs: i64) -> String {
    if secs >= 2 * 86_400 {
        format!("{} days", secs / 86_400)
    } else if secs >= 3600 {
        format!("{} h", secs / 3600)
    } else {
        format!("{} min", (secs + 59) / 60)
    }
}
