//! The kiosk's UI under kittest: a signed-in station fed with hand-made events, or a demo
//! station (the real engine, a fake tenant, software keys) driven by accessible labels.

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use passkey_kiosk::cli::kiosk::{link, waker, DemoWorld};
use passkey_kiosk::demo::scenes::demo_key;
use passkey_kiosk::engine::api::{Check, CheckKind, Event, Issued, JobId, Person, PersonStatus};
use passkey_kiosk::engine::{Engine, EngineSetup, KeySource};
use passkey_kiosk::keys::KeySummary;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::state::{Phase, Screen};
use passkey_kiosk::ui::{KioskApp, State};

use super::desk::{self, outbox};

/// Fixed "now" for challenge expiry.
pub const NOW: i64 = 1_800_000_000;

/// A kittest of the kiosk's window (1280x800) with the app `build` makes.
pub fn kiosk<'a>(build: impl FnOnce(&egui::Context) -> KioskApp) -> Harness<'a, KioskApp> {
    Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        .build_eframe(|cc| build(&cc.egui_ctx))
}

/// The demo kiosk on `world`'s real engine, whose setup `adjust` changes, operators signing
/// in as `auth` says.
pub fn demo_app(
    ctx: &egui::Context,
    world: &DemoWorld,
    auth: OperatorAuth,
    adjust: impl FnOnce(&mut EngineSetup),
) -> KioskApp {
    let mut setup = world.engine_setup(waker(ctx)).unwrap();
    adjust(&mut setup);
    let mut state = State::new(auth, true);
    state.takes_cards = setup.key_source.takes_cards();
    state.print_letters = setup.config.pin_delivery() == passkey_kiosk::config::PinDelivery::Letter;
    let engine = Engine::start(setup).unwrap();
    KioskApp::new(ctx, state, Some(link(engine)))
}

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
            elsewhere: None,
        })
        .collect()
}

/// A kiosk with no engine (its sign-in service is the desk's): start-up passed, no recovery,
/// `people` queued, nobody signed in.
pub fn station_with(
    auth: OperatorAuth,
    demo: bool,
    people: Vec<Person>,
) -> Harness<'static, KioskApp> {
    let mut harness = kiosk(move |ctx| {
        let link = desk::link(auth.clone());
        let mut app = KioskApp::new(ctx, State::new(auth, demo), Some(link));
        app.set_now(NOW);
        app
    });
    let app = harness.state_mut();
    app.apply(Event::StartupChecks(vec![Check {
        kind: CheckKind::Configuration,
        ok: true,
        detail: String::new(),
    }]));
    app.apply(Event::Recovered(vec![]));
    app.apply(Event::Queue(people));
    harness.run();
    harness
}

/// A station whose operators sign in with `passcode` (no engine, app-only credentials),
/// `people` queued, nobody signed in.
pub fn app_only_station(passcode: &str, people_count: usize) -> Harness<'static, KioskApp> {
    station_with(
        OperatorAuth::AppOnly {
            passcode_hash: Some(test_hash(passcode)),
        },
        false,
        people(people_count),
    )
}

/// A signed-in station with 50 people.
pub fn station() -> Harness<'static, KioskApp> {
    let mut h = station_with(OperatorAuth::Demo, false, people(50));
    sign_in_demo(&mut h, "Tess Operator");
    h
}

/// Signs `name` in on a demo station's form (the service answers); the outbox starts empty.
pub fn sign_in_demo(h: &mut Harness<'static, KioskApp>, name: &str) {
    h.state_mut().state.sign_in.name = name.into();
    h.run_steps(1);
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run_steps(1);
    settle(h);
    assert_eq!(h.state().state.operator.as_deref(), Some(name));
    outbox(h);
    h.run();
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

/// A suitable key: the scenes' key (FIDO 2.1, no PIN yet) under names of its own.
pub fn good_key() -> KeySummary {
    KeySummary {
        address: "soft:1".into(),
        model: "Soft Key 2.1".into(),
        aaguid: "0bb4a0a6-0000-4000-8000-000000000001".into(),
        firmware: Some(0x050407),
        serial: Some("12345678".into()),
        ..demo_key()
    }
}

/// Types `text` into whatever has the keyboard focus, as a keyboard or badge scanner does, then
/// Enter.
pub fn type_and_enter(h: &mut Harness<'_, KioskApp>, text: &str) {
    h.event(egui::Event::Text(text.into()));
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
}

/// Steps frames until `done` holds (the engine works on its own threads).
pub fn wait_until(
    h: &mut Harness<'_, KioskApp>,
    what: &str,
    mut done: impl FnMut(&KioskApp) -> bool,
) {
    let start = Instant::now();
    while !done(h.state()) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}; screen {:?}, sign-in {:?}, problem {:?}, checks {:?}, job {:?}",
            h.state().state.screen(),
            h.state().state.sign_in.delegated,
            h.state().state.problem,
            h.state().state.checks,
            h.state().state.job.as_ref().map(|j| &j.phase),
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

/// A signed-in demo station (engine, fake tenant, software keys).
pub fn signed_in_demo(world: &DemoWorld) -> Harness<'_, KioskApp> {
    signed_in_demo_with(world, KeySource::Soft)
}

