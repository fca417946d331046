//! The recovery screen: a random PIN a crash left with no one is shown to the operator with
//! the person, behind Reveal; Continue waits until it was shown, and the screen keeps no
//! PIN once left.

mod kit;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use kit::ui::kiosk;
use passkey_kiosk::engine::api::{Event, Pin, Remedy, Unfinished};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::Screen;
use passkey_kiosk::ui::{KioskApp, State};

/// The station at its recovery screen, listing `list`.
fn recovering(list: Vec<Unfinished>) -> Harness<'static, KioskApp> {
    let mut h = kiosk(|ctx| KioskApp::new(ctx, State::new(OperatorAuth::Demo, false), None));
    h.state_mut().apply(Event::StartupChecks(vec![]));
    h.state_mut().apply(Event::Recovered(list));
    h.run();
    assert_eq!(h.state().state.screen(), Screen::Recovery);
    h
}

#[test]
fn a_recovered_pin_is_revealed_with_its_person_then_forgotten() {
    let mut h = recovering(vec![
        Unfinished {
            enrollment_id: 7,
            upn: "grace@contoso.com".into(),
            display_name: Some("Grace Hopper".into()),
            state: "registered".into(),
            resolution: "recorded in keysRegistered.csv".into(),
            remedy: None,
            pin: Some(Pin::new("274913")),
        },
        Unfinished {
            enrollment_id: 8,
            upn: "alan@contoso.com".into(),
            display_name: None,
            state: "key_ready".into(),
            resolution: "interrupted before anything was written to the key".into(),
            remedy: None,
            pin: None,
        },
    ]);
    assert!(h.query_by_label_contains("2 7 4 9 1 3").is_none(), "hidden");
    assert!(h
        .query_by_label_contains("alan@contoso.com never received")
        .is_none());
    h.get_by_label("Reveal the PINs first.");
    h.get_by_role_and_label(Role::Button, "Continue").click();
    h.run();
    assert_eq!(
        h.state().state.screen(),
        Screen::Recovery,
        "not before Reveal"
    );

    h.get_by_label("Grace Hopper (grace@contoso.com)");
    h.get_by_role_and_label(Role::Button, "Reveal PIN of Grace Hopper")
        .click();
    h.run();
    h.get_by_label("Random PIN of Grace Hopper:");
    h.get_by_label("2 7 4 9 1 3");
    h.get_by_role_and_label(Role::Button, "Continue").click();
    h.run();
    assert_ne!(h.state().state.screen(), Screen::Recovery);
    assert!(
        h.state().state.recovered.iter().all(|u| u.pin.is_none()),
        "no PIN kept once the screen is left"
    );
}

/// An enrollment that needs its key again says how to finish it at the station, in the
/// station's words: no command, flag or environment variable.
#[test]
fn the_way_to_finish_is_said_in_the_stations_words() {
    let h = recovering(vec![Unfinished {
        enrollment_id: 9,
        upn: "ada@contoso.com".into(),
        display_name: None,
        state: "pin_set".into(),
        resolution: "interrupted after the PIN of key serial 77000001 was set, before the \
                     passkey was created."
            .into(),
        remedy: Some(Remedy::FinishEnrollment {
            key: "key serial 77000001".into(),
            upn: "ada@contoso.com".into(),
        }),
        pin: None,
    }]);
    h.get_by_label(
        "What to do: Re-insert key serial 77000001 and enroll ada@contoso.com again from the queue",
    );
    for word in ["passkey-kiosk", "--", "PASSKEY_KIOSK"] {
        assert!(
            h.query_by_label_contains(word).is_none(),
            "{word} on screen"
        );
    }
}
