//! Prefetch benchmark: 2,000 users from the fake tenant with 50 ms added to every response,
//! default concurrency (8) against concurrency 1 (the proof of concept's sequential way), as a
//! ratio in one run; then the same with every 10th Graph request answered 429, which must still
//! end with every user. Runs the library path the CLI uses (`prefetch::prefetch` + `save`).
//!
//! `cargo bench -p passkey-kiosk --bench prefetch`
//! Environment: `BENCH_USERS` (2000), `BENCH_LATENCY_MS` (50), `BENCH_RETRY_AFTER_MS` (100:
//! the fake's Retry-After on its 429s, sent as decimal seconds).

use std::time::{Duration, Instant};

use graph::fake::{self, FakeConfig, Faults, RetryAfterStyle};
use graph::{Credentials, GraphClient};
use passkey_kiosk::config::GroupRef;
use passkey_kiosk::engine::prefetch::{prefetch, PrefetchRequest};
use passkey_kiosk::store::Journal;

const DEFAULT_CONCURRENCY: usize = 8;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    elapsed: Duration,
    users: usize,
    requests: u64,
    throttled: u64,
}

/// One prefetch of a fresh fake tenant; panics unless every user was fetched and saved.
fn run(users: usize, faults: Faults, concurrency: usize) -> Run {
    let tenant = fake::spawn_in_thread(FakeConfig {
        users,
        mixed_members: true,
        existing_methods_every_nth: None,
        faults,
        ..FakeConfig::default()
    })
    .expect("fake tenant");
    let mut cfg = tenant.graph_config(Credentials::secret(tenant.client_secret()));
    cfg.max_concurrency = concurrency;
    let client = GraphClient::new(cfg).expect("client");
    let request = PrefetchRequest {
        group: GroupRef::Name(tenant.group_name().to_owned()),
        include_nested_groups: false,
        challenge_timeout_minutes: 60,
        record_existing_methods: false,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");

    let start = Instant::now();
    let report = runtime
        .block_on(prefetch(&client, &request, &mut |_| {}))
        .expect("prefetch");
    let mut journal = Journal::open(&dir.path().join("journal.sqlite")).expect("journal");
    report
        .save(&dir.path().join("usersToRegister.csv"), &mut journal)
        .expect("save");
    let elapsed = start.elapsed();

    let failures: Vec<String> = report.failures().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "failures: {failures:#?}");
    assert_eq!(report.fetched().count(), users, "every user fetched");
    assert_eq!(journal.queue().expect("queue").len(), users);
    Run {
        elapsed,
        users,
        requests: tenant.request_count(),
        throttled: tenant.throttled_count(),
    }
}

fn show(label: &str, r: &Run) {
    println!(
        "{label:<44} {:>8.2} s  {:>6.1} users/s  {:>5} requests  {:>4} answered 429",
        r.elapsed.as_secs_f64(),
        r.users as f64 / r.elapsed.as_secs_f64(),
        r.requests,
        r.throttled
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let benching = std::env::args().any(|a| a == "--bench");
    let users = env_u64("BENCH_USERS", if benching { 2000 } else { 20 }) as usize;
    let latency = Duration::from_millis(env_u64("BENCH_LATENCY_MS", 50));
    let retry_after = Duration::from_millis(env_u64("BENCH_RETRY_AFTER_MS", 100));
    let slow = Faults {
        latency,
        ..Faults::default()
    };
    println!(
        "prefetch of {users} users, {} ms added to every response",
        latency.as_millis()
    );

    let fast = run(users, slow.clone(), DEFAULT_CONCURRENCY);
    show(
        &format!("concurrency {DEFAULT_CONCURRENCY} (default)"),
        &fast,
    );
    let seq = run(users, slow.clone(), 1);
    show("concurrency 1 (proof of concept, sequential)", &seq);
    let ratio = seq.elapsed.as_secs_f64() / fast.elapsed.as_secs_f64();
    println!("speed-up: {ratio:.1}x (target >= 6x)");

    let throttled = run(
        users,
        Faults {
            throttle_every_nth: Some(10),
            retry_after: RetryAfterStyle::Decimal,
            retry_after_value: retry_after,
            ..slow
        },
        DEFAULT_CONCURRENCY,
    );
    show(
        &format!(
            "concurrency {DEFAULT_CONCURRENCY}, every 10th answered 429 (Retry-After {:.1} s)",
            retry_after.as_secs_f64()
        ),
        &throttled,
    );
    println!("throttled run: all {} users fetched", throttled.users);
}
