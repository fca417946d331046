//! Station-wide rules: start-up checks, sign-in, lock, close refused, re-issue, demo controls.

mod kit;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use kit::desk::{desk_audit, outbox};
use kit::ui::*;
use passkey_kiosk::engine::api::{Check, CheckKind, Command, Event, Unfinished};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::Screen;
use passkey_kiosk::ui::{KioskApp, State};

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
    // The sign-in service accepts (and audits) the Exit; then the engine is told to finish.
    assert_eq!(outbox(&mut h), vec![Command::Exit, Command::Shutdown]);
    assert!(!close(&mut h), "after Exit the window may close");
    assert_eq!(
        desk_audit().last(),
        Some(&("Tess Operator".into(), "exit".into(), "ok".into()))
    );
}

#[test]
fn a_termination_signal_closes_like_exit() {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| {
            let mut state = State::new(OperatorAuth::Demo, false);
            state.apply(Event::StartupChecks(vec![]));
            state.apply(Event::SignedIn {
                operator: "Tess Operator".into(),
            });
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
            kind: CheckKind::Configuration,
            ok: true,
            detail: String::new(),
        },
        Check {
            kind: CheckKind::GraphReachable,
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
        remedy: None,
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

const PASSCODE: &str = "2468 open";

#[test]
fn app_only_sign_in_checks_the_passcode_and_idle_lock_hides_the_screen() {
    let mut h = app_only_station(PASSCODE, 5);
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
    assert_eq!(h.state().state.operator, None);
    assert!(
        h.state().state.sign_in.passcode.is_empty(),
        "a refused passcode is wiped"
    );

    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text(PASSCODE);
    h.run();
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    settle(&mut h);
    let sent = outbox(&mut h);
    assert!(
        matches!(&sent[..], [Command::SignIn { name, .. }, Command::SignIn { passcode, .. }]
            if name == "Tess" && passcode.expose() == PASSCODE),
        "{sent:?}"
    );
    assert_eq!(format!("{sent:?}").matches("***").count(), 2, "{sent:?}");
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
    h.get_by_label("Passcode").type_text(PASSCODE);
    h.run();
    h.state_mut().state.idle_lock_secs = None;
    h.get_by_role_and_label(Role::Button, "Unlock").click();
    h.run();
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);
    let actions: Vec<_> = desk_audit().into_iter().map(|(o, a, _)| (o, a)).collect();
    let tess = |a: &str| ("Tess".to_owned(), a.to_owned());
    assert_eq!(
        actions,
        [
            tess("sign-in-refused"),
            tess("sign-in"),
            tess("lock"),
            tess("unlock")
        ]
    );
}

#[test]
fn wrong_passcodes_pause_the_next_attempt_and_the_screen_says_how_long() {
    let mut h = app_only_station(PASSCODE, 3);
    type_and_enter(&mut h, "Tess");
    for n in 1..=5 {
        type_and_enter(&mut h, "guess");
        settle(&mut h);
        assert_eq!(h.state().state.operator, None, "attempt {n}");
    }
    // Five failures: the next attempt waits 30 s, shown counting down, Sign in disabled.
    h.get_by_label("Too many wrong passcodes: try again in 0:30");
    assert!(h
        .get_by_role_and_label(Role::Button, "Sign in")
        .accesskit_node()
        .is_disabled());
    h.state_mut().set_now(NOW + 12);
    h.run_steps(2);
    h.get_by_label("Too many wrong passcodes: try again in 0:18");
    // Even the right passcode and Enter sign nobody in meanwhile.
    h.get_by_label("Passcode").focus();
    type_and_enter(&mut h, PASSCODE);
    settle(&mut h);
    assert_eq!(h.state().state.operator, None);
    assert!(h.state().state.sign_in.passcode.is_empty());

    let audit = desk_audit();
    assert_eq!(audit.len(), 5);
    assert!(audit
        .iter()
        .all(|(o, a, _)| o == "Tess" && a == "sign-in-refused"));
    assert_eq!(audit[0].2, "wrong passcode (1 consecutive failures)");
    assert_eq!(
        audit[4].2,
        "wrong passcode (5 consecutive failures; next attempt in 30 s)"
    );
}

#[test]
fn enter_in_an_empty_passcode_field_is_no_attempt() {
    let mut h = app_only_station(PASSCODE, 3);
    type_and_enter(&mut h, "Tess");
    type_and_enter(&mut h, "");
    settle(&mut h);
    assert!(h
        .get_by_role_and_label(Role::Button, "Sign in")
        .accesskit_node()
        .is_disabled());
    assert!(outbox(&mut h).is_empty());
    type_and_enter(&mut h, PASSCODE);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);

    h.get_by_role_and_label(Role::Button, "Lock").click();
    h.run();
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Lock);
    outbox(&mut h);
    h.get_by_label("Passcode").focus();
    h.run();
    type_and_enter(&mut h, "");
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Lock);
    assert!(h
        .get_by_role_and_label(Role::Button, "Unlock")
        .accesskit_node()
        .is_disabled());
    assert!(outbox(&mut h).is_empty());
    let actions: Vec<_> = desk_audit().into_iter().map(|(_, a, _)| a).collect();
    assert_eq!(actions, ["sign-in", "lock"], "no refusal was counted");
}

