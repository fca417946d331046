//! The shared journal on PostgreSQL: one connection per [`PgJournal`], the schema applied on
//! open, the station admitted with its journal key, PINs sealed and opened here.
//!
//! A connection that was lost (the server restarted) is opened again before the next
//! operation; an operation cut off by the loss fails with [`StoreError::Postgres`], and
//! what it had not committed is not there (write-ahead: the workflow resumes from the last
//! committed step on the next attempt or restart).

use std::cell::{RefCell, RefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres::Client;

use super::{schema, JournalUrl, Roots};
use crate::store::seal::{self, Admission, JournalKey};
use crate::store::{JournalStore, StoreError};

/// How long a lost connection is tried again before the step fails.
const RECONNECT_FOR: Duration = Duration::from_secs(30);
const RECONNECT_PAUSE: Duration = Duration::from_millis(250);
/// How long the round trip that checks a connection before an operation may take.
const LIVENESS_TIMEOUT: Duration = Duration::from_secs(5);

/// An open shared journal.
pub struct PgJournal {
    /// `Client` needs `&mut` even to read; the journal's readers take `&self`.
    client: RefCell<Client>,
    url: JournalUrl,
    roots: Roots,
    key: Option<Arc<JournalKey>>,
    pub(super) station: String,
}

impl JournalStore for PgJournal {
    fn station(&self) -> &str {
        &self.station
    }

    fn location(&self) -> String {
        self.url.to_string()
    }
}

impl PgJournal {
    /// Connects (password from the URL or `PGPASSWORD`), brings the schema up to date and
    /// admits the station's key (`None`: it has none): refused when the journal holds PINs
    /// sealed under a key this station does not have.
    pub fn open(
        url: &JournalUrl,
        roots: &Roots,
        key: Option<Arc<JournalKey>>,
        station: &str,
    ) -> Result<PgJournal, StoreError> {
        let mut client = url.connect_from_env(roots)?;
        schema::apply(&mut client).map_err(|source| StoreError::Schema {
            journal: url.to_string(),
            source,
        })?;
        let journal = PgJournal {
            client: RefCell::new(client),
            url: url.clone(),
            roots: roots.clone(),
            key,
            station: station.to_string(),
        };
        journal.admit()?;
        Ok(journal)
    }

    /// Checks the station's key against the journal's check value, storing it when this is
    /// the first station with a key.
    fn admit(&self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let stored: Option<Vec<u8>> = client
            .query_opt("SELECT check_sealed FROM journal_key", &[])
            .map_err(|e| self.pg(e))?
            .map(|r| r.get(0));
        match seal::admit(self.key.as_deref(), stored.as_deref()).map_err(|e| self.seal(e))? {
            Admission::SameKey | Admission::NoKey => Ok(()),
            Admission::Record(check) => {
                client
                    .execute(
                        "INSERT INTO journal_key (check_sealed) VALUES ($1) ON CONFLICT DO NOTHING",
                        &[&check],
                    )
                    .map_err(|e| self.pg(e))?;
                // Two first stations at once: the one stored must be this station's key.
                let stored: Vec<u8> = client
                    .query_one("SELECT check_sealed FROM journal_key", &[])
                    .map_err(|e| self.pg(e))?
                    .get(0);
                seal::admit(self.key.as_deref(), Some(&stored))
                    .map(|_| ())
                    .map_err(|e| self.seal(e))
            }
        }
    }

    /// The connection, opened again first when it was lost: a server that is restarting is
    /// waited for (up to [`RECONNECT_FOR`]), then the reason is reported. Checked with a
    /// round trip before every operation: a connection the server cut (a restart) is often
    /// not known to be closed until it is used.
    pub(super) fn client(&self) -> Result<RefMut<'_, Client>, StoreError> {
        let mut client = self.client.borrow_mut();
        if client.is_closed() || client.is_valid(LIVENESS_TIMEOUT).is_err() {
            tracing::warn!(journal = %self.url, "journal connection lost: connecting again");
            let deadline = Instant::now() + RECONNECT_FOR;
            *client = loop {
                match self.url.connect_from_env(&self.roots) {
                    Ok(fresh) => break fresh,
                    Err(e) if Instant::now() >= deadline => return Err(e.into()),
                    Err(_) => std::thread::sleep(RECONNECT_PAUSE),
                }
            };
        }
        Ok(client)
    }

    /// Runs `op` again once when the connection was lost under it (the server restarting):
    /// only for operations that may safely run twice.
    pub(super) fn again_if_lost<T>(
        &self,
        op: impl Fn() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match op() {
            Err(StoreError::Postgres { source, .. }) if super::connection_lost(&source) => op(),
            other => other,
        }
    }

    /// `pin` sealed for enrollment `id`; refused without a key.
    pub(super) fn seal_pin(&self, id: i64, pin: &str) -> Result<Vec<u8>, StoreError> {
        let key = self.key.as_ref().ok_or_else(|| StoreError::NoKey {
            journal: self.url.to_string(),
        })?;
        key.seal_pin(id, pin).map_err(|e| self.seal(e))
    }

    /// The PIN sealed for enrollment `id`.
    pub(super) fn open_pin(
        &self,
        id: i64,
        sealed: &[u8],
    ) -> Result<zeroize::Zeroizing<String>, StoreError> {
        let key = self
            .key
            .as_ref()
            .ok_or_else(|| self.seal(seal::SealError::KeyMissing))?;
        key.open_pin(id, sealed).map_err(|e| self.seal(e))
    }

    pub(super) fn pg(&self, source: postgres::Error) -> StoreError {
        super::refused(&self.url, source)
    }

    fn seal(&self, source: seal::SealError) -> StoreError {
        StoreError::Seal {
            journal: self.url.to_string(),
            source,
        }
    }

    pub(super) fn corrupt(&self, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            journal: self.url.to_string(),
            detail: detail.into(),
        }
    }
}
