//! What the screens list, read from the journal by indexed SQL: each queued person with where
//! they stand, one person alone, and the newest enrollments for the history.
//!
//! A person's standing is derived in the query (an indexed `EXISTS` for a recorded enrollment,
//! else the state of their newest enrollment, both on `enrollment(user_id, …)`), not kept in a
//! status column: the enrollment rows stay the only truth, so no state change, queue refresh or
//! recovery can leave a copy behind, and a person who leaves and rejoins the queue keeps their
//! history. Listing 100,000 people costs two index probes each; one person costs two probes.
//! The challenge's expiry is the integer column written with the options, never parsed here.

use super::{EnrollmentState, StoreError};

/// Where a queued person stands, from their enrollments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No enrollment yet.
    NotStarted,
    /// The newest enrollment is not finished (in progress, or left open by an interruption).
    Open,
    /// The newest enrollment failed (and none was recorded).
    Failed,
    /// An enrollment was recorded: the person has their key.
    Recorded,
}

/// One queued person as the queue lists them (no options, no PINs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    /// Entra object id (or the UPN, for CSV imports).
    pub user_id: String,
    /// userPrincipalName.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// When the stored challenge expires (Unix seconds), if known.
    pub challenge_expires_at: Option<i64>,
    /// Where they stand.
    pub standing: Standing,
    /// The station that holds them (an enrollment or a reservation there) or, once they
    /// have their key, that recorded it; `None` where the journal keeps no stations
    /// (a station's own SQLite file).
    pub station: Option<String>,
}

/// One enrollment as the history lists it: no PIN, no attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Enrollment row id.
    pub id: i64,
    /// UPN of the person.
    pub upn: String,
    /// Display name, while the person is queued and it is known.
    pub display_name: Option<String>,
    /// Current state.
    pub state: EnrollmentState,
    /// Key serial number, when known.
    pub serial: Option<String>,
    /// Graph's method id once registered.
    pub method_id: Option<String>,
    /// Last change (Unix seconds).
    pub updated_at: i64,
    /// Last error.
    pub last_error: Option<String>,
}

/// What the screens list, by indexed queries.
pub trait ReadModel {
    /// Everyone queued, ordered by UPN (then object id), with where they stand.
    fn queue_entries(&self) -> Result<Vec<QueueEntry>, StoreError>;
    /// One queued person by object id, with where they stand.
    fn queue_entry(&self, user_id: &str) -> Result<Option<QueueEntry>, StoreError>;
    /// The newest `limit` enrollments, oldest first, with display names from the queue.
    fn history(&self, limit: usize) -> Result<Vec<HistoryRow>, StoreError>;
}

/// The queue's columns, each person's standing (`standing` is 'recorded' when any
/// enrollment was recorded, else the newest enrollment's state, NULL without one) and
/// `station`, the SQL expression naming the station that holds or recorded them (NULL: none
/// kept): the same query in both backends.
pub(crate) fn entry_sql(station: &str) -> String {
    format!(
        "SELECT q.user_id, q.upn, q.display_name, q.challenge_expires_at,
   CASE WHEN EXISTS (SELECT 1 FROM enrollment e WHERE e.user_id = q.user_id AND e.state = 'recorded')
        THEN 'recorded'
        ELSE (SELECT e.state FROM enrollment e WHERE e.user_id = q.user_id ORDER BY e.id DESC LIMIT 1)
   END,
   {station}
 FROM queue q"
    )
}

/// A person's standing from the state [`entry_sql`] reads (`None`: no enrollment).
pub(crate) fn standing(state: Option<EnrollmentState>) -> Standing {
    match state {
        None => Standing::NotStarted,
        Some(EnrollmentState::Recorded) => Standing::Recorded,
        Some(EnrollmentState::Failed) => Standing::Failed,
        Some(_) => Standing::Open,
    }
}
