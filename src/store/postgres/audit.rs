//! The audit log in the shared journal: one hash chain for every station. Appends are
//! serialised across stations by a transaction-scoped advisory lock, taken before the newest
//! entry is read, so no two stations chain off the same entry.

use super::PgJournal;
use crate::store::audit::next_entry;
use crate::store::{AuditEntry, AuditLog, StoreError};

/// `pg_advisory_xact_lock`'s key for audit appends.
const AUDIT_LOCK: i64 = 0x706b_6b5f_6175_6431; // "pkk_aud1"

const COLUMNS: &str =
    "id, station, at, operator, action, subject, result, request_ids, prev_hash, hash";

fn entry(r: &postgres::Row) -> AuditEntry {
    AuditEntry {
        id: r.get(0),
        station: Some(r.get(1)),
        at: r.get(2),
        operator: r.get(3),
        action: r.get(4),
        subject: r.get(5),
        result: r.get(6),
        request_ids: r.get(7),
        prev_hash: r.get(8),
        hash: r.get(9),
    }
}

impl AuditLog for PgJournal {
    fn audit(
        &self,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        self.append_audit(&mut tx, operator, action, subject, result, request_ids)?;
        tx.commit().map_err(|e| self.pg(e))
    }

    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self
            .client()?
            .query(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"), &[])
            .map_err(|e| self.pg(e))?;
        Ok(rows.iter().map(entry).collect())
    }
}

impl PgJournal {
    /// Appends an audit entry inside the caller's transaction (committed with what it
    /// records), chained under the lock that serialises every station's appends.
    pub(super) fn append_audit(
        &self,
        tx: &mut postgres::Transaction<'_>,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) -> Result<(), StoreError> {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])
            .map_err(|e| self.pg(e))?;
        let last = tx
            .query_opt(
                &format!("SELECT {COLUMNS} FROM audit ORDER BY id DESC LIMIT 1"),
                &[],
            )
            .map_err(|e| self.pg(e))?
            .map(|r| entry(&r));
        let e = next_entry(
            last.as_ref(),
            &self.station,
            operator,
            action,
            subject,
            result,
            request_ids,
        );
        // The id is part of the hash: it is chosen here (under the lock), not by the identity.
        tx.execute(
            &format!(
                "INSERT INTO audit ({COLUMNS}) OVERRIDING SYSTEM VALUE
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ),
            &[
                &e.id,
                &self.station,
                &e.at,
                &e.operator,
                &e.action,
                &e.subject,
                &e.result,
                &e.request_ids,
                &e.prev_hash,
                &e.hash,
            ],
        )
        .map_err(|e| self.pg(e))?;
        Ok(())
    }
}
