//! Prefetch benchmark, three parts (name them after `--` to run only some; none runs all):
//! - `speed-up`: 2,000 users from the fake tenant with 50 ms added to every response, default
//!   concurrency (adaptive, ceiling 32) against concurrency 1 (the proof of concept's
//!   sequential way), as a ratio in one run;
//! - `throttled`: the same with every 10th Graph request answered 429, which must still end
//!   with every user;
//! - `rate-limit`: the fake tenant limits the app with a token bucket (Graph's per-app
//!   throttling; burst one second's worth) and answers 200 ms late: 60 requests/s, which the
//!   old fixed pool of 8 cannot reach (8 / 0.2 s = 40/s), and 15/s, which it overshoots;
//!   adaptive concurrency against that fixed pool, as the share of the allowed rate used, the
//!   share of requests answered 429, and the wall time.
//!
//! Runs the library path the CLI uses (`prefetch::prefetch` + `save`).
//!
//! `cargo bench -p passkey-kiosk --bench prefetch [-- speed-up throttled rate-limit]`
//! Environment: `BENCH_USERS` (2000), `BENCH_LATENCY_MS` (50), `BENCH_RETRY_AFTER_MS` (100:
//! the fake's Retry-After on its every-10th 429s, sent as decimal seconds);
//! `BENCH_RATE_LATENCY_MS` (200), `BENCH_USERS_60` (20000) and `BENCH_USERS_15` (3000): users
//! at 60/s and at 15/s; `BENCH_MODES` (`adaptive,fixed`).

use std::time::{Duration, Instant};

use graph::fake::{self, FakeConfig, Faults, RateLimit, RetryAfterStyle};
use graph::{Concurrency, Credentials, GraphClient};
use passkey_kiosk::config::GroupRef;
use passkey_kiosk::engine::prefetch::{prefetch, PrefetchRequest};
use passkey_kiosk::store::Journal;

/// The default: adaptive up to the default ceiling.
const ADAPTIVE: Concurrency = Concurrency::Adaptive {
    ceiling: graph::client::DEFAULT_CONCURRENCY_CEILING,
};
/// The fixed pool prefetch had before it adapted.
const OLD_FIXED: Concurrency = Concurrency::Fixed(8);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Run {
    /// The prefetch alone (Graph traffic).
    fetching: Duration,
    /// Prefetch and saving the journal queue and CSV.
    elapsed: Duration,
    users: usize,
    /// Graph requests (token requests not counted).
    requests: u64,
    throttled: u64,
    /// Users whose options could not be fetched (throttled on every attempt).
    failed: usize,
}

