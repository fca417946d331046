//! The user queue in the SQLite journal, and the migrations that reshaped it.

use std::collections::HashSet;

use rusqlite::{params, OptionalExtension, Row};

use super::SqliteJournal;
use crate::store::queue::{decode_queued, COLUMNS};
use crate::store::{parse_expiry, EnrollmentLog, QueueStore, QueuedUser, StoreError};

impl QueueStore for SqliteJournal {
    /// Inserts or refreshes queue entries, all in one transaction.
    fn upsert_queue(&mut self, users: &[QueuedUser]) -> Result<(), StoreError> {
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
    fn replace_queue_members(
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
    fn queue(&self) -> Result<Vec<QueuedUser>, StoreError> {
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
    fn queued_user(&self, id_or_upn: &str) -> Result<Option<QueuedUser>, StoreError> {
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
    fn queue_is_empty(&self) -> Result<bool, StoreError> {
        self.conn
            .query_row("SELECT NOT EXISTS (SELECT 1 FROM queue)", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Up to `limit` people after `after` (by UPN, then object id, the queue's order) who have
    /// no recorded enrollment: the next ones the desk will call.
    fn next_unrecorded_after(
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

    /// One station's file holds no claims: the next person whom no other station's
    /// unfinished enrollment (a file moved between stations) holds.
    fn reserve_next(
        &mut self,
        after: Option<&QueuedUser>,
    ) -> Result<Option<QueuedUser>, StoreError> {
        let mut cursor = after.map(|a| (a.upn.clone(), a.user_id.clone()));
        loop {
            let (upn, user_id) = cursor.clone().unwrap_or_default();
            let next = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM queue q WHERE (q.upn, q.user_id) > (?1, ?2)
                     ORDER BY q.upn, q.user_id LIMIT 1"
                ))
                .and_then(|mut s| s.query_row(params![upn, user_id], raw_row).optional())
                .map_err(|e| self.err(e))?;
            let Some(raw) = next else { return Ok(None) };
            let person = self.decode_queued(raw)?;
            if self.holder(&person.user_id)?.is_none() {
                return Ok(Some(person));
            }
            cursor = Some((person.upn, person.user_id));
        }
    }

    fn release_reservation(&mut self, _user_id: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn release_reservations(&mut self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

impl SqliteJournal {
    fn decode_queued(&self, raw: RawRow) -> Result<QueuedUser, StoreError> {
        decode_queued(
            raw.user_id,
            raw.upn,
            raw.display_name,
            &raw.options,
            raw.challenge_expires_at,
            &raw.existing_method_ids,
            raw.fetched_at,
        )
        .map_err(|detail| self.corrupt(detail))
    }
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

/// Why a queue row stored in Graph's JSON could not be converted (the migration that stores
/// the options in the ctap crate's form).
pub(super) enum ConvertError {
    /// SQLite failed.
    Sqlite(rusqlite::Error),
    /// One person's options are not Graph's creation options.
    Row {
        user_id: String,
        upn: String,
        reason: String,
    },
}

impl From<rusqlite::Error> for ConvertError {
    fn from(e: rusqlite::Error) -> Self {
        ConvertError::Sqlite(e)
    }
}

/// Copies every row of the old queue (Graph's whole creationOptions body in
/// `creation_options`, with column copies of its fields) into `queue_new`, the options
/// converted once through Graph's converter into the ctap crate's form.
pub(super) fn convert_graph_options(tx: &rusqlite::Transaction<'_>) -> Result<(), ConvertError> {
    type Old = (String, String, String, String, Option<i64>, String, i64);
    let rows: Vec<Old> = tx
        .prepare(
            "SELECT user_id, upn, display_name, creation_options, challenge_expires_at,
                    existing_method_ids, fetched_at FROM queue",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut insert = tx.prepare(&format!(
        "INSERT INTO queue_new ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    ))?;
    for (user_id, upn, display_name, graph_json, expires_at, existing, fetched_at) in rows {
        let converted = serde_json::from_str::<serde_json::Value>(&graph_json)
            .map_err(|e| e.to_string())
            .and_then(|v| graph::IssuedOptions::from_graph(&v).map_err(|e| e.to_string()));
        let issued = match converted {
            Ok(issued) => issued,
            Err(reason) => {
                return Err(ConvertError::Row {
                    user_id,
                    upn,
                    reason,
                })
            }
        };
        let options = serde_json::to_string(&issued.options)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        insert.execute(params![
            user_id,
            upn,
            display_name,
            options,
            expires_at,
            existing,
            fetched_at
        ])?;
    }
    Ok(())
}

/// Inserts or refreshes `users` inside the caller's transaction.
fn upsert(tx: &rusqlite::Transaction<'_>, users: &[QueuedUser]) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(&format!(
        "INSERT INTO queue ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(user_id) DO UPDATE SET upn=excluded.upn, display_name=excluded.display_name,
           options=excluded.options, challenge_expires_at=excluded.challenge_expires_at,
           existing_method_ids=excluded.existing_method_ids, fetched_at=excluded.fetched_at"
    ))?;
    for u in users {
        let options = serde_json::to_string(&u.challenge.options)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        stmt.execute(params![
            u.user_id,
            u.upn,
            u.display_name,
            options,
            u.challenge.expires_at,
            serde_json::Value::from(u.existing_method_ids.clone()).to_string(),
            u.fetched_at,
        ])?;
    }
    Ok(())
}

struct RawRow {
    user_id: String,
    upn: String,
    display_name: String,
    options: String,
    challenge_expires_at: Option<i64>,
    existing_method_ids: String,
    fetched_at: i64,
}

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        user_id: r.get(0)?,
        upn: r.get(1)?,
        display_name: r.get(2)?,
        options: r.get(3)?,
        challenge_expires_at: r.get(4)?,
        existing_method_ids: r.get(5)?,
        fetched_at: r.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::queue::test_challenge;
    use crate::store::Journal;

    fn user(n: u32, challenge: &str) -> QueuedUser {
        QueuedUser {
            user_id: format!("id-{n}"),
            upn: format!("User{n}@contoso.example"),
            display_name: format!("User {n}"),
            challenge: test_challenge(challenge, Some(1_787_480_100)),
            existing_method_ids: vec!["old1".into()],
            fetched_at: 1,
        }
    }

    /// The stored challenge of one queued person.
    fn challenge_of(j: &Journal, id: &str) -> String {
        j.queued_user(id)
            .unwrap()
            .unwrap()
            .challenge
            .options
            .challenge
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
        assert!(q[0].challenge.options.extensions.hmac_create_secret);
        // Stored once, in the ctap crate's form: no Graph wrapper, no column copies.
        let stored: String = rusqlite::Connection::open(dir.path().join("j.sqlite"))
            .unwrap()
            .query_row(
                "SELECT options FROM queue WHERE user_id = 'id-1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(stored["challenge"], "c1-fresh");
        assert_eq!(stored["user"]["id"], "T0Y6");
        assert!(stored.get("publicKey").is_none() && !stored.to_string().contains("@odata"));
        assert_eq!(
            j.queued_user("user2@CONTOSO.example").unwrap(),
            Some(user(2, "c2"))
        );
        assert_eq!(challenge_of(&j, "id-1"), "c1-fresh");
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
        assert_eq!(challenge_of(&j, "id-1"), "c1-fresh");
        assert_eq!(
            j.queued_user("id-2")
                .unwrap()
                .unwrap()
                .challenge
                .options
                .challenge,
            "c2"
        );
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
        let mut j = SqliteJournal::open(&dir.path().join("j.sqlite"), "desk").unwrap();
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
