//! The real engine in demo mode (fake tenant, software keys), driven through its Command /
//! Event interface: Retry after a Graph outage hands over the random PIN, the queue shows
//! the person in progress then enrolled, and the journal's history reaches the UI (also
//! after a restart). Nothing here looks inside the engine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use graph::fake::Faults;
use passkey_kiosk::cli::kiosk::DemoWorld;
use passkey_kiosk::engine::api::{
    Command, Event, HistoryEntry, Issued, JobId, OperatorError, Person, PersonStatus,
};
use passkey_kiosk::engine::{Engine, EngineHandle};
use passkey_kiosk::store::Journal;
use passkey_kiosk::ui::operator::OperatorAuth;
use passkey_kiosk::ui::State;

/// Every event the engine sent, in order, while waiting for one that `want` picks.
struct Log {
    seen: Vec<Event>,
}

impl Log {
    fn until<T>(
        &mut self,
        engine: &EngineHandle,
        what: &str,
        want: impl Fn(&Event) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let left = Duration::from_secs(60).saturating_sub(start.elapsed());
            let Some(e) = engine.recv_timeout(left) else {
                panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    self.seen
                );
            };
            let hit = want(&e);
            self.seen.push(e);
            if let Some(t) = hit {
                return t;
            }
        }
    }
}

fn start(world: &DemoWorld) -> (EngineHandle, Log, Vec<Person>, Vec<HistoryEntry>) {
    let engine = Engine::start(world.engine_setup(Arc::new(|| {})).unwrap()).unwrap();
    let mut log = Log { seen: Vec::new() };
    let queue = log.until(&engine, "the queue", |e| match e {
        Event::Queue(q) => Some(q.clone()),
        _ => None,
    });
    let history = log.until(&engine, "the history at start", |e| match e {
        Event::History(h) => Some(h.clone()),
        _ => None,
    });
    (engine, log, queue, history)
}

fn status_of(user_id: &str, want: PersonStatus) -> impl Fn(&Event) -> Option<()> + '_ {
    move |e| match e {
        Event::PersonChanged(p) if p.user_id == user_id && p.status == want => Some(()),
        _ => None,
    }
}

fn history_row<'a>(
    upn: &'a str,
    state: &'static str,
) -> impl Fn(&Event) -> Option<HistoryEntry> + 'a {
    move |e| match e {
        Event::History(h) => h
            .iter()
            .rev()
            .find(|r| r.upn == upn && r.state == state)
            .cloned(),
        _ => None,
    }
}

fn finished(e: &Event) -> Option<(JobId, Issued)> {
    match e {
        Event::Finished { job, issued } => Some((*job, issued.clone())),
        _ => None,
    }
}

fn failed(e: &Event) -> Option<(JobId, OperatorError)> {
    match e {
        Event::Failed { job, error } => Some((*job, error.clone())),
        _ => None,
    }
}

/// The PIN column of the person's keysRegistered.csv row.
fn csv_pin(world: &DemoWorld, upn: &str) -> String {
    let csv = std::fs::read_to_string(world.dir.join("keysRegistered.csv")).unwrap();
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("{upn},")))
        .unwrap_or_else(|| panic!("no row for {upn}:\n{csv}"));
    line.rsplit(',').next().unwrap().to_owned()
}

