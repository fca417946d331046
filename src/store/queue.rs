//! The user queue: who is to get a key, with the creation options Graph issued for them.
//!
//! The options are kept whole (the CSV cannot hold excludeCredentials or extensions), so
//! enrollment uses exactly what Graph sent. The challenge's expiry is also stored as Unix
//! seconds (`challenge_expires_at`) when the options are, so listing, sorting and filtering
//! people never parses them.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row};

use super::{Journal, StoreError};

/// One person waiting for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedUser {
    /// Entra object id.
    pub user_id: String,
    /// userPrincipalName.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// `publicKey.user.id` (base64url user handle).
    pub user_handle: String,
    /// `publicKey.challenge`, verbatim.
    pub challenge: String,
    /// `challengeTimeoutDateTime`, verbatim.
    pub challenge_expiry: String,
    /// `publicKey.rp.id`.
    pub rp_id: String,
    /// Graph's whole creationOptions response body.
    pub creation_options: serde_json::Value,
    /// The user's fido2 method ids before enrollment (deleted after the new key is registered
    /// when deleteExistingUserFIDOCredentials is set).
    pub existing_method_ids: Vec<String>,
    /// When the options were fetched (Unix seconds).
    pub fetched_at: i64,
}

const COLUMNS: &str = "user_id, upn, display_name, user_handle, challenge, challenge_expiry, rp_id, creation_options, existing_method_ids, fetched_at";

impl Journal {
    /// Inserts or refreshes queue entries, all in one transaction.
    pub fn upsert_queue(&mut self, users: &[QueuedUser]) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sqlite)?;
        upsert(&tx, users).map_err(sqlite)?;
        tx.commit().map_err(sqlite)
    }

    /// Reconciles the queue with the scope group in one IMMEDIATE transaction: upserts `fresh`
    /// (as [`Journal::upsert_queue`]), then removes every other queued person unless `keep`
    /// holds their object id or their lowercase UPN (the group's members, and whoever must not
    /// be touched). Only queue rows go: enrollments and the audit log are untouched. Returns
    /// the removed people as (user id, UPN), ordered by UPN.
    pub fn replace_queue_members(
        &mut self,
        fresh: &[QueuedUser],
        keep: &HashSet<String>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let path = self.path.clone();
        let sqlite = |source| StoreError::Sqlite {
            path: path.clone(),
            source,
        };
        // IMMEDIATE: this transaction reads the queue, then writes. A deferred one fails at
        // once with SQLITE_BUSY when another connection (a background job) wrote in between.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        upsert(&tx, fresh).map_err(sqlite)?;
        let fresh_ids: HashSet<&str> = fresh.iter().map(|u| u.user_id.as_str()).collect();
        let removed: Vec<(String, String)> = {
            let mut stmt = tx
                .prepare_cached("SELECT user_id, upn FROM queue ORDER BY upn")
                .map_err(sqlite)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
                .map_err(sqlite)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(sqlite)?;
            rows.into_iter()
                .filter(|(id, upn)| {
                    !fresh_ids.contains(id.as_str())
                        && !keep.contains(id)
                        && !keep.contains(&upn.to_lowercase())
                })
                .collect()
        };
        {
            let mut stmt = tx
                .prepare_cached("DELETE FROM queue WHERE user_id = ?1")
                .map_err(sqlite)?;
            for (id, _) in &removed {
                stmt.execute([id]).map_err(sqlite)?;
            }
        }
        tx.commit().map_err(sqlite)?;
        Ok(removed)
    }

    /// The whole queue, ordered by UPN.
    pub fn queue(&self) -> Result<Vec<QueuedUser>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM queue ORDER BY upn, user_id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], raw_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.decode_queued(r)).collect()
    }

    /// One queued user by object id or UPN (case-insensitive).
    pub fn queued_user(&self, id_or_upn: &str) -> Result<Option<QueuedUser>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM queue WHERE user_id = ?1 OR lower(upn) = lower(?1)"
                ),
                [id_or_upn],
                raw_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(|r| self.decode_queued(r)).transpose()
    }

    /// Whether nobody is queued.
    pub fn queue_is_empty(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM queue)", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` people after `after` (by UPN, then object id, the queue's order) who have
    /// no recorded enrollment: the next ones the desk will call.
    pub fn next_unrecorded_after(
        &self,
        after: &QueuedUser,
        limit: usize,
    ) -> Result<Vec<QueuedUser>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM queue q WHERE (q.upn, q.user_id) > (?1, ?2)
                   AND NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.user_id = q.user_id AND e.state = 'recorded')
                 ORDER BY q.upn, q.user_id LIMIT ?3"
            ))
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![after.upn, after.user_id, limit], raw_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.decode_queued(r)).collect()
    }

    fn decode_queued(&self, raw: RawRow) -> Result<QueuedUser, StoreError> {
        let creation_options = serde_json::from_str(&raw.creation_options)
            .map_err(|e| self.corrupt(format!("creation options of {}: {e}", raw.upn)))?;
        let existing_method_ids = serde_json::from_str(&raw.existing_method_ids)
            .map_err(|e| self.corrupt(format!("existing method ids of {}: {e}", raw.upn)))?;
        Ok(QueuedUser {
            user_id: raw.user_id,
            upn: raw.upn,
            display_name: raw.display_name,
            user_handle: raw.user_handle,
            challenge: raw.challenge,
            challenge_expiry: raw.challenge_expiry,
            rp_id: raw.rp_id,
            creation_options,
            existing_method_ids,
            fetched_at: raw.fetched_at,
        })
    }
}

