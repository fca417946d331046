//! Wizard pages driven by hand-made engine events; assertions on the commands sent.

mod kit;

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use kit::desk::outbox;
use kit::ui::*;
use passkey_kiosk::engine::api::{
    Command, Event, Issued, JobId, OperatorError, Pin, PinRequest, Remedy, Step,
};
use passkey_kiosk::keys::PinState;
use passkey_kiosk::ui::state::Screen;

#[test]
fn pin_pad_enforces_the_minimum_length_before_sending() {
    let mut h = station_in_job(Step::SettingPin);
    h.state_mut().apply(Event::PinNeeded {
        job: JobId(7),
        request: PinRequest::New { min_length: 6 },
    });
    go(&mut h);
    for d in ["1", "2", "3", "4", "5"] {
        h.get_by_role_and_label(Role::Button, d).click();
        go(&mut h);
    }
    let set = h.get_by_role_and_label(Role::Button, "Set PIN");
    assert!(set.accesskit_node().is_disabled());
    set.click();
    h.key_press(egui::Key::Enter);
    go(&mut h);
    assert!(outbox(&mut h).is_empty(), "a 5-digit PIN must not be sent");
    h.get_by_role_and_label(Role::Button, "9").click();
    go(&mut h);
    h.get_by_role_and_label(Role::Button, "Set PIN").click();
    go(&mut h);
    assert_eq!(
        outbox(&mut h),
        vec![Command::ProvidePin {
            job: JobId(7),
            pin: Pin::new("123459"),
        }]
    );
    assert!(h.state().state.pin_entry.is_empty(), "typed PIN is cleared");
}

#[test]
fn touch_prompt_cancel_sends_cancel() {
    let mut h = station_in_job(Step::CreatingPasskey);
    h.state_mut().apply(Event::TouchNeeded { job: JobId(7) });
    go(&mut h);
    h.get_by_label("Touch the key now");
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    go(&mut h);
    assert_eq!(outbox(&mut h), vec![Command::Cancel { job: JobId(7) }]);
    h.get_by_label("Cancelling…");
}

#[test]
fn graph_error_shows_request_id_and_retry() {
    let mut h = station_in_job(Step::Registering);
    h.state_mut().apply(Event::Failed {
        job: JobId(7),
        error: OperatorError {
            code: "graph-503".into(),
            message: "Microsoft Graph is unavailable (503)".into(),
            remedy: Remedy::RetryLater,
            request_id: Some("3f6b0c1e-aaaa-bbbb-cccc-000000000503".into()),
            retry_possible: true,
        },
    });
    go(&mut h);
    h.get_by_label("Microsoft Graph is unavailable (503)");
    h.get_by_label("3f6b0c1e-aaaa-bbbb-cccc-000000000503");
    h.get_by_label("What to do: Wait a minute, then press Retry");
    // Retry is the keyboard's default: Enter does it.
    assert!(h.get_by_role_and_label(Role::Button, "Retry").is_focused());
    h.key_press(egui::Key::Enter);
    go(&mut h);
    assert_eq!(outbox(&mut h), vec![Command::Retry { job: JobId(7) }]);
}

#[test]
fn error_without_retry_offers_only_the_way_back() {
    let mut h = station_in_job(Step::CheckingKey);
    h.state_mut().apply(Event::Failed {
        job: JobId(7),
        error: OperatorError {
            code: "key-removed".into(),
            message: "The key was removed".into(),
            remedy: Remedy::ReinsertKey,
            request_id: None,
            retry_possible: false,
        },
    });
    go(&mut h);
    assert!(h.query_by_role_and_label(Role::Button, "Retry").is_none());
    assert!(h
        .get_by_role_and_label(Role::Button, "Back to the queue")
        .is_focused());
    h.key_press(egui::Key::Enter);
    go(&mut h);
    assert_eq!(h.state().state.screen(), Screen::Queue);
}

#[test]
fn done_reveal_then_next_sends_pin_delivered() {
    let mut h = station_in_job(Step::Recording);
    h.state_mut().apply(Event::Finished {
        job: JobId(7),
        issued: Issued {
            upn: "user1@contoso.com".into(),
            method_id: "method-1".into(),
            serial: Some("12345678".into()),
            pin: Some(Pin::new("482915")),
        },
    });
    go(&mut h);
    assert!(
        h.query_by_label("4 8 2 9 1 5").is_none(),
        "PIN hidden until revealed"
    );
    assert!(h
        .get_by_role_and_label(Role::Button, "Next person")
        .accesskit_node()
        .is_disabled());
    h.get_by_role_and_label(Role::Button, "Reveal PIN").click();
    go(&mut h);
    h.get_by_label("4 8 2 9 1 5");
    h.get_by_label("Remove the key and give it to the person.");
    h.get_by_role_and_label(Role::Button, "Next person").click();
    go(&mut h);
    assert_eq!(
        outbox(&mut h),
        vec![Command::PinDelivered { job: JobId(7) }]
    );
    assert_eq!(h.state().state.screen(), Screen::Queue);
}

