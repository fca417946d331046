//! Journal schema and its migrations, versioned with SQLite's `user_version`.

use super::{Journal, StoreError};

/// Each entry migrates from version i to i+1; never edit a released entry, append.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the user queue, enrollments with their transitions, the audit log.
    "CREATE TABLE queue (
        user_id TEXT PRIMARY KEY,
        upn TEXT NOT NULL,
        display_name TEXT NOT NULL,
        user_handle TEXT NOT NULL,
        challenge TEXT NOT NULL,
        challenge_expiry TEXT NOT NULL,
        rp_id TEXT NOT NULL,
        creation_options TEXT NOT NULL,
        existing_method_ids TEXT NOT NULL DEFAULT '[]',
        fetched_at INTEGER NOT NULL
     );
     CREATE INDEX queue_upn ON queue(upn);
     CREATE TABLE enrollment (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        upn TEXT NOT NULL,
        state TEXT NOT NULL,
        pin TEXT,
        pin_source TEXT,
        serial TEXT,
        aaguid TEXT,
        credential_id BLOB,
        client_data_json BLOB,
        attestation_object BLOB,
        method_id TEXT,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
     );
     CREATE INDEX enrollment_user ON enrollment(user_id);
     CREATE TABLE transition (
        enrollment_id INTEGER NOT NULL REFERENCES enrollment(id),
        from_state TEXT,
        to_state TEXT NOT NULL,
        at INTEGER NOT NULL
     );
     CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        result TEXT NOT NULL,
        request_ids TEXT NOT NULL DEFAULT ''
     );",
    // 2: the audit log's hash chain (entries already there are chained by `after`).
    "ALTER TABLE audit ADD COLUMN prev_hash TEXT;
     ALTER TABLE audit ADD COLUMN hash TEXT;",
    // 3: the read model. The challenge's expiry as Unix seconds (rows already there are
    // filled by `after`); an index for every look-up the engine does per job: a person by
    // UPN (any case), the queue's order, a person's enrollments by state, a key's by serial,
    // the unsettled ones, the ones still holding a PIN.
    "ALTER TABLE queue ADD COLUMN challenge_expires_at INTEGER;
     CREATE INDEX queue_upn_lower ON queue(lower(upn));
     CREATE INDEX queue_order ON queue(upn, user_id);
     CREATE INDEX enrollment_user_state ON enrollment(user_id, state);
     CREATE INDEX enrollment_serial ON enrollment(serial);
     CREATE INDEX enrollment_state ON enrollment(state);
     CREATE INDEX enrollment_pin_held ON enrollment(state, updated_at) WHERE pin IS NOT NULL;",
];

/// Work a migration needs beyond its SQL, in the same transaction.
fn after(version: i64, tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    match version {
        2 => super::audit::chain_existing(tx),
        3 => super::queue::fill_expiries(tx),
        _ => Ok(()),
    }
}

pub(super) fn migrate(j: &mut Journal) -> Result<(), StoreError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = j
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| j.err(e))?;
    if found > known {
        return Err(StoreError::TooNew {
            path: j.path.clone(),
            found,
            known,
        });
    }
    let path = j.path.clone();
    let sqlite = |source| StoreError::Sqlite {
        path: path.clone(),
        source,
    };
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        // IMMEDIATE, and the version read again inside: two processes opening an old journal
        // at once migrate it once.
        let tx = j
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let version = i as i64 + 1;
        let current: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sqlite)?;
        if current >= version {
            continue;
        }
        tx.execute_batch(sql)
            .and_then(|()| after(version, &tx))
            .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version = {version}")))
            .and_then(|()| tx.commit())
            .map_err(sqlite)?;
    }
    Ok(())
}
