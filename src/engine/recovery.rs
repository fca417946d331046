//! On start: every enrollment a previous run left unfinished is finished where that needs no
//! key (register a stored attestation while its challenge is valid, look the method up after
//! an ambiguous POST, delete older methods, record), or failed with what the operator must do.
//! A random PIN committed to the journal is never dropped here, nor written anywhere the
//! operator does not see: it goes back with the enrollment (`Unfinished::pin`) to be shown.
//!
//! Settling calls Graph (with its retries), so it runs on a thread of its own with a journal
//! connection of its own, never on the engine loop.

use graph::RegisterRequest;

use super::api::{Issued, Pin, Remedy, Unfinished};
use super::key_name::KeyNameFields;
use super::registration_check::{self, Expected};
use super::steps::{self, Shared};
use crate::store::{Enrollment, EnrollmentState, Journal, PinSource, QueuedUser, StoreError};

/// How one unfinished enrollment ended up.
enum Outcome {
    /// Finished (what was done).
    Done(String, Option<Remedy>),
    /// Needs the key or the operator: marked failed with what happened and, when the
    /// operator can finish it, how.
    Failed(String, Option<Remedy>),
    /// Could not be settled now (Graph unreachable): left as it is, tried again later.
    Pending(String),
}

/// Finishes or marks every unfinished enrollment; returns what was done, for the operator.
pub fn recover(shared: &Shared, operator: &str) -> Vec<Unfinished> {
    let journal = Journal::open_at(&shared.journal);
    match journal.and_then(|j| j.unfinished_enrollments().map(|list| (j, list))) {
        Ok((mut journal, list)) => settle(shared, operator, &mut journal, list),
        Err(e) => vec![unreadable("", &e)],
    }
}

/// What settling a person's earlier enrollments decided about enrolling them again.
pub enum Earlier {
    /// Nothing of theirs is left open: a new enrollment may start.
    Settled,
    /// The earlier enrollment was finished and recorded: what it issued (with the random
    /// PIN the person has not received yet).
    Issued(Issued),
    /// An earlier enrollment is still open (Graph could not be asked): why. Never a second
    /// passkey while the first may be registered.
    Unsettled(String),
}

/// Settles the person's open enrollments (before they are enrolled again); reported through
/// the new job, not as the start-up recovery screen.
pub fn settle_earlier(shared: &Shared, operator: &str, user_id: &str) -> Earlier {
    let mut journal = match Journal::open_at(&shared.journal) {
        Ok(j) => j,
        Err(e) => return Earlier::Unsettled(unreadable(user_id, &e).resolution),
    };
    // Only this station's: another station's open enrollment of the person is that
    // station's to settle (its claim refuses a new enrollment here).
    let station = journal.station().to_owned();
    let open: Vec<Enrollment> = journal
        .enrollments_of(user_id)
        .map(|es| {
            es.into_iter()
                .filter(|e| !e.state.is_terminal() && e.station == station)
                .collect()
        })
        .unwrap_or_default();
    if open.is_empty() {
        return Earlier::Settled;
    }
    let settled = settle(shared, operator, &mut journal, open.clone());
    let latest = journal
        .enrollments_of(user_id)
        .ok()
        .and_then(|mut es| es.pop());
    match latest {
        Some(e) if e.state == EnrollmentState::Recorded => {
            // Recording purged the random PIN from the journal: the copy read before
            // settling is the one the person has not received yet.
            let pin = open
                .iter()
                .find(|o| o.id == e.id && o.pin_source == Some(PinSource::Random))
                .and_then(|o| o.pin.as_ref())
                .map(|p| Pin::new(p.as_str()));
            Earlier::Issued(Issued {
                upn: e.upn,
                method_id: e.method_id.unwrap_or_default(),
                serial: e.serial,
                pin,
            })
        }
        Some(e) if !e.state.is_terminal() => Earlier::Unsettled(
            settled
                .last()
                .map(|u| u.resolution.clone())
                .unwrap_or_default(),
        ),
        _ => Earlier::Settled,
    }
}

/// The journal could not be read: what the recovery screen shows instead.
fn unreadable(upn: &str, e: &StoreError) -> Unfinished {
    Unfinished {
        enrollment_id: 0,
        upn: upn.to_owned(),
        display_name: None,
        state: "unknown".into(),
        resolution: format!("the journal could not be read: {e}"),
        remedy: Some(Remedy::CheckJournal),
        pin: None,
    }
}

