//! A journal written before the options were stored typed (schema 3: Graph's whole
//! creationOptions body for each queued person, next to column copies of its fields) opens
//! with the current binary, its rows convert to the neutral form, and enrollment works.

mod kit;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use graph::fake::FakeConfig;
use kit::keys::soft_key;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::store::{EnrollmentState, Journal, QueuedUser};
use serde_json::{json, Value};

/// Graph's creationOptions body for options in the journal's neutral form, as Graph wrote
/// it (excludeCredentials ids in padded standard base64, one of the encodings it uses).
fn graph_body(o: &Value, expires_at: Option<i64>) -> Value {
    let expiry = expires_at.map(|t| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    });
    let list = |key: &str| o[key].as_array().cloned().unwrap_or_default();
    json!({
        "@odata.context": "https://graph.microsoft.com/beta/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
        "challengeTimeoutDateTime": expiry,
        "publicKey": {
            "rp": o["rp"], "user": o["user"], "challenge": o["challenge"], "timeout": 60000,
            "pubKeyCredParams": list("algorithms").iter()
                .map(|alg| json!({"type": "public-key", "alg": alg})).collect::<Vec<_>>(),
            "excludeCredentials": list("excludeCredentials").iter()
                .map(|id| {
                    let bytes = URL_SAFE_NO_PAD.decode(id.as_str().unwrap()).unwrap();
                    json!({"type": "public-key", "id": STANDARD.encode(bytes), "transports": []})
                })
                .collect::<Vec<_>>(),
            "authenticatorSelection": {"authenticatorAttachment": "cross-platform",
                "requireResidentKey": o["residentKey"] == "required",
                "userVerification": o["userVerification"]},
            "attestation": o["attestation"],
            "extensions": o["extensions"],
        }
    })
}

/// Rewrites the journal's queue as schema 3 stored it, without the stations of schema 5.
fn back_to_schema_3(journal: &std::path::Path) {
    let conn = rusqlite::Connection::open(journal).unwrap();
    conn.execute_batch(
        "DROP INDEX queue_upn; DROP INDEX queue_upn_lower; DROP INDEX queue_order;
         ALTER TABLE queue RENAME TO queue_typed;
         CREATE TABLE queue (user_id TEXT PRIMARY KEY, upn TEXT NOT NULL,
            display_name TEXT NOT NULL, user_handle TEXT NOT NULL, challenge TEXT NOT NULL,
            challenge_expiry TEXT NOT NULL, rp_id TEXT NOT NULL, creation_options TEXT NOT NULL,
            existing_method_ids TEXT NOT NULL DEFAULT '[]', fetched_at INTEGER NOT NULL,
            challenge_expires_at INTEGER);
         CREATE INDEX queue_upn ON queue(upn);
         CREATE INDEX queue_upn_lower ON queue(lower(upn));
         CREATE INDEX queue_order ON queue(upn, user_id);
         DROP INDEX enrollment_station; ALTER TABLE enrollment DROP COLUMN station;
         ALTER TABLE audit DROP COLUMN station;",
    )
    .unwrap();
    type Row = (String, String, String, String, Option<i64>, String, i64);
    let rows: Vec<Row> = conn
        .prepare("SELECT user_id, upn, display_name, options, challenge_expires_at, existing_method_ids, fetched_at FROM queue_typed")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (user_id, upn, name, options, expires_at, existing, fetched_at) in rows {
        let o: Value = serde_json::from_str(&options).unwrap();
        let body = graph_body(&o, expires_at);
        conn.execute(
            "INSERT INTO queue VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            rusqlite::params![
                user_id,
                upn,
                name,
                o["user"]["id"].as_str().unwrap(),
                o["challenge"].as_str().unwrap(),
                body["challengeTimeoutDateTime"].as_str().unwrap_or(""),
                o["rp"]["id"].as_str().unwrap(),
                body.to_string(),
                existing,
                fetched_at,
                expires_at
            ],
        )
        .unwrap();
    }
    conn.execute_batch("DROP TABLE queue_typed; PRAGMA user_version = 3;")
        .unwrap();
}

/// The queue rows' stored options, as text.
fn stored_options(journal: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(journal).unwrap();
    let mut stmt = conn
        .prepare("SELECT options FROM queue ORDER BY upn")
        .unwrap();
    let rows = stmt.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

#[test]
fn a_journal_with_graph_json_rows_converts_and_enrolls() {
    let st = Station::new(
        FakeConfig {
            existing_methods_every_nth: Some(1),
            ..plain_tenant(3)
        },
        r#","useRandomPIN":true"#,
    );
    st.prefetch();
    // The queue holds each person's options once, in the neutral form.
    for text in stored_options(&st.journal) {
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v.get("publicKey").is_none() && !text.contains("@odata"),
            "{text}"
        );
        assert!(
            v["user"]["id"].is_string() && v["challenge"].is_string(),
            "{text}"
        );
        assert!(
            !v["excludeCredentials"].as_array().unwrap().is_empty(),
            "{text}"
        );
    }
    let before: Vec<QueuedUser> = Journal::open(&st.journal).unwrap().queue().unwrap();
    back_to_schema_3(&st.journal);

    // Opening it converts every row once, to exactly what was there.
    let after = Journal::open(&st.journal).unwrap().queue().unwrap();
    assert_eq!(after, before);
    assert!(stored_options(&st.journal)
        .iter()
        .all(|t| !t.contains("publicKey")));

    // Enrollment works from the converted options.
    back_to_schema_3(&st.journal);
    st.slot.insert(Some(soft_key(45_000_001)));
    let (status, out) = st.enroll(&["--user", &before[0].upn], &[], |_| {});
    assert!(status.success(), "{out}");
    let journal = Journal::open(&st.journal).unwrap();
    let e = journal.enrollments().unwrap().pop().unwrap();
    assert_eq!(e.user_id, before[0].user_id);
    assert_eq!(e.state, EnrollmentState::Recorded);
    let credential = e.credential_id.unwrap();
    assert!(st
        .tenant
        .registrations(&before[0].user_id)
        .iter()
        .any(|m| m.credential_id == credential));
}
