//! *Print letter* on the done page, in demo mode (the real engine, the fake tenant, software
//! keys) driven through the kiosk UI: the letter goes to a stand-in print command on its
//! standard input and holds the PIN the page shows; a failing print command shows its error
//! on the page, and the PIN can still be handed over.

mod kit;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use kit::pdf::{pin_in_letter, text_of_file};
use kit::ui::{demo_app, kiosk, phase, pick_person, settled, wait_until};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::config::PinDelivery;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::{LetterPrint, Phase, Screen};
use passkey_kiosk::ui::KioskApp;

/// A signed-in demo station with PIN letters printed by `print_command`, at the done page of
/// a new key: the PIN shown there.
fn done_page_with_letters<'a>(
    world: &'a DemoWorld,
    print_command: Vec<String>,
) -> (Harness<'a, KioskApp>, String) {
    let mut h = kiosk(|ctx| {
        demo_app(ctx, world, OperatorAuth::Demo, |s| {
            s.config.pin_delivery = Some(PinDelivery::Letter);
            s.config.letter.print_command = print_command;
        })
    });
    wait_until(&mut h, "sign-in", |a| a.state.screen() == Screen::SignIn);
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    wait_until(&mut h, "the queue", |a| {
        a.state.screen() == Screen::Queue && !a.state.queue.is_empty()
    });
    pick_person(&mut h, 0);
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the done page", settled);
    let Some(Phase::Done(issued)) = phase(&h) else {
        panic!("expected the done page, got {:?}", phase(&h));
    };
    let pin = issued
        .pin
        .expect("the demo uses random PINs")
        .expose()
        .to_owned();
    h.get_by_role_and_label(Role::Button, "Reveal PIN").click();
    h.run_steps(3);
    let spaced: Vec<String> = pin.chars().map(String::from).collect();
    h.get_by_label(&spaced.join(" "));
    (h, pin)
}

/// Waits until the print command has finished, one way or the other.
fn wait_for_the_printer(h: &mut Harness<'_, KioskApp>) {
    wait_until(h, "the print command", |a| {
        a.state
            .job
            .as_ref()
            .is_some_and(|j| matches!(j.letter, LetterPrint::Printed | LetterPrint::Failed(_)))
    });
}

fn letter_state(h: &Harness<'_, KioskApp>) -> Option<LetterPrint> {
    h.state().state.job.as_ref().map(|j| j.letter.clone())
}

#[test]
fn print_letter_sends_the_pin_shown_to_the_print_command() {
    let world = DemoWorld::start(None, 20).unwrap();
    let out = tempfile::tempdir().unwrap();
    let printed = out.path().join("printed.pdf");
    let command = ["sh", "-c", &format!("cat > '{}'", printed.display())]
        .map(String::from)
        .to_vec();
    let (mut h, pin) = done_page_with_letters(&world, command);
    let upn = h.state().state.job.as_ref().unwrap().upn.clone();

    h.get_by_role_and_label(Role::Button, "Print letter")
        .click();
    wait_for_the_printer(&mut h);
    assert_eq!(letter_state(&h), Some(LetterPrint::Printed));
    h.get_by_label("The letter went to the printer: give it to the person, folded.");
    h.get_by_role_and_label(Role::Button, "Print letter again");

    let text = text_of_file(&printed);
    assert_eq!(
        pin_in_letter(&text).as_deref(),
        Some(pin.as_str()),
        "{text}"
    );
    assert!(text.contains(&upn), "{text}");
    h.get_by_role_and_label(Role::Button, "Next person").click();
    wait_until(&mut h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
}

#[test]
fn a_failing_print_command_shows_its_error_and_the_pin_stays_on_screen() {
    let world = DemoWorld::start(None, 20).unwrap();
    let command = [
        "sh",
        "-c",
        "cat >/dev/null; echo 'lp: The printer or class does not exist.' >&2; exit 1",
    ]
    .map(String::from)
    .to_vec();
    let (mut h, pin) = done_page_with_letters(&world, command);

    h.get_by_role_and_label(Role::Button, "Print letter")
        .click();
    wait_for_the_printer(&mut h);
    let Some(LetterPrint::Failed(error)) = letter_state(&h) else {
        panic!("expected a failed print, got {:?}", letter_state(&h));
    };
    assert!(
        error
            .message
            .contains("The printer or class does not exist")
            && error.message.contains("printCommand"),
        "{error:?}"
    );
    assert!(!error.message.contains(&pin), "{error:?}");
    h.get_by_label(&error.message);
    // The PIN is still on the page, and printing can be tried again.
    let spaced: Vec<String> = pin.chars().map(String::from).collect();
    h.get_by_label(&spaced.join(" "));
    h.get_by_role_and_label(Role::Button, "Print letter");
}
