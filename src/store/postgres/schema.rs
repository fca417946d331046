//! The shared journal's schema on PostgreSQL and its migrations, versioned in `schema_version`.
//!
//! The same tables as the SQLite journal (queue, enrollment, transition, audit), with the
//! station that wrote each enrollment and audit entry, and `claim`: who holds a person (one
//! row per person, taken in the write-ahead record's transaction). PINs are stored only
//! sealed (`pin_sealed`, see `store::seal`); a check refuses anything that does not start
//! with the seal's version byte, so a PIN in clear text cannot land there by mistake.
//! `journal_key` holds one value sealed under the deployment's journal key, so a station with
//! another key is refused before it seals or opens anything.
//!
//! Tables go into the role's current schema (its `search_path`): the station's role owns only
//! that schema. Every migration runs on start in one transaction, under an advisory lock so
//! that stations starting together migrate once; a database newer than this build is refused.

use postgres::Client;

/// Each entry migrates from version i to i+1; never edit a released entry, append.
const MIGRATIONS: &[&str] = &[
    // 1: the queue (Graph's creation options as JSON), enrollments with their transitions,
    // claims, the hash-chained audit log; an index for every look-up the engine and the
    // screens do (as in the SQLite journal).
    "CREATE TABLE queue (
        user_id TEXT PRIMARY KEY,
        upn TEXT NOT NULL,
        display_name TEXT NOT NULL,
        options TEXT NOT NULL,
        challenge_expires_at BIGINT,
        existing_method_ids TEXT NOT NULL DEFAULT '[]',
        fetched_at BIGINT NOT NULL
     );
     CREATE INDEX queue_upn_lower ON queue (lower(upn));
     CREATE INDEX queue_order ON queue (upn, user_id);
     CREATE TABLE enrollment (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        station TEXT NOT NULL,
        user_id TEXT NOT NULL,
        upn TEXT NOT NULL,
        state TEXT NOT NULL,
        pin_sealed BYTEA CHECK (pin_sealed IS NULL
            OR (get_byte(pin_sealed, 0) = 1 AND length(pin_sealed) >= 29)),
        pin_source TEXT,
        serial TEXT,
        aaguid TEXT,
        credential_id BYTEA,
        client_data_json BYTEA,
        attestation_object BYTEA,
        method_id TEXT,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
     );
     CREATE INDEX enrollment_user ON enrollment (user_id, id);
     CREATE INDEX enrollment_user_state ON enrollment (user_id, state);
     CREATE INDEX enrollment_serial ON enrollment (serial);
     CREATE INDEX enrollment_state ON enrollment (state);
     CREATE INDEX enrollment_pin_held ON enrollment (state, updated_at)
        WHERE pin_sealed IS NOT NULL;
     CREATE INDEX enrollment_station ON enrollment (station, state);
     CREATE TABLE transition (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        enrollment_id BIGINT NOT NULL REFERENCES enrollment (id),
        from_state TEXT,
        to_state TEXT NOT NULL,
        at BIGINT NOT NULL
     );
     CREATE INDEX transition_enrollment ON transition (enrollment_id, id);
     CREATE TABLE claim (
        user_id TEXT PRIMARY KEY,
        station TEXT NOT NULL,
        since BIGINT NOT NULL,
        enrollment_id BIGINT NOT NULL REFERENCES enrollment (id)
     );
     CREATE INDEX claim_station ON claim (station);
     CREATE TABLE audit (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        station TEXT NOT NULL,
        at BIGINT NOT NULL,
        operator TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        result TEXT NOT NULL,
        request_ids TEXT NOT NULL DEFAULT '',
        prev_hash TEXT,
        hash TEXT
     );
     CREATE TABLE journal_key (
        only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
        check_sealed BYTEA NOT NULL
     );",
    // 2: a claim may be taken before its enrollment (the next person reserved while their
    // key is awaited); every change to a person's enrollments or claim, and every change to
    // the queue, is announced on the channel stations listen to (`listen.rs`): delivered
    // only when the change commits.
    "ALTER TABLE claim ALTER COLUMN enrollment_id DROP NOT NULL;
     CREATE FUNCTION passkey_kiosk_person_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        PERFORM pg_notify('passkey_kiosk',
            CASE TG_OP WHEN 'DELETE' THEN OLD.user_id ELSE NEW.user_id END);
        RETURN NULL;
     END $$;
     CREATE FUNCTION passkey_kiosk_queue_changed() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
        PERFORM pg_notify('passkey_kiosk', '*');
        RETURN NULL;
     END $$;
     CREATE TRIGGER enrollment_changed AFTER INSERT OR UPDATE ON enrollment
        FOR EACH ROW EXECUTE FUNCTION passkey_kiosk_person_changed();
     CREATE TRIGGER claim_changed AFTER INSERT OR UPDATE OR DELETE ON claim
        FOR EACH ROW EXECUTE FUNCTION passkey_kiosk_person_changed();
     CREATE TRIGGER queue_changed AFTER INSERT OR UPDATE OR DELETE ON queue
        FOR EACH STATEMENT EXECUTE FUNCTION passkey_kiosk_queue_changed();",
];

/// The newest schema version this build knows.
pub const VERSION: i32 = MIGRATIONS.len() as i32;

/// Serialises stations migrating the same database (`pg_advisory_xact_lock`'s key).
const MIGRATION_LOCK: i64 = 0x706b_6b5f_7363_6831; // "pkk_sch1"

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// Another station, running a newer Passkey Kiosk, migrated the database further.
    #[error("the journal database has schema version {found}; this Passkey Kiosk knows up to {known}: upgrade Passkey Kiosk on this station to the version the other stations run")]
    TooNew {
        /// Version in the database.
        found: i32,
        /// Newest version this build knows.
        known: i32,
    },
    /// PostgreSQL refused.
    #[error("journal schema: {reason}; the station's role must own the schema it works in (its search_path) and be able to connect to the database")]
    Postgres {
        /// The server's or the client's reason, in full.
        reason: String,
        /// The client's error.
        source: postgres::Error,
    },
}

impl From<postgres::Error> for SchemaError {
    fn from(source: postgres::Error) -> Self {
        SchemaError::Postgres {
            reason: super::reason(&source),
            source,
        }
    }
}

/// What [`apply`] found and left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The version the database had (0: empty).
    pub from: i32,
    /// The version it has now ([`VERSION`]).
    pub to: i32,
}

/// Brings the database to [`VERSION`] in one transaction; refuses a newer one.
pub fn apply(client: &mut Client) -> Result<Applied, SchemaError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
            version INTEGER PRIMARY KEY,
            applied_at BIGINT NOT NULL
         )",
    )?;
    let from: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])?
        .get(0);
    if from > VERSION {
        return Err(SchemaError::TooNew {
            found: from,
            known: VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(from as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at)
             VALUES ($1, extract(epoch FROM now())::bigint)",
            &[&(i as i32 + 1)],
        )?;
    }
    tx.commit()?;
    Ok(Applied { from, to: VERSION })
}
