//! Test-only crash points: with `PASSKEY_KIOSK_CRASH_AFTER=<point>` the process aborts (as a
//! `kill -9` would: no destructors, no flush) right after that journal commit, so the crash
//! tests can stop the real binary at every step boundary of the workflow.
//!
//! Points: `pin_committed`, `pin_set`, `credential_created`, `registering` (POST about to be
//! sent), `post_sent` (Graph stored the method, its answer not yet committed), `registered`
//! (POST answered and committed), `hardened`, `csv_written`.

/// The environment variable naming the crash point.
pub const CRASH_ENV: &str = "PASSKEY_KIOSK_CRASH_AFTER";

/// Aborts the process if `point` is the configured crash point.
pub fn point(point: &str) {
    if std::env::var(CRASH_ENV).is_ok_and(|p| p == point) {
        eprintln!("{CRASH_ENV}={point}: aborting now (test crash)");
        std::process::abort();
    }
}
