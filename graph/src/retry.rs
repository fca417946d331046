//! Retry policy as pure functions: which answers are retried, how long to wait (Retry-After as
//! integer, decimal or HTTP-date; otherwise capped exponential backoff with jitter), and why a
//! registration POST is never blindly repeated (its challenge is single-use).

use std::time::{Duration, SystemTime};

/// How hard to retry. Defaults follow the Graph SDK RetryHandler (3 retries => 4 attempts would be
/// its default; we allow 5 attempts) and cap backoff at 60 s. Announced throttling (a Retry-After)
/// gets a larger budget: the service said the request was not processed and when to come back,
/// and in a bulk run many workers come back at once, so a short wait can be refused again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts per request, first one included (at least 1).
    pub max_attempts: u32,
    /// Attempts per request while the service keeps announcing throttling (429, or 503/504 with
    /// a Retry-After); never fewer than `max_attempts`.
    pub max_throttled_attempts: u32,
    /// First backoff delay when the service gave no Retry-After.
    pub base_delay: Duration,
    /// Cap of the exponential backoff.
    pub max_delay: Duration,
    /// A Retry-After longer than this ends the request with `Error::Throttled` instead of waiting.
    pub max_retry_after: Duration,
    /// Pause before looking up a method after an ambiguous POST failure, so a POST still being
    /// processed server-side has landed.
    pub recheck_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            max_throttled_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(300),
            recheck_delay: Duration::from_secs(3),
        }
    }
}

/// Whether repeating the request is harmless.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, DELETE, token requests: repeat after timeouts and resets too.
    Idempotent,
    /// POST register: repeat only when the request surely was not processed (429, connect failure).
    NonIdempotent,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer.
    Status {
        /// Status code.
        status: u16,
        /// Parsed Retry-After, if sent.
        retry_after: Option<Duration>,
    },
    /// No answer.
    Transport {
        /// The connection was never established: the request did not leave.
        connect: bool,
    },
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Stop and report.
    Stop,
}

/// Statuses worth retrying: throttled (429), unavailable (503), gateway timeout (504).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 503 | 504)
}

impl RetryPolicy {
    /// Decides after attempt number `attempts` (1 = the first try). `jitter` is in `[0, 1)`.
    pub fn decide(
        &self,
        attempts: u32,
        outcome: Outcome,
        idem: Idempotency,
        jitter: f64,
    ) -> Decision {
        let announced = matches!(
            outcome,
            Outcome::Status { status: 429, .. }
                | Outcome::Status {
                    retry_after: Some(_),
                    ..
                }
        );
        let budget = if announced {
            self.max_throttled_attempts.max(self.max_attempts)
        } else {
            self.max_attempts
        };
        if attempts >= budget.max(1) {
            return Decision::Stop;
        }
        let retry_answer = |retry_after: Option<Duration>| match retry_after {
            Some(d) if d > self.max_retry_after => Decision::Stop,
            Some(d) => Decision::Retry(d),
            None => Decision::Retry(self.backoff(attempts, jitter)),
        };
        match (outcome, idem) {
            // 429 means "not processed": safe for any method.
            (
                Outcome::Status {
                    status: 429,
                    retry_after,
                },
                _,
            ) => retry_answer(retry_after),
            (
                Outcome::Status {
                    status,
                    retry_after,
                },
                Idempotency::Idempotent,
            ) if is_retryable_status(status) => retry_answer(retry_after),
            (Outcome::Transport { .. }, Idempotency::Idempotent) => {
                Decision::Retry(self.backoff(attempts, jitter))
            }
            (Outcome::Transport { connect: true }, Idempotency::NonIdempotent) => {
                Decision::Retry(self.backoff(attempts, jitter))
            }
            _ => Decision::Stop,
        }
    }

    /// Exponential backoff for retry number `n` (1-based): `base * 2^(n-1)`, capped at `max_delay`,
    /// "equal jitter" (half fixed, half random) so parallel workers spread out.
    pub fn backoff(&self, n: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << n.saturating_sub(1).min(20))
            .min(self.max_delay);
        let j = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        exp / 2 + exp.mul_f64(j / 2.0)
    }
}

/// Parses a Retry-After value: integer seconds, decimal seconds (Graph docs sample `2.128`) or an
/// HTTP-date (a past date means "now"). Garbage or negative values give `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if v.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let secs: f64 = v.parse().ok()?;
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}
