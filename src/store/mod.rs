//! The durable journal: one SQLite file per deployment (next to `configs.json` by default).
//!
//! WAL mode with `synchronous=FULL`, so a committed row survives a power cut; the file is
//! created owner-only (0600) because enrollment rows may hold a PIN until it is delivered.
//! `secure_delete` overwrites freed content, and every PIN purge ends with a TRUNCATE
//! checkpoint, so a purged PIN's bytes are left in none of the journal's files.
//! Tables: the user queue (with each person's full creation options), enrollments, audit log; the
//! screens' lists are read by indexed queries (`read_model`).

mod audit;
pub mod audit_chain;
mod enrollment;
pub mod postgres;
mod queue;
mod read_model;
mod schema;
pub mod seal;

pub use audit::AuditEntry;
pub use audit_chain::{ChainBreak, ChainProblem};
pub use enrollment::{Enrollment, EnrollmentState, PinSource};
pub use queue::{parse_expiry, Challenge, QueuedUser};
pub use read_model::{HistoryRow, QueueEntry, Standing};

use std::path::{Path, PathBuf};

use rusqlite::Connection;

/// Journal failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused (disk full, locked by another station process, corrupt file).
    #[error("journal {path}: {source}")]
    Sqlite {
        /// The journal file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file could not be created with private permissions.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// The OS reason.
        source: std::io::Error,
    },
    /// The file was written by a newer Passkey Kiosk.
    #[error("journal {path} has schema version {found}; this program knows up to {known}: upgrade Passkey Kiosk")]
    TooNew {
        /// The journal file.
        path: PathBuf,
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        known: i64,
    },
    /// A state change the enrollment workflow does not allow: nothing was changed.
    #[error("journal {path}: enrollment {id} may not move from {from} to {to}; it is left {from} (a step out of order: report it with the journal's history of this enrollment)")]
    Transition {
        /// The journal file.
        path: PathBuf,
        /// The enrollment.
        id: i64,
        /// Where it stands.
        from: EnrollmentState,
        /// Where it was asked to go.
        to: EnrollmentState,
    },
    /// A stored value could not be decoded.
    #[error("journal {path}: {detail}")]
    Corrupt {
        /// The journal file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
}

/// An open journal.
pub struct Journal {
    conn: Connection,
    path: PathBuf,
}

/// Journal file name used next to the config file.
pub const DEFAULT_FILE_NAME: &str = "passkey-kiosk.journal.sqlite";

impl Journal {
    /// Opens (creating if needed, 0600) and migrates the journal at `path`.
    pub fn open(path: &Path) -> Result<Journal, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut journal = Journal {
            conn,
            path: path.to_path_buf(),
        };
        journal.configure()?;
        schema::migrate(&mut journal)?;
        Ok(journal)
    }

    /// Where the journal lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn configure(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA secure_delete=ON;",
            )
            .map_err(|e| self.err(e))
    }

    /// Copies the WAL into the database and empties it (TRUNCATE), after a PIN was purged:
    /// the WAL would otherwise keep the frames that held it until they are reused. Busy (a
    /// reader elsewhere still needs those frames) is not an error: the next purge's
    /// checkpoint, or the next start's, completes it.
    pub(crate) fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get::<_, i64>(0))
            .map(|busy| {
                if busy != 0 {
                    tracing::warn!(journal = %self.path.display(), "journal checkpoint incomplete: another connection is reading");
                }
            })
            .map_err(|e| self.err(e))
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: detail.into(),
        }
    }
}

/// Creates the file owner-only before SQLite opens it, so no window exists in which the
/// journal (or its WAL, which inherits the mode) is readable by others.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let io = |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    crate::owner_only::append(path).map_err(io)?;
    Ok(())
}

/// Seconds since the Unix epoch, the journal's timestamp unit.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_private_wal_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/j.sqlite");
        {
            let j = Journal::open(&path).unwrap();
            let mode: String = j
                .conn
                .query_row("PRAGMA journal_mode", [], |r| r.get(0))
                .unwrap();
            assert_eq!(mode, "wal");
            let sync: i64 = j
                .conn
                .query_row("PRAGMA synchronous", [], |r| r.get(0))
                .unwrap();
            assert_eq!(sync, 2, "synchronous=FULL");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        Journal::open(&path).unwrap();
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        {
            let j = Journal::open(&path).unwrap();
            j.conn.execute_batch("PRAGMA user_version = 999").unwrap();
        }
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains("999") && err.contains("upgrade"), "{err}");
    }
}
