//! The SQLite journal: one file per station (next to `configs.json` by default).
//!
//! WAL mode with `synchronous=FULL`, so a committed row survives a power cut; the file is
//! created owner-only (0600) because enrollment rows may hold a PIN until it is delivered.
//! `secure_delete` overwrites freed content, and every PIN purge ends with a TRUNCATE
//! checkpoint, so a purged PIN's bytes are left in none of the journal's files.
//! Tables: the user queue (with each person's full creation options), enrollments, audit log; the
//! screens' lists are read by indexed queries (`read_model`).

mod audit;
mod enrollment;
mod queue;
mod read_model;
pub(super) mod schema;

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::{JournalStore, StoreError};

/// An open SQLite journal.
pub struct SqliteJournal {
    conn: Connection,
    path: PathBuf,
    station: String,
}

impl JournalStore for SqliteJournal {
    fn station(&self) -> &str {
        &self.station
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }
}

impl SqliteJournal {
    /// Opens (creating if needed, 0600) and migrates the journal at `path`; `station` is
    /// named on what this connection writes.
    pub fn open(path: &Path, station: &str) -> Result<SqliteJournal, StoreError> {
        create_private(path)?;
        let conn = Connection::open(path).map_err(|source| StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let mut journal = SqliteJournal {
            conn,
            path: path.to_path_buf(),
            station: station.to_string(),
        };
        journal.configure()?;
        schema::migrate(&mut journal)?;
        Ok(journal)
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
    fn checkpoint(&self) -> Result<(), StoreError> {
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
        sqlite(&self.path, source)
    }

    fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            journal: self.path.display().to_string(),
            detail: detail.into(),
        }
    }
}

fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
    StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;

    #[test]
    fn opens_private_wal_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/j.sqlite");
        {
            let j = SqliteJournal::open(&path, "desk").unwrap();
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
            let j = SqliteJournal::open(&path, "desk").unwrap();
            j.conn.execute_batch("PRAGMA user_version = 999").unwrap();
        }
        let err = Journal::open(&path).err().unwrap().to_string();
        assert!(err.contains("999") && err.contains("upgrade"), "{err}");
    }
}
