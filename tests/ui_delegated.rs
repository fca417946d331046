//! Delegated operator sign-in (device code): the sign-in screen shows the code and address with
//! a countdown, failures with their ids, the operator's UPN after approval, and the idle lock
//! signs the operator out. End to end in demo mode: the fake tenant approves after a few polls,
//! the engine starts with the operator's token, and an enrollment's audit entries carry the
//! operator's UPN.

mod kit;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use kit::desk::{delegated_sign_in, desk_audit, outbox};
use kit::ui::*;
use passkey_kiosk::cli::kiosk::{delegated_link, waker, DemoWorld};
use passkey_kiosk::engine::api::{CheckKind, Command, Event, OperatorError, PersonStatus, Remedy};
use passkey_kiosk::store::Journal;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::{Phase, Screen};
use passkey_kiosk::ui::{KioskApp, State};

fn delegated_station() -> Harness<'static, KioskApp> {
    let mut h = station_with(OperatorAuth::Delegated, false, people(10));
    go(&mut h);
    h
}

#[test]
fn sign_in_screen_shows_code_address_and_countdown_then_the_operator() {
    let mut h = delegated_station();
    assert_eq!(h.state().state.screen(), Screen::SignIn);
    h.get_by_role_and_label(Role::Button, "Sign in with Entra ID")
        .click();
    go(&mut h);
    assert_eq!(outbox(&mut h), vec![Command::StartDelegatedSignIn]);
    h.get_by_label("Asking Entra ID for a sign-in code…");

    h.state_mut().apply(Event::DeviceCode {
        user_code: "GQ7WZ2K4B".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        expires_at: NOW + 899,
        message: "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code GQ7WZ2K4B to authenticate.".into(),
    });
    go(&mut h);
    h.get_by_label("GQ7WZ2K4B");
    h.get_by_label("https://microsoft.com/devicelogin");
    h.get_by_label("Code expires in 14:59");

    h.state_mut().apply(Event::SignedIn {
        operator: "kiosk.admin@contoso.example".into(),
    });
    go(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);
    h.get_by_label("Operator: kiosk.admin@contoso.example");
}

#[test]
fn cancel_expiry_and_failure_with_ids() {
    let mut h = delegated_station();
    h.get_by_role_and_label(Role::Button, "Sign in with Entra ID")
        .click();
    go(&mut h);
    h.state_mut().apply(Event::DeviceCode {
        user_code: "ABCD".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        expires_at: NOW + 30,
        message: String::new(),
    });
    go(&mut h);
    h.get_by_label("Code expires in 0:30");
    h.get_by_role_and_label(Role::Button, "Cancel sign-in")
        .click();
    go(&mut h);
    assert_eq!(
        outbox(&mut h),
        vec![
            Command::StartDelegatedSignIn,
            Command::CancelDelegatedSignIn
        ]
    );
    h.get_by_role_and_label(Role::Button, "Sign in with Entra ID");

    // A code whose time is up offers a new one.
    h.state_mut().apply(Event::DeviceCode {
        user_code: "ABCD".into(),
        verification_uri: "https://microsoft.com/devicelogin".into(),
        expires_at: NOW - 1,
        message: String::new(),
    });
    go(&mut h);
    h.get_by_label("The sign-in code expired before it was used.");
    h.get_by_role_and_label(Role::Button, "Get a new code")
        .click();
    go(&mut h);
    assert_eq!(
        outbox(&mut h),
        vec![
            Command::CancelDelegatedSignIn,
            Command::StartDelegatedSignIn
        ]
    );

    // Declined: the message with its AADSTS code and trace id, and the way on.
    let message = "the sign-in was declined (the operator chose not to continue, or a policy blocked it); start a new sign-in to try again (HTTP 400, authorization_declined, AADSTS70020, trace id 0b5e, correlation id 77aa)";
    h.state_mut().apply(Event::SignInFailed(OperatorError {
        code: "sign-in-declined".into(),
        message: message.into(),
        remedy: Remedy::Text("choose \"Sign in with Entra ID\" to get a new code".into()),
        request_id: None,
        retry_possible: true,
    }));
    go(&mut h);
    h.get_by_label(message);
    h.get_by_label("Code: sign-in-declined");
    assert_eq!(h.state().state.screen(), Screen::SignIn);
    h.get_by_role_and_label(Role::Button, "Sign in with Entra ID");
}

