//! The queue as the UI lists it: each person with where they stand, read from the journal's
//! indexed queries (`store::read_model`); nothing here walks enrollments or parses options.

use super::api::{HistoryEntry, Person, PersonStatus, HISTORY_LIMIT};
use crate::store::{now_unix, Journal, QueueEntry, Standing, StoreError};

/// Everyone in the journal's queue, with their status.
pub fn people(journal: &Journal) -> Result<Vec<Person>, StoreError> {
    let now = now_unix();
    Ok(journal
        .queue_entries()?
        .into_iter()
        .map(|e| person_from(e, journal.station(), now))
        .collect())
}

/// One queued person with their status (none: not queued).
pub fn person(journal: &Journal, user_id: &str) -> Result<Option<Person>, StoreError> {
    Ok(journal
        .queue_entry(user_id)?
        .map(|e| person_from(e, journal.station(), now_unix())))
}

/// `here`: this station's name; a person another station holds or recorded says which.
fn person_from(e: QueueEntry, here: &str, now: i64) -> Person {
    let elsewhere = e.station.filter(|s| s != here);
    let status = match e.standing {
        Standing::Recorded => PersonStatus::Enrolled,
        // Reserved there while their key is awaited: no enrollment yet.
        _ if elsewhere.is_some() => PersonStatus::InProgress,
        Standing::Failed => PersonStatus::Failed,
        Standing::Open => PersonStatus::InProgress,
        Standing::NotStarted if e.challenge_expires_at.is_some_and(|t| t > now) => {
            PersonStatus::Ready
        }
        Standing::NotStarted => PersonStatus::Waiting,
    };
    Person {
        user_id: e.user_id,
        upn: e.upn,
        display_name: e.display_name,
        status,
        challenge_expires_at: e.challenge_expires_at,
        elsewhere,
    }
}

/// The newest [`HISTORY_LIMIT`] enrollments of the journal, oldest first, with display names
/// from the queue. No PIN (nor attestation) leaves the journal this way.
pub fn history(journal: &Journal) -> Result<Vec<HistoryEntry>, StoreError> {
    Ok(journal
        .history(HISTORY_LIMIT)?
        .into_iter()
        .map(|e| HistoryEntry {
            enrollment_id: e.id,
            display_name: e.display_name,
            upn: e.upn,
            state: e.state,
            serial: e.serial,
            method_id: e.method_id,
            at: e.updated_at,
            last_error: e.last_error,
        })
        .collect())
}
