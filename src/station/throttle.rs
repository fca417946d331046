//! How fast wrong passcodes may be tried: the first [`FREE_FAILURES`] consecutive failures cost
//! nothing, then each one makes the next attempt wait, [`FIRST_DELAY`] and doubling (at most
//! [`MAX_DELAY`]). A pure decision of the failure count and the time, like `graph::retry`:
//! the caller passes the clock in, so tests need no waiting.

use std::time::{Duration, Instant};

/// Consecutive failures allowed without a delay.
pub const FREE_FAILURES: u32 = 5;
/// The delay after the [`FREE_FAILURES`]th consecutive failure.
pub const FIRST_DELAY: Duration = Duration::from_secs(30);
/// The delay stops doubling here (a day).
pub const MAX_DELAY: Duration = Duration::from_secs(24 * 3600);

/// Consecutive failures and when the next attempt may be checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Throttle {
    failures: u32,
    not_before: Option<Instant>,
}

/// The delay that follows the `failures`th consecutive failure.
pub fn delay_after(failures: u32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let doublings = (failures - FREE_FAILURES).min(16);
    FIRST_DELAY.saturating_mul(1 << doublings).min(MAX_DELAY)
}

impl Throttle {
    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// How long until an attempt may be checked (`None`: now).
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        self.not_before
            .and_then(|t| t.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// A wrong passcode: returns the delay before the next attempt (zero while free).
    pub fn failed(&mut self, now: Instant) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let delay = delay_after(self.failures);
        self.not_before = (!delay.is_zero()).then(|| now + delay);
        delay
    }

    /// The right passcode: the count starts over.
    pub fn succeeded(&mut self) {
        *self = Throttle::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_the_delay_starts_at_30_s_and_doubles() {
        let start = Instant::now();
        let mut t = Throttle::default();
        for n in 1..=4 {
            assert_eq!(t.failed(start), Duration::ZERO, "failure {n}");
            assert_eq!(t.wait(start), None);
        }
        assert_eq!(t.failed(start), Duration::from_secs(30));
        assert_eq!(t.failures(), 5);
        assert_eq!(t.wait(start), Some(Duration::from_secs(30)));
        assert_eq!(
            t.wait(start + Duration::from_secs(20)),
            Some(Duration::from_secs(10))
        );
        assert_eq!(t.wait(start + Duration::from_secs(30)), None);

        let later = start + Duration::from_secs(30);
        assert_eq!(t.failed(later), Duration::from_secs(60));
        assert_eq!(
            t.wait(later + Duration::from_secs(59)),
            Some(Duration::from_secs(1))
        );
        let later = later + Duration::from_secs(60);
        assert_eq!(t.failed(later), Duration::from_secs(120));
        assert_eq!(delay_after(8), Duration::from_secs(240));
        assert_eq!(delay_after(60), MAX_DELAY);
    }

    #[test]
    fn the_right_passcode_starts_the_count_over() {
        let now = Instant::now();
        let mut t = Throttle::default();
        for _ in 0..5 {
            t.failed(now);
        }
        t.succeeded();
        assert_eq!(t.failures(), 0);
        assert_eq!(t.wait(now), None);
        assert_eq!(t.failed(now), Duration::ZERO);
    }
}
