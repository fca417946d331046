//! The shared queue and what the screens list from it, in the shared journal.
//!
//! A queue refresh never removes a person another station holds (their claim), so one
//! station's reconciliation with the group cannot pull someone from under another's work.

use std::collections::HashSet;

use postgres::{GenericClient, Row};

use super::PgJournal;
use crate::store::queue::{decode_queued, COLUMNS};
use crate::store::read_model::{entry_sql, standing};
use crate::store::{
    EnrollmentState, HistoryRow, QueueEntry, QueueStore, QueuedUser, ReadModel, StoreError,
};

impl QueueStore for PgJournal {
    fn upsert_queue(&mut self, users: &[QueuedUser]) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        self.upsert(&mut tx, users)?;
        tx.commit().map_err(|e| self.pg(e))
    }

    fn replace_queue_members(
        &mut self,
        fresh: &[QueuedUser],
        keep: &HashSet<String>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| self.pg(e))?;
        // One refresh at a time: a second station's refresh waits, then sees this one's rows.
        tx.batch_execute("LOCK TABLE queue IN SHARE ROW EXCLUSIVE MODE")
            .map_err(|e| self.pg(e))?;
        self.upsert(&mut tx, fresh)?;
        let fresh_ids: HashSet<&str> = fresh.iter().map(|u| u.user_id.as_str()).collect();
        let removed: Vec<(String, String)> = tx
            .query(
                "SELECT q.user_id, q.upn FROM queue q
                 WHERE NOT EXISTS (SELECT 1 FROM claim c WHERE c.user_id = q.user_id)
                 ORDER BY q.upn",
                &[],
            )
            .map_err(|e| self.pg(e))?
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .filter(|(id, upn)| {
                !fresh_ids.contains(id.as_str())
                    && !keep.contains(id)
                    && !keep.contains(&upn.to_lowercase())
            })
            .collect();
        let ids: Vec<&str> = removed.iter().map(|(id, _)| id.as_str()).collect();
        tx.execute("DELETE FROM queue WHERE user_id = ANY($1)", &[&ids])
            .map_err(|e| self.pg(e))?;
        tx.commit().map_err(|e| self.pg(e))?;
        Ok(removed)
    }

    fn queue(&self) -> Result<Vec<QueuedUser>, StoreError> {
        self.queued(
            &format!("SELECT {COLUMNS} FROM queue ORDER BY upn, user_id"),
            &[],
        )
    }

    fn queued_user(&self, id_or_upn: &str) -> Result<Option<QueuedUser>, StoreError> {
        Ok(self
            .queued(
                &format!(
                    "SELECT {COLUMNS} FROM queue WHERE user_id = $1 OR lower(upn) = lower($1) LIMIT 1"
                ),
                &[&id_or_upn],
            )?
            .pop())
    }

    fn queue_is_empty(&self) -> Result<bool, StoreError> {
        Ok(self
            .client()?
            .query_one("SELECT NOT EXISTS (SELECT 1 FROM queue)", &[])
            .map_err(|e| self.pg(e))?
            .get(0))
    }

    fn next_unrecorded_after(
        &self,
        after: &QueuedUser,
        limit: usize,
    ) -> Result<Vec<QueuedUser>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.queued(
            &format!(
                "SELECT {COLUMNS} FROM queue q WHERE (q.upn, q.user_id) > ($1, $2)
                   AND NOT EXISTS (SELECT 1 FROM enrollment e WHERE e.user_id = q.user_id AND e.state = 'recorded')
                 ORDER BY q.upn, q.user_id LIMIT $3"
            ),
            &[&after.upn, &after.user_id, &limit],
        )
    }

    fn reserve_next(
        &mut self,
        after: Option<&QueuedUser>,
    ) -> Result<Option<QueuedUser>, StoreError> {
        // A reservation whose commit was lost with the connection is given back when this
        // station starts its next run; the person is never enrolled twice.
        self.again_if_lost(|| self.reserve_after(after))
    }

    fn release_reservation(&mut self, user_id: &str) -> Result<(), StoreError> {
        self.again_if_lost(|| {
            self.client()?
                .execute(
                    "DELETE FROM claim WHERE user_id = $1 AND station = $2 AND enrollment_id IS NULL",
                    &[&user_id, &self.station],
                )
                .map_err(|e| self.pg(e))
        })?;
        Ok(())
    }

    fn release_reservations(&mut self) -> Result<u64, StoreError> {
        self.again_if_lost(|| {
            self.client()?
                .execute(
                    "DELETE FROM claim WHERE station = $1 AND enrollment_id IS NULL",
                    &[&self.station],
                )
                .map_err(|e| self.pg(e))
        })
    }
}

impl ReadModel for PgJournal {
    fn queue_entries(&self) -> Result<Vec<QueueEntry>, StoreError> {
        self.entries(&format!("{} ORDER BY q.upn, q.user_id", entry()), &[])
    }

    fn queue_entry(&self, user_id: &str) -> Result<Option<QueueEntry>, StoreError> {
        Ok(self
            .entries(&format!("{} WHERE q.user_id = $1", entry()), &[&user_id])?
            .pop())
    }

