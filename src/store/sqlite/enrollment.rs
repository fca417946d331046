//! Enrollments in the SQLite journal.

use rusqlite::{params, OptionalExtension, Row};
use zeroize::Zeroizing;

use super::{sqlite, SqliteJournal};
use crate::store::enrollment::{unfinished_sql_list, FAILED, RECORDED};
use crate::store::{
    now_unix, Enrollment, EnrollmentLog, EnrollmentState, PinSource, StoreError, TakenOver,
};

const COLUMNS: &str = "id, user_id, upn, station, state, pin, pin_source, serial, aaguid, credential_id, client_data_json, attestation_object, method_id, last_error, created_at, updated_at";

impl EnrollmentLog for SqliteJournal {
    /// Starts an enrollment for a person whose key is in and suitable.
    fn begin_enrollment(
        &mut self,
        user_id: &str,
        upn: &str,
        serial: Option<&str>,
        aaguid: Option<&str>,
    ) -> Result<i64, StoreError> {
        let now = now_unix();
        let path = self.path.clone();
        // IMMEDIATE: the look-up of another station's open enrollment and the insert are one
        // step for every connection to this file.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sqlite(&path, e))?;
        if let Some(station) =
            other_holder(&tx, user_id, &self.station).map_err(|e| sqlite(&path, e))?
        {
            return Err(StoreError::Claimed {
                upn: upn.to_string(),
                station,
            });
        }
        let recorded_elsewhere: Option<String> = tx
            .query_row(
                "SELECT station FROM enrollment WHERE user_id = ?1 AND state = ?2 AND station != ?3 ORDER BY id DESC LIMIT 1",
                params![user_id, RECORDED, self.station],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sqlite(&path, e))?;
        if let Some(station) = recorded_elsewhere {
            return Err(StoreError::EnrolledElsewhere {
                upn: upn.to_string(),
                station,
            });
        }
        tx.execute(
            "INSERT INTO enrollment (user_id, upn, station, state, serial, aaguid, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
            params![user_id, upn, self.station, EnrollmentState::KeyReady.as_str(), serial, aaguid, now],
        )
        .map_err(|e| sqlite(&path, e))?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO transition (enrollment_id, from_state, to_state, at) VALUES (?1, NULL, ?2, ?3)",
            params![id, EnrollmentState::KeyReady.as_str(), now],
        )
        .map_err(|e| sqlite(&path, e))?;
        tx.commit().map_err(|e| sqlite(&path, e))?;
        Ok(id)
    }

    fn holder(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        other_holder(&self.conn, user_id, &self.station).map_err(|e| self.err(e))
    }

    /// A station's own file holds no other station's claims: stations share a queue only
    /// on PostgreSQL.
    fn take_over_claim(
        &mut self,
        person: &str,
        from: &str,
        _operator: &str,
        _reason: &str,
    ) -> Result<TakenOver, StoreError> {
        Err(StoreError::NotHeld {
            person: person.to_string(),
            from: from.to_string(),
            holder: None,
        })
    }

    /// Write-ahead for a random PIN: committed before setPIN goes to the key.
    fn commit_pin(&mut self, id: i64, pin: &str) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::PinCommitted, |tx| {
            tx.execute(
                "UPDATE enrollment SET pin = ?2, pin_source = 'random' WHERE id = ?1",
                params![id, pin],
            )
        })
    }

    /// The key has its PIN (`source` says who chose it).
    fn pin_set(&mut self, id: i64, source: PinSource) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::PinSet, |tx| {
            tx.execute(
                "UPDATE enrollment SET pin_source = ?2 WHERE id = ?1",
                params![id, source.as_str()],
            )
        })
    }

    /// Write-ahead for the registration: the attestation is committed before the POST.
    fn credential_created(
        &mut self,
        id: i64,
        credential_id: &[u8],
        client_data_json: &[u8],
        attestation_object: &[u8],
    ) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::CredentialCreated, |tx| {
            tx.execute(
                "UPDATE enrollment SET credential_id = ?2, client_data_json = ?3, attestation_object = ?4 WHERE id = ?1",
                params![id, credential_id, client_data_json, attestation_object],
            )
        })
    }

    /// The POST is about to be sent: after a crash from here on, look the method up first.
    fn registering(&mut self, id: i64) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Registering, |_| Ok(0))
    }

    /// Graph answered with the method id.
    fn registered(&mut self, id: i64, method_id: &str) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Registered, |tx| {
            tx.execute(
                "UPDATE enrollment SET method_id = ?2, last_error = NULL WHERE id = ?1",
                params![id, method_id],
            )
        })
    }

    /// CTAP 2.1 policy applied.
    fn hardened(&mut self, id: i64) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Hardened, |_| Ok(0))
    }

    /// The CSV row is written; a random PIN is purged unless `keep_pin` (kept until it is
    /// handed over on screen, or by `keepPinsInJournal`).
    fn recorded(&mut self, id: i64, keep_pin: bool) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Recorded, |tx| {
            if keep_pin {
                Ok(0)
            } else {
                tx.execute("UPDATE enrollment SET pin = NULL WHERE id = ?1", [id])
            }
        })?;
        if !keep_pin {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Forgets the random PIN of enrollment `id` (handed over to its person).
    fn purge_pin(&mut self, id: i64) -> Result<(), StoreError> {
        self.purge_where("id = ?1", params![id])
    }

    /// Forgets every PIN the journal holds for the key `serial` (the key was factory-reset:
    /// none of them opens it any more).
    fn purge_pins_of_key(&mut self, serial: &str) -> Result<(), StoreError> {
        self.purge_where("serial = ?1", params![serial])
    }

    /// Forgets the PINs of enrollments that failed (and, with `recorded_too`, were recorded)
    /// before `cutoff` (Unix seconds); unsettled ones keep theirs (a restart may still need
    /// it). Returns how many.
    fn purge_pins_ended_before(
        &mut self,
        cutoff: i64,
        recorded_too: bool,
    ) -> Result<usize, StoreError> {
        // `state IN` rather than an OR: the look-up then searches the index of held PINs
        // (this runs after every job; recorded enrollments are most of the table).
        let also = if recorded_too {
            EnrollmentState::Recorded
        } else {
            EnrollmentState::Failed
        };
        let n = self
            .conn
            .execute(
                "UPDATE enrollment SET pin = NULL WHERE pin IS NOT NULL AND updated_at < ?1 AND state IN (?2, ?3)",
                params![cutoff, FAILED, also.as_str()],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(n)
    }

    /// Stops the enrollment with `error` (what happened and what the operator should do).
    fn failed(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Failed, |tx| {
            tx.execute(
                "UPDATE enrollment SET last_error = ?2 WHERE id = ?1",
                params![id, error],
            )
        })
    }

    /// Forgets the random PIN committed for enrollment `id` when the key refused to take it
    /// (e.g. a wrong current PIN): the key kept its old PIN, and this one must never be tried
    /// on it (each try costs one of its PIN attempts).
    fn pin_refused(&mut self, id: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE enrollment SET pin = NULL, updated_at = ?2 WHERE id = ?1",
                params![id, now_unix()],
            )
            .map_err(|e| self.err(e))?;
        self.checkpoint()
    }

    /// Forgets the PINs older enrollments of the same key still hold (an interrupted attempt
    /// whose PIN was since replaced), once enrollment `keep_id` of that key is recorded.
    fn purge_older_pins_of_key(&mut self, serial: &str, keep_id: i64) -> Result<(), StoreError> {
        self.purge_where(
            "serial = ?1 AND id < ?2 AND state IN (?3, ?4)",
            params![serial, keep_id, RECORDED, FAILED],
        )
    }

    /// Notes a problem without changing state (e.g. a retryable Graph error).
    fn note_error(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE enrollment SET last_error = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, error, now_unix()],
            )
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    /// One enrollment.
    fn enrollment(&self, id: i64) -> Result<Option<Enrollment>, StoreError> {
        let raw = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM enrollment WHERE id = ?1"),
                [id],
                raw_row,
            )
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(|r| self.decode_enrollment(r)).transpose()
    }

    /// Every enrollment not yet recorded or failed: what a restart must finish.
    fn unfinished_enrollments(&self) -> Result<Vec<Enrollment>, StoreError> {
        self.select(
            &format!(
                "WHERE station = ?1 AND state IN ({}) ORDER BY id",
                unfinished_sql_list()
            ),
            [&self.station],
        )
    }

    /// The PIN of the newest enrollment of key `serial` that still holds one.
    fn pin_for_key(&self, serial: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT pin FROM enrollment WHERE serial = ?1 AND pin IS NOT NULL ORDER BY id DESC LIMIT 1",
            )
            .and_then(|mut s| s.query_row([serial], |r| r.get::<_, String>(0)).optional())
            .map(|pin| pin.map(Zeroizing::new))
            .map_err(|e| self.err(e))
    }

    /// The oldest enrollment of key `serial` that did not fail: the key was issued, or its
    /// enrollment is not settled yet.
    fn unfailed_of_key(&self, serial: &str) -> Result<Option<Enrollment>, StoreError> {
        Ok(self
            .select(
                "WHERE serial = ?1 AND state != ?2 ORDER BY id LIMIT 1",
                [serial, FAILED],
            )?
            .pop())
    }

    /// Whether a person has a recorded enrollment.
    fn is_recorded(&self, user_id: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM enrollment WHERE user_id = ?1 AND state = ?2)",
            )
            .and_then(|mut s| s.query_row([user_id, RECORDED], |r| r.get(0)))
            .map_err(|e| self.err(e))
    }

    /// All enrollments of a person, oldest first.
    fn enrollments_of(&self, user_id: &str) -> Result<Vec<Enrollment>, StoreError> {
        self.select("WHERE user_id = ?1 ORDER BY id", [user_id])
    }

    /// Every enrollment, oldest first.
    fn enrollments(&self) -> Result<Vec<Enrollment>, StoreError> {
        self.select("ORDER BY id", [])
    }

    /// The states an enrollment went through, oldest first.
    fn transitions(&self, id: i64) -> Result<Vec<(EnrollmentState, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT to_state, at FROM transition WHERE enrollment_id = ?1 ORDER BY rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(s, at)| Ok((self.state(&s)?, at)))
            .collect()
    }
}

