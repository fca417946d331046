//! What the screens list, read from the SQLite journal by indexed SQL.

use rusqlite::{params, OptionalExtension, Row};

use super::SqliteJournal;
use crate::store::read_model::{entry_sql, standing};
use crate::store::{HistoryRow, QueueEntry, ReadModel, StoreError};

impl ReadModel for SqliteJournal {
    /// Everyone queued, ordered by UPN (then object id), with where they stand.
    fn queue_entries(&self) -> Result<Vec<QueueEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("{} ORDER BY q.upn, q.user_id", entry()))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], raw_entry)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.decode_entry(r)).collect()
    }

    /// One queued person by object id, with where they stand.
    fn queue_entry(&self, user_id: &str) -> Result<Option<QueueEntry>, StoreError> {
        let raw = self
            .conn
            .prepare_cached(&format!("{} WHERE q.user_id = ?1", entry()))
            .and_then(|mut s| s.query_row([user_id], raw_entry).optional())
            .map_err(|e| self.err(e))?;
        raw.map(|r| self.decode_entry(r)).transpose()
    }

    /// The newest `limit` enrollments, oldest first, with display names from the queue.
    fn history(&self, limit: usize) -> Result<Vec<HistoryRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM (
                   SELECT e.id, e.upn, NULLIF(q.display_name, ''), e.state, e.serial, e.method_id,
                          e.updated_at, e.last_error
                   FROM enrollment e LEFT JOIN queue q ON q.user_id = e.user_id
                   ORDER BY e.id DESC LIMIT ?1)
                 ORDER BY id",
            )
            .map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![limit], |r: &Row<'_>| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(
                |(id, upn, display_name, state, serial, method_id, updated_at, last_error)| {
                    Ok(HistoryRow {
                        id,
                        upn,
                        display_name,
                        state: self.state(&state)?,
                        serial,
                        method_id,
                        updated_at,
                        last_error,
                    })
                },
            )
            .collect()
    }
}

impl SqliteJournal {
    fn decode_entry(&self, raw: RawEntry) -> Result<QueueEntry, StoreError> {
        let standing = standing(raw.standing.as_deref().map(|s| self.state(s)).transpose()?);
        Ok(QueueEntry {
            user_id: raw.user_id,
            upn: raw.upn,
            display_name: raw.display_name,
            challenge_expires_at: raw.challenge_expires_at,
            standing,
            station: None,
        })
    }
}

/// The queue's entries: one station's file names no other station.
fn entry() -> String {
    entry_sql("NULL")
}

struct RawEntry {
    user_id: String,
    upn: String,
    display_name: String,
    challenge_expires_at: Option<i64>,
    standing: Option<String>,
}

