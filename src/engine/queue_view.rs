//! The queue as the UI lists it: each person with where they stand.

use std::time::UNIX_EPOCH;

use std::collections::HashMap;

use super::api::{HistoryEntry, Person, PersonStatus, HISTORY_LIMIT};
use super::options;
use crate::store::{EnrollmentState, Journal, StoreError};

/// Everyone in the journal's queue, with their status.
pub fn people(journal: &Journal) -> Result<Vec<Person>, StoreError> {
    let enrollments = journal.enrollments()?;
    let queue = journal.queue()?;
    Ok(queue
        .into_iter()
        .map(|q| {
            let mine: Vec<_> = enrollments
                .iter()
                .filter(|e| e.user_id == q.user_id)
                .collect();
            let expires = options::challenge_expires_at(&q);
            let status = if mine.iter().any(|e| e.state == EnrollmentState::Recorded) {
                PersonStatus::Enrolled
            } else {
                match mine.last().map(|e| e.state) {
                    Some(EnrollmentState::Failed) => PersonStatus::Failed,
                    Some(_) => PersonStatus::InProgress,
                    None if options::challenge_still_valid(&q) => PersonStatus::Ready,
                    None => PersonStatus::Waiting,
                }
            };
            Person {
                user_id: q.user_id,
                upn: q.upn,
                display_name: q.display_name,
                status,
                challenge_expires_at: expires
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .and_then(|d| i64::try_from(d.as_secs()).ok()),
            }
        })
        .collect())
}

/// The newest [`HISTORY_LIMIT`] enrollments of the journal, oldest first, with display names
/// from the queue. No PIN leaves the journal this way.
pub fn history(journal: &Journal) -> Result<Vec<HistoryEntry>, StoreError> {
    let names: HashMap<String, String> = journal
        .queue()?
        .into_iter()
        .filter(|q| !q.display_name.is_empty())
        .map(|q| (q.user_id, q.display_name))
        .collect();
    let all = journal.enrollments()?;
    let skip = all.len().saturating_sub(HISTORY_LIMIT);
    Ok(all
        .into_iter()
        .skip(skip)
        .map(|e| HistoryEntry {
            enrollment_id: e.id,
            display_name: names.get(&e.user_id).cloned(),
            upn: e.upn,
            state: e.state,
            serial: e.serial,
            method_id: e.method_id,
            at: e.updated_at,
            last_error: e.last_error,
        })
        .collect())
}
