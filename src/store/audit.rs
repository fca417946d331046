//! The audit log: who did what to whom, with what result and which Graph request-ids.

use rusqlite::params;

use super::{now_unix, Journal, StoreError};

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// Operator name (or the CLI user).
    pub operator: String,
    /// What was done, e.g. `prefetch`, `register`, `set-pin`.
    pub action: String,
    /// Whom or what it concerned (a UPN, a key serial).
    pub subject: Option<String>,
    /// `ok` or the error text.
    pub result: String,
    /// Graph request-ids involved, space separated.
    pub request_ids: String,
}

impl Journal {
    /// Appends an audit entry.
    pub fn audit(
        &self,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO audit (at, operator, action, subject, result, request_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![now_unix(), operator, action, subject, result, request_ids.join(" ")],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// The whole audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT at, operator, action, subject, result, request_ids FROM audit ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    operator: r.get(1)?,
                    action: r.get(2)?,
                    subject: r.get(3)?,
                    result: r.get(4)?,
                    request_ids: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
