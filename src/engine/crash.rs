//! Test-only crash points: with `PASSKEY_KIOSK_CRASH_AFTER=<point>` the process aborts (as a
//! `kill -9` would: no destructors, no flush) right after that journal commit, so the crash
//! tests can stop the real binary at every step boundary of the workflow.
//!
//! They exist only in builds with the `crash-points` cargo feature (the crash tests require it;
//! `cargo test --all-features` turns it on). Without it [`point`] compiles to nothing and the
//! variable is never read: a release build cannot crash on purpose.
//!
//! Points: `pin_committed`, `pin_set`, `credential_created`, `registering` (POST about to be
//! sent), `post_sent` (Graph stored the method, its answer not yet committed), `registered`
//! (POST answered and committed), `hardened`, `csv_written`.

/// The environment variable naming the crash point.
pub const CRASH_ENV: &str = "PASSKEY_KIOSK_CRASH_AFTER";

/// Aborts the process if `point` is the configured crash point.
#[cfg(feature = "crash-points")]
pub fn point(point: &str) {
    if std::env::var(CRASH_ENV).is_ok_and(|p| p == point) {
        eprintln!("{CRASH_ENV}={point}: aborting now (test crash)");
        std::process::abort();
    }
}

/// Does nothing: this build has no crash points.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn point(_point: &str) {}

#[cfg(test)]
mod tests {
    /// Only in builds without the feature (as a release build): the variable set to a real
    /// point does not abort. With the feature the crash tests show the opposite.
    #[cfg(not(feature = "crash-points"))]
    #[test]
    fn without_the_feature_the_variable_is_ignored() {
        std::env::set_var(super::CRASH_ENV, "pin_committed");
        super::point("pin_committed");
        std::env::remove_var(super::CRASH_ENV);
    }
}
