//! The queue as the UI lists it: each person with where they stand.

use std::time::UNIX_EPOCH;

use super::api::{Person, PersonStatus};
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