/// When `q`'s challenge expires (Unix seconds): the options' `challengeTimeoutDateTime`, else
/// the stored `challenge_expiry` (a CSV row's).
pub fn challenge_expires_at(q: &QueuedUser) -> Option<i64> {
    q.creation_options
        .get("challengeTimeoutDateTime")
        .and_then(serde_json::Value::as_str)
        .and_then(parse_expiry)
        .or_else(|| parse_expiry(&q.challenge_expiry))
}

/// A `challengeTimeoutDateTime` (RFC 3339) as Unix seconds. Graph sometimes omits the zone
/// (as in innerError.date); its times are UTC.
pub(super) fn parse_expiry(text: &str) -> Option<i64> {
    let s = text.trim();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::parse(s, rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(&format!("{s}Z"), rfc3339))
        .ok()
        .map(time::OffsetDateTime::unix_timestamp)
}

/// Fills `challenge_expires_at` of rows stored before the column existed (the migration that
/// adds it): the only time stored options are parsed for it.
pub(super) fn fill_expiries(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let rows: Vec<(i64, String, String)> = tx
        .prepare("SELECT rowid, challenge_expiry, creation_options FROM queue")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare("UPDATE queue SET challenge_expires_at = ?2 WHERE rowid = ?1")?;
    for (rowid, expiry, options) in rows {
        let from_options = serde_json::from_str::<serde_json::Value>(&options)
            .ok()
            .and_then(|o| {
                o.get("challengeTimeoutDateTime")
                    .and_then(serde_json::Value::as_str)
                    .and_then(parse_expiry)
            });
        update.execute(params![
            rowid,
            from_options.or_else(|| parse_expiry(&expiry))
        ])?;
    }
    Ok(())
}

/// Inserts or refreshes `users` inside the caller's transaction.
fn upsert(tx: &rusqlite::Transaction<'_>, users: &[QueuedUser]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO queue ({COLUMNS}, challenge_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT(user_id) DO UPDATE SET upn=excluded.upn, display_name=excluded.display_name,
           user_handle=excluded.user_handle, challenge=excluded.challenge,
           challenge_expiry=excluded.challenge_expiry, rp_id=excluded.rp_id,
           creation_options=excluded.creation_options,
           existing_method_ids=excluded.existing_method_ids, fetched_at=excluded.fetched_at,
           challenge_expires_at=excluded.challenge_expires_at"
    ))?;
    for u in users {
        stmt.execute(params![
            u.user_id,
            u.upn,
            u.display_name,
            u.user_handle,
            u.challenge,
            u.challenge_expiry,
            u.rp_id,
            u.creation_options.to_string(),
            serde_json::Value::from(u.existing_method_ids.clone()).to_string(),
            u.fetched_at,
            challenge_expires_at(u),
        ])?;
    }
    Ok(())
}