fn raw_entry(r: &Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        user_id: r.get(0)?,
        upn: r.get(1)?,
        display_name: r.get(2)?,
        challenge_expires_at: r.get(3)?,
        standing: r.get(4)?,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::QueuedUser;
    use crate::store::{EnrollmentState, Journal, Standing};

    fn person(n: u32, expiry: &str) -> QueuedUser {
        QueuedUser {
            user_id: format!("id-{n}"),
            upn: format!("user{n}@contoso.example"),
            display_name: if n == 9 {
                String::new()
            } else {
                format!("User {n}")
            },
            challenge: crate::store::queue::test_challenge(
                &format!("c{n}"),
                crate::store::parse_expiry(expiry),
            ),
            existing_method_ids: Vec::new(),
            fetched_at: 1,
        }
    }

    fn journal() -> (tempfile::TempDir, Journal) {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        (dir, j)
    }

    /// An enrollment of `n` taken to `end` (recorded, failed, or left at key_ready).
    fn enroll(j: &mut Journal, n: u32, end: EnrollmentState) -> i64 {
        let id = j
            .begin_enrollment(
                &format!("id-{n}"),
                &format!("user{n}@contoso.example"),
                Some(&format!("s{n}")),
                None,
            )
            .unwrap();
        j.pin_set(id, crate::store::PinSource::Typed).unwrap();
        j.credential_created(id, b"cred", b"{}", &[0xa5; 600])
            .unwrap();
        match end {
            EnrollmentState::Recorded => {
                j.registering(id).unwrap();
                j.registered(id, &format!("method-{id}")).unwrap();
                j.hardened(id).unwrap();
                j.recorded(id, false).unwrap();
            }
            EnrollmentState::Failed => j.failed(id, "key removed").unwrap(),
            _ => {}
        }
        id
    }

    #[test]
    fn standing_per_person_for_each_enrollment_mix() {
        use EnrollmentState::{CredentialCreated as Open, Failed, Recorded};
        let (_dir, mut j) = journal();
        let people: Vec<QueuedUser> = (1..=8).map(|n| person(n, "2999-01-01T00:00:00Z")).collect();
        j.upsert_queue(&people).unwrap();
        // 1: none. 2: open. 3: failed. 4: failed, then open again. 5: open, then failed.
        // 6: recorded. 7: recorded, then a second key failed. 8: failed, then recorded.
        let mixes: [(u32, &[EnrollmentState]); 7] = [
            (2, &[Open]),
            (3, &[Failed]),
            (4, &[Failed, Open]),
            (5, &[Open, Failed]),
            (6, &[Recorded]),
            (7, &[Recorded, Failed]),
            (8, &[Failed, Recorded]),
        ];
        for (n, ends) in mixes {
            for end in ends {
                enroll(&mut j, n, *end);
            }
        }
        // Someone no longer queued: their enrollments list nobody.
        enroll(&mut j, 99, Recorded);
        let entries = j.queue_entries().unwrap();
        let standings: Vec<(&str, Standing)> = entries
            .iter()
            .map(|e| (e.user_id.as_str(), e.standing))
            .collect();
        assert_eq!(
            standings,
            [
                ("id-1", Standing::NotStarted),
                ("id-2", Standing::Open),
                ("id-3", Standing::Failed),
                ("id-4", Standing::Open),
                ("id-5", Standing::Failed),
                ("id-6", Standing::Recorded),
                ("id-7", Standing::Recorded),
                ("id-8", Standing::Recorded),
            ]
        );
        // One person alone reads exactly what the list says of them.
        for e in &entries {
            assert_eq!(j.queue_entry(&e.user_id).unwrap().as_ref(), Some(e));
        }
        assert_eq!(j.queue_entry("id-99").unwrap(), None);
        assert_eq!(entries[0].upn, "user1@contoso.example");
        assert_eq!(entries[0].display_name, "User 1");
    }

    #[test]
    fn expiry_is_stored_as_unix_seconds_with_the_options() {
        let (_dir, mut j) = journal();
        j.upsert_queue(&[
            person(1, "2026-08-23T10:15:00Z"),
            // Graph sometimes omits the zone: UTC.
            person(2, "2026-08-23T10:15:00"),
            person(3, "2026-08-23T12:15:00+02:00"),
            person(4, "not a time"),
        ])
        .unwrap();
        let expiries = expiries(&j);
        assert_eq!(
            expiries,
            [
                Some(1_787_480_100),
                Some(1_787_480_100),
                Some(1_787_480_100),
                None
            ]
        );
        // Refreshed options bring their new expiry.
        j.upsert_queue(&[person(4, "2026-08-23T10:20:00Z")])
            .unwrap();
        assert_eq!(
            j.queue_entry("id-4").unwrap().unwrap().challenge_expires_at,
            Some(1_787_480_400)
        );
    }

    /// Each queued person's stored expiry, in queue order.
    fn expiries(j: &Journal) -> Vec<Option<i64>> {
        j.queue_entries()
            .unwrap()
            .into_iter()
            .map(|e| e.challenge_expires_at)
            .collect()
    }

    #[test]
    fn migrating_an_older_journal_fills_the_expiry_from_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        {
            // The journal as schema 2 wrote it: the expiry in the options or its text column.
            let conn = super::super::schema::tests::journal_at(&path, 2);
            let options = |expiry: &str| {
                serde_json::json!({"challengeTimeoutDateTime": expiry, "publicKey":
                    {"rp": {"id": "login.microsoft.com"}, "user": {"id": "T0Y6"}, "challenge": "c"}})
            };
            super::super::schema::tests::insert_graph_row(
                &conn,
                "id-1",
                &serde_json::json!({"publicKey":
                    {"rp": {"id": "login.microsoft.com"}, "user": {"id": "T0Y6"}, "challenge": "c"}}),
                "2026-08-23T10:15:00Z",
            );
            super::super::schema::tests::insert_graph_row(
                &conn,
                "id-2",
                &options("2026-08-23T10:20:00Z"),
                "",
            );
        }
        let j = Journal::open(&path).unwrap();
        let expiries = expiries(&j);
        assert_eq!(expiries, [Some(1_787_480_100), Some(1_787_480_400)]);
    }

    #[test]
    fn history_is_the_newest_enrollments_oldest_first() {
        let (_dir, mut j) = journal();
        j.upsert_queue(&[person(1, ""), person(2, ""), person(9, "")])
            .unwrap();
        let ids: Vec<i64> = [
            (1, EnrollmentState::Failed),
            (2, EnrollmentState::Recorded),
            (9, EnrollmentState::Recorded),
            (5, EnrollmentState::Recorded),
            (1, EnrollmentState::CredentialCreated),
        ]
        .into_iter()
        .map(|(n, end)| enroll(&mut j, n, end))
        .collect();
        j.note_error(ids[4], "Graph unreachable: retry").unwrap();

        let last3 = j.history(3).unwrap();
        let got: Vec<(i64, &str, Option<&str>, EnrollmentState)> = last3
            .iter()
            .map(|h| (h.id, h.upn.as_str(), h.display_name.as_deref(), h.state))
            .collect();
        assert_eq!(
            got,
            [
                // Queued with no display name; not queued at all; queued.
                (
                    ids[2],
                    "user9@contoso.example",
                    None,
                    EnrollmentState::Recorded
                ),
                (
                    ids[3],
                    "user5@contoso.example",
                    None,
                    EnrollmentState::Recorded
                ),
                (
                    ids[4],
                    "user1@contoso.example",
                    Some("User 1"),
                    EnrollmentState::CredentialCreated
                ),
            ]
        );
        assert_eq!(last3[2].serial.as_deref(), Some("s1"));
        assert_eq!(
            last3[2].last_error.as_deref(),
            Some("Graph unreachable: retry")
        );
        assert_eq!(j.history(100).unwrap().len(), 5);
        assert!(j.history(0).unwrap().is_empty());
    }

    #[test]
    fn key_and_person_lookups() {
        let (_dir, mut j) = journal();
        enroll(&mut j, 1, EnrollmentState::Failed);
        assert!(!j.is_recorded("id-1").unwrap());
        let recorded = enroll(&mut j, 1, EnrollmentState::Recorded);
        assert!(j.is_recorded("id-1").unwrap());
        assert!(!j.is_recorded("id-2").unwrap());
        // The failed one of key s1 is skipped; the recorded one holds the key.
        assert_eq!(
            j.unfailed_of_key("s1").unwrap().map(|e| e.id),
            Some(recorded)
        );
        assert_eq!(j.unfailed_of_key("s2").unwrap(), None);
        let open = j.begin_enrollment("id-3", "c@x", Some("s3"), None).unwrap();
        j.commit_pin(open, "222222").unwrap();
        let newer = j.begin_enrollment("id-3", "c@x", Some("s3"), None).unwrap();
        j.commit_pin(newer, "333333").unwrap();
        assert_eq!(
            j.pin_for_key("s3").unwrap().as_deref().map(String::as_str),
            Some("333333")
        );
        j.purge_pin(newer).unwrap();
        assert_eq!(
            j.pin_for_key("s3").unwrap().as_deref().map(String::as_str),
            Some("222222")
        );
        assert_eq!(j.pin_for_key("s1").unwrap(), None);
    }
}
