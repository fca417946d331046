//! Enrollments in the shared journal, and the claims on the people being enrolled.
//!
//! A claim (one row per person) is taken in the same transaction as the write-ahead record
//! of a new enrollment and released in the transaction that records or fails it: a person
//! is never enrolled at two stations at once. Two stations claiming one person at the same
//! moment are serialised by the claim's primary key: one inserts it, the other finds it
//! held and is refused with [`StoreError::Claimed`], its enrollment row rolled back.

use postgres::types::ToSql;
use postgres::{Row, Transaction};
use zeroize::Zeroizing;

use super::PgJournal;
use crate::store::enrollment::{unfinished_sql_list, FAILED, RECORDED};
use crate::store::{
    now_unix, Enrollment, EnrollmentLog, EnrollmentState, PinSource, StoreError, TakenOver,
};

const COLUMNS: &str = "id, user_id, upn, station, state, pin_sealed, pin_source, serial, aaguid, credential_id, client_data_json, attestation_object, method_id, last_error, created_at, updated_at";

impl EnrollmentLog for PgJournal {
    fn begin_enrollment(
        &mut self,
        user_id: &str,
        upn: &str,
        serial: Option<&str>,
        aaguid: Option<&str>,
    ) -> Result<i64, StoreError> {
        let now = now_unix();
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO enrollment (station, user_id, upn, state, serial, aaguid, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
                &[&self.station, &user_id, &upn, &EnrollmentState::KeyReady.as_str(), &serial, &aaguid, &now],
            )
            .map_err(|e| self.pg(e))?
            .get(0);
        tx.execute(
            "INSERT INTO transition (enrollment_id, from_state, to_state, at) VALUES ($1, NULL, $2, $3)",
            &[&id, &EnrollmentState::KeyReady.as_str(), &now],
        )
        .map_err(|e| self.pg(e))?;
        // This station may claim again whom it holds (an earlier attempt left open); another
        // station's claim is left as it is and returns no row.
        let claimed = tx
            .query_opt(
                "INSERT INTO claim (user_id, station, since, enrollment_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (user_id) DO UPDATE SET enrollment_id = EXCLUDED.enrollment_id, since = EXCLUDED.since
                 WHERE claim.station = EXCLUDED.station
                 RETURNING station",
                &[&user_id, &self.station, &now, &id],
            )
            .map_err(|e| self.pg(e))?;
        if claimed.is_none() {
            let station: String = tx
                .query_one("SELECT station FROM claim WHERE user_id = $1", &[&user_id])
                .map_err(|e| self.pg(e))?
                .get(0);
            // Dropping the transaction rolls the enrollment row back.
            return Err(StoreError::Claimed {
                upn: upn.to_string(),
                station,
            });
        }
        // Read after the claim is taken: a station that recorded the person released its
        // claim in the same transaction, so its record is seen here.
        if let Some(row) = tx
            .query_opt(
                "SELECT station FROM enrollment WHERE user_id = $1 AND state = $2 AND station <> $3
                 ORDER BY id DESC LIMIT 1",
                &[&user_id, &RECORDED, &self.station],
            )
            .map_err(|e| self.pg(e))?
        {
            return Err(StoreError::EnrolledElsewhere {
                upn: upn.to_string(),
                station: row.get(0),
            });
        }
        tx.commit().map_err(|e| self.pg(e))?;
        Ok(id)
    }

    fn holder(&self, user_id: &str) -> Result<Option<String>, StoreError> {
        self.again_if_lost(|| {
            Ok(self
                .client()?
                .query_opt(
                    "SELECT station FROM claim WHERE user_id = $1 AND station <> $2",
                    &[&user_id, &self.station],
                )
                .map_err(|e| self.pg(e))?
                .map(|r| r.get(0)))
        })
    }

