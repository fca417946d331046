//! End to end in demo mode: the real engine, the fake tenant and software keys, driven only
//! through the kiosk UI by accessible labels. Checks that the tenant holds the registration
//! and the journal the record, and that a Graph outage shows the error with Retry and loses
//! nothing.

mod kit;

use std::time::Duration;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use graph::fake::Faults;
use kit::ui::{
    demo_app, demo_at_sign_in, hand_over, kiosk, phase, pick_person, settled, signed_in_demo,
    type_and_enter, wait_until,
};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::api::{Command, Event, PersonStatus};
use passkey_kiosk::engine::Engine;
use passkey_kiosk::engine::KeySource;
use passkey_kiosk::store::{EnrollmentState, Journal};
use passkey_kiosk::ui::screens::queue::REFRESH;
use passkey_kiosk::ui::state::{Phase, Screen};

#[test]
fn demo_wizard_issues_a_key_that_the_tenant_and_journal_hold() {
    let world = DemoWorld::start(None, 20).unwrap();
    let mut h = signed_in_demo(&world);
    let (user_id, upn) = pick_person(&mut h, 0);
    let before = world.tenant.registrations(&upn).len();

    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    let issued = hand_over(&mut h);
    assert_eq!(issued.upn, upn);

    // The fake tenant holds the registration...
    let methods = world.tenant.registrations(&upn);
    assert_eq!(
        methods.len(),
        before + 1,
        "registrations of {upn}: {methods:?}"
    );
    assert!(methods.iter().any(|m| m.id == issued.method_id));

    // ...and the journal the record (dropping the harness stops the engine after in-flight work).
    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let rows = journal.enrollments_of(&user_id).unwrap();
    let row = rows
        .iter()
        .find(|e| e.state == EnrollmentState::Recorded)
        .unwrap_or_else(|| panic!("no recorded enrollment: {rows:?}"));
    assert_eq!(row.method_id.as_deref(), Some(issued.method_id.as_str()));
    let csv = std::fs::read_to_string(world.dir.join("keysRegistered.csv")).unwrap();
    assert!(csv.contains(&upn), "keysRegistered.csv lacks {upn}:\n{csv}");
}

#[test]
fn the_keyboard_alone_issues_a_key_and_hands_over_its_pin() {
    let world = DemoWorld::start(None, 20).unwrap();
    let mut h = demo_at_sign_in(&world, KeySource::Soft);
    // Enter signs in (the demo fills in the operator name).
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the queue", |a| {
        a.state.screen() == Screen::Queue && !a.state.queue.is_empty()
    });
    let person = {
        let q = &h.state().state.queue;
        q.matches()
            .iter()
            .filter_map(|&i| q.person(i))
            .find(|p| p.status == PersonStatus::Ready)
            .cloned()
            .expect("someone ready")
    };
    let before = world.tenant.registrations(&person.upn).len();
    // The search has the cursor: the UPN and Enter (as typed or scanned) open the wizard.
    type_and_enter(&mut h, &person.upn);
    wait_until(&mut h, "the wizard", |a| a.state.screen() == Screen::Wizard);
    // Plugging the key in is the one thing no keyboard does.
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the done page", settled);
    let Some(Phase::Done(issued)) = phase(&h) else {
        panic!("expected the done page, got {:?}", phase(&h));
    };
    let pin = issued.pin.clone().expect("the demo uses random PINs");
    let spaced: Vec<String> = pin.expose().chars().map(String::from).collect();
    // Enter reveals the PIN, and the next Enter moves on to the next person.
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    h.get_by_label(&spaced.join(" "));
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
    let methods = world.tenant.registrations(&person.upn);
    assert_eq!(methods.len(), before + 1, "{methods:?}");
    assert!(methods.iter().any(|m| m.id == issued.method_id));
    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let rows = journal.enrollments_of(&person.user_id).unwrap();
    assert!(
        rows.iter().any(|e| e.state == EnrollmentState::Recorded
            && e.method_id.as_deref() == Some(issued.method_id.as_str())),
        "{rows:?}"
    );
}

