//! How many bulk requests may be in flight, as a pure function of the answers seen: a window
//! that grows while Graph answers cleanly and shrinks multiplicatively when it throttles
//! (429, 503), plus the pause a Retry-After asks for. No I/O and no clock of its own: the
//! caller feeds it answers with their send and arrival times, so the control law is tested
//! with made-up times (the client in `client/limiter.rs` applies it to real requests).
//!
//! The law, per answer to a request sent at `sent_at`:
//! - start: `initial` in flight; until the first throttle, +1 per clean answer (the window
//!   doubles every round trip) up to the ceiling;
//! - afterwards: + `increase * (1 + k / acceleration)` per window's worth of clean answers,
//!   `k` counting the clean windows since the last back-off, so the window creeps just past the
//!   level that was throttled and probes faster the longer answers stay clean;
//! - throttled: `window * decrease` (never below 1; `first_decrease` when leaving the start,
//!   whose doubling overshoots furthest), once per episode: an answer to a request
//!   sent before the last back-off belongs to the episode already answered, so a burst of 429s
//!   from one overshoot shrinks the window once, and clean answers to such requests do not
//!   grow it back;
//! - Retry-After: no bulk request is sent before `now + retry_after`.

use std::time::{Duration, Instant};

/// How the bulk concurrency is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// Adapts to Graph's answers, never above `ceiling` in flight.
    Adaptive {
        /// Most requests in flight at once (at least 1).
        ceiling: usize,
    },
    /// Always this many in flight (Retry-After is still honoured by everyone).
    Fixed(usize),
}

impl Concurrency {
    /// The most requests in flight at once.
    pub fn ceiling(self) -> usize {
        match self {
            Concurrency::Adaptive { ceiling } | Concurrency::Fixed(ceiling) => ceiling,
        }
    }
}

/// Tuning of the adaptive law. The defaults keep throttled requests near 3% against a token
/// bucket the window overshoots, while using the whole allowed rate of one it can reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdaptiveParams {
    /// Requests in flight before any answer (capped by the ceiling).
    pub initial: usize,
    /// Window growth per window's worth of clean answers, right after a back-off.
    pub increase: f64,
    /// Clean windows after which the growth per window has doubled (then tripled, ...).
    pub acceleration: f64,
    /// Factor applied to the window on a throttle, in (0, 1).
    pub decrease: f64,
    /// Factor applied on the first throttle, which ends the doubling start, in (0, 1).
    pub first_decrease: f64,
}

impl Default for AdaptiveParams {
    fn default() -> Self {
        AdaptiveParams {
            initial: 4,
            increase: 0.05,
            acceleration: 4.0,
            decrease: 0.7,
            first_decrease: 0.5,
        }
    }
}

/// How one answer bears on the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Graph answered without throttling (any status but 429/503, errors included: they
    /// say nothing about load).
    Clean,
    /// 429 or 503: Graph is shedding load.
    Throttled {
        /// The wait Graph asked for, if it said.
        retry_after: Option<Duration>,
    },
    /// No answer (connection refused, timeout): neither grows nor shrinks the window.
    Unknown,
}

/// Whether an HTTP status means Graph is shedding load.
pub fn is_throttle_status(status: u16) -> bool {
    matches!(status, 429 | 503)
}

impl Signal {
    /// What an answer with `status` says: throttled (with the wait to honour), clean, or
    /// nothing (504: the gateway gave up, which may or may not be load).
    pub fn from_status(status: u16, retry_after: Option<Duration>) -> Signal {
        if is_throttle_status(status) {
            Signal::Throttled { retry_after }
        } else if status == 504 {
            Signal::Unknown
        } else {
            Signal::Clean
        }
    }
}

/// The window and pause of one client's bulk requests.
#[derive(Debug, Clone)]
pub struct ConcurrencyWindow {
    mode: Concurrency,
    params: AdaptiveParams,
    window: f64,
    slow_start: bool,
    last_backoff: Option<Instant>,
    clean_since_backoff: f64,
    resume_at: Option<Instant>,
}

impl ConcurrencyWindow {
    /// A window with the default tuning.
    pub fn new(mode: Concurrency) -> Self {
        Self::with_params(mode, AdaptiveParams::default())
    }

    /// A window with explicit tuning (the fixed mode ignores it).
    pub fn with_params(mode: Concurrency, params: AdaptiveParams) -> Self {
        let ceiling = mode.ceiling().max(1);
        let window = match mode {
            Concurrency::Adaptive { .. } => params.initial.clamp(1, ceiling),
            Concurrency::Fixed(_) => ceiling,
        };
        ConcurrencyWindow {
            mode,
            params,
            window: window as f64,
            slow_start: true,
            last_backoff: None,
            clean_since_backoff: 0.0,
            resume_at: None,
        }
    }

    /// Requests allowed in flight now (1..=ceiling).
    pub fn limit(&self) -> usize {
        (self.window.floor() as usize).clamp(1, self.mode.ceiling().max(1))
    }