/// One prefetch of a fresh fake tenant; panics unless every user was fetched (or failed, when
/// `may_fail`) and saved.
fn run(users: usize, faults: Faults, concurrency: Concurrency, may_fail: bool) -> Run {
    let tenant = fake::spawn_in_thread(FakeConfig {
        users,
        mixed_members: true,
        existing_methods_every_nth: None,
        faults,
        ..FakeConfig::default()
    })
    .expect("fake tenant");
    let mut cfg = tenant.graph_config(Credentials::secret(tenant.client_secret()));
    cfg.concurrency = concurrency;
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
    let fetching = start.elapsed();
    let mut journal = Journal::open(&dir.path().join("journal.sqlite")).expect("journal");
    report
        .save(&dir.path().join("usersToRegister.csv"), &mut journal)
        .expect("save");
    let elapsed = start.elapsed();

    let failures: Vec<String> = report.failures().map(|f| f.to_string()).collect();
    assert!(may_fail || failures.is_empty(), "failures: {failures:#?}");
    let fetched = report.fetched().count();
    assert_eq!(
        fetched + failures.len(),
        users,
        "every user fetched or failed"
    );
    assert_eq!(journal.queue().expect("queue").len(), fetched);
    Run {
        fetching,
        elapsed,
        users,
        requests: tenant.graph_requests().len() as u64,
        throttled: tenant.throttled_count(),
        failed: failures.len(),
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

fn label(c: Concurrency) -> String {
    match c {
        Concurrency::Adaptive { ceiling } => format!("adaptive (ceiling {ceiling})"),
        Concurrency::Fixed(n) => format!("fixed pool of {n}"),
    }
}

fn speed_up(users: usize, slow: &Faults) {
    let fast = run(users, slow.clone(), ADAPTIVE, false);
    show(&format!("{} (default)", label(ADAPTIVE)), &fast);
    let seq = run(users, slow.clone(), Concurrency::Fixed(1), false);
    show("concurrency 1 (proof of concept, sequential)", &seq);
    let ratio = seq.elapsed.as_secs_f64() / fast.elapsed.as_secs_f64();
    println!("speed-up: {ratio:.1}x (target >= 6x)");
}

fn throttled(users: usize, slow: &Faults, retry_after: Duration) {
    let throttled = run(
        users,
        Faults {
            throttle_every_nth: Some(10),
            retry_after: RetryAfterStyle::Decimal,
            retry_after_value: retry_after,
            ..slow.clone()
        },
        ADAPTIVE,
        false,
    );
    show(
        &format!(
            "{}, every 10th answered 429 (Retry-After {:.1} s)",
            label(ADAPTIVE),
            retry_after.as_secs_f64()
        ),
        &throttled,
    );
    println!("throttled run: all {} users fetched", throttled.users);
}

fn rate_limit(modes: &[Concurrency], benching: bool) {
    let latency = Duration::from_millis(env_u64("BENCH_RATE_LATENCY_MS", 200));
    let (at_60, at_15) = if benching { (20_000, 3_000) } else { (40, 20) };
    for (per_second, users) in [
        (60u32, env_u64("BENCH_USERS_60", at_60) as usize),
        (15, env_u64("BENCH_USERS_15", at_15) as usize),
    ] {
        if users == 0 {
            continue;
        }
        let limit = RateLimit::per_second(f64::from(per_second));
        println!(
            "\nprefetch of {users} users, {} ms per response, token bucket {per_second}/s \
             (burst {}), Retry-After as decimal seconds",
            latency.as_millis(),
            limit.burst
        );
        for &mode in modes {
            let faults = Faults {
                latency,
                rate_limit: Some(limit),
                retry_after: RetryAfterStyle::Decimal,
                ..Faults::default()
            };
            // The old fixed pool may give up on people after its throttled attempts: counted.
            let r = run(users, faults, mode, matches!(mode, Concurrency::Fixed(_)));
            let answered = (r.requests - r.throttled) as f64;
            let used = answered / r.fetching.as_secs_f64() / f64::from(per_second);
            println!(
                "{:<28} {:>5.1}% of the allowed rate  {:>5.1}% of {} requests throttled  \
                 wall {:.1} s (fetching {:.1} s)  {} of {} users failed",
                label(mode),
                used * 100.0,
                r.throttled as f64 * 100.0 / r.requests as f64,
                r.requests,
                r.elapsed.as_secs_f64(),
                r.fetching.as_secs_f64(),
                r.failed,
                r.users
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run small then.
    let benching = std::env::args().any(|a| a == "--bench");
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    let users = env_u64("BENCH_USERS", if benching { 2000 } else { 20 }) as usize;
    let latency = Duration::from_millis(env_u64("BENCH_LATENCY_MS", 50));
    let retry_after = Duration::from_millis(env_u64("BENCH_RETRY_AFTER_MS", 100));
    let slow = Faults {
        latency,
        ..Faults::default()
    };
    if wanted("speed-up") || wanted("throttled") {
        println!(
            "prefetch of {users} users, {} ms added to every response",
            latency.as_millis()
        );
    }
    if wanted("speed-up") {
        speed_up(users, &slow);
    }
    if wanted("throttled") {
        throttled(users, &slow, retry_after);
    }
    if wanted("rate-limit") {
        let modes: Vec<Concurrency> = std::env::var("BENCH_MODES")
            .unwrap_or_else(|_| "adaptive,fixed".into())
            .split(',')
            .filter_map(|m| match m.trim() {
                "adaptive" => Some(ADAPTIVE),
                "fixed" => Some(OLD_FIXED),
                _ => None,
            })
            .collect();
        rate_limit(&modes, benching);
    }
}
