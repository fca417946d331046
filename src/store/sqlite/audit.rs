//! The audit log in the SQLite journal.
//!
//! Each entry is written in an IMMEDIATE transaction that reads the newest entry and links to
//! it, so two connections (a job thread and the engine loop) never chain off the same entry.
//! Entries written before the chain existed are chained, as found, by the migration that
//! added it (the first open by a version with the chain); the chain vouches for them from
//! then on.

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::SqliteJournal;
use crate::store::audit::{link_after, next_entry};
use crate::store::{audit_chain, AuditEntry, AuditLog, StoreError};

const COLUMNS: &str =
    "id, at, operator, action, subject, result, request_ids, prev_hash, hash, station";

/// The columns before entries named their station (schema 2 to 4).
const COLUMNS_BEFORE_STATIONS: &str =
    "id, at, operator, action, subject, result, request_ids, prev_hash, hash, NULL";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: r.get(1)?,
        operator: r.get(2)?,
        action: r.get(3)?,
        subject: r.get(4)?,
        result: r.get(5)?,
        request_ids: r.get(6)?,
        prev_hash: r.get(7)?,
        hash: r.get(8)?,
        station: r.get(9)?,
    })
}

impl AuditLog for SqliteJournal {
    fn audit(
        &self,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) -> Result<(), StoreError> {
        let tx = Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let last = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM audit ORDER BY id DESC LIMIT 1"),
                [],
                entry,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let e = next_entry(
            last.as_ref(),
            &self.station,
            operator,
            action,
            subject,
            result,
            request_ids,
        );
        tx.execute(
            &format!(
                "INSERT INTO audit ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
            ),
            params![
                e.id,
                e.at,
                e.operator,
                e.action,
                e.subject,
                e.result,
                e.request_ids,
                e.prev_hash,
                e.hash,
                e.station
            ],
        )
        .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// The whole audit log, oldest first.
    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], entry)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

/// Chains the entries written before the chain existed, oldest first (run once, inside the
/// migration that added the columns).
pub(super) fn chain_existing(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let log = {
        let mut stmt = tx.prepare(&format!(
            "SELECT {COLUMNS_BEFORE_STATIONS} FROM audit ORDER BY id"
        ))?;
        let rows = stmt.query_map([], entry)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut previous: Option<AuditEntry> = None;
    for mut e in log {
        let (_, prev_hash) = link_after(previous.as_ref());
        e.prev_hash = Some(prev_hash);
        e.hash = Some(audit_chain::entry_hash(&e));
        tx.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE id = ?1",
            params![e.id, e.prev_hash, e.hash],
        )?;
        previous = Some(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::store::audit_chain::GENESIS;
    use crate::store::Journal;

    #[test]
    fn entries_are_kept_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        j.audit("alice", "prefetch", None, "ok", &["r1", "r2"])
            .unwrap();
        j.audit(
            "alice",
            "register",
            Some("a@x"),
            "Graph 400 badRequest",
            &["r3"],
        )
        .unwrap();
        let log = j.audit_log().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(log[0].request_ids, "r1 r2");
        assert_eq!(log[1].subject.as_deref(), Some("a@x"));
        assert_eq!(log[1].result, "Graph 400 badRequest");
        assert_eq!(log[0].prev_hash.as_deref(), Some(GENESIS));
        assert_eq!(log[1].prev_hash, log[0].hash);
        assert_eq!(j.verify_audit().unwrap(), Ok((2, log[1].hash.clone())));
    }

    #[test]
    fn concurrent_writers_keep_one_chain() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        Journal::open(&path).unwrap();
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let j = Journal::open(&path).unwrap();
                    for i in 0..25 {
                        j.audit(
                            &format!("w{w}"),
                            "register",
                            Some(&format!("{i}")),
                            "ok",
                            &[],
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.verify_audit().unwrap().map(|(n, _)| n), Ok(100));
    }

    #[test]
    fn entries_from_before_the_chain_are_chained_when_the_journal_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        {
            // A journal as version 1 of the schema wrote it.
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(super::super::schema::MIGRATIONS[0])
                .unwrap();
            conn.execute_batch(
                "PRAGMA user_version = 1;
                 INSERT INTO audit (at, operator, action, subject, result, request_ids)
                   VALUES (1, 'alice', 'prefetch', NULL, 'ok', ''),
                          (2, 'alice', 'register', 'a@x', 'ok', 'r1');",
            )
            .unwrap();
        }
        let j = Journal::open(&path).unwrap();
        j.audit("bob", "export", Some("out.csv"), "ok", &[])
            .unwrap();
        let log = j.audit_log().unwrap();
        assert_eq!(log.len(), 3);
        assert_eq!(log[1].request_ids, "r1");
        assert_eq!(j.verify_audit().unwrap().map(|(n, _)| n), Ok(3));
    }
}
