//! The kiosk's error paths end to end in demo mode: the real engine, the demo's fake tenant
//! and journal, software keys, driven through the UI by accessible labels. A wrong current
//! PIN, a key pulled out at the touch prompt, a key put back while its registration is
//! unsettled and an expired challenge each show the right screen, register nothing twice and
//! lose nothing; the operator's next step then finishes.
//!
//! The demo's own keys ("Insert a new key") are factory-fresh and cannot be pulled out of a
//! running job, so the tests that need a key kept in, pulled out or put back plug software
//! keys into a `udp:` port the engine polls like a USB port.

mod kit;

use ctap::soft::TouchPolicy;
use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use graph::fake::Faults;
use kit::keys::{key_with_pin, pin_opens, soft_key};
use kit::slot::Slot;
use kit::ui::{
    hand_over, phase, pick, pick_person, settled, signed_in_demo, signed_in_demo_with, wait_until,
};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::api::{OperatorError, PersonStatus, PinRequest, Remedy, Step};
use passkey_kiosk::store::{EnrollmentState, Journal};
use passkey_kiosk::ui::state::{Phase, Screen};
use passkey_kiosk::ui::KioskApp;

/// Pulls the key out and waits until the station has seen it go.
fn pull_out(h: &mut Harness<'_, KioskApp>, port: &Slot) {
    port.unplug();
    wait_until(h, "the key to be seen removed", |a| a.state.key.is_none());
    h.get_by_label("No key inserted");
}

/// Types `pin` into the PIN field and submits it with `button`.
fn type_pin(h: &mut Harness<'_, KioskApp>, pin: &str, button: &str) {
    h.get_by_label("PIN").type_text(pin);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, button).click();
    h.run_steps(2);
}

/// The error page on screen, with its message and remedy.
fn error_page(h: &mut Harness<'_, KioskApp>) -> OperatorError {
    wait_until(h, "the error page", settled);
    let Some(Phase::Failed(error)) = phase(h) else {
        panic!("expected the error page, got {:?}", phase(h));
    };
    h.get_by_label(&error.message);
    h.get_by_label(&format!("What to do: {}", error.remedy.ui()));
    h.get_by_label(&format!("Code: {}", error.code));
    error
}

/// The station refused the key in the reader (a banner with the reason).
fn refused(a: &KioskApp) -> bool {
    let problem = a.state.problem.as_ref();
    problem.is_some_and(|p| p.code == "key-refused")
}

/// The states enrollment `id` went through.
fn states(journal: &Journal, id: i64) -> Vec<EnrollmentState> {
    let states = journal.transitions(id).unwrap();
    states.into_iter().map(|(s, _)| s).collect()
}

