//! Station-wide rules: start-up checks, sign-in, lock, close refused, re-issue, demo controls.

mod ui_support;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use passkey_kiosk::engine::api::{Check, Command, Event, Unfinished};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::Screen;
use passkey_kiosk::ui::{KioskApp, State};
use ui_support::*;

#[test]
fn window_close_is_refused_until_exit_is_chosen() {
    let mut h = station();
    let close = |h: &mut Harness<'static, KioskApp>| {
        h.input_mut()
            .viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .events
            .push(egui::ViewportEvent::Close);
        h.step();
        h.output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.commands.contains(&egui::ViewportCommand::CancelClose))
    };
    assert!(close(&mut h), "close must be cancelled");
    h.run();
    assert!(h.state().state.close_refused);
    h.get_by_label_contains("closes only with Exit");

    h.get_by_role_and_label(Role::Button, "Exit").click();
    h.run();
    // Enter stays: leaving takes a deliberate choice.
    assert!(h.get_by_role_and_label(Role::Button, "Stay").is_focused());
    h.get_by_role_and_label(Role::Button, "Exit the station")
        .click();
    h.run();
    assert_eq!(outbox(&mut h), vec![Command::Shutdown]);
    assert!(!close(&mut h), "after Exit the window may close");
}

#[test]
fn a_termination_signal_closes_like_exit() {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| {
            let mut state = State::new(OperatorAuth::Demo, false);
            state.apply(Event::StartupChecks(vec![]));
            state.operator = Some("Tess Operator".into());
            KioskApp::new(&cc.egui_ctx, state, None).close_when(flag.clone())
        });
    h.run();
    let closing = |h: &Harness<'static, KioskApp>| {
        h.output()
            .viewport_output
            .get(&egui::ViewportId::ROOT)
            .is_some_and(|v| v.commands.contains(&egui::ViewportCommand::Close))
    };
    assert!(!closing(&h));
    assert!(outbox(&mut h).is_empty());

    flag.store(true, std::sync::atomic::Ordering::SeqCst);
    h.step();
    assert!(closing(&h), "the window must close");
    assert_eq!(
        outbox(&mut h),
        vec![Command::Shutdown],
        "the engine finishes first"
    );
    h.run();
    assert!(outbox(&mut h).is_empty(), "Shutdown is sent once");
}

#[test]
fn failed_startup_checks_show_their_remedy() {
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| {
            KioskApp::new(&cc.egui_ctx, State::new(OperatorAuth::Demo, false), None)
        });
    h.get_by_label("Running the start-up checks…");
    h.state_mut().apply(Event::StartupChecks(vec![
        Check {
            name: "Configuration valid".into(),
            ok: true,
            detail: String::new(),
        },
        Check {
            name: "Microsoft Graph reachable".into(),
            ok: false,
            detail: "Connection refused: check the proxy settings".into(),
        },
    ]));
    h.state_mut().apply(Event::Recovered(vec![Unfinished {
        enrollment_id: 4,
        upn: "ada@contoso.com".into(),
        display_name: None,
        state: "pin_set".into(),
        resolution: "PIN kept in the journal: hand it over from the recovery list".into(),
        pin: None,
    }]));
    h.run();
    h.get_by_label("Connection refused: check the proxy settings");
    h.get_by_role_and_label(Role::Button, "Continue anyway")
        .click();
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Recovery);
    h.get_by_label("ada@contoso.com");
    h.get_by_role_and_label(Role::Button, "Continue").click();
    h.run();
    assert_eq!(h.state().state.screen(), Screen::SignIn);
}

