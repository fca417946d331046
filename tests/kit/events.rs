//! The engine's events as a test waits for them.

use std::time::{Duration, Instant};

use passkey_kiosk::engine::api::{
    Event, Issued, JobId, OperatorError, QueueRefreshSummary, Unfinished,
};
use passkey_kiosk::engine::EngineHandle;

/// Every event an engine sent, in order, while waiting for one that `want` picks.
#[derive(Default)]
pub struct Log {
    /// The events seen so far.
    pub seen: Vec<Event>,
}

impl Log {
    /// Receives events until `want` picks one (60 s at most; the panic lists what came).
    pub fn until<T>(
        &mut self,
        engine: &EngineHandle,
        what: &str,
        want: impl Fn(&Event) -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            let left = Duration::from_secs(60).saturating_sub(start.elapsed());
            let Some(e) = engine.recv_timeout(left) else {
                panic!(
                    "timed out waiting for {what}; events so far: {:#?}",
                    self.seen
                );
            };
            let hit = want(&e);
            self.seen.push(e);
            if let Some(t) = hit {
                return t;
            }
        }
    }
}

/// `Finished`: the job and what it issued.
pub fn finished(e: &Event) -> Option<(JobId, Issued)> {
    match e {
        Event::Finished { job, issued } => Some((*job, issued.clone())),
        _ => None,
    }
}

/// `Failed`: the job and its error.
pub fn failed(e: &Event) -> Option<(JobId, OperatorError)> {
    match e {
        Event::Failed { job, error } => Some((*job, error.clone())),
        _ => None,
    }
}

/// `Recovered`: what start-up found unfinished.
pub fn recovered(e: &Event) -> Option<Vec<Unfinished>> {
    match e {
        Event::Recovered(list) => Some(list.clone()),
        _ => None,
    }
}

/// `QueueRefreshed`: the refresh's outcome.
pub fn refreshed(e: &Event) -> Option<QueueRefreshSummary> {
    match e {
        Event::QueueRefreshed(s) => Some(s.clone()),
        _ => None,
    }
}
