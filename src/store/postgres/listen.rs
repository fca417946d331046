//! What other stations change, as it commits: the shared journal announces every change to a
//! person's enrollments or claim (their object id) and to the queue (`*`) on one channel
//! (the triggers of schema version 2); a [`Listener`] holds a connection of its own that
//! listens to it, so a station's queue shows who is held or enrolled elsewhere within a
//! moment, without polling the whole queue.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

use super::{JournalUrl, Roots};
use crate::store::StoreError;

/// The channel the triggers notify.
const CHANNEL: &str = "passkey_kiosk";

/// What changed in the shared journal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Change {
    /// One person's enrollments or claim (their object id).
    Person(String),
    /// The queue itself (people added, refreshed or removed): read it again.
    Queue,
}

/// A connection listening to the journal's changes.
pub struct Listener {
    client: Client,
    url: JournalUrl,
}

impl Listener {
    /// Connects (as the journal does) and starts listening.
    pub fn open(url: &JournalUrl, roots: &Roots) -> Result<Listener, StoreError> {
        let mut client = url.connect_from_env(roots)?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(|source| super::refused(url, source))?;
        Ok(Listener {
            client,
            url: url.clone(),
        })
    }

    /// The changes announced within `timeout` (empty: none), each once. An error means the
    /// connection was lost: changes may have been missed, so a caller that listens again
    /// reads the whole queue.
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<Change>, StoreError> {
        let url = &self.url;
        let refused = |source| super::refused(url, source);
        let mut changes = Vec::new();
        let mut notifications = self.client.notifications();
        let first = notifications.timeout_iter(timeout).next();
        let mut seen = match first {
            Ok(Some(n)) => vec![n],
            Ok(None) => Vec::new(),
            Err(source) => return Err(refused(source)),
        };
        // Whatever else has arrived meanwhile comes along, without waiting.
        let mut pending = notifications.iter();
        loop {
            match pending.next() {
                Ok(Some(n)) => seen.push(n),
                Ok(None) => break,
                Err(source) => return Err(refused(source)),
            }
        }
        for n in seen.into_iter().filter(|n| n.channel() == CHANNEL) {
            let change = match n.payload() {
                "*" => Change::Queue,
                user_id => Change::Person(user_id.to_owned()),
            };
            if !changes.contains(&change) {
                changes.push(change);
            }
        }
        Ok(changes)
    }
}
