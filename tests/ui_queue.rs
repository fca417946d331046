//! Queue: search as you type, pick by click or by badge scan (text + Enter).

mod kit;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use kit::desk::outbox;
use kit::ui::*;
use passkey_kiosk::engine::api::Command;
use passkey_kiosk::ui::state::Screen;

#[test]
fn typing_filters_and_a_click_starts_enrollment() {
    let mut h = station();
    let search = h.get_by_label("Find a person");
    search.focus();
    h.run();
    h.get_by_label("Find a person").type_text("number 42");
    h.run();
    assert_eq!(h.state().state.queue.matches().len(), 1);
    assert!(h
        .query_by_role_and_label(Role::Button, "Person Number 1")
        .is_none());
    h.get_by_role_and_label(Role::Button, "Person Number 42")
        .click();
    h.run();
    assert_eq!(
        outbox(&mut h),
        vec![Command::Enroll {
            user_id: "id-42".into()
        }]
    );
    assert_eq!(h.state().state.screen(), Screen::Wizard);
    h.get_by_label("Insert a new security key");
}

#[test]
fn badge_scan_selects_the_person() {
    let mut h = station();
    // A keyboard-wedge scanner types the user name and Enter into the focused search field.
    h.get_by_label("Find a person").focus();
    h.run();
    h.get_by_label("Find a person").type_text("USER17");
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(
        outbox(&mut h),
        vec![Command::Enroll {
            user_id: "id-17".into()
        }]
    );
    assert_eq!(h.state().state.screen(), Screen::Wizard);
}

#[test]
fn large_queue_lays_out_only_visible_rows() {
    let mut h = station_with(
        passkey_kiosk::ui::operator::OperatorAuth::Demo,
        false,
        people(100_000),
    );
    sign_in_demo(&mut h, "Tess");
    let buttons = h.query_all_by_role(Role::Button).count();
    assert!(buttons < 60, "{buttons} buttons laid out");
    h.get_by_label("Find a person").focus();
    h.run();
    h.get_by_label("Find a person").type_text("number 9999");
    h.run();
    // 9999, 99990..99999
    assert_eq!(h.state().state.queue.matches().len(), 11);
}

#[test]
fn a_person_another_station_is_enrolling_is_shown_there_and_cannot_be_started_here() {
    let mut list = people(30);
    list[4].status = passkey_kiosk::engine::api::PersonStatus::InProgress;
    list[4].elsewhere = Some("desk-2".into());
    list[5].status = passkey_kiosk::engine::api::PersonStatus::Enrolled;
    list[5].elsewhere = Some("desk-3".into());
    let mut h = station_with(passkey_kiosk::ui::operator::OperatorAuth::Demo, false, list);
    sign_in_demo(&mut h, "Tess");
    h.get_by_label("at desk-2");
    h.get_by_label("enrolled at desk-3");
    // Neither a click nor a badge scan starts them here.
    h.get_by_role_and_label(Role::Button, "Person Number 4")
        .click();
    h.run();
    h.get_by_label("Find a person").focus();
    h.run();
    h.get_by_label("Find a person").type_text("USER4");
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(outbox(&mut h), vec![]);
    assert_eq!(h.state().state.screen(), Screen::Queue);
}
