//! Graph's per-app throttling as a token bucket: every Graph request of an app takes a token,
//! tokens come back at a steady rate up to a burst, and a request finding none is answered 429
//! with the time until the next token as Retry-After. Pure: the caller passes the clock, so
//! the bucket is tested with made-up times.

use std::time::{Duration, Instant};

/// A token-bucket limit on Graph requests per app (client id), like Graph's per-app-per-tenant
/// throttling. Token requests are not counted.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimit {
    /// Requests per second the bucket refills (above 0).
    pub per_second: f64,
    /// Bucket size: requests allowed at once after a quiet spell (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// `per_second` with a burst of one second's worth.
    pub fn per_second(per_second: f64) -> RateLimit {
        RateLimit {
            per_second,
            burst: (per_second.ceil() as u32).max(1),
        }
    }
}

/// One app's bucket.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(limit.burst.max(1)),
            updated: now,
        }
    }

    /// Takes a token, or says how long until one is there.
    pub fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let rate = limit.per_second.max(f64::MIN_POSITIVE);
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(f64::from(limit.burst.max(1)));
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_the_limit_waits_for_the_refill() {
        let limit = RateLimit {
            per_second: 10.0,
            burst: 5,
        };
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit, t0);
        for _ in 0..5 {
            assert_eq!(bucket.take(limit, t0), Ok(()));
        }
        let wait = bucket.take(limit, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100), "one token at 10/s");
        // Half way there: still refused, with the rest of the wait.
        let half = bucket
            .take(limit, t0 + Duration::from_millis(50))
            .unwrap_err();
        assert!((49..=51).contains(&half.as_millis()), "{half:?}");
        assert_eq!(bucket.take(limit, t0 + Duration::from_millis(100)), Ok(()));
        // A long quiet spell refills up to the burst only.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(bucket.take(limit, later), Ok(()));
        }
        assert!(bucket.take(limit, later).is_err());
    }

    #[test]
    fn a_steady_rate_at_the_limit_is_never_refused() {
        let limit = RateLimit::per_second(60.0);
        assert_eq!(limit.burst, 60);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(limit, t0);
        for _ in 0..60 {
            assert!(bucket.take(limit, t0).is_ok());
        }
        let step = Duration::from_secs_f64(1.0 / 60.0);
        for i in 1..=600u32 {
            assert!(bucket.take(limit, t0 + step * i).is_ok(), "request {i}");
        }
    }
}