#[test]
fn locking_a_delegated_station_signs_the_operator_out() {
    let mut h = delegated_station();
    delegated_sign_in(&mut h, "kiosk.admin@contoso.example");
    go(&mut h);
    h.get_by_role_and_label(Role::Button, "Lock").click();
    go(&mut h);
    assert_eq!(outbox(&mut h), vec![Command::Lock]);
    assert_eq!(h.state().state.operator, None);
    assert_eq!(h.state().state.screen(), Screen::SignIn);
    h.get_by_label("The station was locked: the last operator was signed out.");
    // Audited as for app-only operators: the sign-in, the lock, the sign-out it caused.
    let admin = "kiosk.admin@contoso.example".to_owned();
    assert_eq!(
        desk_audit(),
        [
            (admin.clone(), "sign-in".into(), "ok".into()),
            (admin.clone(), "lock".into(), "ok".into()),
            (admin, "sign-out".into(), "ok".into()),
        ]
    );
    // Signed out, no way out of full screen on the sign-in screen.
    assert!(h.query_by_role_and_label(Role::Button, "Exit").is_none());
}

#[test]
fn demo_device_code_sign_in_then_an_enrollment_audited_under_the_operator() {
    let world = DemoWorld::start_delegated(None, 12, 1).unwrap();
    assert!(world.config.client_id.len() > 10);
    let admin = world.tenant.admin().expect("the fake's administrator");
    let mut graph = None;
    let mut h = kiosk(|ctx| {
        let setup = world.engine_setup(waker(ctx)).unwrap();
        graph = Some(setup.graph.clone());
        let state = State::new(OperatorAuth::Delegated, true);
        KioskApp::new(ctx, state, Some(delegated_link(setup).unwrap()))
    });
    let graph = graph.expect("the station's Graph client");
    wait_until(&mut h, "the sign-in screen", |a| {
        a.state.screen() == Screen::SignIn
    });
    h.get_by_role_and_label(Role::Button, "Sign in with Entra ID")
        .click();
    wait_until(&mut h, "the device code", |a| {
        a.state.sign_in.delegated.code.is_some()
    });
    let code = h.state().state.sign_in.delegated.code.clone().unwrap();
    assert_eq!(code.verification_uri, "https://microsoft.com/devicelogin");
    h.get_by_label(&code.user_code);
    h.get_by_label("https://microsoft.com/devicelogin");

    // The fake approves on the third poll; then the engine starts with the operator's token.
    wait_until(&mut h, "the queue after approval", |a| {
        a.state.screen() == Screen::Queue && !a.state.queue.is_empty()
    });
    assert_eq!(
        h.state().state.operator.as_deref(),
        Some(admin.upn.as_str())
    );
    assert!(
        h.state()
            .state
            .checks
            .as_ref()
            .is_some_and(|c| c.iter().any(|c| c.kind == CheckKind::SignIn && c.ok)),
        "{:?}",
        h.state().state.checks
    );
    h.get_by_label(&format!("Operator: {}", admin.upn));

    // Enroll one person.
    let (user_id, upn, name) = {
        let q = &h.state().state.queue;
        let p = q
            .matches()
            .iter()
            .filter_map(|&i| q.person(i))
            .find(|p| matches!(p.status, PersonStatus::Ready | PersonStatus::Waiting))
            .expect("someone to enroll");
        (p.user_id.clone(), p.upn.clone(), p.display_name.clone())
    };
    h.get_by_label("Find a person").focus();
    h.run_steps(2);
    h.get_by_label("Find a person").type_text(&name);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, &name).click();
    wait_until(&mut h, "the wizard", |a| a.state.screen() == Screen::Wizard);
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the done page", |a| {
        matches!(
            a.state.job.as_ref().map(|j| &j.phase),
            Some(Phase::Done(_) | Phase::Failed(_))
        )
    });
    let phase = h.state().state.job.as_ref().map(|j| j.phase.clone());
    let Some(Phase::Done(issued)) = phase else {
        panic!("expected the done page, got {phase:?}");
    };
    assert!(world
        .tenant
        .registrations(&upn)
        .iter()
        .any(|m| m.id == issued.method_id));

    // Locking signs out: the station's Graph client holds no token any more.
    h.get_by_role_and_label(Role::Button, "Reveal PIN").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "Next person").click();
    wait_until(&mut h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
    h.get_by_role_and_label(Role::Button, "Lock").click();
    wait_until(&mut h, "signed out", |a| a.state.screen() == Screen::SignIn);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while rt.block_on(graph.signed_in_account()).is_some() {
        assert!(Instant::now() < deadline, "tokens were not dropped");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(matches!(
        rt.block_on(graph.sign_in()),
        Err(graph::Error::NotSignedIn)
    ));

    // The audit log names the operator on the enrollment's entries.
    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let log = journal.audit_log().unwrap();
    let mine: Vec<_> = log
        .iter()
        .filter(|e| e.subject.as_deref() == Some(upn.as_str()))
        .collect();
    assert!(
        !mine.is_empty(),
        "no audit entry for {upn} ({user_id}): {log:?}"
    );
    assert!(
        mine.iter().all(|e| e.operator == admin.upn),
        "audit entries for {upn}: {mine:?}"
    );
    assert!(mine.iter().any(|e| e.action == "register"), "{mine:?}");
}
