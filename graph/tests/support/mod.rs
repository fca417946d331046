//! Shared by the graph crate's integration tests.

use std::time::Duration;

use graph::RetryPolicy;

/// The client's real retry policy with delays of milliseconds, so tests of retries, throttling
/// and look-ups after a lost answer run quickly.
pub fn fast_policy(max_attempts: u32, max_throttled_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        max_throttled_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(80),
        max_retry_after: Duration::from_secs(5),
        recheck_delay: Duration::from_millis(20),
    }
}
