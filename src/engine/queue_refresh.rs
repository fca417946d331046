//! The queue live from the scope group, so a station need not run prefetch first:
//! [`super::prefetch::prefetch`], the same library call as `passkey-kiosk prefetch`, run in the
//! background on the engine's runtime, then its result upserted into the journal's queue, leaving
//! alone everyone whose enrollment is in progress or done (their options and recorded method ids
//! are what their enrollment used).
//! In the same transaction, everyone queued who is no longer a member of the group is removed
//! from the queue, except those same people (their rows stay with their records).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::api::{Event, OperatorError, QueueRefreshSummary, Remedy};
use super::core::Emitter;
use super::errors::graph_error;
use super::prefetch::{self, Failure, PrefetchError, PrefetchReport, PrefetchRequest, Progress};
use super::steps::Shared;
use crate::store::{EnrollmentState, Journal, StoreError};

/// What the background prefetch produced.
pub type Fetched = Result<PrefetchReport, PrefetchError>;

/// At most this often an [`Event::QueueRefresh`] while people are fetched (large groups).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// Runs the prefetch on the engine's runtime, sending [`Event::QueueRefresh`] as it goes;
/// `done` receives the result. (A refresh still running at shutdown is dropped with the
/// runtime: nothing was written yet.)
pub fn spawn(shared: Arc<Shared>, events: Emitter, done: impl FnOnce(Fetched) + Send + 'static) {
    let request = PrefetchRequest::from_config(&shared.config);
    let rt = shared.rt.clone();
    rt.spawn(async move {
        events.emit(Event::QueueRefresh {
            done: 0,
            total: None,
        });
        let (mut fetched, mut total) = (0, None);
        let mut last = Instant::now();
        let mut progress = |p: Progress| {
            match p {
                Progress::Members { users, .. } => total = Some(users),
                Progress::UserDone { .. } => fetched += 1,
            }
            let listed = matches!(p, Progress::Members { .. });
            if listed || total == Some(fetched) || last.elapsed() >= PROGRESS_EVERY {
                last = Instant::now();
                events.emit(Event::QueueRefresh {
                    done: fetched,
                    total,
                });
            }
        };
        let result = prefetch::prefetch(&shared.graph, &request, &mut progress).await;
        done(result);
    });
}

/// Who a refresh must not touch: people being enrolled (`active`), with an enrollment left
/// open in the journal, or already enrolled.
pub fn protected(
    journal: &Journal,
    active: impl IntoIterator<Item = String>,
) -> Result<HashSet<String>, StoreError> {
    let mut set: HashSet<String> = active.into_iter().collect();
    for e in journal.enrollments()? {
        if !e.state.is_terminal() || e.state == EnrollmentState::Recorded {
            set.insert(e.user_id);
        }
    }
    Ok(set)
}

/// Upserts what the refresh fetched into the journal's queue, except for people in
/// `protected` who are already queued, removes from the queue everyone the group no longer
/// lists (except people in `protected`), and writes the audit entry, which names the removed
/// people. The queue is unchanged when the refresh failed as a whole (the summary's `error`).
pub fn save(
    shared: &Shared,
    journal: &mut Journal,
    fetched: Fetched,
    protected: Result<HashSet<String>, StoreError>,
    operator: &str,
    group_label: &str,
) -> QueueRefreshSummary {
    let (summary, removed) = merge(journal, fetched, protected);
    let (text, ids) = match &summary.error {
        Some(e) => (
            format!("failed: {}", e.message),
            e.request_id.iter().collect(),
        ),
        None => (
            format!(
                "ok: {} updated ({} new), {} left as they were, {} failed, {}{}",
                summary.updated,
                summary.added,
                summary.kept,
                summary.failures.len(),
                prefetch::removed_text(&removed),
                summary
                    .failures
                    .iter()
                    .map(|f| format!("; {}", f.message))
                    .collect::<String>()
            ),
            summary
                .failures
                .iter()
                .filter_map(|f| f.request_id.as_ref())
                .collect::<Vec<_>>(),
        ),
    };
    let ids: Vec<&str> = ids.into_iter().map(String::as_str).collect();
    shared.audit(
        journal,
        operator,
        "queue-refresh",
        Some(group_label),
        &text,
        &ids,
    );
    summary
}

/// The summary, and who was removed from the queue as (user id, UPN).
fn merge(
    journal: &mut Journal,
    fetched: Fetched,
    protected: Result<HashSet<String>, StoreError>,
) -> (QueueRefreshSummary, Vec<(String, String)>) {
    let report = match fetched {
        Ok(r) => r,
        Err(e) => {
            let summary = QueueRefreshSummary {
                error: Some(whole_error(e)),
                ..QueueRefreshSummary::default()
            };
            return (summary, Vec::new());
        }
    };
    let mut summary = QueueRefreshSummary {
        group: Some(
            report
                .group
                .display_name
                .clone()
                .unwrap_or_else(|| report.group.id.clone()),
        ),
        skipped_members: report.skipped.len(),
        failures: report.failures().map(person_error).collect(),
        ..QueueRefreshSummary::default()
    };
    let protected = match protected {
        Ok(p) => p,
        Err(e) => {
            summary.error = Some(journal_error(&e));
            return (summary, Vec::new());
        }
    };
    // Members stay whether their options were fetched or not; a report exists only when the
    // whole member list was read (a failed listing is the whole refresh's error, above).
    match report.save_queue(journal, &protected) {
        Err(PrefetchError::Journal { source, .. }) => summary.error = Some(journal_error(&source)),
        Err(e) => summary.error = Some(whole_error(e)),
        Ok(changes) => {
            summary.kept = changes.kept;
            summary.updated = changes.updated;
            summary.added = changes.added;
            summary.removed = changes.removed.len();
            return (summary, changes.removed);
        }
    }
    (summary, Vec::new())
}

/// A failed refresh: Graph's error (with its request-id) when Graph answered, the whole
/// context chain as the message.
fn whole_error(e: PrefetchError) -> OperatorError {
    let base = match e.graph_error() {
        Some(g) => graph_error(g),
        None => OperatorError {
            code: "queue-refresh".into(),
            message: String::new(),
            remedy: Remedy::RefreshQueueAgain,
            request_id: None,
            retry_possible: true,
        },
    };
    // anyhow's `{:#}` writes the error and its causes on one line, as the CLI shows them.
    let message = format!(
        "fetching the queue from the group: {:#}",
        anyhow::Error::new(e)
    );
    OperatorError { message, ..base }
}

fn person_error(f: &Failure) -> OperatorError {
    OperatorError {
        message: f.to_string(),
        ..graph_error(&f.error)
    }
}

fn journal_error(e: &StoreError) -> OperatorError {
    OperatorError {
        code: "journal".into(),
        message: format!("saving the refreshed queue: {e}"),
        remedy: Remedy::CheckJournal,
        request_id: None,
        retry_possible: true,
    }
}