#[test]
fn unsuitable_key_is_refused_with_the_reason() {
    let mut h = station_in_job(Step::CheckingKey);
    let mut key = good_key();
    key.resident_keys = false;
    key.pin = PinState::Set;
    h.state_mut().apply(Event::KeyInserted(key));
    go(&mut h);
    h.get_by_label_contains("This key cannot be issued: this key cannot store passkeys");
    h.get_by_label("12345678");
    h.get_by_label("0bb4a0a6-0000-4000-8000-000000000001");
}

/// The state each step of the step bar says it is in, in order.
fn step_states(h: &egui_kittest::Harness<'static, passkey_kiosk::ui::KioskApp>) -> Vec<String> {
    (1..=6)
        .map(|n| {
            let prefix = format!("{n}. ");
            let step = h.get_by_label_contains(&prefix);
            let node = step.accesskit_node();
            // egui gives a label's text as its value.
            let label = node.label().or_else(|| node.value()).unwrap_or_default();
            label
                .rsplit_once(": ")
                .map(|(_, s)| s.to_owned())
                .unwrap_or(label)
        })
        .collect()
}

#[test]
fn step_bar_follows_progress() {
    let mut h = station_in_job(Step::SettingPin);
    h.get_by_label("3. PIN: current");
    let failure = OperatorError {
        code: "graph".into(),
        message: "Graph refused the key".into(),
        remedy: Remedy::Retry,
        request_id: None,
        retry_possible: true,
    };
    let moves = [
        (None, ["done", "done", "current", "to do", "to do", "to do"]),
        (
            Some(Event::Progress {
                job: JobId(7),
                user_id: "id-1".into(),
                step: Step::Registering,
            }),
            ["done", "done", "done", "done", "current", "to do"],
        ),
        // A failure marks the step it happened at, not the next one.
        (
            Some(Event::Failed {
                job: JobId(7),
                error: failure,
            }),
            ["done", "done", "done", "done", "failed", "to do"],
        ),
    ];
    for (event, states) in moves {
        if let Some(event) = event {
            h.state_mut().apply(event.clone());
            go(&mut h);
            assert_eq!(step_states(&h), states, "after {event:?}");
        } else {
            assert_eq!(step_states(&h), states);
        }
    }
}

#[test]
fn current_pin_request_shows_retries_left_and_sends_the_typed_pin() {
    let mut h = station_in_job(Step::SettingPin);
    h.state_mut().apply(Event::PinNeeded {
        job: JobId(7),
        request: PinRequest::Current {
            retries_left: Some(2),
            after_wrong: false,
        },
    });
    go(&mut h);
    h.get_by_label("Enter this key's current PIN");
    h.get_by_label("2 attempts left before the key blocks");
    assert!(h.query_by_label_contains("Wrong PIN").is_none());
    // Typed on the keyboard into the masked field (which has the focus).
    h.get_by_label("PIN").type_text("8642");
    go(&mut h);
    h.get_by_role_and_label(Role::Button, "Use PIN").click();
    go(&mut h);
    assert_eq!(
        outbox(&mut h),
        vec![Command::ProvidePin {
            job: JobId(7),
            pin: Pin::new("8642"),
        }]
    );

    // The key said it was wrong: asked again in the same job, saying so.
    h.state_mut().apply(Event::PinNeeded {
        job: JobId(7),
        request: PinRequest::Current {
            retries_left: Some(1),
            after_wrong: true,
        },
    });
    go(&mut h);
    h.get_by_label_contains("Wrong PIN: the key kept its PIN");
    h.get_by_label("1 attempts left before the key blocks");
}

#[test]
fn key_removed_mid_way_shows_the_error_and_the_key_line_updates() {
    let mut h = station_in_job(Step::CreatingPasskey);
    h.state_mut().apply(Event::KeyRemoved);
    h.state_mut().apply(Event::Failed {
        job: JobId(7),
        error: OperatorError {
            code: "key-removed".into(),
            message: "The key was removed before the passkey was created".into(),
            remedy: Remedy::ReinsertKey,
            request_id: None,
            retry_possible: true,
        },
    });
    go(&mut h);
    h.get_by_label("No key inserted");
    h.get_by_label("The key was removed before the passkey was created");
    h.get_by_role_and_label(Role::Button, "Retry").click();
    go(&mut h);
    assert_eq!(outbox(&mut h), vec![Command::Retry { job: JobId(7) }]);
}