    fn take_over_claim(
        &mut self,
        person: &str,
        from: &str,
        operator: &str,
        reason: &str,
    ) -> Result<TakenOver, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        let not_held = |holder: Option<String>| StoreError::NotHeld {
            person: person.to_string(),
            from: from.to_string(),
            holder,
        };
        let Some(claim) = tx
            .query_opt(
                "SELECT c.user_id, c.station, c.enrollment_id, q.upn FROM claim c
                 LEFT JOIN queue q ON q.user_id = c.user_id
                 WHERE c.user_id = $1 OR lower(q.upn) = lower($1)
                 FOR UPDATE OF c",
                &[&person],
            )
            .map_err(|e| self.pg(e))?
        else {
            return Err(not_held(None));
        };
        let (user_id, holder, enrollment_id): (String, String, Option<i64>) =
            (claim.get(0), claim.get(1), claim.get(2));
        if holder == self.station {
            return Err(StoreError::OwnClaim {
                person: person.to_string(),
                station: holder,
            });
        }
        if holder != from {
            return Err(not_held(Some(holder)));
        }
        let mut upn: String = claim
            .get::<_, Option<String>>(3)
            .unwrap_or_else(|| person.to_string());
        let mut enrollment = None;
        match enrollment_id {
            Some(id) => {
                let row = tx
                    .query_one(
                        "UPDATE enrollment SET station = $2, updated_at = $3 WHERE id = $1
                         RETURNING state, upn",
                        &[&id, &self.station, &now_unix()],
                    )
                    .map_err(|e| self.pg(e))?;
                upn = row.get(1);
                enrollment = Some((id, self.state(id, row.get(0))?));
                tx.execute(
                    "UPDATE claim SET station = $2, since = $3 WHERE user_id = $1",
                    &[&user_id, &self.station, &now_unix()],
                )
                .map_err(|e| self.pg(e))?;
            }
            None => {
                tx.execute("DELETE FROM claim WHERE user_id = $1", &[&user_id])
                    .map_err(|e| self.pg(e))?;
            }
        }
        let result = match enrollment {
            Some((id, state)) => format!(
                "taken over from station {from}: enrollment {id} ({}) is settled here; reason: {reason}",
                state.as_str()
            ),
            None => format!("reservation of station {from} given back; reason: {reason}"),
        };
        self.append_audit(
            &mut tx,
            operator,
            "claim-released",
            Some(&upn),
            &result,
            &[],
        )?;
        tx.commit().map_err(|e| self.pg(e))?;
        Ok(TakenOver { upn, enrollment })
    }

    fn commit_pin(&mut self, id: i64, pin: &str) -> Result<(), StoreError> {
        let sealed = self.seal_pin(id, pin)?;
        self.transition(id, EnrollmentState::PinCommitted, |tx| {
            tx.execute(
                "UPDATE enrollment SET pin_sealed = $2, pin_source = 'random' WHERE id = $1",
                &[&id, &sealed],
            )
        })
    }

    fn pin_set(&mut self, id: i64, source: PinSource) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::PinSet, |tx| {
            tx.execute(
                "UPDATE enrollment SET pin_source = $2 WHERE id = $1",
                &[&id, &source.as_str()],
            )
        })
    }

    fn credential_created(
        &mut self,
        id: i64,
        credential_id: &[u8],
        client_data_json: &[u8],
        attestation_object: &[u8],
    ) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::CredentialCreated, |tx| {
            tx.execute(
                "UPDATE enrollment SET credential_id = $2, client_data_json = $3, attestation_object = $4 WHERE id = $1",
                &[&id, &credential_id, &client_data_json, &attestation_object],
            )
        })
    }

    fn registering(&mut self, id: i64) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Registering, |_| Ok(0))
    }

    fn registered(&mut self, id: i64, method_id: &str) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Registered, |tx| {
            tx.execute(
                "UPDATE enrollment SET method_id = $2, last_error = NULL WHERE id = $1",
                &[&id, &method_id],
            )
        })
    }

    fn hardened(&mut self, id: i64) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Hardened, |_| Ok(0))
    }

    fn recorded(&mut self, id: i64, keep_pin: bool) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Recorded, |tx| {
            if keep_pin {
                Ok(0)
            } else {
                tx.execute(
                    "UPDATE enrollment SET pin_sealed = NULL WHERE id = $1",
                    &[&id],
                )
            }
        })
    }

    fn purge_pin(&mut self, id: i64) -> Result<(), StoreError> {
        self.purge_where("id = $1", &[&id]).map(|_| ())
    }

    fn purge_pins_of_key(&mut self, serial: &str) -> Result<(), StoreError> {
        self.purge_where("serial = $1", &[&serial]).map(|_| ())
    }

    fn purge_pins_ended_before(
        &mut self,
        cutoff: i64,
        recorded_too: bool,
    ) -> Result<usize, StoreError> {
        let also = if recorded_too { RECORDED } else { FAILED };
        let n = self.purge_where(
            "updated_at < $1 AND state IN ($2, $3)",
            &[&cutoff, &FAILED, &also],
        )?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn failed(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.transition(id, EnrollmentState::Failed, |tx| {
            tx.execute(
                "UPDATE enrollment SET last_error = $2 WHERE id = $1",
                &[&id, &error],
            )
        })
    }

    fn pin_refused(&mut self, id: i64) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "UPDATE enrollment SET pin_sealed = NULL, updated_at = $2 WHERE id = $1",
                &[&id, &now_unix()],
            )
            .map(|_| ())
            .map_err(|e| self.pg(e))
    }

    fn purge_older_pins_of_key(&mut self, serial: &str, keep_id: i64) -> Result<(), StoreError> {
        self.purge_where(
            "serial = $1 AND id < $2 AND state IN ($3, $4)",
            &[&serial, &keep_id, &RECORDED, &FAILED],
        )
        .map(|_| ())
    }

    fn note_error(&mut self, id: i64, error: &str) -> Result<(), StoreError> {
        self.client()?
            .execute(
                "UPDATE enrollment SET last_error = $2, updated_at = $3 WHERE id = $1",
                &[&id, &error, &now_unix()],
            )
            .map(|_| ())
            .map_err(|e| self.pg(e))
    }

    fn enrollment(&self, id: i64) -> Result<Option<Enrollment>, StoreError> {
        Ok(self.select("WHERE id = $1", &[&id])?.pop())
    }

    fn unfinished_enrollments(&self) -> Result<Vec<Enrollment>, StoreError> {
        self.select(
            &format!(
                "WHERE station = $1 AND state IN ({}) ORDER BY id",
                unfinished_sql_list()
            ),
            &[&self.station],
        )
    }

    fn pin_for_key(&self, serial: &str) -> Result<Option<Zeroizing<String>>, StoreError> {
        let row = self
            .client()?
            .query_opt(
                "SELECT id, pin_sealed FROM enrollment WHERE serial = $1 AND pin_sealed IS NOT NULL ORDER BY id DESC LIMIT 1",
                &[&serial],
            )
            .map_err(|e| self.pg(e))?;
        row.map(|r| self.open_pin(r.get(0), r.get::<_, &[u8]>(1)))
            .transpose()
    }

    fn unfailed_of_key(&self, serial: &str) -> Result<Option<Enrollment>, StoreError> {
        Ok(self
            .select(
                "WHERE serial = $1 AND state <> $2 ORDER BY id LIMIT 1",
                &[&serial, &FAILED],
            )?
            .pop())
    }

    fn is_recorded(&self, user_id: &str) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM enrollment WHERE user_id = $1 AND state = $2)",
                &[&user_id, &RECORDED],
            )
            .map_err(|e| self.pg(e))?
            .get(0))
    }

    fn enrollments_of(&self, user_id: &str) -> Result<Vec<Enrollment>, StoreError> {
        self.select("WHERE user_id = $1 ORDER BY id", &[&user_id])
    }

    fn enrollments(&self) -> Result<Vec<Enrollment>, StoreError> {
        self.select("ORDER BY id", &[])
    }

    fn transitions(&self, id: i64) -> Result<Vec<(EnrollmentState, i64)>, StoreError> {
        let rows = self
            .client()?
            .query(
                "SELECT to_state, at FROM transition WHERE enrollment_id = $1 ORDER BY id",
                &[&id],
            )
            .map_err(|e| self.pg(e))?;
        rows.iter()
            .map(|r| Ok((self.state(id, r.get(0))?, r.get(1))))
            .collect()
    }
}

