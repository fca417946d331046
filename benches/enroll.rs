//! Enrollment benchmark: the time per key the operator waits beyond the key's own work.
//!
//! The engine enrolls `BENCH_KEYS` people with in-process software keys (instant touch),
//! random PINs and CTAP 2.1 hardening, against the fake tenant twice: with no added latency
//! (the key's own work plus local overhead) and with `BENCH_LATENCY_MS` on every Graph
//! response. The difference per key, divided by the latency, is the number of Graph round
//! trips the operator sees per key; with options prefetched it must be at most one (the
//! registration POST).
//!
//! `cargo bench -p passkey-kiosk --bench enroll`
//! Environment: `BENCH_KEYS` (10), `BENCH_LATENCY_MS` (200), `BENCH_API` (`beta`; `v1.0`
//! shows the cost of its five-minute challenges, fetched while the PIN is being set),
//! `BENCH_HARDENING` (1; with 0 the key is free once the passkey exists and the registration
//! runs in the background: the time per key is then measured until the key is released).

// The integration tests' kit, by path: Cargo builds each bench as a crate of its own.
#[path = "../tests/kit/mod.rs"]
mod kit;

use std::sync::Arc;
use std::time::{Duration, Instant};

use graph::fake::{self, Faults};
use kit::config::write_config;
use kit::tenant::plain_tenant;
use passkey_kiosk::config::Config;
use passkey_kiosk::engine::api::{Command, Event, Step};
use passkey_kiosk::engine::prefetch::{prefetch, PrefetchRequest};
use passkey_kiosk::engine::{Engine, EngineSetup, KeySource};
use passkey_kiosk::store::Journal;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Mean time per key from "enroll this person" (key already waiting) to "finished".
fn per_key(keys: usize, latency: Duration, api: &str, hardening: bool) -> Duration {
    let tenant = fake::spawn_in_thread(plain_tenant(keys)).expect("fake tenant");
    let dir = tempfile::tempdir().expect("tempdir");
    let fields = serde_json::json!({
        "tenantName": tenant.tenant(),
        "challengeTimeoutInMinutes": null,
        "useRandomPIN": true,
        "useCTAP21Features": hardening,
        "graphApiVersion": api,
    });
    let path = write_config(dir.path(), &tenant, fields);
    let config =
        Config::parse(&path, &std::fs::read_to_string(&path).unwrap(), None).expect("config");
    let graph = passkey_kiosk::tenant::connect(&config).expect("client");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let report = rt
        .block_on(prefetch(
            &graph,
            &PrefetchRequest::from_config(&config),
            &mut |_| {},
        ))
        .expect("prefetch");
    let mut journal = Journal::open(&config.journal_path).expect("journal");
    report
        .save(&dir.path().join("usersToRegister.csv"), &mut journal)
        .expect("save");
    let queue = journal.queue().expect("queue");
    tenant.set_faults(Faults {
        latency,
        ..Faults::default()
    });
    let engine = Engine::start(EngineSetup {
        journal: passkey_kiosk::store::JournalLocation::from_config(&config).expect("journal"),
        config,
        graph,
        keys_registered: dir.path().join("keysRegistered.csv"),
        operator: "bench".into(),
        key_source: KeySource::Soft,
        wake: Arc::new(|| {}),
        operator_auth: passkey_kiosk::station::OperatorAuth::Headless,
    })
    .expect("engine");
    // Start-up (sign-in, policy) is not per key.
    while !matches!(engine.recv(), Some(Event::StartupChecks(_))) {}
    let mut total = Duration::ZERO;
    let mut finished = 0;
    for q in &queue {
        engine.send(Command::InsertSoftKey);
        while !matches!(engine.recv(), Some(Event::KeyInserted(_))) {}
        let t = Instant::now();
        engine.send(Command::Enroll {
            user_id: q.user_id.clone(),
        });
        loop {
            match engine.recv() {
                Some(Event::Finished { .. }) => {
                    finished += 1;
                    if hardening {
                        break;
                    }
                }
                // Without hardening the operator moves on once the key is released.
                Some(Event::Progress {
                    step: Step::Registering,
                    user_id,
                    ..
                }) if !hardening && user_id == q.user_id => break,
                Some(Event::Failed { error, .. }) => panic!("{error:?}"),
                Some(_) => {}
                None => panic!("engine stopped"),
            }
        }
        total += t.elapsed();
    }
    while finished < keys {
        match engine.recv() {
            Some(Event::Finished { .. }) => finished += 1,
            Some(Event::Failed { error, .. }) => panic!("{error:?}"),
            Some(_) => {}
            None => panic!("engine stopped"),
        }
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keysRegistered.csv"))
            .expect("csv")
            .lines()
            .count(),
        keys + 1
    );
    total / keys as u32
}

fn main() {
    let keys = env_u64("BENCH_KEYS", 10) as usize;
    let latency = Duration::from_millis(env_u64("BENCH_LATENCY_MS", 200));
    let api = std::env::var("BENCH_API").unwrap_or_else(|_| "beta".into());
    let hardening = env_u64("BENCH_HARDENING", 1) == 1;
    let local = per_key(keys, Duration::ZERO, &api, hardening);
    let slow = per_key(keys, latency, &api, hardening);
    let visible = slow.saturating_sub(local);
    let trips = visible.as_secs_f64() / latency.as_secs_f64();
    println!(
        "enroll: {keys} keys, instant touch, random PIN, CTAP 2.1 hardening {}, Graph {api}",
        if hardening {
            "on"
        } else {
            "off (registration in the background)"
        }
    );
    println!("  per key, no Graph latency (key work + local): {local:.0?}");
    println!("  per key, {latency:?} on every Graph response:  {slow:.0?}");
    println!(
        "  Graph time the operator sees per key:        {visible:.0?} = {trips:.2} round trip(s)"
    );
    assert!(
        api != "beta" || trips <= 1.25,
        "more than one Graph round trip is visible per key ({trips:.2})"
    );
}
