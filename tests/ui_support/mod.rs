//! Shared by the `ui_*` kittest files: a signed-in station fed with hand-made events.
#![allow(dead_code)]

use egui_kittest::Harness;
use passkey_kiosk::engine::api::{Check, Command, Event, JobId, Person, PersonStatus};
use passkey_kiosk::keys::{KeySummary, PinState};
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::{KioskApp, State};

/// Fixed "now" for challenge expiry.
pub const NOW: i64 = 1_800_000_000;

/// People `id-0..n`, "Person Number i", `user{i}@contoso.com`.
pub fn people(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| Person {
            user_id: format!("id-{i}"),
            upn: format!("user{i}@contoso.com"),
            display_name: format!("Person Number {i}"),
            status: if i % 7 == 3 {
                PersonStatus::Enrolled
            } else {
                PersonStatus::Ready
            },
            challenge_expires_at: Some(NOW + 3600 + i as i64),
        })
        .collect()
}

/// A kiosk with no engine: start-up passed, no recovery, `people` queued, nobody signed in.
pub fn station_with(
    auth: OperatorAuth,
    demo: bool,
    people: Vec<Person>,
) -> Harness<'static, KioskApp> {
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(move |cc| {
            let mut app = KioskApp::new(&cc.egui_ctx, State::new(auth, demo), None);
            app.set_now(NOW);
            app
        });
    let app = harness.state_mut();
    app.apply(Event::StartupChecks(vec![Check {
        name: "Configuration".into(),
        ok: true,
        detail: String::new(),
    }]));
    app.apply(Event::Recovered(vec![]));
    app.apply(Event::Queue(people));
    harness.run();
    harness
}

/// A signed-in station with 50 people.
pub fn station() -> Harness<'static, KioskApp> {
    let mut h = station_with(OperatorAuth::Demo, false, people(50));
    h.state_mut().state.operator = Some("Tess Operator".into());
    h.run();
    h
}

/// The wizard opened for `id-1` and the engine's job 7 adopted.
pub fn station_in_job(step: passkey_kiosk::engine::api::Step) -> Harness<'static, KioskApp> {
    let mut h = station();
    h.state_mut().state.begin("id-1");
    h.state_mut().apply(Event::KeyInserted(good_key()));
    h.state_mut().apply(Event::Progress {
        job: JobId(7),
        user_id: "id-1".into(),
        step,
    });
    go(&mut h);
    h
}

/// Lets a few frames pass: wizard pages show spinners, which never let the UI settle.
pub fn go(h: &mut Harness<'static, KioskApp>) {
    h.run_steps(4);
}

/// A suitable key.
pub fn good_key() -> KeySummary {
    KeySummary {
        address: "soft:1".into(),
        model: "Soft Key 2.1".into(),
        aaguid: "0bb4a0a6-0000-4000-8000-000000000001".into(),
        versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
        firmware: Some(0x050407),
        serial: Some("12345678".into()),
        pin: PinState::NotSet,
        pin_retries: None,
        min_pin_length: 6,
        force_pin_change: false,
        resident_keys: true,
        supports_min_pin_length: true,
    }
}

/// Commands the UI produced since the last call.
pub fn outbox(h: &mut Harness<'static, KioskApp>) -> Vec<Command> {
    h.state_mut().take_outbox()
}