#[test]
fn graph_503_shows_the_error_with_retry_and_retry_finishes() {
    let world = DemoWorld::start(None, 20).unwrap();
    let mut h = signed_in_demo(&world);
    let (_, upn) = pick_person(&mut h, 1);
    // Some generated people already have a key: count only what this enrollment adds.
    let before = world.tenant.registrations(&upn).len();
    // Every Graph request now fails with a 5xx until the tenant recovers.
    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the error page", settled);
    let Some(Phase::Failed(error)) = phase(&h) else {
        panic!("expected the error page, got {:?}", phase(&h));
    };
    assert!(error.retry_possible, "{error:?}");
    h.get_by_label(&error.message);
    assert_eq!(world.tenant.registrations(&upn).len(), before, "{error:?}");

    world.tenant.set_faults(Faults::default());
    h.get_by_role_and_label(Role::Button, "Retry").click();
    wait_until(&mut h, "the page after Retry", |a| {
        match a.state.job.as_ref().map(|j| &j.phase) {
            Some(Phase::Done(_) | Phase::Pin(_)) => true,
            Some(Phase::Failed(e)) => e != &error,
            _ => false,
        }
    });
    let Some(Phase::Done(issued)) = phase(&h) else {
        panic!("expected the done page after Retry, got {:?}", phase(&h));
    };
    assert!(issued.pin.is_some(), "the random PIN survives the outage");
    // Settling the earlier attempt must not pull the operator to the start-up recovery screen.
    assert_eq!(h.state().state.screen(), Screen::Wizard);
    h.get_by_role_and_label(Role::Button, "Reveal PIN");
    let after = world.tenant.registrations(&upn);
    assert_eq!(after.len(), before + 1, "registered once: {after:?}");
    assert!(after.iter().any(|m| m.id == issued.method_id));
}

#[test]
fn history_lists_what_a_previous_run_of_the_station_issued() {
    let world = DemoWorld::start(None, 6).unwrap();
    // A previous run: the engine alone issues a key to the first person, then stops.
    let person = Journal::open(&world.config.journal_path)
        .unwrap()
        .queue()
        .unwrap()
        .remove(0);
    let issued = {
        let engine =
            Engine::start(world.engine_setup(std::sync::Arc::new(|| {})).unwrap()).unwrap();
        engine.send(Command::Enroll {
            user_id: person.user_id.clone(),
        });
        engine.send(Command::InsertSoftKey);
        loop {
            match engine
                .recv_timeout(Duration::from_secs(60))
                .expect("an event")
            {
                Event::Finished { issued, .. } => break issued,
                Event::Failed { error, .. } => panic!("{error:?}"),
                _ => {}
            }
        }
    };

    // This run: the history screen shows it, from the journal.
    let mut h = signed_in_demo(&world);
    wait_until(&mut h, "the journal's history", |a| {
        !a.state.history.is_empty()
    });
    h.get_by_role_and_label(Role::Button, "History").click();
    wait_until(&mut h, "the history screen", |a| {
        a.state.screen() == Screen::History
    });
    h.get_by_label(&person.upn);
    h.get_by_label(&person.display_name);
    h.get_by_label(issued.serial.as_deref().expect("soft keys have serials"));
    h.get_by_label(&format!("key issued (method {})", issued.method_id));
    let pin = issued.pin.expect("random PIN");
    assert!(
        h.query_by_label_contains(pin.expose()).is_none(),
        "no PIN on the history screen"
    );
}

