//! Workflow steps that do not need the key, shared by a live job and by recovery after a
//! crash: registering a stored attestation, deleting the person's older methods, recording.

use std::sync::Mutex;

use graph::{GraphClient, RegisterRequest};
use zeroize::Zeroizing;

use super::crash;
use super::errors::JobError;
use super::options;
use crate::config::{Config, PinDelivery, PinHandover};
use crate::report::keys_registered::{KeyRow, KeysRegisteredFile};
use crate::store::{Journal, QueuedUser};

/// What every job and the recovery pass share.
pub struct Shared {
    /// The validated configuration.
    pub config: Config,
    /// Graph (clones share token and limits).
    pub graph: GraphClient,
    /// The engine's runtime, for Graph calls from device threads.
    pub rt: tokio::runtime::Handle,
    /// The journal (each thread opens its own connection).
    pub journal: crate::store::JournalLocation,
    /// keysRegistered.csv.
    pub csv: KeysRegisteredFile,
    /// Serialises appends to keysRegistered.csv.
    pub csv_lock: Mutex<()>,
    /// Operator name for the audit log (changes when operators sign in and out); work
    /// captures it when it starts.
    pub operator: Mutex<String>,
    /// Events out (a failed audit write is reported here).
    pub events: super::core::Emitter,
}

