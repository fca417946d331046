//! `passkey-kiosk fake-tenant --rate-limit N --burst B`: the binary's fake tenant limits Graph
//! requests like Graph's per-app token bucket, and `prefetch` (adaptive concurrency) still
//! fetches everyone from it, no faster than the limit allows.

mod kit;

use std::time::Instant;

use kit::bin::{prefetch, streams, FakeTenantProcess};

#[test]
fn prefetch_gets_everyone_through_a_rate_limited_fake_tenant() {
    let fake = FakeTenantProcess::start(&[
        "--port",
        "0",
        "--users",
        "40",
        "--rate-limit",
        "20",
        "--burst",
        "5",
    ]);
    assert!(
        fake.printed
            .contains("rate limit:    20 Graph requests/s, burst 5"),
        "{}",
        fake.printed
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("configs.json");
    std::fs::write(&config, &fake.config).unwrap();

    let start = Instant::now();
    let out = prefetch(&config, &[]);
    let elapsed = start.elapsed();
    assert_eq!(out.status.code(), Some(0), "{:?}", streams(&out));
    let csv = std::fs::read_to_string(dir.path().join("usersToRegister.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 40, "{csv}");
    // The group, its members and 40 options are 42+ Graph requests: beyond the burst of 5
    // they come at 20 per second at most.
    assert!(
        elapsed.as_secs_f64() >= (42.0 - 5.0) / 20.0,
        "{elapsed:?} is faster than the limit allows"
    );
}

#[test]
fn burst_needs_a_rate_limit() {
    let out = kit::bin::run(&["fake-tenant", "--port", "0", "--burst", "5"], &[]);
    assert_eq!(out.status.code(), Some(2), "{:?}", streams(&out));
    assert!(
        streams(&out).1.contains("--rate-limit"),
        "{:?}",
        streams(&out)
    );
}