#[test]
fn refresh_fetches_the_queue_live_from_the_group_with_a_status_line() {
    // The journal was prefetched without nested groups; the station's config now includes
    // them, so a live refresh brings the nested group's people in.
    let mut world = DemoWorld::start(None, 8).unwrap();
    world.config.include_nested_groups = true;
    let before: Vec<String> = Journal::open(&world.config.journal_path)
        .unwrap()
        .queue()
        .unwrap()
        .into_iter()
        .map(|q| q.user_id)
        .collect();
    let newcomers: Vec<_> = world
        .tenant
        .users()
        .into_iter()
        .filter(|u| !u.is_guest && !before.contains(&u.id))
        .collect();
    assert!(!newcomers.is_empty(), "the nested group has people");
    let mut h = signed_in_demo(&world);
    assert_eq!(h.state().state.queue.len(), before.len());
    h.get_by_label_contains(&format!("{0} shown of {0}", before.len()));

    // Slow Graph down so the refresh is seen running.
    world.tenant.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    h.get_by_role_and_label(Role::Button, REFRESH).click();
    wait_until(&mut h, "the refresh running", |a| {
        a.state.queue_refresh.running
    });
    h.get_by_label_contains("Fetching the queue from the group");
    assert!(h
        .get_by_role_and_label(Role::Button, REFRESH)
        .accesskit_node()
        .is_disabled());
    world.tenant.set_faults(Faults::default());

    wait_until(&mut h, "the refresh's outcome", |a| {
        !a.state.queue_refresh.running && a.state.queue_refresh.last.is_some()
    });
    let all = before.len() + newcomers.len();
    h.get_by_label_contains(&format!(
        "Queue refreshed from {}: {all} people updated, {} new",
        world.tenant.group_name(),
        newcomers.len()
    ));
    h.get_by_label_contains(&format!("{all} shown of {all}"));
    assert!(!h
        .get_by_role_and_label(Role::Button, REFRESH)
        .accesskit_node()
        .is_disabled());
    assert_eq!(h.state().state.problem, None);

    // A newcomer can be found and chosen like everyone else.
    let newcomer = &newcomers[0];
    let person = h
        .state()
        .state
        .queue
        .by_user_id(&newcomer.id)
        .cloned()
        .expect("the newcomer is in the queue");
    assert_eq!(person.status, PersonStatus::Ready);
    h.get_by_label("Find a person").focus();
    h.run_steps(2);
    h.get_by_label("Find a person")
        .type_text(&newcomer.display_name);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, &newcomer.display_name);
    h.get_by_label(&newcomer.upn);
}

#[test]
fn the_engine_signs_in_locks_unlocks_and_exits_with_the_passcode_and_audits_each_step() {
    use passkey_kiosk::ui::operator::OperatorAuth;

    let world = DemoWorld::start(None, 5).unwrap();
    let auth = OperatorAuth::AppOnly {
        passcode_hash: Some(kit::ui::test_hash("2468 open")),
    };
    let mut h = kiosk(|ctx| {
        demo_app(ctx, &world, auth.clone(), |s| {
            s.operator_auth = auth.clone()
        })
    });
    wait_until(&mut h, "sign-in", |a| a.state.screen() == Screen::SignIn);
    type_and_enter(&mut h, "Tess");
    type_and_enter(&mut h, "2468 open");
    wait_until(&mut h, "the queue", |a| a.state.screen() == Screen::Queue);
    assert_eq!(h.state().state.operator.as_deref(), Some("Tess"));

    h.get_by_role_and_label(Role::Button, "Lock").click();
    wait_until(&mut h, "locked", |a| a.state.locked);
    h.get_by_label("Passcode").focus();
    type_and_enter(&mut h, "2468 opem");
    wait_until(&mut h, "the refusal", |a| a.state.sign_in.error.is_some());
    assert_eq!(h.state().state.screen(), Screen::Lock);
    h.get_by_label("Passcode").focus();
    type_and_enter(&mut h, "2468 open");
    wait_until(&mut h, "unlocked", |a| a.state.screen() == Screen::Queue);

    h.get_by_role_and_label(Role::Button, "Exit").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Exit the station")
        .click();
    wait_until(&mut h, "exit accepted", |a| a.state.exit_chosen);
    drop(h);

    let audit = Journal::open(&world.config.journal_path)
        .unwrap()
        .audit_log()
        .unwrap();
    let mine: Vec<_> = audit
        .iter()
        .filter(|a| a.subject.as_deref() == Some("Tess"))
        .map(|a| (a.operator.as_str(), a.action.as_str(), a.result.as_str()))
        .collect();
    assert_eq!(
        mine,
        [
            ("Tess", "sign-in", "ok"),
            ("Tess", "lock", "ok"),
            (
                "Tess",
                "unlock-refused",
                "wrong passcode (1 consecutive failures)"
            ),
            ("Tess", "unlock", "ok"),
            ("Tess", "exit", "ok"),
        ]
    );
}
