//! The durable journal: one interface ([`Journal`]) over two backends.
//!
//! SQLite (`sqlite`): one file per station, the embedded default with no set-up. PostgreSQL
//! (`postgres`): one database shared by several stations working one queue, with claims on
//! the people being enrolled and PINs stored only sealed under the journal key.
//!
//! What both share is written once here: the enrollment states and the transitions the
//! workflow allows (`enrollment`), the queue's and the screens' row types (`queue`,
//! `read_model`), the audit entry and its hash chain (`audit`, `audit_chain`). Each backend
//! implements the interface's traits ([`EnrollmentLog`], [`QueueStore`], [`ReadModel`],
//! [`AuditLog`]); [`Journal`] derefs to the open one, so callers use one set of methods.

mod audit;
pub mod audit_chain;
mod enrollment;
mod location;
pub mod postgres;
mod queue;
mod read_model;
pub mod seal;
mod sqlite;

pub use audit::{AuditEntry, AuditLog};
pub use audit_chain::{ChainBreak, ChainProblem};
pub use enrollment::{Enrollment, EnrollmentLog, EnrollmentState, PinSource, TakenOver};
pub use location::{JournalLocation, Place};
pub use queue::{parse_expiry, Challenge, QueueStore, QueuedUser};
pub use read_model::{HistoryRow, QueueEntry, ReadModel, Standing};

use std::path::{Path, PathBuf};

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
    /// PostgreSQL refused, or the connection to it was lost.
    #[error("journal {journal}: {reason}; check that PostgreSQL is running and reachable (a lost connection is opened again on the next step; nothing committed is lost)")]
    Postgres {
        /// The journal's URL, without its password.
        journal: String,
        /// The server's or the client's reason, in full.
        reason: String,
        /// The client's error.
        source: ::postgres::Error,
    },
    /// The shared journal could not be reached (its URL says what to check).
    #[error(transparent)]
    Connect(#[from] postgres::ConnectError),
    /// The shared journal's schema could not be brought up to date.
    #[error("journal {journal}: {source}")]
    Schema {
        /// The journal's URL, without its password.
        journal: String,
        /// Why.
        source: postgres::SchemaError,
    },
    /// The journal key is missing, wrong or unreadable, or a sealed PIN does not open.
    #[error("journal {journal}: {source}")]
    Seal {
        /// The journal's URL, without its password.
        journal: String,
        /// Why.
        source: seal::SealError,
    },
    /// A random PIN is to be written to a shared journal by a station without the key.
    #[error("journal {journal}: a random PIN is stored in a shared journal only sealed, and this station has no journal key: set {} or journalKeyFile to the deployment's key (base64 of 32 bytes), or use typed PINs (useRandomPIN false)", seal::KEY_ENV)]
    NoKey {
        /// The journal's URL, without its password.
        journal: String,
    },
    /// Another station holds the person (its enrollment of them is not finished).
    #[error("{upn} is being enrolled at station {station}: finish or settle it there (a restart of that station settles it), then try again")]
    Claimed {
        /// The person.
        upn: String,
        /// The station that holds them.
        station: String,
    },
    /// Another station recorded the person's enrollment meanwhile (their claim was released
    /// when it ended): they are not given a second key here.
    #[error("{upn} was enrolled at station {station} meanwhile (a key is registered for them): nothing was done here; another key for them is issued at that station")]
    EnrolledElsewhere {
        /// The person.
        upn: String,
        /// The station that recorded their key.
        station: String,
    },
    /// A claim to take over is not held by the station named: nothing was changed.
    #[error("{person} is not held by station {from}{}: nothing was released", match holder {
        Some(h) => format!(" (station {h} holds them)"),
        None => " (no station holds them)".to_string(),
    })]
    NotHeld {
        /// The person, as asked for.
        person: String,
        /// The station named as holding them.
        from: String,
        /// The station that does hold them.
        holder: Option<String>,
    },
    /// This station's own claim: it is settled by this station, never taken over.
    #[error("{person} is held by this station ({station}): its own claims are settled when it starts (restart it, or enroll the person here again)")]
    OwnClaim {
        /// The person.
        person: String,
        /// This station.
        station: String,
    },
    /// A state change the enrollment workflow does not allow: nothing was changed.
    #[error("journal {journal}: enrollment {id} may not move from {from} to {to}; it is left {from} (a step out of order: report it with the journal's history of this enrollment)")]
    Transition {
        /// The journal (file, or URL without its password).
        journal: String,
        /// The enrollment.
        id: i64,
        /// Where it stands.
        from: EnrollmentState,
        /// Where it was asked to go.
        to: EnrollmentState,
    },
    /// A stored value could not be decoded.
    #[error("journal {journal}: {detail}")]
    Corrupt {
        /// The journal (file, or URL without its password).
        journal: String,
        /// What is wrong.
        detail: String,
    },
}

/// What a backend is, beyond the operations: which station writes through it and where it
/// lives.
pub trait JournalStore: EnrollmentLog + QueueStore + ReadModel + AuditLog + Send {
    /// The station named on this connection's enrollments, claims and audit entries.
    fn station(&self) -> &str;
    /// Where the journal lives: the file, or the URL without its password.
    fn location(&self) -> String;
}

/// An open journal, on either backend.
pub struct Journal {
    store: Box<dyn JournalStore>,
}

/// Journal file name used next to the config file.
pub const DEFAULT_FILE_NAME: &str = "passkey-kiosk.journal.sqlite";

impl Journal {
    /// Opens (creating if needed, 0600) and migrates the SQLite journal at `path`, writing as
    /// the station named by the host name.
    pub fn open(path: &Path) -> Result<Journal, StoreError> {
        Journal::open_at(&JournalLocation::sqlite(
            path,
            &crate::config::default_station_name(),
        ))
    }

    /// Opens the journal at `location` (migrating it; for PostgreSQL, admitting the station's
    /// journal key).
    pub fn open_at(location: &JournalLocation) -> Result<Journal, StoreError> {
        let store: Box<dyn JournalStore> = match &location.place {
            Place::Sqlite(path) => Box::new(sqlite::SqliteJournal::open(path, &location.station)?),
            Place::Postgres { url, roots, key } => Box::new(postgres::PgJournal::open(
                url,
                roots,
                key.clone(),
                &location.station,
            )?),
        };
        Ok(Journal { store })
    }

    /// Opens the journal `config` names (`journalUrl`, else the SQLite file).
    pub fn open_for(config: &crate::config::Config) -> Result<Journal, StoreError> {
        Journal::open_at(&JournalLocation::from_config(config)?)
    }
}

impl std::ops::Deref for Journal {
    type Target = dyn JournalStore;
    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl std::ops::DerefMut for Journal {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut *self.store
    }
}

/// Seconds since the Unix epoch, the journal's timestamp unit.
pub fn now_unix() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}