impl Shared {
    /// The operator now at the station.
    pub fn operator(&self) -> String {
        self.operator
            .lock()
            .map(|o| o.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// Whether a registration error leaves the outcome open (Graph may hold the method): the
/// enrollment then stays `registering`, to be looked up before anything else is tried. A
/// journal that failed to record Graph's answer (a shared journal's connection lost between
/// the POST and its commit) leaves it open too.
pub fn outcome_open(e: &JobError) -> bool {
    matches!(e, JobError::Store(_))
        || matches!(e, JobError::Graph(g) if g.is_transient() || matches!(g, graph::Error::RegistrationOutcomeUnknown { .. }))
}

/// Whether Graph refused the POST because of the challenge (expired, consumed, unknown),
/// by its error code.
pub fn challenge_rejected(e: &graph::Error) -> bool {
    matches!(e, graph::Error::Graph(g) if g.is_challenge_rejected())
}

/// clientExtensionResults for a stored attestation (recovery has no live registration):
/// `hmacCreateSecret` when the options asked for it, as the key's authData says.
pub fn extension_results(user: &QueuedUser, attestation_object: &[u8]) -> serde_json::Value {
    if !user.challenge.options.extensions.hmac_create_secret {
        return serde_json::json!({});
    }
    let created = ctap::cbor::from_slice(attestation_object)
        .ok()
        .and_then(|v| {
            ctap::cbor::map_get_text(&v, "authData")
                .and_then(|a| a.as_bytes())
                .and_then(|b| ctap::commands::make_credential::AuthData::parse(b).ok())
        })
        .and_then(|a| a.extension("hmac-secret").and_then(|x| x.as_bool()))
        .unwrap_or(false);
    serde_json::json!({ "hmacCreateSecret": created })
}

/// POSTs the stored attestation of enrollment `id`, recognising our method after an
/// ambiguous failure (never a blind re-post); commits `registering` before and the method
/// id as soon as Graph answers. `earlier_unclear`: an earlier POST of this attestation had
/// an unclear outcome (recovery), so a refusal is checked against the list first. Returns
/// the method as Graph answered, with the answer's request-id.
pub fn register(
    shared: &Shared,
    operator: &str,
    journal: &mut Journal,
    id: i64,
    user: &QueuedUser,
    request: &RegisterRequest,
    earlier_unclear: bool,
) -> Result<graph::Registration, JobError> {
    journal.registering(id)?;
    crash::point("registering");
    let graph = &shared.graph;
    let result = shared.rt.block_on(async {
        if earlier_unclear {
            graph
                .register_fido2_method_again(&user.user_id, request)
                .await
        } else {
            graph
                .register_fido2_method_safely(&user.user_id, request, || {
                    options::challenge_still_valid(user)
                })
                .await
        }
    });
    match result {
        Ok(done) => {
            crash::point("post_sent");
            journal.registered(id, &done.method.id)?;
            let note = if done.recovered {
                "ok (answer lost; method found by listing)"
            } else {
                "ok"
            };
            shared.audit(journal, operator, "register", Some(&user.upn), note, &[]);
            crash::point("registered");
            Ok(done)
        }
        Err(e) => {
            let rid: Vec<&str> = e.request_id().into_iter().collect();
            shared.audit(
                journal,
                operator,
                "register",
                Some(&user.upn),
                &e.to_string(),
                &rid,
            );
            Err(e.into())
        }
    }
}

/// Deletes the person's older FIDO2 methods (recorded by prefetch) now that the new one is
/// registered. Returns warnings for the operator; a failure here leaves the new key valid.
pub fn remove_old_methods(
    shared: &Shared,
    operator: &str,
    journal: &Journal,
    user: &QueuedUser,
    new_method_id: &str,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if !shared.config.delete_existing_credentials {
        return warnings;
    }
    for old in user
        .existing_method_ids
        .iter()
        .filter(|m| m.as_str() != new_method_id)
    {
        let result = shared
            .rt
            .block_on(shared.graph.delete_fido2_method(&user.user_id, old));
        let (text, rid) = match &result {
            Ok(outcome) => (format!("ok ({outcome:?}) {old}"), None),
            Err(e) => {
                warnings.push(format!(
                    "could not delete the older method {old} of {}: {e}",
                    user.upn
                ));
                (e.to_string(), e.request_id())
            }
        };
        let rid: Vec<&str> = rid.into_iter().collect();
        shared.audit(
            journal,
            operator,
            "delete-old-method",
            Some(&user.upn),
            &text,
            &rid,
        );
    }
    warnings
}

/// Whether keysRegistered.csv already has a row for this method (a crash between the row
/// and the journal commit must not write it twice).
fn csv_has_method(path: &std::path::Path, method_id: &str) -> bool {
    let Ok(mut reader) = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
    else {
        return false;
    };
    reader
        .records()
        .flatten()
        .any(|r| r.get(1) == Some(method_id))
}

/// Appends the keysRegistered.csv row (once) and marks the enrollment recorded. The row
/// holds a random PIN when `pinsInKeysRegisteredCsv` says so. The journal forgets the PIN
/// here when the CSV is its delivery (headless); the kiosk forgets it once it was handed
/// over on screen (`PinDelivered`); `keepPinsInJournal` keeps it.
///
/// With PIN letters (headless), the letter is written first; when it cannot be, the PIN goes
/// in the row instead, as it would without letters, and the failure is reported.
#[allow(clippy::too_many_arguments)]
pub fn record(
    shared: &Shared,
    journal: &mut Journal,
    id: i64,
    upn: &str,
    display_name: &str,
    method_id: &str,
    serial: Option<&str>,
    random_pin: Option<&Zeroizing<String>>,
) -> Result<(), JobError> {
    let letter_failed =
        random_pin.is_some_and(|pin| !write_pin_letter(shared, upn, display_name, serial, pin));
    {
        let _guard = shared.csv_lock.lock().unwrap_or_else(|p| p.into_inner());
        if !csv_has_method(shared.csv.path(), method_id) {
            shared
                .csv
                .append(&KeyRow {
                    upn: upn.to_owned(),
                    method_id: method_id.to_owned(),
                    serial: serial.unwrap_or("").to_owned(),
                    pin: random_pin
                        .filter(|_| shared.config.pins_in_csv() || letter_failed)
                        .cloned(),
                })
                .map_err(|e| {
                    JobError::Other(
                        anyhow::Error::new(e)
                            .context(format!("appending to {}", shared.csv.path().display())),
                    )
                })?;
        }
    }
    crash::point("csv_written");
    let config = &shared.config;
    let on_screen = config.pin_handover == PinHandover::OnScreen;
    journal.recorded(id, config.keep_pins_in_journal || on_screen)?;
    if let (false, Some(serial)) = (config.keep_pins_in_journal, serial) {
        journal.purge_older_pins_of_key(serial, id)?;
    }
    Ok(())
}

/// Headless with `"pinDelivery": "letter"`: writes the person's PIN letter into the letters
/// folder. False when it could not be written (reported as a problem naming the remedy);
/// true when written or not due (the kiosk prints letters on demand).
fn write_pin_letter(
    shared: &Shared,
    upn: &str,
    display_name: &str,
    serial: Option<&str>,
    pin: &Zeroizing<String>,
) -> bool {
    let config = &shared.config;
    if config.pin_delivery() != PinDelivery::Letter || config.pin_handover != PinHandover::Csv {
        return true;
    }
    let fields = crate::letters::LetterFields {
        display_name,
        upn,
        serial,
        pin,
        date: crate::letters::today(),
    };
    match crate::letters::write(
        &config.letters_dir,
        &fields,
        &config.letter,
        config.language.code(),
    ) {
        Ok(_) => true,
        Err(e) => {
            shared
                .events
                .emit(super::api::Event::Problem(super::api::OperatorError {
                    code: PIN_LETTER_FAILED.into(),
                    message: format!(
                    "the PIN letter of {upn} could not be written ({e}): its PIN is in {} instead",
                    shared.csv.path().display()
                ),
                    remedy: super::api::Remedy::Text(
                        "hand the PIN over from keysRegistered.csv, then fix the letters folder"
                            .into(),
                    ),
                    request_id: None,
                    retry_possible: false,
                }));
            false
        }
    }
}

/// [`OperatorError::code`](super::api::OperatorError) of a PIN letter that could not be written.
pub const PIN_LETTER_FAILED: &str = "pin-letter";

/// Purges the PINs ended enrollments kept longer than `pinRetentionHours` (recorded ones
/// too, unless `keepPinsInJournal`). Run at start and whenever a job ends: no timer.
pub fn purge_expired_pins(config: &Config, journal: &mut Journal) {
    let cutoff = crate::store::now_unix() - i64::from(config.pin_retention_hours) * 3600;
    match journal.purge_pins_ended_before(cutoff, !config.keep_pins_in_journal) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            count = n,
            hours = config.pin_retention_hours,
            "purged PINs older than the retention period"
        ),
        Err(e) => tracing::warn!(error = %e, "purging expired PINs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str, message: &str) -> graph::Error {
        graph::Error::Graph(Box::new(graph::GraphError {
            status: 400,
            code: code.into(),
            message: message.into(),
            request_id: Some("rid".into()),
            client_request_id: None,
            date: None,
        }))
    }

    #[test]
    fn a_refused_challenge_is_told_by_its_code_not_its_words() {
        assert!(challenge_rejected(&refused(
            graph::CHALLENGE_EXPIRED,
            "Die Anmeldeoptionen sind abgelaufen."
        )));
        assert!(challenge_rejected(&refused("CHALLENGEALREADYUSED", "")));
        assert!(!challenge_rejected(&refused(
            "badRequest",
            "The attestation does not answer the challenge's relying party."
        )));
    }
}
