//! The secret fields keep nothing: after a passcode was typed, submitted and the station locked,
//! egui's undo (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y) brings nothing back and Enter unlocks nothing.

mod kit;

use egui::accesskit::Role;
use egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use kit::ui::*;
use passkey_kiosk::ui::state::Screen;
use passkey_kiosk::ui::KioskApp;

const PASSCODE: &str = "2468 open sesame";

/// egui's undoer makes an undo point once a text has been stable for `stable_time` (1 s by
/// default, egui `util/undoer.rs`): let 2 s of frames pass (kittest steps 1/4 s a frame).
fn wait_past_undo_settle_time(h: &mut Harness<'static, KioskApp>) {
    h.run_steps(8);
}

/// Every undo/redo shortcut egui knows, then Enter.
fn undo_then_enter(h: &mut Harness<'static, KioskApp>) {
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z);
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Y);
    h.run_steps(2);
    h.key_press_modifiers(Modifiers::COMMAND, Key::Z);
    h.run_steps(2);
    assert!(
        h.state().state.sign_in.passcode.is_empty(),
        "undo brought text back into the passcode field"
    );
    h.key_press(Key::Enter);
    h.run_steps(2);
    settle(h);
}

#[test]
fn ctrl_z_on_the_lock_screen_brings_no_passcode_back() {
    let mut h = app_only_station(PASSCODE, 3);
    type_and_enter(&mut h, "Tess");
    type_and_enter(&mut h, PASSCODE);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);

    // Lock, unlock with the passcode after a pause, lock again.
    h.get_by_role_and_label(Role::Button, "Lock").click();
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Lock);
    assert!(h.get_by_label("Passcode").is_focused());
    h.event(egui::Event::Text(PASSCODE.into()));
    wait_past_undo_settle_time(&mut h);
    h.key_press(Key::Enter);
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(
        h.state().state.screen(),
        Screen::Queue,
        "the passcode unlocks"
    );
    h.get_by_role_and_label(Role::Button, "Lock").click();
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Lock);

    // The attacker at the keyboard.
    h.get_by_label("Passcode").focus();
    h.run_steps(2);
    undo_then_enter(&mut h);
    assert_eq!(
        h.state().state.screen(),
        Screen::Lock,
        "the station stays locked"
    );
    assert!(
        h.state().state.sign_in.passcode.is_empty(),
        "the field is empty"
    );
}

#[test]
fn ctrl_z_on_the_sign_in_form_brings_no_passcode_back() {
    let mut h = app_only_station(PASSCODE, 3);
    type_and_enter(&mut h, "Tess");
    h.event(egui::Event::Text(PASSCODE.into()));
    wait_past_undo_settle_time(&mut h);
    h.key_press(Key::Enter);
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);
    h.get_by_role_and_label(Role::Button, "Lock").click();
    h.run_steps(2);
    settle(&mut h);
    h.get_by_role_and_label(Role::Button, "Switch operator")
        .click();
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::SignIn);

    h.get_by_label("Operator name").focus();
    h.run_steps(2);
    h.event(egui::Event::Text("Tess".into()));
    h.run_steps(2);
    h.get_by_label("Passcode").focus();
    h.run_steps(2);
    undo_then_enter(&mut h);
    assert_eq!(h.state().state.screen(), Screen::SignIn, "nobody signed in");
    assert_eq!(h.state().state.operator, None);
}