#[test]
fn a_wrong_current_pin_shows_the_attempts_left_and_the_right_one_enrolls() {
    let world = DemoWorld::start(None, 20).unwrap();
    let port = Slot::new();
    let mut h = signed_in_demo_with(&world, port.keys());

    // The first person gets a new key.
    let (a_id, a_upn) = pick_person(&mut h, 0);
    let first = soft_key(71_000_001);
    port.insert(Some(first.clone()));
    let a = hand_over(&mut h);
    assert_eq!(a.upn, a_upn);

    // The next person: the key just issued is still in. The station waits for another key
    // (it never issues one person's key to the next)...
    let (b_id, b_upn) = pick_person(&mut h, 0);
    let b_before = world.tenant.registrations(&b_upn).len();
    for _ in 0..100 {
        // A second: a few polls of the port.
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        h.state().state.job.as_ref().map(|j| (&j.phase, j.step)),
        Some((&Phase::Working, Some(Step::WaitingForKey)))
    );
    h.get_by_label("Insert a new security key");
    h.get_by_label_contains("The key in the reader was already used: take it out");
    // ...and, taken out and put back, it is refused with the reason.
    pull_out(&mut h, &port);
    port.insert(Some(first.clone()));
    wait_until(&mut h, "the refusal", refused);
    h.get_by_label_contains(&format!(
        "refused: this key was already issued to {a_upn} (method {})",
        a.method_id
    ));
    // The page under the banner says so too (not "accepted").
    h.run_steps(2);
    h.get_by_label("This key cannot be issued: the reason is in the banner above");
    assert!(h.query_by_label_contains("Key accepted").is_none());
    assert_eq!(first.resident_credentials().len(), 1, "nothing written");
    assert_eq!(first.pin_retries(), 8);
    h.get_by_role_and_label(Role::Button, "Dismiss").click();
    h.run_steps(2);

    // A key that already has a PIN (set elsewhere): the station asks for it.
    let second = key_with_pin(71_000_002, "905127");
    pull_out(&mut h, &port);
    port.insert(Some(second.clone()));
    wait_until(&mut h, "the current PIN prompt", settled);
    assert!(
        matches!(phase(&h), Some(Phase::Pin(PinRequest::Current { .. }))),
        "{:?}",
        phase(&h)
    );
    h.get_by_label("Enter this key's current PIN");
    h.get_by_label("8 attempts left before the key blocks");
    type_pin(&mut h, "111111", "Use PIN");

    // Wrong: the key kept its PIN and says how many attempts are left; the station asks again
    // in the same job. Nothing registered, nothing lost.
    wait_until(&mut h, "the current PIN prompt again", |a| {
        settled(a)
            && matches!(
                a.state.job.as_ref().map(|j| &j.phase),
                Some(Phase::Pin(PinRequest::Current {
                    after_wrong: true,
                    ..
                }))
            )
    });
    h.get_by_label_contains("Wrong PIN: the key kept its PIN");
    h.get_by_label("7 attempts left before the key blocks");
    assert_eq!(world.tenant.registrations(&b_upn).len(), b_before);
    assert!(second.resident_credentials().is_empty());
    assert_eq!(second.pin_retries(), 7);
    {
        let journal = Journal::open(&world.config.journal_path).unwrap();
        let a_rows = journal.enrollments_of(&a_id).unwrap();
        assert_eq!(a_rows.len(), 1, "{a_rows:?}");
        assert_eq!(a_rows[0].state, EnrollmentState::Recorded);
        assert_eq!(a_rows[0].method_id.as_deref(), Some(a.method_id.as_str()));
        let b_rows = journal.enrollments_of(&b_id).unwrap();
        assert_eq!(b_rows.len(), 1, "{b_rows:?}");
        assert_eq!(
            states(&journal, b_rows[0].id),
            [EnrollmentState::KeyReady, EnrollmentState::PinCommitted]
        );
        // The random PIN meant for the key never reached it: not kept, never tried on it.
        assert!(b_rows[0].pin.is_none());
    }

    // The right PIN, with the key still in: the key is issued with a new random PIN.
    type_pin(&mut h, "905127", "Use PIN");
    let b = hand_over(&mut h);
    assert_eq!(b.upn, b_upn);
    let b_pin = b.pin.clone().unwrap();
    assert_ne!(b_pin.expose(), "905127");
    let methods = world.tenant.registrations(&b_upn);
    assert_eq!(methods.len(), b_before + 1, "{methods:?}");
    assert!(methods.iter().any(|m| m.id == b.method_id));

    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let b_rows = journal.enrollments_of(&b_id).unwrap();
    assert_eq!(
        b_rows.last().map(|e| (e.state, e.method_id.clone())),
        Some((EnrollmentState::Recorded, Some(b.method_id.clone())))
    );
    let a_rows = journal.enrollments_of(&a_id).unwrap();
    assert_eq!(a_rows.len(), 1);
    assert_eq!(a_rows[0].state, EnrollmentState::Recorded);
    let csv = std::fs::read_to_string(world.dir.join("keysRegistered.csv")).unwrap();
    assert!(
        csv.contains(&a.method_id) && csv.contains(&b.method_id),
        "{csv}"
    );
    assert!(
        pin_opens(&second, b_pin.expose()),
        "the shown PIN is the key's"
    );
}

