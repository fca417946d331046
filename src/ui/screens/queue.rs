//! The queue: search as you type over the whole scope group, badge scans select directly.
//!
//! The list is virtualised (`ScrollArea::show_rows`): a frame lays out only the visible rows,
//! whatever the queue's size; the search itself lives in [`QueueIndex`](super::super::queue_index).

use egui::{Align, Layout, RichText, Ui, Vec2};

use crate::engine::api::{Command, Person, PersonStatus};
use crate::i18n::Texts;

use super::super::state::State;
use super::super::{theme, widgets};

/// The button that fetches the queue live from the scope group, as an English station labels
/// it (message `queue-refresh`).
pub const REFRESH: &str = "Refresh from the group";

/// Challenges closer than this to expiry are flagged.
const EXPIRY_WARN_SECS: i64 = 10 * 60;

/// Renders the search field and the list.
pub fn show(ui: &mut Ui, state: &mut State, out: &mut Vec<Command>) {
    let t = state.texts();
    let find = t.text("queue-find");
    let field = widgets::labelled_field(ui, &find, &mut state.search, 560.0);
    if field.changed() {
        state.queue.set_query(&state.search);
    }
    if widgets::submitted(ui, &field) {
        let chosen = state
            .queue
            .resolve_scan(&state.search)
            .filter(|p| p.held_elsewhere().is_none())
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
            RichText::new(t.text_with(
                "queue-counts",
                &[
                    ("shown", state.queue.matches().len().into()),
                    ("total", state.queue.len().into()),
                    ("ready", counts.ready.into()),
                    ("waiting", counts.waiting.into()),
                    ("enrolled", counts.enrolled.into()),
                    ("failed", counts.failed.into()),
                ],
            ))
            .color(theme::MUTED),
        );
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.add_space(20.0);
            if widgets::button_enabled(ui, !refreshing, &t.text("queue-refresh")).clicked() {
                out.push(Command::RefreshQueue);
            }
        });
    });
    if let Some((line, bad)) = state.queue_refresh.status_line(&t) {
        let text = RichText::new(line).color(if bad { theme::BAD } else { theme::MUTED });
        ui.label(if refreshing { text } else { text.strong() });
    }
    ui.separator();

    if state.queue.is_empty() {
        ui.label(t.text(if refreshing {
            "queue-being-fetched"
        } else {
            "queue-empty"
        }));
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
                if row_ui(ui, &t, person, state.now, row_height) {
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
fn row_ui(ui: &mut Ui, t: &Texts, person: &Person, now: i64, height: f32) -> bool {
    ui.horizontal(|ui| {
        ui.set_height(height);
        // Another station is enrolling them: shown, not started here.
        let free = person.held_elsewhere().is_none();
        let chosen = ui
            .add_enabled(
                free,
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
        let text = match (&person.elsewhere, person.status) {
            (Some(station), PersonStatus::InProgress) => {
                t.text_with("status-held-at", &[("station", station.as_str().into())])
            }
            (Some(station), PersonStatus::Enrolled) => t.text_with(
                "status-enrolled-at",
                &[("station", station.as_str().into())],
            ),
            _ => t.text(text),
        };
        widgets::chip(ui, &text, color);
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            ui.add_space(20.0); // clear of the scroll bar
            if let Some(at) = person.challenge_expires_at {
                let left = at - now;
                if left <= 0 {
                    ui.label(RichText::new(t.text("queue-challenge-expired")).color(theme::BAD));
                } else if left < EXPIRY_WARN_SECS {
                    let minutes = (left + 59) / 60;
                    ui.label(
                        RichText::new(
                            t.text_with("queue-expires-in", &[("minutes", minutes.into())]),
                        )
                        .color(theme::WARN),
                    );
                } else {
                    let valid =
                        t.text_with("queue-valid", &[("duration", duration(t, left).into())]);
                    ui.label(RichText::new(valid).color(theme::MUTED));
                }
            }
        });
        chosen
    })
    .inner
}

/// The status chip's message and colour.
fn status(s: PersonStatus) -> (&'static str, egui::Color32) {
    match s {
        PersonStatus::Waiting => ("status-waiting", theme::MUTED),
        PersonStatus::Ready => ("status-ready", theme::ACCENT),
        PersonStatus::InProgress => ("status-in-progress", theme::WARN),
        PersonStatus::Enrolled => ("status-enrolled", theme::OK),
        PersonStatus::Failed => ("status-failed", theme::BAD),
    }
}

fn duration(t: &Texts, secs: i64) -> String {
    if secs >= 2 * 86_400 {
        t.text_with("duration-days", &[("days", (secs / 86_400).into())])
    } else if secs >= 3600 {
        t.text_with("duration-hours", &[("hours", (secs / 3600).into())])
    } else {
        t.text_with(
            "duration-minutes",
            &[("minutes", ((secs + 59) / 60).into())],
        )
    }
}
