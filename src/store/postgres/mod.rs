//! The shared journal on PostgreSQL, for several stations working one queue: connecting
//! (`journalUrl`, TLS), the schema, and the journal's operations (claims on the people
//! being enrolled, PINs stored only sealed). SQLite stays the journal of a single station.

mod audit;
pub mod connect;
mod enrollment;
mod journal;
mod listen;
mod queue;
pub mod schema;

pub use connect::{ConnectError, JournalUrl, Roots};
pub use journal::PgJournal;
pub use listen::{Change, Listener};
pub use schema::{Applied, SchemaError};

/// Whether `e` says the connection is gone (closed, cut, or the server shutting down), so the
/// next step connects again.
fn connection_lost(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
        || e.code().is_some_and(|c| {
            [
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
            ]
            .contains(c)
        })
}

/// The journal's error for what PostgreSQL (or the connection to it) refused.
fn refused(url: &JournalUrl, source: postgres::Error) -> crate::store::StoreError {
    crate::store::StoreError::Postgres {
        journal: url.to_string(),
        reason: reason(&source),
        source,
    }
}

/// The whole reason of a client error: the server's message (with its detail and hint) for a
/// refusal, else the client's error and its causes (`postgres::Error` alone says "db error").
fn reason(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{}: {}", db.severity(), db.message());
        for extra in [db.detail(), db.hint()].into_iter().flatten() {
            text.push_str(" (");
            text.push_str(extra);
            text.push(')');
        }
        return text;
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
