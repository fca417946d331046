//! Where the journal lives, built from the configuration: `journalUrl` (PostgreSQL, with the
//! journal key and the CA roots), else the SQLite file; and the station that writes.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use zeroize::Zeroizing;

use super::postgres::{JournalUrl, Roots};
use super::seal::{JournalKey, KEY_ENV};
use super::StoreError;

/// A journal to open, and the station that opens it.
#[derive(Debug, Clone)]
pub struct JournalLocation {
    /// The station named on enrollments, claims and audit entries.
    pub station: String,
    /// The backend and where.
    pub place: Place,
}

/// The backend and where it is.
#[derive(Debug, Clone)]
pub enum Place {
    /// This station's own SQLite file.
    Sqlite(PathBuf),
    /// The shared journal on PostgreSQL.
    Postgres {
        /// The checked URL (never shown with its password).
        url: Box<JournalUrl>,
        /// Where the server's TLS certificate is verified from.
        roots: Roots,
        /// The journal key PINs are sealed under, when the station has one.
        key: Option<Arc<JournalKey>>,
    },
}

impl JournalLocation {
    /// The SQLite journal at `path`, written by `station`.
    pub fn sqlite(path: &Path, station: &str) -> JournalLocation {
        JournalLocation {
            station: station.to_string(),
            place: Place::Sqlite(path.to_path_buf()),
        }
    }

    /// The journal `config` names: `journalUrl` (with the key of `PASSKEY_KIOSK_JOURNAL_KEY`
    /// or `journalKeyFile`), else the SQLite file `journalPath`.
    pub fn from_config(config: &crate::config::Config) -> Result<JournalLocation, StoreError> {
        let place = match &config.journal_url {
            None => Place::Sqlite(config.journal_path.clone()),
            Some(url) => {
                let env = std::env::var(KEY_ENV).ok().map(Zeroizing::new);
                let key = JournalKey::configured(env, config.journal_key_file.as_deref()).map_err(
                    |source| StoreError::Seal {
                        journal: url.to_string(),
                        source,
                    },
                )?;
                Place::Postgres {
                    url: Box::new(url.clone()),
                    roots: config.journal_roots(),
                    key: key.map(Arc::new),
                }
            }
        };
        Ok(JournalLocation {
            station: config.station_name.clone(),
            place,
        })
    }

    /// Whether this is the shared journal on PostgreSQL.
    pub fn is_shared(&self) -> bool {
        matches!(self.place, Place::Postgres { .. })
    }
}

/// The file, or the URL without its password.
impl fmt::Display for JournalLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Place::Sqlite(path) => write!(f, "{}", path.display()),
            Place::Postgres { url, .. } => write!(f, "{url}"),
        }
    }
}