/// [`signed_in_demo`] with keys from `keys` (e.g. a software key served at a `udp:` port,
/// which can be pulled out and put back like a USB key).
pub fn signed_in_demo_with(world: &DemoWorld, keys: KeySource) -> Harness<'_, KioskApp> {
    let mut h = demo_at_sign_in(world, keys);
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    wait_until(&mut h, "the queue", |a| {
        a.state.screen() == Screen::Queue && !a.state.queue.is_empty()
    });
    h
}

/// A demo station (engine, fake tenant, `keys`) past its start-up checks, at the sign-in screen.
pub fn demo_at_sign_in(world: &DemoWorld, keys: KeySource) -> Harness<'_, KioskApp> {
    let mut h = kiosk(|ctx| demo_app(ctx, world, OperatorAuth::Demo, |s| s.key_source = keys));
    wait_until(&mut h, "start-up checks", |a| a.state.checks.is_some());
    assert!(
        h.state().state.checks_done,
        "start-up checks failed: {:?}",
        h.state().state.checks
    );
    wait_until(&mut h, "sign-in", |a| a.state.screen() == Screen::SignIn);
    h.get_by_label("DEMO");
    h
}

/// The `nth` person of the queue without a key.
pub fn to_enroll(h: &Harness<'_, KioskApp>, nth: usize) -> Person {
    let q = &h.state().state.queue;
    q.matches()
        .iter()
        .filter_map(|&i| q.person(i))
        .filter(|p| matches!(p.status, PersonStatus::Ready | PersonStatus::Waiting))
        .nth(nth)
        .cloned()
        .expect("someone to enroll")
}

/// Types the name of the `nth` person without a key and clicks them: (user id, UPN).
pub fn pick_person(h: &mut Harness<'_, KioskApp>, nth: usize) -> (String, String) {
    let person = to_enroll(h, nth);
    pick(h, &person);
    h.get_by_label("Insert a new security key");
    (person.user_id, person.upn)
}

/// Types `person`'s name into the search (labelled in the station's language) and clicks
/// them: the wizard opens.
pub fn pick(h: &mut Harness<'_, KioskApp>, person: &Person) {
    let find = h.state().state.texts().text("queue-find");
    h.get_by_label(&find).focus();
    h.run_steps(2);
    h.get_by_label(&find).type_text(&person.display_name);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, &person.display_name)
        .click();
    wait_until(h, "the wizard", |a| a.state.screen() == Screen::Wizard);
}

/// The done page: reveals the random PIN, checks it is shown, and moves on to the queue.
pub fn hand_over(h: &mut Harness<'_, KioskApp>) -> Issued {
    wait_until(h, "the done page", settled);
    let Some(Phase::Done(issued)) = phase(h) else {
        panic!("expected the done page, got {:?}", phase(h));
    };
    let pin = issued
        .pin
        .clone()
        .expect("the demo config uses random PINs");

    h.get_by_role_and_label(Role::Button, "Reveal PIN").click();
    h.run_steps(3);
    let spaced = pin
        .expose()
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(" ");
    h.get_by_label(&spaced);
    h.get_by_role_and_label(Role::Button, "Next person").click();
    wait_until(h, "back to the queue", |a| {
        a.state.screen() == Screen::Queue
    });
    issued
}

/// Where the job on screen stands.
pub fn phase(h: &Harness<'_, KioskApp>) -> Option<Phase> {
    h.state().state.job.as_ref().map(|j| j.phase.clone())
}

/// The job stopped somewhere the operator must act.
pub fn settled(a: &KioskApp) -> bool {
    matches!(
        a.state.job.as_ref().map(|j| &j.phase),
        Some(Phase::Done(_) | Phase::Failed(_) | Phase::Pin(_))
    )
}

/// An argon2id hash of `passcode`, as `set-passcode` writes it.
pub fn test_hash(passcode: &str) -> String {
    passkey_kiosk::station::passcode::hash_passcode(passcode).unwrap()
}

/// Lets the UI pick up the service's answers.
pub fn settle(h: &mut Harness<'static, KioskApp>) {
    h.run_steps(3);
}
