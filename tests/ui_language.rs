//! The person's language end to end in demo mode (the real engine, the fake tenant, software
//! keys), driven through the kiosk UI by its accessible labels: a station whose config says
//! `"language": "de"` runs the whole wizard in German, and a person who switches language
//! mid-enrollment keeps it to the end while the next person gets the station's language again.

mod kit;

use ctap::soft::TouchPolicy;
use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::Harness;
use kit::config::edit_config;
use kit::keys::soft_key;
use kit::slot::Slot;
use kit::ui::{
    demo_app, hand_over, kiosk, phase, pick, pick_person, settled, signed_in_demo, to_enroll,
    wait_until, NOW,
};
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::config::Config;
use passkey_kiosk::demo::scenes::{scene_in, SCENES};
use passkey_kiosk::i18n::Language;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::{Phase, Screen};
use passkey_kiosk::ui::KioskApp;

/// The PIN as the done page shows it: digits spaced.
fn spaced(pin: &str) -> String {
    pin.chars().map(String::from).collect::<Vec<_>>().join(" ")
}

#[test]
fn a_german_station_runs_the_wizard_in_german_from_sign_in_to_the_pin() {
    let world = DemoWorld::start(None, 20).unwrap();
    let config_path = world.dir.join("configs.json");
    edit_config(&config_path, serde_json::json!({ "language": "de" }));
    let language = Config::load(&config_path).unwrap().language;
    assert_eq!(language, Language::German);

    // A key in a USB port nobody touches, so the touch prompt stays up.
    let port = Slot::new();
    let keys = port.keys();
    let mut h = kiosk(|ctx| {
        let mut app = demo_app(ctx, &world, OperatorAuth::Demo, |s| s.key_source = keys);
        app.state.language = language;
        app
    });
    wait_until(&mut h, "sign-in", |a| a.state.screen() == Screen::SignIn);
    h.get_by_label("Anmeldung des Bedieners");
    h.get_by_label("Demo-Modus: kein Kennwort nötig.");
    h.get_by_role_and_label(Role::Button, "Anmelden").click();
    wait_until(&mut h, "the queue", |a| {
        a.state.screen() == Screen::Queue && !a.state.queue.is_empty()
    });
    h.get_by_label_contains("angezeigt ·");
    h.get_by_role_and_label(Role::Button, "Aus der Gruppe aktualisieren");

    h.get_by_label("Person suchen");
    let person = to_enroll(&h, 0);
    let name = person.display_name.clone();
    pick(&mut h, &person);
    h.get_by_label("Stecken Sie einen neuen Sicherheitsschlüssel ein");
    h.get_by_label("1. Person: erledigt");
    h.get_by_label("2. Schlüssel: aktuell");

    let key = soft_key(72_000_101);
    key.touch().set(TouchPolicy::Never);
    port.insert(Some(key.clone()));
    wait_until(&mut h, "the touch prompt", |a| {
        matches!(a.state.job.as_ref().map(|j| &j.phase), Some(Phase::Touch))
    });
    h.get_by_label("Berühren Sie jetzt den Schlüssel");
    h.get_by_label("Der Schlüssel blinkt: Berühren Sie einmal seinen Metallkontakt oder Knopf.");
    h.get_by_label("4. Berühren: aktuell");
    h.get_by_role_and_label(Role::Button, "Abbrechen");
    // The switch names each language in itself; German is the one chosen.
    h.get_by_role_and_label(Role::Button, "English");
    h.get_by_role_and_label(Role::Button, "Deutsch");
    assert!(h.query_by_label("Touch the key now").is_none());

    key.touch().set(TouchPolicy::Immediate);
    wait_until(&mut h, "the done page", settled);
    let Some(Phase::Done(issued)) = phase(&h) else {
        panic!("expected the done page, got {:?}", phase(&h));
    };
    let pin = issued.pin.clone().expect("the demo uses random PINs");
    h.get_by_label(&format!("Schlüssel ausgegeben an {name}"));
    h.get_by_label("Ziehen Sie den Schlüssel ab und übergeben Sie ihn der Person.");
    h.get_by_label("Der Schlüssel hat eine neue zufällige PIN.");
    h.get_by_label("Zeigen Sie zuerst die PIN an.");
    assert!(h.query_by_label(&spaced(pin.expose())).is_none());
    h.get_by_role_and_label(Role::Button, "PIN anzeigen")
        .click();
    h.run_steps(3);
    h.get_by_label("PIN für diesen Schlüssel");
    h.get_by_label(&spaced(pin.expose()));
    h.get_by_label("Übergeben Sie sie unter vier Augen; sie wird nicht noch einmal angezeigt.");
    h.get_by_role_and_label(Role::Button, "Nächste Person")
        .click();
    wait_until(&mut h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
    assert!(world
        .tenant
        .registrations(&issued.upn)
        .iter()
        .any(|m| m.id == issued.method_id));
}

#[test]
fn a_person_who_switches_language_keeps_it_and_the_next_person_gets_the_stations() {
    let world = DemoWorld::start(None, 20).unwrap();
    let mut h = signed_in_demo(&world);
    assert_eq!(h.state().state.language, Language::English);
    pick_person(&mut h, 0);
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the done page", settled);
    h.get_by_role_and_label(Role::Button, "Reveal PIN");

    // The person reads German: their pages switch, the operator's frame does not.
    h.get_by_role_and_label(Role::Button, "Deutsch").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "PIN anzeigen");
    h.get_by_label("Der Schlüssel hat eine neue zufällige PIN.");
    h.get_by_label("6. Fertig: aktuell");
    assert!(h.query_by_label("Reveal PIN").is_none());
    h.get_by_role_and_label(Role::Button, "Lock");
    h.get_by_label_contains("Fake tenant and software keys");

    let Some(Phase::Done(issued)) = phase(&h) else {
        panic!("expected the done page, got {:?}", phase(&h));
    };
    let pin = issued.pin.clone().expect("the demo uses random PINs");
    // The keyboard's way on is where it was: Enter reveals the PIN, Enter moves on.
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    h.get_by_label("PIN für diesen Schlüssel");
    h.get_by_label(&spaced(pin.expose()));
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
    assert_eq!(h.state().state.language, Language::English);

    // The next person starts in the station's language, and stays there to the PIN.
    pick_person(&mut h, 0);
    h.get_by_label("1. Person: done");
    h.get_by_role_and_label(Role::Button, "Insert a new key")
        .click();
    wait_until(&mut h, "the done page", settled);
    h.get_by_label("The key has a new random PIN.");
    assert!(h.query_by_label("PIN anzeigen").is_none());
    hand_over(&mut h);
}