#[test]
fn a_key_pulled_out_at_the_touch_prompt_loses_nothing_and_put_back_finishes() {
    let world = DemoWorld::start(None, 20).unwrap();
    let port = Slot::new();
    let mut h = signed_in_demo_with(&world, port.keys());
    let (user_id, upn) = pick_person(&mut h, 2);
    let before = world.tenant.registrations(&upn).len();

    // Nobody touches the key: the station waits at the touch prompt, the PIN already set.
    let key = soft_key(72_000_001);
    key.touch().set(TouchPolicy::Never);
    port.insert(Some(key.clone()));
    wait_until(&mut h, "the touch prompt", |a| {
        matches!(a.state.job.as_ref().map(|j| &j.phase), Some(Phase::Touch))
    });
    h.get_by_label("Touch the key now");
    let pin = {
        let journal = Journal::open(&world.config.journal_path).unwrap();
        let row = journal.enrollments_of(&user_id).unwrap().pop().unwrap();
        assert_eq!(row.state, EnrollmentState::PinSet);
        row.pin
            .expect("the random PIN is in the journal before the key has it")
    };

    // Pulled out: the error names it and says what to do; nothing is registered.
    pull_out(&mut h, &port);
    let error = error_page(&mut h);
    assert_eq!(error.code, "key-removed");
    assert_eq!(error.remedy, Remedy::ReinsertKey, "{error:?}");
    assert!(error.retry_possible);
    h.get_by_role_and_label(Role::Button, "Retry");
    assert_eq!(world.tenant.registrations(&upn).len(), before);
    assert!(key.resident_credentials().is_empty());
    // The journal says where it stopped, and keeps the PIN the key now has.
    {
        let journal = Journal::open(&world.config.journal_path).unwrap();
        let row = journal.enrollments_of(&user_id).unwrap().pop().unwrap();
        assert_eq!(
            states(&journal, row.id),
            [
                EnrollmentState::KeyReady,
                EnrollmentState::PinCommitted,
                EnrollmentState::PinSet,
                EnrollmentState::Failed
            ]
        );
        assert!(row
            .last_error
            .as_deref()
            .unwrap()
            .contains(&error.remedy.ui()));
        assert!(
            row.pin.as_ref().is_some_and(|p| p.as_str() == pin.as_str()),
            "the journal lost the PIN the key has"
        );
    }

    // Put back and Retry: the same key finishes, its PIN opened with the journal's copy.
    key.touch().set(TouchPolicy::Immediate);
    port.insert(Some(key.clone()));
    h.get_by_role_and_label(Role::Button, "Retry").click();
    h.run_steps(2);
    let issued = hand_over(&mut h);
    assert_eq!(issued.upn, upn);
    let methods = world.tenant.registrations(&upn);
    assert_eq!(methods.len(), before + 1, "{methods:?}");
    assert!(methods.iter().any(|m| m.id == issued.method_id));
    assert_eq!(key.resident_credentials().len(), 1);
    assert!(pin_opens(&key, issued.pin.unwrap().expose()));
    drop(h);
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let rows = journal.enrollments_of(&user_id).unwrap();
    assert_eq!(
        rows.iter().map(|e| e.state).collect::<Vec<_>>(),
        [EnrollmentState::Failed, EnrollmentState::Recorded],
        "{rows:?}"
    );
    assert_eq!(
        rows[1].method_id.as_deref(),
        Some(issued.method_id.as_str())
    );
}