fn settle(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    list: Vec<Enrollment>,
) -> Vec<Unfinished> {
    list.into_iter()
        .map(|e| {
            let (resolution, remedy) = match finish(shared, operator, journal, &e) {
                Outcome::Done(done, remedy) => (done, remedy),
                Outcome::Failed(todo, remedy) => {
                    let _ = journal.failed(e.id, &with_remedy(&todo, remedy.as_ref()));
                    (todo, remedy)
                }
                Outcome::Pending(why) => {
                    let _ = journal.note_error(e.id, &why);
                    (why, None)
                }
            };
            let noted = with_remedy(&resolution, remedy.as_ref());
            shared.audit(journal, operator, "recover", Some(&e.upn), &noted, &[]);
            Unfinished {
                enrollment_id: e.id,
                upn: e.upn.clone(),
                display_name: queued(journal, &e)
                    .map(|q| q.display_name)
                    .filter(|n| !n.is_empty()),
                state: e.state.as_str().to_owned(),
                resolution,
                remedy,
                pin: e.pin.as_ref().map(|p| Pin::new(p.as_str())),
            }
        })
        .collect()
}

fn key_name(e: &Enrollment) -> String {
    match &e.serial {
        Some(s) => format!("key serial {s}"),
        None => "the key".to_owned(),
    }
}

/// How the operator finishes an enrollment that needs its key again.
fn retry_hint(e: &Enrollment) -> Option<Remedy> {
    Some(Remedy::FinishEnrollment {
        key: key_name(e),
        upn: e.upn.clone(),
    })
}

/// The journal's and the audit's note: what happened, then what to do, in the kiosk's
/// words (the journal's last error is shown on the station's queue).
fn with_remedy(what: &str, remedy: Option<&Remedy>) -> String {
    match remedy {
        Some(r) => format!("{what} What to do: {}", r.ui()),
        None => what.to_owned(),
    }
}

fn finish(shared: &Shared, operator: &str, journal: &mut Journal, e: &Enrollment) -> Outcome {
    let pin_note = if e.pin.is_some() {
        " Its random PIN is kept in the journal and opens the key."
    } else {
        ""
    };
    match e.state {
        EnrollmentState::KeyReady => Outcome::Failed(
            format!(
                "interrupted before anything was written to {}: enroll {} again",
                key_name(e),
                e.upn
            ),
            None,
        ),
        EnrollmentState::PinCommitted => Outcome::Failed(
            format!(
                "interrupted while setting the PIN of {} (the PIN may or may not be set).{pin_note}",
                key_name(e),
            ),
            retry_hint(e),
        ),
        EnrollmentState::PinSet => Outcome::Failed(
            format!(
                "interrupted after the PIN of {} was set, before the passkey was created.{pin_note}",
                key_name(e),
            ),
            retry_hint(e),
        ),
        EnrollmentState::CredentialCreated | EnrollmentState::Registering => {
            register_stored(shared, operator, journal, e, pin_note)
        }
        EnrollmentState::Registered | EnrollmentState::Hardened => match e.method_id.clone() {
            Some(method) => {
                // Hardening comes after the job's check: only a `registered` enrollment may
                // have stopped before it.
                let done = if e.state == EnrollmentState::Registered {
                    verify_listed(shared, operator, journal, e, &method)
                } else {
                    String::new()
                };
                complete(shared, operator, journal, e, &method, done)
            }
            None => Outcome::Failed("registered without a method id".into(), None),
        },
        EnrollmentState::Recorded | EnrollmentState::Failed => {
            Outcome::Done("nothing to do".into(), None)
        }
    }
}

fn queued(journal: &Journal, e: &Enrollment) -> Option<QueuedUser> {
    journal.queued_user(&e.user_id).ok().flatten()
}

/// Graph could not be asked: the enrollment stays as it is and is looked at again on the
/// next start, or when the person is enrolled again (never a second passkey meanwhile).
fn pending(e: &Enrollment, what: &str, err: impl std::fmt::Display) -> Outcome {
    Outcome::Pending(format!(
        "{what}: {err}. Left as it is: the station checks again at its next start or when {} is enrolled again",
        e.upn
    ))
}

