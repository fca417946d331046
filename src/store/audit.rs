//! The audit log: who did what to whom, with what result and which Graph request-ids.
//!
//! Entries are hash-chained (see [`super::audit_chain`]): each is written in an IMMEDIATE
//! transaction that reads the newest entry and links to it, so two connections (a job thread
//! and the engine loop) never chain off the same entry. Entries written before the chain
//! existed are chained, as found, by the migration that added it (the first open by a
//! version with the chain); the chain vouches for them from then on.

use super::audit_chain::{self, ChainBreak, GENESIS};
use super::StoreError;

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its place in the log (1, 2, …).
    pub id: i64,
    /// The station that wrote it (`None`: written before entries named their station).
    pub station: Option<String>,
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
    /// The hash of the entry before it ([`GENESIS`] for the first).
    pub prev_hash: Option<String>,
    /// The hash of this entry's content and link.
    pub hash: Option<String>,
}

/// What the next entry links to: the newest entry's hash (recomputed when it has none, so
/// the log stays writable; verification still names that entry).
pub(crate) fn link_after(last: Option<&AuditEntry>) -> (i64, String) {
    match last {
        None => (1, GENESIS.to_owned()),
        Some(l) => (
            l.id + 1,
            l.hash.clone().unwrap_or_else(|| audit_chain::entry_hash(l)),
        ),
    }
}

/// The hash-chained audit log.
pub trait AuditLog {
    /// Appends an audit entry by this station, chained to the newest one (appends from
    /// every station and connection are serialised, so none chains off the same entry).
    fn audit(
        &self,
        operator: &str,
        action: &str,
        subject: Option<&str>,
        result: &str,
        request_ids: &[&str],
    ) -> Result<(), StoreError>;

    /// The whole audit log, oldest first.
    fn audit_log(&self) -> Result<Vec<AuditEntry>, StoreError>;

    /// Checks the audit log's hash chain: the number of entries verified and the newest
    /// hash, or the first entry that does not match.
    fn verify_audit(&self) -> Result<Result<(usize, Option<String>), ChainBreak>, StoreError> {
        let log = self.audit_log()?;
        Ok(audit_chain::verify(&log).map(|n| (n, log.last().and_then(|e| e.hash.clone()))))
    }
}

/// The next entry by `station`, chained after `last` (the newest entry).
pub(crate) fn next_entry(
    last: Option<&AuditEntry>,
    station: &str,
    operator: &str,
    action: &str,
    subject: Option<&str>,
    result: &str,
    request_ids: &[&str],
) -> AuditEntry {
    let (id, prev_hash) = link_after(last);
    let mut e = AuditEntry {
        id,
        station: Some(station.to_owned()),
        at: super::now_unix(),
        operator: operator.to_owned(),
        action: action.to_owned(),
        subject: subject.map(str::to_owned),
        result: result.to_owned(),
        request_ids: request_ids.join(" "),
        prev_hash: Some(prev_hash),
        hash: None,
    };
    e.hash = Some(audit_chain::entry_hash(&e));
    e
}