    /// No bulk request may be sent before this instant (the latest Retry-After), if set.
    pub fn resume_at(&self) -> Option<Instant> {
        self.resume_at
    }

    /// Feeds the answer to a request sent at `sent_at`, arrived at `now`.
    pub fn on_answer(&mut self, sent_at: Instant, now: Instant, signal: Signal) {
        let stale = self.last_backoff.is_some_and(|b| sent_at < b);
        match signal {
            Signal::Unknown => {}
            Signal::Clean => {
                if stale || matches!(self.mode, Concurrency::Fixed(_)) {
                    return;
                }
                let ceiling = self.mode.ceiling().max(1) as f64;
                if self.slow_start {
                    self.window = (self.window + 1.0).min(ceiling);
                } else {
                    // One clean answer is 1/window of a window's worth.
                    let windows = self.clean_since_backoff / self.window;
                    let growth = self.params.increase
                        * (1.0 + windows / self.params.acceleration.max(f64::MIN_POSITIVE));
                    self.clean_since_backoff += 1.0;
                    self.window = (self.window + growth / self.window).min(ceiling);
                }
            }
            Signal::Throttled { retry_after } => {
                if let Some(wait) = retry_after {
                    let until = now + wait;
                    if self.resume_at.is_none_or(|r| r < until) {
                        self.resume_at = Some(until);
                    }
                }
                if stale || matches!(self.mode, Concurrency::Fixed(_)) {
                    return;
                }
                let factor = if self.slow_start {
                    self.params.first_decrease
                } else {
                    self.params.decrease
                };
                self.window = (self.window * factor).max(1.0);
                self.slow_start = false;
                self.last_backoff = Some(now);
                self.clean_since_backoff = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A 429 asking for `n` ms.
    fn wait(n: u64) -> Signal {
        Signal::Throttled {
            retry_after: Some(ms(n)),
        }
    }

    fn adaptive(ceiling: usize) -> ConcurrencyWindow {
        ConcurrencyWindow::new(Concurrency::Adaptive { ceiling })
    }

    /// Feeds `n` clean answers, each sent at `t` and answered at `t + 200 ms`.
    fn clean(w: &mut ConcurrencyWindow, t: Instant, n: usize) {
        for _ in 0..n {
            w.on_answer(t, t + ms(200), Signal::Clean);
        }
    }

    #[test]
    fn starts_at_initial_and_doubles_per_round_trip_up_to_the_ceiling() {
        let t0 = Instant::now();
        let mut w = adaptive(32);
        assert_eq!(w.limit(), 4);
        clean(&mut w, t0, 4); // one round trip of 4 answers
        assert_eq!(w.limit(), 8);
        clean(&mut w, t0, 8);
        assert_eq!(w.limit(), 16);
        clean(&mut w, t0, 100);
        assert_eq!(w.limit(), 32, "never above the ceiling");
        assert_eq!(
            adaptive(2).limit(),
            2,
            "the initial window respects the ceiling"
        );
    }

    #[test]
    fn a_throttle_shrinks_the_window_once_per_episode() {
        let t0 = Instant::now();
        let mut w = adaptive(32);
        clean(&mut w, t0, 17); // 4 -> 21
        assert_eq!(w.limit(), 21);
        let at = t0 + ms(1000);
        w.on_answer(t0 + ms(800), at, Signal::Throttled { retry_after: None });
        assert_eq!(w.limit(), 10, "leaving the start: 21 * 0.5 = 10.5");
        // More 429s to requests sent before the back-off: the same overshoot.
        for i in 0..10 {
            w.on_answer(
                t0 + ms(900),
                at + ms(i),
                Signal::Throttled { retry_after: None },
            );
        }
        assert_eq!(w.limit(), 10);
        // A request sent after the back-off that is throttled again shrinks it again.
        w.on_answer(
            at + ms(50),
            at + ms(250),
            Signal::Throttled { retry_after: None },
        );
        assert_eq!(w.limit(), 7, "10.5 * 0.7 = 7.35");
        for _ in 0..20 {
            w.on_answer(
                at + ms(300),
                at + ms(600),
                Signal::Throttled { retry_after: None },
            );
            w.on_answer(t0, at + ms(700), Signal::Clean);
        }
        assert!(w.limit() >= 1);
    }

    #[test]
    fn never_below_one() {
        let t0 = Instant::now();
        let mut w = adaptive(8);
        for i in 0..50 {
            let t = t0 + ms(i * 10);
            w.on_answer(t, t + ms(5), Signal::Throttled { retry_after: None });
        }
        assert_eq!(w.limit(), 1);
    }

    #[test]
    fn after_a_back_off_growth_is_slow_then_accelerates() {
        let t0 = Instant::now();
        let mut w = adaptive(64);
        clean(&mut w, t0, 17); // 21
        let backoff = t0 + ms(1000);
        w.on_answer(t0, backoff, Signal::Throttled { retry_after: None });
        assert_eq!(w.limit(), 10);
        let after = backoff + ms(1);
        // Clean answers to requests sent before the back-off do not grow it.
        clean(&mut w, t0 + ms(999), 100);
        assert_eq!(w.limit(), 10);
        // Two windows of clean answers: about +0.05 * (1 + 0.25 avg) * 2 = +0.125.
        clean(&mut w, after, 21);
        assert_eq!(w.limit(), 10, "{w:?}");
        // The longer it stays clean, the faster it grows: 60 windows later it is far above.
        clean(&mut w, after, 10 * 60);
        assert!(w.limit() >= 20, "{w:?}");
        clean(&mut w, after, 10_000);
        assert_eq!(w.limit(), 64);
    }

    #[test]
    fn retry_after_pauses_until_the_latest_wait() {
        let t0 = Instant::now();
        let mut w = adaptive(8);
        assert_eq!(w.resume_at(), None);
        w.on_answer(t0, t0 + ms(100), wait(2000));
        assert_eq!(w.resume_at(), Some(t0 + ms(2100)));
        // A shorter wait announced later does not bring the pause forward.
        w.on_answer(t0, t0 + ms(200), wait(500));
        assert_eq!(w.resume_at(), Some(t0 + ms(2100)));
        w.on_answer(t0, t0 + ms(3000), wait(500));
        assert_eq!(w.resume_at(), Some(t0 + ms(3500)));
    }

    #[test]
    fn fixed_mode_keeps_its_size_but_honours_retry_after() {
        let t0 = Instant::now();
        let mut w = ConcurrencyWindow::new(Concurrency::Fixed(8));
        assert_eq!(w.limit(), 8);
        clean(&mut w, t0, 100);
        w.on_answer(t0, t0 + ms(10), wait(1000));
        assert_eq!(w.limit(), 8);
        assert_eq!(w.resume_at(), Some(t0 + ms(1010)));
    }

    #[test]
    fn unanswered_requests_change_nothing() {
        let t0 = Instant::now();
        let mut w = adaptive(16);
        w.on_answer(t0, t0 + ms(10), Signal::Unknown);
        assert_eq!(w.limit(), 4);
        assert_eq!(w.resume_at(), None);
    }

    #[test]
    fn throttle_statuses() {
        assert!(is_throttle_status(429));
        assert!(is_throttle_status(503));
        assert!(!is_throttle_status(504));
        assert!(!is_throttle_status(200));
        assert!(!is_throttle_status(404));
        let wait = Some(ms(1500));
        assert_eq!(
            Signal::from_status(429, wait),
            Signal::Throttled { retry_after: wait }
        );
        assert_eq!(
            Signal::from_status(503, None),
            Signal::Throttled { retry_after: None }
        );
        assert_eq!(Signal::from_status(504, wait), Signal::Unknown);
        assert_eq!(Signal::from_status(404, None), Signal::Clean);
        assert_eq!(Signal::from_status(201, None), Signal::Clean);
    }

    /// The law against a token bucket it overshoots (15/s, burst 15, 200 ms per answer): the
    /// window settles near the 3 in flight the rate allows, with few throttled answers.
    #[test]
    fn settles_near_the_rate_a_token_bucket_allows() {
        let t0 = Instant::now();
        let mut w = adaptive(32);
        let (rate, burst, rtt) = (15.0, 15.0, 0.2);
        let mut tokens: f64 = burst;
        let mut last = 0.0;
        let mut now = 0.0;
        let (mut sent, mut throttled, mut done) = (0u32, 0u32, 0u32);
        // In flight: (answer time, send time), in send order (all take one rtt).
        let mut flight: std::collections::VecDeque<(f64, f64)> = Default::default();
        let at = |s: f64| t0 + Duration::from_secs_f64(s);
        while done < 3000 {
            let resume = w
                .resume_at()
                .map_or(0.0, |r| r.duration_since(t0).as_secs_f64());
            while flight.len() < w.limit() && now >= resume {
                flight.push_back((now + rtt, now));
                sent += 1;
            }
            let next_answer = flight.front().map_or(f64::INFINITY, |f| f.0);
            if flight.len() < w.limit() && resume > now && resume < next_answer {
                now = resume;
                continue;
            }
            let Some((answer, send)) = flight.pop_front() else {
                break;
            };
            now = answer;
            tokens = (tokens + (now - last) * rate).min(burst);
            last = now;
            if tokens >= 1.0 {
                tokens -= 1.0;
                done += 1;
                w.on_answer(at(send), at(now), Signal::Clean);
            } else {
                throttled += 1;
                let retry_after = Duration::from_secs_f64((1.0 - tokens) / rate);
                w.on_answer(
                    at(send),
                    at(now),
                    Signal::Throttled {
                        retry_after: Some(retry_after),
                    },
                );
            }
        }
        let share = f64::from(throttled) / f64::from(sent);
        assert!(share <= 0.05, "{throttled} of {sent} throttled");
        let achieved = f64::from(done) / now / rate;
        assert!(achieved >= 0.95, "{:.0}% of the rate", achieved * 100.0);
    }
}