/// Cheap argon2 parameters keep the debug-build test fast; verification reads them from the hash.
fn cheap_hash(passcode: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let salt = SaltString::encode_b64(b"kiosk-test-salt!").unwrap();
    argon
        .hash_password(passcode.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

#[test]
fn app_only_sign_in_checks_the_passcode_and_idle_lock_hides_the_screen() {
    let auth = OperatorAuth::AppOnly {
        passcode_hash: Some(cheap_hash("2468 open")),
    };
    let mut h = station_with(auth, false, people(5));
    h.get_by_label("Operator name").focus();
    h.run();
    h.get_by_label("Operator name").type_text("Tess");
    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text("wrong");
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    h.get_by_label("Wrong passcode. Try again.");
    assert!(outbox(&mut h).is_empty());

    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text("2468 open");
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    assert_eq!(
        outbox(&mut h),
        vec![Command::OperatorSignedIn {
            operator: "Tess".into()
        }]
    );
    assert_eq!(h.state().state.screen(), Screen::Queue);

    // Idle lock: a short limit, then frames with no input.
    h.state_mut().state.idle_lock_secs = Some(0.5);
    for _ in 0..60 {
        h.step();
    }
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Lock);
    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text("2468 open");
    h.run();
    h.state_mut().state.idle_lock_secs = None;
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Queue);
}

#[test]
fn the_keyboard_alone_signs_in_and_picks_a_person() {
    let auth = OperatorAuth::AppOnly {
        passcode_hash: Some(cheap_hash("2468 open")),
    };
    let mut h = station_with(auth, false, people(20));
    h.run();
    // No click anywhere: the cursor starts in the name, Enter moves to the passcode, Enter signs
    // in, and the search field has the cursor for a typed name or a badge scan.
    assert!(h.get_by_label("Operator name").is_focused());
    type_and_enter(&mut h, "Tess");
    assert!(h.get_by_label("Passcode").is_focused());
    type_and_enter(&mut h, "2468 open");
    assert_eq!(
        outbox(&mut h),
        vec![Command::OperatorSignedIn {
            operator: "Tess".into()
        }]
    );
    assert!(h.get_by_label("Find a person").is_focused());
    type_and_enter(&mut h, "USER17");
    assert_eq!(
        outbox(&mut h),
        vec![Command::Enroll {
            user_id: "id-17".into()
        }]
    );
}

#[test]
fn the_demo_signs_in_with_enter_alone() {
    let mut h = station_with(OperatorAuth::Demo, true, people(3));
    assert!(h.get_by_label("Operator name").is_focused());
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Queue);
}

#[test]
fn reissue_asks_for_confirmation_then_prompts_reinsert_and_touch() {
    let mut h = station();
    assert!(h
        .get_by_role_and_label(Role::Button, "Re-issue a key")
        .accesskit_node()
        .is_disabled());
    h.state_mut().apply(Event::KeyInserted(good_key()));
    h.run();
    h.get_by_role_and_label(Role::Button, "Re-issue a key")
        .click();
    h.run();
    h.get_by_label("Erase this key?");
    // Enter keeps the key: erasing takes a deliberate choice.
    assert!(h
        .get_by_role_and_label(Role::Button, "Keep the key")
        .is_focused());
    h.get_by_role_and_label(Role::Button, "Erase the key")
        .click();
    // The waiting prompt has a spinner, which repaints for ever: step instead of settling.
    h.run_steps(3);
    assert_eq!(outbox(&mut h), vec![Command::ResetKey]);
    h.get_by_label("Remove the key, insert it again, and touch it within 10 seconds.");
    h.state_mut().apply(Event::KeyReset);
    h.run();
    h.get_by_label("Key reset");
    h.get_by_role_and_label(Role::Button, "OK").click();
    h.run();
    assert!(h.query_by_label("Key reset").is_none());
}

#[test]
fn demo_banner_inserts_a_soft_key() {
    let mut h = station_with(OperatorAuth::Demo, true, people(3));
    h.get_by_label("DEMO");
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Queue);
    h.get_by_label("DEMO");
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    h.run();
    let sent = outbox(&mut h);
    assert_eq!(sent.last(), Some(&Command::InsertSoftKey));
}