    fn history(&self, limit: usize) -> Result<Vec<HistoryRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client()?
            .query(
                "SELECT * FROM (
                   SELECT e.id, e.upn, NULLIF(q.display_name, ''), e.state, e.serial, e.method_id,
                          e.updated_at, e.last_error
                   FROM enrollment e LEFT JOIN queue q ON q.user_id = e.user_id
                   ORDER BY e.id DESC LIMIT $1) newest
                 ORDER BY id",
                &[&limit],
            )
            .map_err(|e| self.pg(e))?;
        rows.iter()
            .map(|r| {
                Ok(HistoryRow {
                    id: r.get(0),
                    upn: r.get(1),
                    display_name: r.get(2),
                    state: self.parse_state(r.get(3))?,
                    serial: r.get(4),
                    method_id: r.get(5),
                    updated_at: r.get(6),
                    last_error: r.get(7),
                })
            })
            .collect()
    }
}

/// The queue's entries, with the station that holds each person (their claim) or recorded
/// their key.
fn entry() -> String {
    entry_sql(
        "coalesce((SELECT c.station FROM claim c WHERE c.user_id = q.user_id),
            (SELECT e.station FROM enrollment e WHERE e.user_id = q.user_id AND e.state = 'recorded'
             ORDER BY e.id DESC LIMIT 1))",
    )
}

impl PgJournal {
    /// The first person after `after` whom no station holds, reserved for this station.
    fn reserve_after(&self, after: Option<&QueuedUser>) -> Result<Option<QueuedUser>, StoreError> {
        let (mut upn, mut user_id) = after
            .map(|a| (a.upn.clone(), a.user_id.clone()))
            .unwrap_or_default();
        let mut client = self.client()?;
        loop {
            let mut tx = client.transaction().map_err(|e| self.pg(e))?;
            // SKIP LOCKED: a person another station is reserving right now is passed by
            // instead of waited for.
            let Some(row) = tx
                .query_opt(
                    &format!(
                        "SELECT {COLUMNS} FROM queue q WHERE (q.upn, q.user_id) > ($1, $2)
                           AND NOT EXISTS (SELECT 1 FROM claim c WHERE c.user_id = q.user_id)
                         ORDER BY q.upn, q.user_id LIMIT 1
                         FOR UPDATE OF q SKIP LOCKED"
                    ),
                    &[&upn, &user_id],
                )
                .map_err(|e| self.pg(e))?
            else {
                return Ok(None);
            };
            let person = self.decode_queued(&row)?;
            // A station starting the person without a reservation (a kiosk) may have
            // claimed them meanwhile: then the next one.
            let reserved = tx
                .execute(
                    "INSERT INTO claim (user_id, station, since, enrollment_id)
                     VALUES ($1, $2, $3, NULL) ON CONFLICT (user_id) DO NOTHING",
                    &[&person.user_id, &self.station, &crate::store::now_unix()],
                )
                .map_err(|e| self.pg(e))?;
            tx.commit().map_err(|e| self.pg(e))?;
            if reserved == 1 {
                return Ok(Some(person));
            }
            (upn, user_id) = (person.upn, person.user_id);
        }
    }

    /// Inserts or refreshes `users` inside the caller's transaction.
    fn upsert(&self, tx: &mut impl GenericClient, users: &[QueuedUser]) -> Result<(), StoreError> {
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO queue ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (user_id) DO UPDATE SET upn = EXCLUDED.upn,
                   display_name = EXCLUDED.display_name, options = EXCLUDED.options,
                   challenge_expires_at = EXCLUDED.challenge_expires_at,
                   existing_method_ids = EXCLUDED.existing_method_ids,
                   fetched_at = EXCLUDED.fetched_at"
            ))
            .map_err(|e| self.pg(e))?;
        for u in users {
            let options = serde_json::to_string(&u.challenge.options)
                .map_err(|e| self.corrupt(format!("creation options of {}: {e}", u.upn)))?;
            let existing = serde_json::Value::from(u.existing_method_ids.clone()).to_string();
            tx.execute(
                &stmt,
                &[
                    &u.user_id,
                    &u.upn,
                    &u.display_name,
                    &options,
                    &u.challenge.expires_at,
                    &existing,
                    &u.fetched_at,
                ],
            )
            .map_err(|e| self.pg(e))?;
        }
        Ok(())
    }

    fn queued(
        &self,
        sql: &str,
        args: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<QueuedUser>, StoreError> {
        let rows = self.client()?.query(sql, args).map_err(|e| self.pg(e))?;
        rows.iter().map(|r| self.decode_queued(r)).collect()
    }

    fn decode_queued(&self, r: &Row) -> Result<QueuedUser, StoreError> {
        decode_queued(
            r.get(0),
            r.get(1),
            r.get(2),
            r.get(3),
            r.get(4),
            r.get(5),
            r.get(6),
        )
        .map_err(|detail| self.corrupt(detail))
    }

    fn entries(
        &self,
        sql: &str,
        args: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<QueueEntry>, StoreError> {
        let rows = self.client()?.query(sql, args).map_err(|e| self.pg(e))?;
        rows.iter()
            .map(|r| {
                let state = r
                    .get::<_, Option<&str>>(4)
                    .map(|s| self.parse_state(s))
                    .transpose()?;
                Ok(QueueEntry {
                    user_id: r.get(0),
                    upn: r.get(1),
                    display_name: r.get(2),
                    challenge_expires_at: r.get(3),
                    standing: standing(state),
                    station: r.get(5),
                })
            })
            .collect()
    }

    fn parse_state(&self, s: &str) -> Result<EnrollmentState, StoreError> {
        EnrollmentState::parse(s).ok_or_else(|| self.corrupt(format!("unknown state {s:?}")))
    }
}