#[test]
fn a_key_whose_registration_is_unsettled_is_not_issued_to_someone_else() {
    let world = DemoWorld::start(None, 20).unwrap();
    let port = Slot::new();
    let mut h = signed_in_demo_with(&world, port.keys());
    let (a_id, _) = pick_person(&mut h, 0);
    let key = soft_key(73_000_001);
    port.insert(Some(key.clone()));
    // Graph fails the registration: Graph may hold the passkey, the enrollment stays open.
    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    let error = error_page(&mut h);
    assert!(error.retry_possible, "{error:?}");
    let a_pin = {
        let journal = Journal::open(&world.config.journal_path).unwrap();
        let row = journal.enrollments_of(&a_id).unwrap().pop().unwrap();
        assert_eq!(row.state, EnrollmentState::Registering);
        row.pin.unwrap()
    };
    h.get_by_role_and_label(Role::Button, "Back to the queue")
        .click();
    wait_until(&mut h, "the queue", |a| a.state.screen() == Screen::Queue);

    // The next person, and the same key put back: refused, and nothing is done to it.
    let (b_id, _) = pick_person(&mut h, 0);
    pull_out(&mut h, &port);
    port.insert(Some(key.clone()));
    wait_until(&mut h, "the refusal", refused);
    h.get_by_label_contains("refused: this key's enrollment of ");
    assert_eq!(
        h.state().state.job.as_ref().map(|j| (&j.phase, j.step)),
        Some((&Phase::Working, Some(Step::WaitingForKey)))
    );
    let journal = Journal::open(&world.config.journal_path).unwrap();
    assert!(journal.enrollments_of(&b_id).unwrap().is_empty());
    assert_eq!(key.resident_credentials().len(), 1);
    assert!(pin_opens(&key, &a_pin), "the key keeps its PIN");
}

#[test]
fn an_expired_challenge_is_refreshed_before_the_key_is_used() {
    let world = DemoWorld::start(None, 20).unwrap();
    // An old prefetch: this person's queued challenge expired ten minutes ago.
    let stale = {
        let mut journal = Journal::open(&world.config.journal_path).unwrap();
        let mut q = journal.queue().unwrap().remove(3);
        let past = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
        q.challenge.expires_at = Some(past.unix_timestamp());
        journal.upsert_queue(std::slice::from_ref(&q)).unwrap();
        q
    };
    let before = world.tenant.registrations(&stale.upn).len();
    let mut h = signed_in_demo(&world);
    let person = h
        .state()
        .state
        .queue
        .by_user_id(&stale.user_id)
        .cloned()
        .unwrap();
    assert_eq!(person.status, PersonStatus::Waiting);
    pick(&mut h, &person);
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    let issued = hand_over(&mut h);
    assert_eq!(issued.upn, stale.upn);
    // The fake tenant accepted the registration (it checks the challenge is one it issued,
    // unexpired and unused)...
    let methods = world.tenant.registrations(&stale.upn);
    assert_eq!(methods.len(), before + 1, "{methods:?}");
    assert!(methods.iter().any(|m| m.id == issued.method_id));

    drop(h);
    // ...made with the fresh challenge, which the journal's queue now holds.
    let journal = Journal::open(&world.config.journal_path).unwrap();
    let fresh = journal.queued_user(&stale.user_id).unwrap().unwrap();
    assert!(
        fresh.challenge != stale.challenge,
        "the queue still holds the expired challenge"
    );
    assert!(passkey_kiosk::engine::options::challenge_still_valid(
        &fresh
    ));
    let row = journal
        .enrollments_of(&stale.user_id)
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(row.state, EnrollmentState::Recorded);
    let client_data = String::from_utf8(row.client_data_json.unwrap()).unwrap();
    assert!(
        client_data.contains(&fresh.challenge.options.challenge),
        "{client_data}"
    );
    // One registration attempt, accepted: no expired challenge was ever sent.
    let registers: Vec<_> = journal
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "register" && e.subject.as_deref() == Some(&stale.upn))
        .map(|e| e.result)
        .collect();
    assert_eq!(registers, ["ok"]);
}