/// Presses Tab `n` times and collects the label of every button that took the focus.
fn tab_through(h: &mut Harness<'static, KioskApp>, n: usize) -> Vec<String> {
    let mut focused = Vec::new();
    for _ in 0..n {
        h.key_press(egui::Key::Tab);
        h.run_steps(1);
        if let Some(node) = h.query_all_by_role(Role::Button).find(|b| b.is_focused()) {
            focused.push(node.accesskit_node().label().unwrap_or_default());
        }
    }
    focused
}

#[test]
fn no_way_out_of_full_screen_without_a_signed_in_operator() {
    let mut h = app_only_station(PASSCODE, 3);
    // Sign-in screen: Tab through everything, Escape; no Exit anywhere.
    h.event(egui::Event::Text("Tess".into()));
    h.run_steps(2);
    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text(PASSCODE);
    h.run();
    let seen = tab_through(&mut h, 12);
    assert!(seen.contains(&"Sign in".to_owned()), "{seen:?}");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(h.query_by_role_and_label(Role::Button, "Exit").is_none());
    assert!(seen.iter().all(|b| !b.contains("Exit")), "{seen:?}");

    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run();
    settle(&mut h);
    h.get_by_role_and_label(Role::Button, "Lock").click();
    h.run_steps(2);
    settle(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Lock);
    h.get_by_label("Passcode").focus();
    h.run();
    h.get_by_label("Passcode").type_text("not yet");
    h.run();
    let seen = tab_through(&mut h, 12);
    assert!(seen.contains(&"Unlock".to_owned()), "{seen:?}");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(seen.iter().all(|b| !b.contains("Exit")), "{seen:?}");
    assert!(h.query_by_role_and_label(Role::Button, "Exit").is_none());
    // Even a stray "exit?" flag opens no Exit dialog off the signed-in screens.
    h.state_mut().state.exit_confirm = true;
    h.run_steps(2);
    assert!(h
        .query_by_role_and_label(Role::Button, "Exit the station")
        .is_none());
    assert!(!h.state().state.exit_chosen);
}

#[test]
fn the_keyboard_alone_signs_in_and_picks_a_person() {
    let mut h = app_only_station(PASSCODE, 20);
    h.run();
    // No click anywhere: the cursor starts in the name, Enter moves to the passcode, Enter signs
    // in, and the search field has the cursor for a typed name or a badge scan.
    assert!(h.get_by_label("Operator name").is_focused());
    type_and_enter(&mut h, "Tess");
    assert!(h.get_by_label("Passcode").is_focused());
    type_and_enter(&mut h, PASSCODE);
    settle(&mut h);
    assert!(matches!(
        &outbox(&mut h)[..],
        [Command::SignIn { name, .. }] if name == "Tess"
    ));
    assert_eq!(h.state().state.operator.as_deref(), Some("Tess"));
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
    // The key waits for its touch: the prompt says so.
    h.state_mut().apply(Event::ResetTouchNeeded);
    h.run_steps(3);
    h.get_by_label("Touch the key now");
    h.get_by_label("Touching it erases every passkey and the PIN on it.");
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
