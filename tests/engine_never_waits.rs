//! The engine loop never waits on Graph: while a person's earlier attempt or the start-up
//! recovery is being settled and Graph is slow, the loop still answers the operator's
//! commands at once (Lock, Cancel), and the settling still ends with one passkey.

mod kit;

use std::time::{Duration, Instant};

use graph::fake::Faults;
use kit::events::{recovered, Log};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event, Issued, Passcode};
use passkey_kiosk::engine::EngineHandle;
use passkey_kiosk::station::OperatorAuth;
use passkey_kiosk::store::{EnrollmentState, QueuedUser};

/// How long every Graph answer takes while the loop is watched.
const GRAPH_WAIT: Duration = Duration::from_secs(2);
/// Within this, a command the loop handles itself is answered (well under one Graph call).
const ANSWER_BOUND: Duration = Duration::from_millis(200);

/// A station of one person whose enrollment stopped right after the registration POST was
/// sent (Graph holds the method; the journal says `registering`), its key still in.
fn crashed_after_the_post(serial: u32) -> (Station, QueuedUser) {
    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    let user = st.queue()[0].clone();
    st.insert_key(serial);
    st.enroll_crashing(&user.upn, "post_sent");
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Registering]);
    (st, user)
}

/// The engine as the demo kiosk runs it (a name signs in), on the station's key slot.
fn demo_engine(st: &Station) -> EngineHandle {
    st.engine_signing_in("station", st.slot.keys(), OperatorAuth::Demo)
}

fn sign_in(engine: &EngineHandle) {
    engine.send(Command::SignIn {
        name: "Tess".into(),
        passcode: Passcode::new(""),
    });
}

/// Whether the log holds an event `pick` picks.
fn seen(log: &Log, pick: impl Fn(&Event) -> bool) -> bool {
    log.seen.iter().any(pick)
}

#[test]
fn the_loop_answers_while_start_up_recovery_waits_for_graph() {
    let (st, user) = crashed_after_the_post(78_100_001);
    st.tenant.set_faults(Faults {
        latency: GRAPH_WAIT,
        ..Faults::default()
    });
    let engine = demo_engine(&st);
    let mut log = Log::default();
    let sent = Instant::now();
    sign_in(&engine);
    engine.send(Command::Lock);
    log.until(&engine, "Locked", |e| {
        matches!(e, Event::Locked).then_some(())
    });
    let answered = sent.elapsed();
    assert!(
        answered < ANSWER_BOUND,
        "Lock answered after {answered:?}: {:#?}",
        log.seen
    );
    assert!(
        !seen(&log, |e| matches!(e, Event::Recovered(_))),
        "the recovery was still waiting for Graph: {:#?}",
        log.seen
    );

    // The recovery goes on and finds the method the interrupted POST registered; the
    // start-up screen still gets the recovery before the checks.
    let list = log.until(&engine, "Recovered", recovered);
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0]
            .resolution
            .contains("the interrupted registration had reached Graph"),
        "{list:?}"
    );
    log.until(&engine, "StartupChecks", |e| {
        matches!(e, Event::StartupChecks(_)).then_some(())
    });
    drop(engine);
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Recorded]);
    assert_eq!(st.csv_rows().len(), 1);
}

/// An Enroll sent while the start-up recovery settles the same person waits for it: no
/// second settling of the same enrollment beside it, and the person's job starts after the
/// start-up checks, as it did when the loop itself recovered.
#[test]
fn an_enroll_sent_during_start_up_waits_for_its_recovery() {
    let (st, user) = crashed_after_the_post(78_100_003);
    st.tenant.set_faults(Faults {
        latency: Duration::from_millis(500),
        ..Faults::default()
    });
    let engine = demo_engine(&st);
    engine.send(Command::Enroll {
        user_id: user.user_id.clone(),
    });
    let mut log = Log::default();
    log.until(&engine, "the job waiting for a key", |e| match e {
        Event::Progress { user_id, .. } if *user_id == user.user_id => Some(()),
        _ => None,
    });
    let at = |pick: fn(&Event) -> bool| log.seen.iter().position(pick);
    let recovered = at(|e| matches!(e, Event::Recovered(_))).expect("Recovered");
    let checks = at(|e| matches!(e, Event::StartupChecks(_))).expect("StartupChecks");
    assert!(recovered < checks, "{:#?}", log.seen);
    assert_eq!(checks + 1, at(|e| matches!(e, Event::Queue(_))).unwrap());
    assert!(
        !seen(&log, |e| matches!(
            e,
            Event::Finished { .. } | Event::Failed { .. }
        )),
        "the job settled what the recovery settles: {:#?}",
        log.seen
    );
    drop(engine);
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Recorded]);
}