impl PgJournal {
    /// Forgets the sealed PINs of the enrollments `filter` selects; how many.
    fn purge_where(
        &mut self,
        filter: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        self.client()?
            .execute(
                &format!(
                    "UPDATE enrollment SET pin_sealed = NULL WHERE pin_sealed IS NOT NULL AND {filter}"
                ),
                args,
            )
            .map_err(|e| self.pg(e))
    }

    fn state(&self, id: i64, s: &str) -> Result<EnrollmentState, StoreError> {
        EnrollmentState::parse(s)
            .ok_or_else(|| self.corrupt(format!("enrollment {id}: unknown state {s:?}")))
    }

    fn select(
        &self,
        tail: &str,
        args: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Enrollment>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM enrollment {tail}");
        let rows =
            self.again_if_lost(|| self.client()?.query(&sql, args).map_err(|e| self.pg(e)))?;
        rows.iter().map(|r| self.decode(r)).collect()
    }

    /// Moves `id` to `to`, applying `update` and logging the transition, in one transaction;
    /// refused (nothing changed) unless the workflow allows the change. Reaching the end
    /// (recorded or failed) releases the person's claim of this enrollment.
    ///
    /// The connection lost on the way (the server restarted): once connected again, a change
    /// that did commit is not made twice (the enrollment already stands at `to`); one that
    /// did not is made now.
    fn transition(
        &mut self,
        id: i64,
        to: EnrollmentState,
        update: impl Fn(&mut Transaction<'_>) -> Result<u64, postgres::Error>,
    ) -> Result<(), StoreError> {
        match self.try_transition(id, to, &update) {
            Err(StoreError::Postgres { source, .. }) if super::connection_lost(&source) => {
                let now = self.select("WHERE id = $1", &[&id])?.pop();
                match now {
                    Some(e) if e.state == to && !to.may_become(to) => Ok(()),
                    _ => self.try_transition(id, to, &update),
                }
            }
            other => other,
        }
    }

    fn try_transition(
        &mut self,
        id: i64,
        to: EnrollmentState,
        update: &impl Fn(&mut Transaction<'_>) -> Result<u64, postgres::Error>,
    ) -> Result<(), StoreError> {
        let now = now_unix();
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        // FOR UPDATE: two connections moving one enrollment take turns.
        let Some(row) = tx
            .query_opt(
                "SELECT state, user_id, station, upn FROM enrollment WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .map_err(|e| self.pg(e))?
        else {
            return Err(self.corrupt(format!("enrollment {id} does not exist")));
        };
        let from = self.state(id, row.get(0))?;
        let user_id: String = row.get(1);
        let station: String = row.get(2);
        // Taken over by another station (this one was declared out of service): that station
        // settles it now; nothing more is done to it here.
        if station != self.station {
            return Err(StoreError::Claimed {
                upn: row.get(3),
                station,
            });
        }
        if !from.may_become(to) {
            return Err(StoreError::Transition {
                journal: self.location_name(),
                id,
                from,
                to,
            });
        }
        update(&mut tx).map_err(|e| self.pg(e))?;
        tx.execute(
            "UPDATE enrollment SET state = $2, updated_at = $3 WHERE id = $1",
            &[&id, &to.as_str(), &now],
        )
        .map_err(|e| self.pg(e))?;
        tx.execute(
            "INSERT INTO transition (enrollment_id, from_state, to_state, at) VALUES ($1, $2, $3, $4)",
            &[&id, &from.as_str(), &to.as_str(), &now],
        )
        .map_err(|e| self.pg(e))?;
        if to.is_terminal() {
            tx.execute(
                "DELETE FROM claim WHERE user_id = $1 AND enrollment_id = $2",
                &[&user_id, &id],
            )
            .map_err(|e| self.pg(e))?;
        }
        tx.commit().map_err(|e| self.pg(e))
    }

    fn location_name(&self) -> String {
        crate::store::JournalStore::location(self)
    }

    fn decode(&self, r: &Row) -> Result<Enrollment, StoreError> {
        let id: i64 = r.get(0);
        let pin = r
            .get::<_, Option<&[u8]>>(5)
            .map(|sealed| self.open_pin(id, sealed))
            .transpose()?;
        let pin_source = match r.get::<_, Option<&str>>(6) {
            None => None,
            Some(s) => Some(PinSource::parse(s).ok_or_else(|| {
                self.corrupt(format!("enrollment {id}: unknown PIN source {s:?}"))
            })?),
        };
        Ok(Enrollment {
            id,
            user_id: r.get(1),
            upn: r.get(2),
            station: r.get(3),
            state: self.state(id, r.get(4))?,
            pin,
            pin_source,
            serial: r.get(7),
            aaguid: r.get(8),
            credential_id: r.get(9),
            client_data_json: r.get(10),
            attestation_object: r.get(11),
            method_id: r.get(12),
            last_error: r.get(13),
            created_at: r.get(14),
            updated_at: r.get(15),
        })
    }
}