/// Scene `name` in `language`, drawn at 1280x800.
fn scene_harness(name: &str, language: Language) -> Harness<'static, KioskApp> {
    let state = scene_in(name, NOW, language).unwrap();
    let mut h = kiosk(|ctx| {
        let mut app = KioskApp::new(ctx, state, None);
        app.set_now(NOW);
        app
    });
    h.run_steps(3);
    h
}

/// Nothing written over anything else (a longer word pushed into its neighbour), above the key
/// line (scrolled lists run on under it, clipped); the reset dialog lies over its screen.
fn assert_nothing_overlaps(h: &Harness<'_, KioskApp>, name: &str) {
    if name == "reset" {
        return;
    }
    let shown: Vec<_> = h
        .get_all_by_role(Role::Button)
        .chain(h.get_all_by_role(Role::Label))
        .filter(|n| n.rect().max.y < 700.0)
        .map(|n| {
            let node = n.accesskit_node();
            let text = node.label().or_else(|| node.value()).unwrap_or_default();
            (text, n.rect())
        })
        .collect();
    for (i, (a, ra)) in shown.iter().enumerate() {
        for (b, rb) in &shown[i + 1..] {
            assert!(
                !ra.shrink(1.0).intersects(rb.shrink(1.0)),
                "{name}: \"{a}\" {ra:?} overlaps \"{b}\" {rb:?}"
            );
        }
    }
}

#[test]
fn no_scene_writes_one_text_over_another_in_english() {
    for name in SCENES {
        assert_nothing_overlaps(&scene_harness(name, Language::English), name);
    }
}

#[test]
fn every_scene_in_german_keeps_its_action_on_screen() {
    // German words run longer than English ones: every screen must still fit 1280x800.
    let actions = [
        ("startup", "Trotzdem fortfahren"),
        ("recovery", "Weiter"),
        ("sign-in", "Anmelden"),
        ("queue", "Aus der Gruppe aktualisieren"),
        ("insert-key", "Abbrechen"),
        ("key-refused", "Abbrechen"),
        ("pin", "PIN setzen"),
        ("touch", "Deutsch"),
        ("error", "Erneut versuchen"),
        ("reveal", "PIN anzeigen"),
        ("done", "Nächste Person"),
        ("history", "Warteliste"),
        ("reset", "Schlüssel löschen"),
        ("lock", "Entsperren"),
    ];
    assert_eq!(actions.len(), SCENES.len());
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    for (name, action) in actions {
        let h = scene_harness(name, Language::German);
        let node = h.get_by_role_and_label(Role::Button, action);
        assert!(
            screen.contains_rect(node.rect()),
            "{name}: \"{action}\" is off screen at {:?}",
            node.rect()
        );
        assert_nothing_overlaps(&h, name);
        // The person's pages offer their language; the operator's do not.
        let switch = h.query_by_role_and_label(Role::Button, "English").is_some();
        assert_eq!(
            switch,
            matches!(name, "touch" | "reveal" | "done"),
            "{name}: language switch"
        );
    }
}

#[test]
fn the_history_writes_dates_the_way_the_language_does() {
    for (language, month) in [
        (Language::English, "December"),
        (Language::German, "Dezember"),
    ] {
        let mut state = scene_in("history", NOW, language).unwrap();
        // 2026-12-06 21:59:30 UTC.
        for entry in &mut state.history {
            entry.at = 1_796_594_370;
        }
        let mut h = kiosk(|ctx| {
            let mut app = KioskApp::new(ctx, state, None);
            app.set_now(NOW);
            app
        });
        h.run_steps(2);
        let expected = match language {
            Language::English => format!("6 {month} 2026, 21:59"),
            Language::German => format!("6. {month} 2026, 21:59"),
        };
        assert!(h.get_all_by_label(&expected).count() >= 3, "{expected}");
    }
}

#[test]
fn the_keyboard_switches_language_and_goes_back_to_the_pages_way_on() {
    let mut h = scene_harness("reveal", Language::English);
    assert!(h
        .get_by_role_and_label(Role::Button, "Reveal PIN")
        .is_focused());
    h.get_by_role_and_label(Role::Button, "Deutsch").focus();
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    assert_eq!(
        h.state().state.job.as_ref().map(|j| j.language),
        Some(Language::German)
    );
    // The focus is back on the page's action: the next Enter reveals the PIN.
    assert!(h
        .get_by_role_and_label(Role::Button, "PIN anzeigen")
        .is_focused());
    h.key_press(egui::Key::Enter);
    h.run_steps(3);
    h.get_by_label("7 3 0 5 1 4");
    assert_eq!(
        h.state().state.language,
        Language::English,
        "the station's own"
    );
}
