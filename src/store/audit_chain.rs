//! The audit log's hash chain, as pure functions over entries: how an entry is hashed and
//! how a whole log is checked.
//!
//! Each entry holds `prev_hash`, the hash of the entry before it ([`GENESIS`] for the first),
//! and `hash`, the SHA-256 of its own content and that link. The content is encoded as a JSON
//! array (`["passkey-kiosk-audit-1", id, at, operator, action, subject, result, request_ids,
//! prev_hash]`), so no field can run into the next one. Changing, deleting or reordering an
//! entry breaks the chain at that point. What the chain cannot show: the newest entries
//! deleted from the end, or a whole chain recomputed by someone who rewrites every later
//! hash too. `export --audit --verify` prints the newest hash, so it can be noted elsewhere
//! (a ticket, a printout) and compared later.

use sha2::{Digest, Sha256};

use super::AuditEntry;

/// `prev_hash` of the first entry of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tags the encoding, so a later change of the format cannot be mistaken for this one.
const FORMAT: &str = "passkey-kiosk-audit-1";
/// The encoding of entries that name their station (`[FORMAT_WITH_STATION, id, station, at,
/// …]`).
const FORMAT_WITH_STATION: &str = "passkey-kiosk-audit-2";

/// The SHA-256 (lower-case hex) of an entry's content and its link to the one before.
pub fn entry_hash(e: &AuditEntry) -> String {
    // An entry that names its station covers it too, in the second format; entries from
    // before stations were named keep the first, so their hashes still match.
    use serde_json::json;
    let (format, station) = match &e.station {
        Some(station) => (FORMAT_WITH_STATION, vec![json!(station)]),
        None => (FORMAT, Vec::new()),
    };
    let content: Vec<serde_json::Value> = [json!(format), json!(e.id)]
        .into_iter()
        .chain(station)
        .chain([
            json!(e.at),
            json!(e.operator),
            json!(e.action),
            json!(e.subject),
            json!(e.result),
            json!(e.request_ids),
            json!(e.prev_hash),
        ])
        .collect();
    let content = serde_json::Value::Array(content);
    hex::encode(Sha256::digest(content.to_string().as_bytes()))
}

/// What is wrong at the first entry that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainProblem {
    /// The entry's content (or its link) was changed after it was written.
    ContentChanged,
    /// The entry carries no hash: it was written around the chain.
    Unchained,
    /// Entries right before this one are missing (deleted): the ids jump from `after`
    /// (`None`: the log's first entries are gone).
    Missing {
        /// The id of the entry before the gap, if any.
        after: Option<i64>,
    },
    /// The entry does not link to the entry before it (that one was replaced, or this one
    /// was re-linked).
    BrokenLink {
        /// The id of the entry before it (`None`: it should start the chain).
        previous: Option<i64>,
    },
}

/// The first entry that does not match, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The audit entry's id.
    pub id: i64,
    /// What is wrong.
    pub problem: ChainProblem,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self.id;
        match &self.problem {
            ChainProblem::ContentChanged => write!(
                f,
                "audit entry {id}: content changed (its hash no longer matches what it says)"
            ),
            ChainProblem::Unchained => {
                write!(f, "audit entry {id}: has no hash (written around the chain)")
            }
            ChainProblem::Missing { after: Some(a) } => write!(
                f,
                "audit entry {id}: entry missing before it (deleted: the ids jump from {a} to {id})"
            ),
            ChainProblem::Missing { after: None } => write!(
                f,
                "audit entry {id}: entry missing before it (deleted: the log's first entries are gone)"
            ),
            ChainProblem::BrokenLink { previous: Some(p) } => write!(
                f,
                "audit entry {id}: broken link (it does not name entry {p} as the one before it)"
            ),
            ChainProblem::BrokenLink { previous: None } => write!(
                f,
                "audit entry {id}: broken link (the first entry does not start the chain)"
            ),
        }
    }
}

/// Checks a whole log, oldest first: the number of entries verified, or the first entry
/// that does not match.
pub fn verify(entries: &[AuditEntry]) -> Result<usize, ChainBreak> {
    let mut previous: Option<&AuditEntry> = None;
    for e in entries {
        let fail = |problem| Err(ChainBreak { id: e.id, problem });
        let Some(hash) = e.hash.as_deref() else {
            return fail(ChainProblem::Unchained);
        };
        if entry_hash(e) != hash {
            return fail(ChainProblem::ContentChanged);
        }
        let expected = previous.map_or(GENESIS, |p| p.hash.as_deref().unwrap_or_default());
        if e.prev_hash.as_deref() != Some(expected) {
            let gap = previous.map_or(e.id != 1, |p| e.id != p.id + 1);
            return fail(if gap {
                ChainProblem::Missing {
                    after: previous.map(|p| p.id),
                }
            } else {
                ChainProblem::BrokenLink {
                    previous: previous.map(|p| p.id),
                }
            });
        }
        previous = Some(e);
    }
    Ok(entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chain of `n` entries as `Journal::audit` writes them.
    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for id in 1..=n {
            let mut e = AuditEntry {
                id,
                station: (id % 2 == 0).then(|| "desk 2".into()),
                at: 1_700_000_000 + id,
                operator: "alice".into(),
                action: "register".into(),
                subject: Some(format!("user{id}@x")),
                result: "ok".into(),
                request_ids: String::new(),
                prev_hash: Some(
                    out.last()
                        .map_or(GENESIS.to_owned(), |p| p.hash.clone().unwrap_or_default()),
                ),
                hash: None,
            };
            e.hash = Some(entry_hash(&e));
            out.push(e);
        }
        out
    }

    fn problem(log: &[AuditEntry]) -> (i64, ChainProblem) {
        let b = verify(log).unwrap_err();
        (b.id, b.problem)
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn a_changed_field_is_named() {
        let mut log = chain(4);
        log[2].result = "ok, nothing to see".into();
        assert_eq!(problem(&log), (3, ChainProblem::ContentChanged));
        let mut log = chain(4);
        log[1].subject = None;
        assert_eq!(problem(&log), (2, ChainProblem::ContentChanged));
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let mut a = chain(1).remove(0);
        let mut b = a.clone();
        a.operator = "al".into();
        a.action = "iceregister".into();
        b.operator = "alice".into();
        b.action = "register".into();
        assert_ne!(entry_hash(&a), entry_hash(&b));
        // No subject differs from an empty one.
        a = b.clone();
        a.subject = None;
        b.subject = Some(String::new());
        assert_ne!(entry_hash(&a), entry_hash(&b));
    }

    #[test]
    fn a_deleted_entry_is_named_by_the_one_after_it() {
        let mut log = chain(5);
        log.remove(2);
        assert_eq!(problem(&log), (4, ChainProblem::Missing { after: Some(2) }));
        let mut log = chain(3);
        log.remove(0);
        assert_eq!(problem(&log), (2, ChainProblem::Missing { after: None }));
    }

    #[test]
    fn a_rehashed_entry_breaks_the_next_link() {
        let mut log = chain(4);
        log[1].result = "failed".into();
        log[1].hash = Some(entry_hash(&log[1]));
        assert_eq!(
            problem(&log),
            (3, ChainProblem::BrokenLink { previous: Some(2) })
        );
    }

    #[test]
    fn an_entry_without_hash_is_named() {
        let mut log = chain(3);
        log[2].hash = None;
        assert_eq!(problem(&log), (3, ChainProblem::Unchained));
        let text = verify(&log).unwrap_err().to_string();
        assert!(text.contains("audit entry 3"), "{text}");
    }
}