struct RawRow {
    user_id: String,
    upn: String,
    display_name: String,
    user_handle: String,
    challenge: String,
    challenge_expiry: String,
    rp_id: String,
    creation_options: String,
    existing_method_ids: String,
    fetched_at: i64,
}

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        user_id: r.get(0)?,
        upn: r.get(1)?,
        display_name: r.get(2)?,
        user_handle: r.get(3)?,
        challenge: r.get(4)?,
        challenge_expiry: r.get(5)?,
        rp_id: r.get(6)?,
        creation_options: r.get(7)?,
        existing_method_ids: r.get(8)?,
        fetched_at: r.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: u32, challenge: &str) -> QueuedUser {
        QueuedUser {
            user_id: format!("id-{n}"),
            upn: format!("User{n}@contoso.example"),
            display_name: format!("User {n}"),
            user_handle: "T0Y6".into(),
            challenge: challenge.into(),
            challenge_expiry: "2026-08-23T10:15:00Z".into(),
            rp_id: "login.microsoft.com".into(),
            creation_options: serde_json::json!({"publicKey": {"challenge": challenge, "extensions": {"hmacCreateSecret": true}}}),
            existing_method_ids: vec!["old1".into()],
            fetched_at: 1,
        }
    }

    #[test]
    fn upsert_keeps_whole_options_and_refreshes() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        j.upsert_queue(&[user(2, "c2"), user(1, "c1")]).unwrap();
        j.upsert_queue(&[user(1, "c1-fresh")]).unwrap();
        let q = j.queue().unwrap();
        assert_eq!(q.len(), 2);
        assert_eq!(q[0], user(1, "c1-fresh"));
        assert_eq!(
            q[0].creation_options["publicKey"]["extensions"]["hmacCreateSecret"],
            true
        );
        assert_eq!(
            j.queued_user("user2@CONTOSO.example").unwrap(),
            Some(user(2, "c2"))
        );
        assert_eq!(
            j.queued_user("id-1").unwrap().unwrap().challenge,
            "c1-fresh"
        );
        assert!(j.queued_user("nobody").unwrap().is_none());
    }

    #[test]
    fn replacing_members_removes_only_those_not_kept_in_one_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        // 5 was queued from a CSV: its row is keyed by the UPN as the CSV spelt it.
        let mut csv_row = user(5, "c5");
        csv_row.user_id = "User5@Contoso.example".into();
        j.upsert_queue(&[
            user(1, "c1"),
            user(2, "c2"),
            user(3, "c3"),
            user(4, "c4"),
            csv_row,
        ])
        .unwrap();
        let id = j
            .begin_enrollment("id-3", "User3@contoso.example", None, None)
            .unwrap();
        j.audit("alice", "queue-refresh", None, "ok", &[]).unwrap();

        // 1 was fetched afresh; 2 is a member whose options failed; 3 left but is protected;
        // 4 left; 5 is still a member (known by its UPN); 6 joined.
        let keep: HashSet<String> = ["id-1", "id-2", "id-3", "id-6", "user5@contoso.example"]
            .into_iter()
            .map(String::from)
            .collect();
        let removed = j
            .replace_queue_members(&[user(1, "c1-fresh"), user(6, "c6")], &keep)
            .unwrap();
        assert_eq!(
            removed,
            vec![("id-4".to_owned(), "User4@contoso.example".to_owned())]
        );
        let ids: Vec<String> = j.queue().unwrap().into_iter().map(|q| q.user_id).collect();
        assert_eq!(
            ids,
            ["id-1", "id-2", "id-3", "User5@Contoso.example", "id-6"]
        );
        assert_eq!(
            j.queued_user("id-1").unwrap().unwrap().challenge,
            "c1-fresh"
        );
        assert_eq!(j.queued_user("id-2").unwrap().unwrap().challenge, "c2");
        // Nothing else is lost.
        assert_eq!(j.enrollments().unwrap().len(), 1);
        assert_eq!(j.enrollments().unwrap()[0].id, id);
        assert_eq!(j.audit_log().unwrap().len(), 1);

        // Fresh people always stay; an empty keep set removes everyone else.
        let removed = j
            .replace_queue_members(&[user(1, "c1")], &HashSet::new())
            .unwrap();
        assert_eq!(removed.len(), 4, "{removed:?}");
        assert_eq!(j.queue().unwrap(), vec![user(1, "c1")]);
    }

    #[test]
    fn the_next_people_skip_the_recorded_in_queue_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        assert!(j.queue_is_empty().unwrap());
        j.upsert_queue(&(1..=6).rev().map(|n| user(n, "c")).collect::<Vec<_>>())
            .unwrap();
        assert!(!j.queue_is_empty().unwrap());
        // 3 has a key; 4 failed once (still to be called).
        for (n, ok) in [(3, true), (4, false)] {
            let id = j
                .begin_enrollment(&format!("id-{n}"), "x", None, None)
                .unwrap();
            if ok {
                j.pin_set(id, crate::store::PinSource::Typed).unwrap();
                j.credential_created(id, b"c", b"{}", b"a").unwrap();
                j.registering(id).unwrap();
                j.registered(id, "m").unwrap();
                j.hardened(id).unwrap();
                j.recorded(id, false).unwrap();
            } else {
                j.failed(id, "key removed").unwrap();
            }
        }
        let ids = |after: u32, limit| -> Vec<String> {
            j.next_unrecorded_after(&user(after, "c"), limit)
                .unwrap()
                .into_iter()
                .map(|q| q.user_id)
                .collect()
        };
        assert_eq!(ids(1, 3), ["id-2", "id-4", "id-5"]);
        assert_eq!(ids(5, 3), ["id-6"]);
        assert!(ids(6, 3).is_empty());
    }

    #[test]
    fn a_failed_replacement_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        j.upsert_queue(&[user(1, "c1"), user(2, "c2")]).unwrap();
        let before = j.queue().unwrap();
        // Another connection holds the write lock: the transaction cannot even begin.
        let other = rusqlite::Connection::open(dir.path().join("j.sqlite")).unwrap();
        other
            .execute_batch("PRAGMA busy_timeout=0; BEGIN IMMEDIATE;")
            .unwrap();
        j.conn.execute_batch("PRAGMA busy_timeout=0").unwrap();
        assert!(j
            .replace_queue_members(&[user(3, "c3")], &HashSet::new())
            .is_err());
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(j.queue().unwrap(), before);
    }
}
