//! The concurrency limit every request passes, in two lanes. Bulk requests (priority Low:
//! prefetch, queue refresh) share a window that adapts to Graph's answers
//! ([`crate::adaptive::ConcurrencyWindow`]) and wait out every Retry-After. Everything else (the
//! kiosk's interactive calls, one-off CLI calls) has its own pool of `ceiling` permits and
//! never queues behind bulk work or its back-off; its throttled answers still shrink and pause
//! the bulk lane, since the limit Graph enforces is per app.

use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::ThrottlePriority;
use crate::adaptive::{Concurrency, ConcurrencyWindow, Signal};
use crate::error::{Error, Result};

pub(super) struct Limiter {
    state: Mutex<BulkState>,
    /// Holds `window.limit()` permits (less what is owed, see `BulkState::owed`).
    bulk: Semaphore,
    interactive: Semaphore,
}

struct BulkState {
    window: ConcurrencyWindow,
    /// Permits the bulk semaphore owns, free or held.
    owned: usize,
    /// Held permits to forget when returned: the window shrank while they were in flight.
    owed: usize,
}

/// A permit to send one request; [`Limiter::answered`] takes it back with the outcome.
pub(super) struct Permit<'a> {
    permit: Option<SemaphorePermit<'a>>,
    bulk: bool,
    sent_at: Instant,
}

impl Limiter {
    pub(super) fn new(mode: Concurrency) -> Limiter {
        let window = ConcurrencyWindow::new(mode);
        let limit = window.limit();
        Limiter {
            state: Mutex::new(BulkState {
                window,
                owned: limit,
                owed: 0,
            }),
            bulk: Semaphore::new(limit),
            interactive: Semaphore::new(mode.ceiling().max(1)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BulkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for a slot in the request's lane; a bulk request also waits out any pause.
    pub(super) async fn acquire(&self, priority: ThrottlePriority) -> Result<Permit<'_>> {
        let bulk = priority == ThrottlePriority::Low;
        let semaphore = if bulk { &self.bulk } else { &self.interactive };
        let permit = semaphore
            .acquire()
            .await
            .map_err(|_| Error::InvalidConfig("client is shutting down".into()))?;
        if bulk {
            // Checked after the permit, and again after each wait: a pause set while we
            // queued or slept still holds us back.
            loop {
                let resume = self.lock().window.resume_at();
                match resume {
                    Some(at) if at > Instant::now() => {
                        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(Permit {
            permit: Some(permit),
            bulk,
            sent_at: Instant::now(),
        })
    }

    /// Returns the permit with what became of its request, adjusting the bulk window.
    pub(super) fn answered(&self, mut permit: Permit<'_>, signal: Signal) {
        let mut st = self.lock();
        st.window.on_answer(permit.sent_at, Instant::now(), signal);
        self.resize(&mut st);
        if permit.bulk && st.owed > 0 {
            if let Some(p) = permit.permit.take() {
                p.forget();
                st.owed -= 1;
                st.owned -= 1;
            }
        }
        drop(permit);
    }

    /// Brings the bulk semaphore to the window's limit: adds permits, or forgets free ones
    /// and owes the rest until their holders return them.
    fn resize(&self, st: &mut BulkState) {
        let target = st.window.limit();
        let effective = st.owned - st.owed;
        if target > effective {
            let mut missing = target - effective;
            let forgiven = missing.min(st.owed);
            st.owed -= forgiven;
            missing -= forgiven;
            if missing > 0 {
                self.bulk.add_permits(missing);
                st.owned += missing;
            }
        } else if target < effective {
            let excess = effective - target;
            let forgotten = self.bulk.forget_permits(excess);
            st.owned -= forgotten;
            st.owed += excess - forgotten;
        }
    }

    /// Bulk requests allowed in flight now.
    #[cfg(test)]
    pub(super) fn bulk_limit(&self) -> usize {
        self.lock().window.limit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn throttled() -> Signal {
        Signal::Throttled { retry_after: None }
    }

    #[tokio::test]
    async fn the_bulk_semaphore_follows_the_window() {
        let limiter = Limiter::new(Concurrency::Adaptive { ceiling: 32 });
        assert_eq!(limiter.bulk.available_permits(), 4);
        let held: Vec<_> = acquire_bulk(&limiter, 4).await;
        assert_eq!(limiter.bulk.available_permits(), 0);
        // Every answer clean: the window doubles, and the semaphore with it.
        for p in held {
            limiter.answered(p, Signal::Clean);
        }
        assert_eq!(limiter.bulk_limit(), 8);
        assert_eq!(limiter.bulk.available_permits(), 8);

        // A throttle while all 8 are out: the window halves to 4, 4 permits are owed and
        // vanish when their holders return them.
        let held: Vec<_> = acquire_bulk(&limiter, 8).await;
        let mut held = held.into_iter();
        let first = held.next().unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        limiter.answered(first, throttled());
        assert_eq!(limiter.bulk_limit(), 4);
        for p in held {
            limiter.answered(p, Signal::Clean); // sent before the back-off: no growth
        }
        assert_eq!(limiter.bulk.available_permits(), 4);
    }

    #[tokio::test]
    async fn interactive_requests_do_not_wait_for_bulk_work_or_its_pause() {
        let limiter = Limiter::new(Concurrency::Adaptive { ceiling: 2 });
        let bulk: Vec<_> = acquire_bulk(&limiter, 2).await;
        let mut bulk = bulk.into_iter();
        limiter.answered(
            bulk.next().unwrap(),
            Signal::Throttled {
                retry_after: Some(Duration::from_secs(30)),
            },
        );
        let interactive = tokio::time::timeout(
            Duration::from_millis(200),
            limiter.acquire(ThrottlePriority::High),
        )
        .await
        .expect("an interactive call goes ahead of paused bulk work")
        .unwrap();
        limiter.answered(interactive, Signal::Clean);
        let waiting = tokio::time::timeout(
            Duration::from_millis(100),
            limiter.acquire(ThrottlePriority::Low),
        )
        .await;
        assert!(waiting.is_err(), "bulk work waits out the Retry-After");
    }

    async fn acquire_bulk(limiter: &Limiter, n: usize) -> Vec<Permit<'_>> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(limiter.acquire(ThrottlePriority::Low).await.unwrap());
        }
        out
    }
}
