//! Journal schema and its migrations, versioned with SQLite's `user_version`.

use std::path::Path;

use super::queue::ConvertError;
use super::SqliteJournal;
use crate::store::StoreError;

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
    // 4: the options stored once, in the ctap crate's JSON form, without the column copies of
    // their fields (user_handle, challenge, challenge_expiry, rp_id). `after` converts every
    // row's Graph JSON into `queue_new`, then it replaces the queue.
    "CREATE TABLE queue_new (
        user_id TEXT PRIMARY KEY,
        upn TEXT NOT NULL,
        display_name TEXT NOT NULL,
        options TEXT NOT NULL,
        challenge_expires_at INTEGER,
        existing_method_ids TEXT NOT NULL DEFAULT '[]',
        fetched_at INTEGER NOT NULL
     );",
    // 5: the station that wrote each enrollment and audit entry (enrollments already there
    // are the opening station's, filled by `after`; audit entries already there stay without
    // one, as their hashes were computed), and the look-up of a station's open enrollments.
    "ALTER TABLE enrollment ADD COLUMN station TEXT NOT NULL DEFAULT '';
     ALTER TABLE audit ADD COLUMN station TEXT;
     CREATE INDEX enrollment_station ON enrollment(station, state);",
];

/// Replaces the queue by `queue_new` (migration 4), with the queue's indexes.
const SWAP_QUEUE: &str = "DROP TABLE queue;
     ALTER TABLE queue_new RENAME TO queue;
     CREATE INDEX queue_upn ON queue(upn);
     CREATE INDEX queue_upn_lower ON queue(lower(upn));
     CREATE INDEX queue_order ON queue(upn, user_id);";

/// Work a migration needs beyond its SQL, in the same transaction.
fn after(
    path: &Path,
    station: &str,
    version: i64,
    tx: &rusqlite::Transaction<'_>,
) -> Result<(), StoreError> {
    let sqlite = |source| StoreError::Sqlite {
        path: path.to_owned(),
        source,
    };
    match version {
        2 => super::audit::chain_existing(tx).map_err(sqlite),
        3 => super::queue::fill_expiries(tx).map_err(sqlite),
        4 => match super::queue::convert_graph_options(tx) {
            Ok(()) => tx.execute_batch(SWAP_QUEUE).map_err(sqlite),
            Err(ConvertError::Sqlite(e)) => Err(sqlite(e)),
            Err(ConvertError::Row {
                user_id,
                upn,
                reason,
            }) => Err(StoreError::Corrupt {
                journal: path.display().to_string(),
                detail: format!(
                    "the queued creation options of {upn} ({user_id}) are not Graph's creation \
                 options ({reason}), so the journal cannot be upgraded; it was left as it was. \
                 Fetch that person's options again with the previous version's `prefetch`, or \
                 remove their queue row (sqlite3: DELETE FROM queue WHERE user_id = '{user_id}'), \
                 then start again"
                ),
            }),
        },
        5 => tx
            .execute(
                "UPDATE enrollment SET station = ?1 WHERE station = ''",
                [station],
            )
            .map(|_| ())
            .map_err(sqlite),
        _ => Ok(()),
    }
}