#[test]
fn retry_after_a_graph_503_hands_over_the_random_pin_and_the_queue_follows() {
    let world = DemoWorld::start(None, 6).unwrap();
    let (engine, mut log, queue, _) = start(&world);
    let person = queue
        .iter()
        .find(|p| p.status == PersonStatus::Ready)
        .expect("someone ready")
        .clone();
    let before = world.tenant.registrations(&person.upn).len();

    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    log.until(
        &engine,
        "in progress while waiting for the key",
        status_of(&person.user_id, PersonStatus::InProgress),
    );

    // Every Graph request fails with a 5xx until the tenant recovers.
    world.tenant.set_faults(Faults {
        random_5xx_ratio: 1.0,
        ..Faults::default()
    });
    engine.send(Command::InsertSoftKey);
    let (job, error) = log.until(&engine, "the failure", failed);
    assert!(error.retry_possible, "{error:?}");
    assert!(
        log.seen
            .iter()
            .all(|e| !matches!(e, Event::Finished { .. })),
        "{:#?}",
        log.seen
    );
    log.until(
        &engine,
        "failed in the queue",
        status_of(&person.user_id, PersonStatus::Failed),
    );
    let row = log.until(
        &engine,
        "the unsettled row in the history",
        history_row(&person.upn, "registering"),
    );
    assert!(row.last_error.is_some(), "{row:?}");
    assert_eq!(world.tenant.registrations(&person.upn).len(), before);

    world.tenant.set_faults(Faults::default());
    engine.send(Command::Retry { job });
    let (done_job, issued) = log.until(&engine, "the key issued after Retry", |e| {
        if let Event::Failed { error, .. } = e {
            panic!("Retry failed: {error:?}");
        }
        finished(e)
    });
    assert_eq!(done_job, job);
    assert_eq!(issued.upn, person.upn);
    let pin = issued
        .pin
        .clone()
        .expect("the random PIN survives the outage");
    assert_eq!(
        pin.expose(),
        csv_pin(&world, &person.upn),
        "the PIN on the key"
    );
    log.until(
        &engine,
        "enrolled in the queue",
        status_of(&person.user_id, PersonStatus::Enrolled),
    );
    let row = log.until(
        &engine,
        "the recorded row in the history",
        history_row(&person.upn, "recorded"),
    );
    assert_eq!(row.method_id.as_deref(), Some(issued.method_id.as_str()));
    assert_eq!(
        row.display_name.as_deref(),
        Some(person.display_name.as_str())
    );
    let registered = world.tenant.registrations(&person.upn);
    assert_eq!(
        registered.len(),
        before + 1,
        "registered once: {registered:?}"
    );

    // The PIN is never part of the history.
    let all = format!(
        "{:?}",
        log.seen
            .iter()
            .filter(|e| matches!(e, Event::History(_)))
            .collect::<Vec<_>>()
    );
    assert!(!all.contains(pin.expose()), "{all}");
    engine.send(Command::PinDelivered { job });
}

#[test]
fn a_finished_enrollment_shows_enrolled_and_the_next_run_starts_with_it_in_the_history() {
    let world = DemoWorld::start(None, 4).unwrap();
    let (engine, mut log, queue, history) = start(&world);
    assert!(history.is_empty(), "{history:?}");
    let person = queue
        .iter()
        .find(|p| p.status == PersonStatus::Ready)
        .expect("someone ready")
        .clone();
    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    log.until(
        &engine,
        "in progress",
        status_of(&person.user_id, PersonStatus::InProgress),
    );
    engine.send(Command::InsertSoftKey);
    let (_, issued) = log.until(&engine, "the key issued", |e| {
        if let Event::Failed { error, .. } = e {
            panic!("enrollment failed: {error:?}");
        }
        finished(e)
    });
    let pin = issued.pin.clone().expect("demo uses random PINs");
    log.until(
        &engine,
        "enrolled",
        status_of(&person.user_id, PersonStatus::Enrolled),
    );
    // Nobody else changed.
    for e in &log.seen {
        if let Event::PersonChanged(p) = e {
            assert_eq!(p.user_id, person.user_id, "{p:?}");
        }
    }
    drop(engine);

    // A new run of the station, on the same journal.
    let (engine, _log, queue, history) = start(&world);
    let row = history
        .iter()
        .find(|r| r.upn == person.upn)
        .unwrap_or_else(|| panic!("{history:?}"));
    assert!(row.issued(), "{row:?}");
    assert_eq!(row.method_id.as_deref(), Some(issued.method_id.as_str()));
    assert_eq!(row.serial, issued.serial);
    assert_eq!(
        row.display_name.as_deref(),
        Some(person.display_name.as_str())
    );
    assert!(!format!("{history:?}").contains(pin.expose()));
    let journal = Journal::open(&world.config.journal_path).unwrap();
    assert_eq!(history.len(), journal.enrollments().unwrap().len());
    assert_eq!(
        queue
            .iter()
            .find(|p| p.user_id == person.user_id)
            .map(|p| p.status),
        Some(PersonStatus::Enrolled)
    );

    // The kiosk state takes the journal's rows over.
    let mut state = State::new(OperatorAuth::Demo, true);
    state.apply(Event::History(history.clone()));
    assert_eq!(state.history, history);
    drop(engine);
}