#[test]
fn the_loop_answers_while_a_persons_earlier_attempt_is_settled() {
    let (st, user) = crashed_after_the_post(78_100_002);
    // At start Graph cannot list the person's methods: the enrollment stays open.
    st.tenant.set_faults(Faults {
        fail_lists_with: Some(403),
        ..Faults::default()
    });
    let engine = demo_engine(&st);
    let mut log = Log::default();
    let list = log.until(&engine, "Recovered", recovered);
    assert!(
        list[0].resolution.contains("could not check whether"),
        "{list:?}"
    );
    log.until(&engine, "StartupChecks", |e| {
        matches!(e, Event::StartupChecks(_)).then_some(())
    });
    sign_in(&engine);
    log.until(&engine, "SignedIn", |e| {
        matches!(e, Event::SignedIn { .. }).then_some(())
    });

    // Enrolled again while Graph still refuses: settled first, nothing new started.
    engine.send(Command::Enroll {
        user_id: user.user_id.clone(),
    });
    let job = log.until(&engine, "the recovery-pending failure", |e| match e {
        Event::Failed { job, error } if error.code == "recovery-pending" => Some(*job),
        _ => None,
    });

    // Graph answers now, slowly: Retry settles again while Lock and Cancel are answered at once.
    st.tenant.set_faults(Faults {
        latency: GRAPH_WAIT,
        ..Faults::default()
    });
    engine.send(Command::Retry { job });
    let sent = Instant::now();
    engine.send(Command::Lock);
    engine.send(Command::Cancel { job });
    log.until(&engine, "Locked", |e| {
        matches!(e, Event::Locked).then_some(())
    });
    let locked = sent.elapsed();
    assert!(
        locked < ANSWER_BOUND,
        "Lock answered after {locked:?}: {:#?}",
        log.seen
    );
    let cancelled = log.until(&engine, "the cancel", |e| match e {
        Event::Failed { job: j, error } if *j == job => Some(error.code.clone()),
        _ => None,
    });
    let answered = sent.elapsed();
    assert_eq!(cancelled, "cancelled");
    assert!(
        answered < ANSWER_BOUND,
        "Cancel answered after {answered:?}: {:#?}",
        log.seen
    );
    assert!(
        !seen(&log, |e| matches!(e, Event::Finished { .. })),
        "the settling was still waiting for Graph: {:#?}",
        log.seen
    );

    // The settling finishes what the interrupted POST started: its PIN still reaches the
    // person, no second passkey, and the cancelled job starts no new enrollment.
    let issued: Issued = log.until(&engine, "Finished", |e| match e {
        Event::Finished { job: j, issued } if *j == job => Some(issued.clone()),
        _ => None,
    });
    assert_eq!(issued.upn, user.upn);
    assert!(issued.pin.is_some(), "{issued:?}");
    std::thread::sleep(Duration::from_millis(300));
    while let Some(e) = engine.try_recv() {
        log.seen.push(e);
    }
    assert!(
        !seen(&log, |e| matches!(
            e,
            Event::Progress { job: j, .. } if *j == job
        )),
        "a cancelled job started: {:#?}",
        log.seen
    );
    drop(engine);
    assert_eq!(st.tenant.registrations(&user.user_id).len(), 1);
    assert_eq!(st.states(&user.user_id), [EnrollmentState::Recorded]);
}
