//! The user queue: who is to get a key, with the creation options issued for them.
//!
//! The options are kept whole (the CSV cannot hold excludeCredentials or extensions), so
//! enrollment uses exactly what Graph asked for. They are stored once, in the ctap crate's
//! JSON form (`options`), and read back typed when a row is read; the challenge's expiry is
//! its own column (`challenge_expires_at`, Unix seconds), so listing, sorting and filtering
//! people never parses them.

use std::collections::HashSet;

use ctap::webauthn::CreationOptions;

use super::StoreError;

/// Creation options issued for one person, with when their challenge stops being accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The options, decoded.
    pub options: CreationOptions,
    /// When the challenge expires (Unix seconds), if known.
    pub expires_at: Option<i64>,
}

/// One person waiting for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedUser {
    /// Entra object id.
    pub user_id: String,
    /// userPrincipalName.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// The creation options to enroll them with.
    pub challenge: Challenge,
    /// The user's fido2 method ids before enrollment (deleted after the new key is registered
    /// when deleteExistingUserFIDOCredentials is set).
    pub existing_method_ids: Vec<String>,
    /// When the options were fetched (Unix seconds).
    pub fetched_at: i64,
}

/// The queue of people to enroll.
pub trait QueueStore {
    /// Inserts or refreshes queue entries, all in one transaction.
    fn upsert_queue(&mut self, users: &[QueuedUser]) -> Result<(), StoreError>;
    /// Reconciles the queue with the scope group in one transaction: upserts `fresh` (as
    /// [`QueueStore::upsert_queue`]), then removes every other queued person unless `keep`
    /// holds their object id or their lowercase UPN (the group's members, and whoever must
    /// not be touched), or a station holds them. Only queue rows go: enrollments and the
    /// audit log are untouched. Returns the removed people as (user id, UPN), ordered by UPN.
    fn replace_queue_members(
        &mut self,
        fresh: &[QueuedUser],
        keep: &HashSet<String>,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The whole queue, ordered by UPN.
    fn queue(&self) -> Result<Vec<QueuedUser>, StoreError>;
    /// One queued user by object id or UPN (case-insensitive).
    fn queued_user(&self, id_or_upn: &str) -> Result<Option<QueuedUser>, StoreError>;
    /// Whether nobody is queued.
    fn queue_is_empty(&self) -> Result<bool, StoreError>;
    /// Up to `limit` people after `after` (by UPN, then object id, the queue's order) who have
    /// no recorded enrollment: the next ones the desk will call.
    fn next_unrecorded_after(
        &self,
        after: &QueuedUser,
        limit: usize,
    ) -> Result<Vec<QueuedUser>, StoreError>;
    /// Reserves for this station the first queued person after `after` (the queue's order;
    /// `None`: from the start) whom no station holds, and returns them (`None`: nobody is
    /// left). On a shared journal the reservation is a claim without an enrollment yet:
    /// other stations pass the person by until this station enrolls them (the claim then
    /// belongs to the enrollment) or gives the reservation back. Stations reserving at the
    /// same moment never wait for each other: each skips the person another is reserving.
    fn reserve_next(
        &mut self,
        after: Option<&QueuedUser>,
    ) -> Result<Option<QueuedUser>, StoreError>;
    /// Gives back this station's reservation of the person, unless an enrollment took it
    /// over (that enrollment's end releases it).
    fn release_reservation(&mut self, user_id: &str) -> Result<(), StoreError>;
    /// Gives back every reservation of this station that no enrollment took over (what a
    /// stopped run left); returns how many.
    fn release_reservations(&mut self) -> Result<u64, StoreError>;
}

/// The options and method ids of a queue row, decoded; `corrupt` names what is wrong.
pub(crate) fn decode_queued(
    user_id: String,
    upn: String,
    display_name: String,
    options: &str,
    expires_at: Option<i64>,
    existing_method_ids: &str,
    fetched_at: i64,
) -> Result<QueuedUser, String> {
    let options =
        serde_json::from_str(options).map_err(|e| format!("creation options of {upn}: {e}"))?;
    let existing_method_ids = serde_json::from_str(existing_method_ids)
        .map_err(|e| format!("existing method ids of {upn}: {e}"))?;
    Ok(QueuedUser {
        user_id,
        upn,
        display_name,
        challenge: Challenge {
            options,
            expires_at,
        },
        existing_method_ids,
        fetched_at,
    })
}

/// The columns a queue row is stored in, in both backends.
pub(crate) const COLUMNS: &str =
    "user_id, upn, display_name, options, challenge_expires_at, existing_method_ids, fetched_at";

/// A `challengeTimeoutDateTime` (as Graph writes it) as Unix seconds.
pub fn parse_expiry(text: &str) -> Option<i64> {
    graph::creation_options::parse_challenge_timeout(text)
        .map(|t| time::OffsetDateTime::from(t).unix_timestamp())
}
/// Minimal options with `challenge` (hmacCreateSecret asked for), for tests.
#[cfg(test)]
pub(crate) fn test_challenge(challenge: &str, expires_at: Option<i64>) -> Challenge {
    let options = serde_json::json!({
        "rp": {"id": "login.microsoft.com"}, "user": {"id": "T0Y6"}, "challenge": challenge,
        "extensions": {"hmacCreateSecret": true}
    });
    Challenge {
        options: serde_json::from_value(options).expect("valid options"),
        expires_at,
    }
}