fn register_stored(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    e: &Enrollment,
    pin_note: &str,
) -> Outcome {
    let (Some(cred), Some(cdj), Some(att)) = (
        e.credential_id.as_deref(),
        e.client_data_json.as_deref(),
        e.attestation_object.as_deref(),
    ) else {
        return Outcome::Failed(
            format!("the stored attestation is incomplete.{pin_note}"),
            retry_hint(e),
        );
    };
    if e.state == EnrollmentState::Registering {
        // The POST may have landed: look before anything else.
        match shared
            .rt
            .block_on(shared.graph.find_registered_method(&e.user_id, cred))
        {
            Ok(Some(m)) => {
                if let Err(err) = journal.registered(e.id, &m.id) {
                    return pending(e, "the journal could not be written", err);
                }
                let id = m.id.clone();
                let found = graph::Registration {
                    method: m,
                    recovered: true,
                    posts: 0,
                    request_id: None,
                };
                let done = format!(
                    "the interrupted registration had reached Graph (method {id}); {}",
                    verify(shared, operator, journal, e, &found)
                );
                return complete(shared, operator, journal, e, &id, done);
            }
            Ok(None) => {}
            Err(err) => {
                return pending(
                    e,
                    "could not check whether the registration reached Graph",
                    err,
                )
            }
        }
    }
    // The stored attestation answers the challenge in its clientDataJSON: only that one,
    // and only while it is valid (and the person is still queued with it).
    let answered = std::str::from_utf8(cdj)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| {
            v.get("challenge")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        });
    let user = queued(journal, e).filter(|u| {
        answered.as_deref() == Some(u.challenge.options.challenge.as_str())
            && super::options::challenge_still_valid(u)
    });
    let Some(user) = user else {
        return Outcome::Failed(
            format!(
                "the passkey created on {} was never registered and its challenge is no longer valid: finishing creates a new passkey.{pin_note}",
                key_name(e),
            ),
            retry_hint(e),
        );
    };
    let request = RegisterRequest {
        // The stored attestation must be registered whatever its name: Graph's client cuts a
        // name that does not fit.
        display_name: shared.config.key_display_name.render(&KeyNameFields {
            model: "Security key",
            serial: e.serial.as_deref(),
            upn: &e.upn,
            date: time::OffsetDateTime::now_utc().date(),
        }),
        credential_id: cred.to_vec(),
        client_data_json: cdj.to_vec(),
        attestation_object: att.to_vec(),
        client_extension_results: steps::extension_results(&user, att),
    };
    let earlier_unclear = e.state == EnrollmentState::Registering;
    match steps::register(
        shared,
        operator,
        journal,
        e.id,
        &user,
        &request,
        earlier_unclear,
    ) {
        Ok(registered) => {
            let checked = verify(shared, operator, journal, e, &registered);
            let method = registered.method.id;
            let done = format!("registered the stored passkey (method {method}); {checked}");
            complete(shared, operator, journal, e, &method, done)
        }
        Err(err) if steps::outcome_open(&err) => {
            pending(e, "registering the stored passkey did not finish", err)
        }
        Err(err) => Outcome::Failed(
            format!("registering the stored passkey failed: {err}.{pin_note}"),
            retry_hint(e),
        ),
    }
}

/// The check a job makes after its registration ([`registration_check::check`]: audited, noted
/// and shown on a difference), on the method recovery found or registered; what the recovery
/// note adds. Only the AAGUID is compared: whether the person's policy enforces attestation
/// needs their groups and the policy, which recovery does not read.
fn verify(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    e: &Enrollment,
    done: &graph::Registration,
) -> String {
    let Some(key_aaguid) = e.aaguid.as_deref() else {
        return "the key's AAGUID was not recorded, so the method was not compared with it; "
            .to_owned();
    };
    let expected = Expected {
        upn: &e.upn,
        key_aaguid,
        attestation_required: false,
    };
    match registration_check::check(shared, operator, journal, e.id, done, &expected) {
        Some(why) => format!("but {why}; "),
        None => String::new(),
    }
}

/// [`verify`] for a method known by id only: Graph's list tells what it registered.
fn verify_listed(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    e: &Enrollment,
    method_id: &str,
) -> String {
    match shared
        .rt
        .block_on(shared.graph.list_fido2_methods(&e.user_id))
    {
        Ok(methods) => match methods.into_iter().find(|m| m.id == method_id) {
            Some(method) => {
                let listed = graph::Registration {
                    method,
                    recovered: true,
                    posts: 0,
                    request_id: None,
                };
                verify(shared, operator, journal, e, &listed)
            }
            None => format!(
                "Graph does not list method {method_id}, so it was not compared with the key; "
            ),
        },
        Err(err) => {
            format!("the registered method could not be read to compare it with the key ({err}); ")
        }
    }
}

/// Older methods removed and the record written; the PIN policy needs the key, so it is
/// left for the operator when it was due.
fn complete(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    e: &Enrollment,
    method: &str,
    done: String,
) -> Outcome {
    let user = queued(journal, e);
    if let Some(user) = &user {
        for w in steps::remove_old_methods(shared, operator, journal, user, method) {
            tracing::warn!("{w}");
        }
    }
    let pin = (e.pin_source == Some(PinSource::Random))
        .then_some(e.pin.as_ref())
        .flatten();
    if let Err(err) = steps::record(
        shared,
        journal,
        e.id,
        &e.upn,
        user.as_ref()
            .map_or(e.upn.as_str(), |u| u.display_name.as_str()),
        method,
        e.serial.as_deref(),
        pin,
    ) {
        return pending(e, "the record could not be written", err);
    }
    let hardening_due = shared.config.use_ctap21_features && e.state != EnrollmentState::Hardened;
    let recorded = format!("{done}recorded in {}", shared.csv.path().display());
    if hardening_due {
        Outcome::Done(
            format!("{recorded}. The PIN policy (minimum length, forced change) was not applied"),
            Some(Remedy::ApplyPinPolicy { key: key_name(e) }),
        )
    } else {
        Outcome::Done(recorded, None)
    }
}