impl SqliteJournal {
    fn purge_where(&mut self, filter: &str, args: impl rusqlite::Params) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                &format!("UPDATE enrollment SET pin = NULL WHERE pin IS NOT NULL AND {filter}"),
                args,
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// A stored state name, or why the journal is corrupt.
    pub(super) fn state(&self, s: &str) -> Result<EnrollmentState, StoreError> {
        EnrollmentState::parse(s).ok_or_else(|| self.corrupt(format!("unknown state {s:?}")))
    }

    fn select<P: rusqlite::Params>(
        &self,
        tail: &str,
        params: P,
    ) -> Result<Vec<Enrollment>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM enrollment {tail}"))
            .map_err(|e| self.err(e))?;
        let raws = stmt
            .query_map(params, raw_row)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter()
            .map(|r| self.decode_enrollment(r))
            .collect()
    }

    /// Moves `id` to `to`, applying `update` and logging the transition, in one transaction;
    /// refused (nothing changed) unless the workflow allows the change
    /// ([`EnrollmentState::may_become`]).
    fn transition(
        &mut self,
        id: i64,
        to: EnrollmentState,
        update: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<usize>,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let path = self.path.clone();
        // IMMEDIATE: this transaction reads, then writes. A deferred one fails at once with
        // SQLITE_BUSY when another connection (a background registration) wrote in between.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sqlite(&path, e))?;
        let from: Option<String> = tx
            .query_row("SELECT state FROM enrollment WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sqlite(&path, e))?;
        let Some(from) = from else {
            return Err(StoreError::Corrupt {
                journal: path.display().to_string(),
                detail: format!("enrollment {id} does not exist"),
            });
        };
        let from = parse_state(&path, id, &from)?;
        if !from.may_become(to) {
            return Err(StoreError::Transition {
                journal: path.display().to_string(),
                id,
                from,
                to,
            });
        }
        update(&tx).map_err(|e| sqlite(&path, e))?;
        tx.execute(
            "UPDATE enrollment SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![id, to.as_str(), now],
        )
        .map_err(|e| sqlite(&path, e))?;
        tx.execute(
            "INSERT INTO transition (enrollment_id, from_state, to_state, at) VALUES (?1, ?2, ?3, ?4)",
            params![id, from.as_str(), to.as_str(), now],
        )
        .map_err(|e| sqlite(&path, e))?;
        tx.commit().map_err(|e| sqlite(&path, e))
    }

    fn decode_enrollment(&self, r: RawRow) -> Result<Enrollment, StoreError> {
        let state = parse_state(&self.path, r.id, &r.state)?;
        let pin_source = match r.pin_source.as_deref() {
            None => None,
            Some(s) => Some(PinSource::parse(s).ok_or_else(|| {
                self.corrupt(format!("enrollment {}: unknown PIN source {s:?}", r.id))
            })?),
        };
        Ok(Enrollment {
            id: r.id,
            user_id: r.user_id,
            upn: r.upn,
            station: r.station,
            state,
            pin: r.pin.map(Zeroizing::new),
            pin_source,
            serial: r.serial,
            aaguid: r.aaguid,
            credential_id: r.credential_id,
            client_data_json: r.client_data_json,
            attestation_object: r.attestation_object,
            method_id: r.method_id,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// The other station with an open enrollment of the person, if any.
fn other_holder(
    conn: &rusqlite::Connection,
    user_id: &str,
    station: &str,
) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        &format!(
            "SELECT station FROM enrollment WHERE user_id = ?1 AND station != ?2 AND state IN ({}) ORDER BY id DESC LIMIT 1",
            unfinished_sql_list()
        ),
        params![user_id, station],
        |r| r.get(0),
    )
    .optional()
}

fn parse_state(path: &std::path::Path, id: i64, s: &str) -> Result<EnrollmentState, StoreError> {
    EnrollmentState::parse(s).ok_or_else(|| StoreError::Corrupt {
        journal: path.display().to_string(),
        detail: format!("enrollment {id}: unknown state {s:?}"),
    })
}

struct RawRow {
    id: i64,
    user_id: String,
    upn: String,
    station: String,
    state: String,
    pin: Option<String>,
    pin_source: Option<String>,
    serial: Option<String>,
    aaguid: Option<String>,
    credential_id: Option<Vec<u8>>,
    client_data_json: Option<Vec<u8>>,
    attestation_object: Option<Vec<u8>>,
    method_id: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

fn raw_row(r: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        upn: r.get(2)?,
        station: r.get(3)?,
        state: r.get(4)?,
        pin: r.get(5)?,
        pin_source: r.get(6)?,
        serial: r.get(7)?,
        aaguid: r.get(8)?,
        credential_id: r.get(9)?,
        client_data_json: r.get(10)?,
        attestation_object: r.get(11)?,
        method_id: r.get(12)?,
        last_error: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Journal;

    /// Whether `needle` occurs in the raw bytes of any file in `dir` (db, -wal, -shm).
    fn in_any_file(dir: &std::path::Path, needle: &[u8]) -> bool {
        std::fs::read_dir(dir).unwrap().flatten().any(|f| {
            std::fs::read(f.path())
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle)
        })
    }

    #[test]
    fn purged_pins_leave_no_bytes_in_the_journal_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&dir.path().join("j.sqlite")).unwrap();
        let pins = ["830174652291", "561902738845", "904417263358"];
        let ids: Vec<i64> = pins
            .iter()
            .enumerate()
            .map(|(n, pin)| {
                let id = j
                    .begin_enrollment("u1", "a@x", Some(&format!("serial-{n}")), None)
                    .unwrap();
                j.commit_pin(id, pin).unwrap();
                id
            })
            .collect();
        for pin in pins {
            assert!(in_any_file(dir.path(), pin.as_bytes()), "{pin} is written");
        }
        // Handed over; the key reset; a failed enrollment past its retention.
        j.purge_pin(ids[0]).unwrap();
        j.purge_pins_of_key("serial-1").unwrap();
        j.failed(ids[2], "key removed").unwrap();
        assert_eq!(j.purge_pins_ended_before(now_unix() - 10, true).unwrap(), 0);
        assert!(
            in_any_file(dir.path(), pins[2].as_bytes()),
            "within retention"
        );
        assert_eq!(j.purge_pins_ended_before(now_unix() + 1, true).unwrap(), 1);
        for pin in pins {
            assert!(!in_any_file(dir.path(), pin.as_bytes()), "{pin} is gone");
        }
        assert!(j.enrollments().unwrap().iter().all(|e| e.pin.is_none()));
    }
}