pub(super) fn migrate(j: &mut SqliteJournal) -> Result<(), StoreError> {
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
    let station = j.station.clone();
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
        tx.execute_batch(sql).map_err(sqlite)?;
        after(&path, &station, version, &tx)?;
        tx.execute_batch(&format!("PRAGMA user_version = {version}"))
            .and_then(|()| tx.commit())
            .map_err(sqlite)?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::{Journal, QueueStore, StoreError};

    /// A journal file as schema `version` created it, with empty tables.
    pub(crate) fn journal_at(path: &Path, version: usize) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.execute_batch(&format!("PRAGMA user_version = {version}"))
            .unwrap();
        conn
    }

    /// A queue row as schemas 1 to 3 stored it: Graph's whole creationOptions body, with
    /// column copies of its fields (only the text expiry matters to the migrations).
    pub(crate) fn insert_graph_row(
        conn: &rusqlite::Connection,
        user_id: &str,
        graph_json: &serde_json::Value,
        challenge_expiry: &str,
    ) {
        conn.execute(
            "INSERT INTO queue (user_id, upn, display_name, user_handle, challenge,
               challenge_expiry, rp_id, creation_options, existing_method_ids, fetched_at)
             VALUES (?1, ?2, 'Someone', 'T0Y6', 'c', ?3, 'login.microsoft.com', ?4, '[\"m1\"]', 7)",
            rusqlite::params![
                user_id,
                format!("{user_id}@contoso.example"),
                challenge_expiry,
                graph_json.to_string()
            ],
        )
        .unwrap();
    }

    fn fixture() -> serde_json::Value {
        let text = include_str!("../../../ctap/tests/data/fido2-registration-fixture.json");
        serde_json::from_str::<serde_json::Value>(text).unwrap()["creationOptionsResponse"].clone()
    }

    #[test]
    fn graph_json_rows_are_converted_once_into_the_neutral_form() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let graph = fixture();
        {
            let conn = journal_at(&path, 3);
            insert_graph_row(&conn, "id-1", &graph, "");
            // The beta docs' shape, and a row that came from a CSV without an expiry.
            insert_graph_row(&conn, "id-2", &serde_json::json!({ "value": graph }), "");
            let mut csv = graph.clone();
            csv["challengeTimeoutDateTime"] = serde_json::Value::Null;
            insert_graph_row(&conn, "id-3", &csv, "");
            conn.execute_batch(
                "UPDATE queue SET challenge_expires_at = 1787480100 WHERE user_id != 'id-3'",
            )
            .unwrap();
        }
        let j = SqliteJournal::open(&path, "desk").unwrap();
        let expected = graph::IssuedOptions::from_graph(&graph).unwrap().options;
        let queue = j.queue().unwrap();
        assert_eq!(queue.len(), 3);
        for (q, expires_at) in queue
            .iter()
            .zip([Some(1_787_480_100), Some(1_787_480_100), None])
        {
            assert_eq!(q.challenge.options, expected, "{}", q.user_id);
            assert_eq!(q.challenge.expires_at, expires_at, "{}", q.user_id);
            assert_eq!(q.existing_method_ids, ["m1"]);
            assert_eq!((q.display_name.as_str(), q.fetched_at), ("Someone", 7));
        }
        // The copied columns are gone; the queue's indexes are back.
        let names = |sql: &str| -> Vec<String> {
            let mut stmt = j.conn.prepare(sql).unwrap();
            let rows = stmt.query_map([], |r| r.get(0)).unwrap();
            rows.collect::<Result<_, _>>().unwrap()
        };
        assert_eq!(
            names("SELECT name FROM pragma_table_info('queue') ORDER BY cid"),
            [
                "user_id",
                "upn",
                "display_name",
                "options",
                "challenge_expires_at",
                "existing_method_ids",
                "fetched_at"
            ]
        );
        assert_eq!(
            names(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'queue'
                   AND sql IS NOT NULL ORDER BY name"
            ),
            ["queue_order", "queue_upn", "queue_upn_lower"]
        );
    }

    #[test]
    fn an_unconvertible_row_stops_the_migration_naming_the_person_and_loses_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut bad = fixture();
        bad["publicKey"]["extensions"]["credentialProtectionPolicy"] = "somethingNew".into();
        {
            let conn = journal_at(&path, 3);
            insert_graph_row(&conn, "id-1", &fixture(), "");
            insert_graph_row(&conn, "id-2", &bad, "");
        }
        let err = Journal::open(&path).map(|_| ()).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("id-2@contoso.example (id-2)") && text.contains("somethingNew"),
            "{text}"
        );
        // Nothing changed: still schema 3, both rows in Graph's form.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(
            count("SELECT count(*) FROM queue WHERE creation_options LIKE '%publicKey%'"),
            2
        );
        assert_eq!(
            count("SELECT count(*) FROM sqlite_master WHERE name = 'queue_new'"),
            0
        );
    }
}
