//! One key's enrollment, run on its own thread because CTAP is blocking: PIN, makeCredential,
//! registration, CTAP 2.1 hardening, removal of older methods, record. Each step that cannot
//! be redone is committed to the journal BEFORE it happens (see `store::enrollment`).

use std::sync::mpsc::Receiver;
use std::sync::Arc;

use ctap::authenticator::Authenticator;
use ctap::error::StatusCode;
use ctap::{CancelToken, KeepaliveStatus};
use graph::RegisterRequest;
use zeroize::Zeroizing;

use super::api::{Event, Issued, JobId, OperatorError, Pin, PinRequest, Remedy, Step};
use super::core::Emitter;
use super::errors::{operator_error, JobError};
use super::key_name::KeyNameFields;
use super::key_source::PresentKey;
use super::steps::{self, Shared};
use super::{crash, options, random_pin, registration_check};
use crate::keys::{KeySummary, PinState};
use crate::store::{EnrollmentState, Journal, PinSource, QueuedUser};

/// Input a running job waits for.
pub enum JobInput {
    /// A PIN typed in answer to `PinNeeded`.
    Pin(Pin),
    /// Stop.
    Cancel,
}

/// Everything one job needs.
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// The person.
    pub user: QueuedUser,
    /// The key.
    pub key: PresentKey,
    /// Engine-wide state.
    pub shared: Arc<Shared>,
    /// The operator who started the job (named on its audit entries, whoever is signed in
    /// when a background step ends).
    pub operator: String,
    /// Events out.
    pub events: Emitter,
    /// PINs and cancel in.
    pub input: Receiver<JobInput>,
    /// Cancels a wait for a touch.
    pub cancel: CancelToken,
    /// Fresh options already being fetched (started when the person was chosen).
    pub fresh: Option<FreshOptions>,
    /// Tells the engine the key is no longer needed (the next key may start) while the
    /// registration goes on in the background.
    pub release: Option<Box<dyn FnOnce() + Send>>,
    /// The person's FIDO2 policy takes this key only attested (checked after registration).
    pub attestation_required: bool,
}

/// Whether the key is still needed after registration (CTAP 2.1 policy, applied after it):
/// if not, it is released as soon as the passkey exists and Graph is asked in the background.
/// The CLI uses the same rule to move on to the next person.
pub fn key_needed_after_registration(config: &crate::config::Config, key: &KeySummary) -> bool {
    config.use_ctap21_features && key.supports_min_pin_length
}

/// Fresh creation options being fetched in the background.
pub type FreshOptions = tokio::task::JoinHandle<graph::Result<QueuedUser>>;

/// Starts fetching fresh options when the queued ones must not be used: v1.0 (five-minute
/// challenges) or a beta challenge expiring within the margin.
pub fn start_fresh(shared: &Arc<Shared>, user: &QueuedUser) -> Option<FreshOptions> {
    if !options::needs_fresh(user, shared.graph.api_version(), options::EXPIRY_MARGIN) {
        return None;
    }
    let graph = shared.graph.clone();
    let user = user.clone();
    let minutes = shared.config.challenge_timeout_minutes;
    Some(
        shared
            .rt
            .spawn(async move { options::refresh(&graph, &user, minutes).await }),
    )
}

/// What a finished job reports to the engine loop.
pub struct JobResult {
    /// The job.
    pub id: JobId,
    /// The key's identity (the key now counts as issued or tried).
    pub identity: String,
    /// The key, when it was refused as still in use: kept so that it can be reset.
    pub in_use_key: Option<Box<PresentKey>>,
}

impl Job {
    /// Runs the workflow and emits `Finished` or `Failed`.
    pub fn run(mut self) -> JobResult {
        let result = self.enroll();
        let in_use = matches!(result, Err(JobError::KeyInUse(_)));
        match result {
            Ok(issued) => self.events.emit(Event::Finished {
                job: self.id,
                issued,
            }),
            Err(e) => {
                let error = operator_error(&e);
                tracing::warn!(job = self.id.0, upn = %self.user.upn, code = %error.code, "enrollment failed");
                self.events.emit(Event::Failed {
                    job: self.id,
                    error,
                });
            }
        }
        JobResult {
            id: self.id,
            identity: self.key.identity.clone(),
            in_use_key: in_use.then(|| Box::new(self.key)),
        }
    }

    fn progress(&self, step: Step) {
        self.events.emit(Event::Progress {
            job: self.id,
            user_id: self.user.user_id.clone(),
            step,
        });
    }

    fn enroll(&mut self) -> Result<Issued, JobError> {
        let mut journal = Journal::open_at(&self.shared.journal)?;
        // A background refresh may have replaced the options since the job was queued.
        if let Some(q) = journal.queued_user(&self.user.user_id)? {
            self.user = q;
        }
        self.progress(Step::CheckingKey);
        let summary = self.key.summary.clone();
        let id = journal.begin_enrollment(
            &self.user.user_id,
            &self.user.upn,
            summary.serial.as_deref(),
            Some(&summary.aaguid),
        )?;
        match self.steps(&mut journal, id) {
            Ok(issued) => Ok(issued),
            Err(e) => {
                let OperatorError {
                    message, remedy, ..
                } = operator_error(&e);
                let registering = journal
                    .enrollment(id)
                    .ok()
                    .flatten()
                    .is_some_and(|x| x.state == EnrollmentState::Registering);
                if registering && steps::outcome_open(&e) {
                    // Graph may hold the method: stay `registering` so the next attempt (or
                    // the next start) looks it up instead of creating a second passkey.
                    let _ = journal.note_error(id, &message);
                } else {
                    let _ = journal.failed(id, &format!("{message} — {}", remedy.ui()));
                }
                let rid: Vec<&str> = match &e {
                    JobError::Graph(g) => g.request_id().into_iter().collect(),
                    _ => Vec::new(),
                };
                self.shared.audit(
                    &journal,
                    &self.operator,
                    "enroll",
                    Some(&self.user.upn),
                    &message,
                    &rid,
                );
                Err(e)
            }
        }
    }

    fn steps(&mut self, journal: &mut Journal, id: i64) -> Result<Issued, JobError> {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        // Just in time: a challenge about to expire (or any v1.0 challenge) is replaced while
        // the key is inserted and its PIN set, so the wait hides behind other work.
        let fresh = self
            .fresh
            .take()
            .or_else(|| start_fresh(&shared, &self.user));

        // The name Graph will show is known now: a template that does not fit stops the
        // job before anything is written to the key.
        let summary = &self.key.summary;
        let display_name = config
            .key_display_name
            .name_for(&KeyNameFields {
                model: &summary.model,
                serial: summary.serial.as_deref(),
                upn: &self.user.upn,
                date: time::OffsetDateTime::now_utc().date(),
            })
            .map_err(JobError::KeyName)?;

        self.progress(Step::SettingPin);
        let (pin, source) = self.set_pin(journal, id)?;

        if let Some(task) = fresh {
            self.progress(Step::RefreshingChallenge);
            let fresh = shared
                .rt
                .block_on(task)
                .map_err(|e| JobError::Other(anyhow::anyhow!("options refresh task: {e}")))??;
            journal.upsert_queue(std::slice::from_ref(&fresh))?;
            self.user = fresh;
        }

        let mut method_id = None;
        for attempt in 0..2 {
            if attempt > 0 {
                // Graph refused the challenge (clock skew, early expiry): new options and a new
                // passkey, once. The first credential stays on the key unused.
                self.progress(Step::RefreshingChallenge);
                let fresh = shared.rt.block_on(options::refresh(
                    &shared.graph,
                    &self.user,
                    config.challenge_timeout_minutes,
                ))?;
                journal.upsert_queue(std::slice::from_ref(&fresh))?;
                self.user = fresh;
            }
            let request = self.make_credential(journal, id, &pin, display_name.clone())?;
            if !key_needed_after_registration(config, &self.key.summary) {
                if let Some(release) = self.release.take() {
                    release();
                }
            }
            self.progress(Step::Registering);
            match steps::register(
                &shared,
                &self.operator,
                journal,
                id,
                &self.user,
                &request,
                false,
            ) {
                Ok(done) => {
                    let expected = registration_check::Expected {
                        upn: &self.user.upn,
                        key_aaguid: &self.key.summary.aaguid,
                        attestation_required: self.attestation_required,
                    };
                    registration_check::check(
                        &shared,
                        &self.operator,
                        journal,
                        id,
                        &done,
                        &expected,
                    );
                    method_id = Some(done.method.id);
                    break;
                }
                // Only a clear refusal: after a POST whose outcome was unclear the error
                // stays "unknown" and the job ends `registering`, to be looked up again.
                Err(JobError::Graph(e))
                    if attempt == 0 && self.release.is_some() && steps::challenge_rejected(&e) =>
                {
                    tracing::warn!(upn = %self.user.upn, error = %e, "challenge refused; fetching new options");
                }
                Err(e) => return Err(e),
            }
        }
        let method_id =
            method_id.ok_or_else(|| JobError::Other(anyhow::anyhow!("not registered")))?;

        let summary = self.key.summary.clone();
        if key_needed_after_registration(config, &summary) {
            self.progress(Step::Hardening);
            match self.harden(&pin) {
                Ok(()) => {
                    journal.hardened(id)?;
                    crash::point("hardened");
                }
                Err(e) => {
                    // The key is registered and usable; the policy is not applied.
                    let err = operator_error(&JobError::Ctap(e));
                    let text = format!(
                        "key registered, but its PIN policy could not be applied: {}",
                        err.message
                    );
                    let _ = journal.note_error(id, &text);
                    self.events.emit(Event::Problem(OperatorError {
                        message: text,
                        ..err
                    }));
                }
            }
        }

        if config.delete_existing_credentials && !self.user.existing_method_ids.is_empty() {
            self.progress(Step::RemovingOldKeys);
        }
        for warning in
            steps::remove_old_methods(&shared, &self.operator, journal, &self.user, &method_id)
        {
            self.events.emit(Event::Problem(OperatorError {
                code: "delete-old-method".into(),
                message: warning,
                remedy: Remedy::Administrator("delete the older method in the Entra admin center"),
                request_id: None,
                retry_possible: false,
            }));
        }

        self.progress(Step::Recording);
        let random = (source == PinSource::Random).then_some(&pin);
        steps::record(
            &shared,
            journal,
            id,
            &self.user.upn,
            &self.user.display_name,
            &method_id,
            summary.serial.as_deref(),
            random,
        )?;
        shared.audit(
            journal,
            &self.operator,
            "enroll",
            Some(&self.user.upn),
            "ok",
            &[],
        );
        Ok(Issued {
            upn: self.user.upn.clone(),
            method_id,
            serial: summary.serial.clone(),
            pin: random.map(|p| Pin::new(p.as_str())),
        })
    }

    /// Sets the PIN per config; returns the PIN now on the key and who chose it.
    fn set_pin(
        &mut self,
        journal: &mut Journal,
        id: i64,
    ) -> Result<(Zeroizing<String>, PinSource), JobError> {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        let summary = self.key.summary.clone();
        let has_pin = summary.pin == PinState::Set;
        if config.use_random_pin {
            let rules = random_pin::PinRules::for_key(
                config,
                Authenticator::new(&mut *self.key.channel).get_info()?,
            )
            .map_err(|e| JobError::Refused(e.to_string()))?;
            let mut new = rules.generate();
            let mut offered = 1;
            // The current PIN once known; after a wrong one, the attempts the key says are left.
            let mut current: Option<Zeroizing<String>> = None;
            let mut rejected: Option<Option<u32>> = None;
            loop {
                if has_pin && current.is_none() {
                    let cur = match rejected {
                        None => self.current_pin(journal)?,
                        Some(retries_left) => self.ask_pin(PinRequest::Current {
                            retries_left,
                            after_wrong: true,
                        })?,
                    };
                    match self.refuse_if_in_use(&cur) {
                        // The key checked the PIN and kept it: ask again, as below.
                        Err(JobError::Ctap(ctap::Error::PinInvalid { retries_left })) => {
                            rejected = Some(retries_left);
                            continue;
                        }
                        other => other?,
                    }
                    current = Some(cur);
                }
                // Write-ahead: the PIN is in the journal before the key has it.
                journal.commit_pin(id, &new)?;
                crash::point("pin_committed");
                self.check_cancel()?;
                let mut auth = Authenticator::new(&mut *self.key.channel);
                let result = match &current {
                    None => auth.set_pin(&new),
                    Some(cur) => auth.change_pin(cur, &new),
                };
                match result {
                    Err(ctap::Error::PinInvalid { retries_left }) if current.is_some() => {
                        // The key checked the current PIN and kept it: the new one never
                        // reached it and must never be tried on it (each try costs an
                        // attempt). Ask again; a blocked key ends the job with its error.
                        journal.pin_refused(id)?;
                        rejected = Some(retries_left);
                        current = None;
                    }
                    // The key's own complexity policy refused the new PIN (no attempt is
                    // spent on it): offer another, a few times at most.
                    Err(e) if e.status() == Some(StatusCode::PinPolicyViolation) => {
                        journal.pin_refused(id)?;
                        if offered >= random_pin::MAX_OFFERED {
                            return Err(JobError::RandomPinRefused { offered });
                        }
                        tracing::info!(
                            offered,
                            "the key's PIN policy refused a random PIN; drawing another"
                        );
                        new = rules.generate();
                        offered += 1;
                    }
                    other => {
                        other?;
                        break;
                    }
                }
            }
            journal.pin_set(id, PinSource::Random)?;
            crash::point("pin_set");
            Ok((new, PinSource::Random))
        } else if has_pin {
            if let Some(pin) = self.journal_pin(journal)? {
                // The key still has a random PIN this station gave it that never reached its
                // person (an earlier attempt failed after setPIN): nobody can type it, so it
                // is kept and handed over like a random PIN of this enrollment.
                journal.commit_pin(id, &pin)?;
                journal.pin_set(id, PinSource::Random)?;
                return Ok((pin, PinSource::Random));
            }
            let pin = self.ask_pin(PinRequest::Current {
                retries_left: summary.pin_retries,
                after_wrong: false,
            })?;
            self.refuse_if_in_use(&pin)?;
            journal.pin_set(id, PinSource::Existing)?;
            Ok((pin, PinSource::Existing))
        } else {
            let min = summary.min_pin_length.max(4);
            let pin = self.ask_pin(PinRequest::New { min_length: min })?;
            Authenticator::new(&mut *self.key.channel).set_pin(&pin)?;
            journal.pin_set(id, PinSource::Typed)?;
            Ok((pin, PinSource::Typed))
        }
    }

    /// A PIN this station committed for this key earlier (an interrupted or failed
    /// enrollment whose PIN was never delivered) that opens it.
    fn journal_pin(&mut self, journal: &Journal) -> Result<Option<Zeroizing<String>>, JobError> {
        let Some(serial) = self.key.summary.serial.clone() else {
            return Ok(None);
        };
        let Some(pin) = journal.pin_for_key(&serial)? else {
            return Ok(None);
        };
        // Only worth a try while plenty of attempts are left.
        if self.key.summary.pin_retries.unwrap_or(0) <= 3 {
            return Ok(None);
        }
        let mut auth = Authenticator::new(&mut *self.key.channel);
        match auth.token(
            &pin,
            ctap::commands::client_pin::Permissions::MAKE_CREDENTIAL,
            Some(&self.user.challenge.options.rp.id),
        ) {
            Ok(_) => Ok(Some(pin)),
            Err(e) => {
                tracing::info!(error = %e, "the journal's PIN for this key did not open it");
                Ok(None)
            }
        }
    }

    /// The current PIN of a key that has one: a PIN this station committed for this key
    /// earlier (an interrupted enrollment), else asked for.
    fn current_pin(&mut self, journal: &Journal) -> Result<Zeroizing<String>, JobError> {
        if let Some(pin) = self.journal_pin(journal)? {
            return Ok(pin);
        }
        let retries = Authenticator::new(&mut *self.key.channel)
            .pin_retries()
            .ok();
        self.ask_pin(PinRequest::Current {
            retries_left: retries,
            after_wrong: false,
        })
    }

    /// A key that reports no serial cannot be recognised by the journal as one this station
    /// issued, so before its current PIN is used for another person the passkeys on it are
    /// read with that PIN (credential management): any is a refusal (see
    /// [`crate::keys::in_use_refusal`]), as is a key that cannot list them.
    fn refuse_if_in_use(&mut self, pin: &str) -> Result<(), JobError> {
        if self.key.summary.serial.is_some() {
            return Ok(());
        }
        match Authenticator::new(&mut *self.key.channel).stored_credentials(pin) {
            Ok(stored) => match crate::keys::in_use_refusal(&stored) {
                Some(why) => Err(JobError::KeyInUse(why)),
                None => Ok(()),
            },
            Err(ctap::Error::Unsupported(_)) => Err(JobError::KeyInUse(
                "this key reports no serial number and cannot list the passkeys it holds \
                 (no credential management), so the station cannot tell whether it is still someone's"
                    .into(),
            )),
            // Some station made it demand a new PIN: it was issued, and cannot be read now.
            Err(ctap::Error::ForcedPinChangePending) => Err(JobError::KeyInUse(
                "this key reports no serial number and demands a PIN change before its passkeys \
                 can be listed, so the station cannot tell whether it is still someone's"
                    .into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn ask_pin(&self, request: PinRequest) -> Result<Zeroizing<String>, JobError> {
        self.events.emit(Event::PinNeeded {
            job: self.id,
            request,
        });
        match self.input.recv() {
            Ok(JobInput::Pin(pin)) => Ok(Zeroizing::new(pin.expose().to_owned())),
            Ok(JobInput::Cancel) => Err(JobError::Cancelled),
            Err(_) => Err(JobError::NoPin),
        }
    }

    fn check_cancel(&self) -> Result<(), JobError> {
        if self.cancel.is_cancelled() {
            Err(JobError::Cancelled)
        } else {
            Ok(())
        }
    }

    /// makeCredential from the queued options; the attestation is committed before returning.
    fn make_credential(
        &mut self,
        journal: &mut Journal,
        id: i64,
        pin: &str,
        display_name: String,
    ) -> Result<RegisterRequest, JobError> {
        self.check_cancel()?;
        self.progress(Step::CreatingPasskey);
        let events = self.events.clone();
        let job = self.id;
        let status = move |s: KeepaliveStatus| {
            if s == KeepaliveStatus::UpNeeded {
                events.emit(Event::TouchNeeded { job });
            }
        };
        let reg = Authenticator::new(&mut *self.key.channel).make_credential(
            &self.user.challenge.options,
            Some(pin),
            &status,
            &self.cancel,
        )?;
        journal.credential_created(
            id,
            &reg.credential_id,
            &reg.client_data_json,
            &reg.attestation_object,
        )?;
        crash::point("credential_created");
        Ok(RegisterRequest {
            display_name,
            credential_id: reg.credential_id,
            client_data_json: reg.client_data_json,
            attestation_object: reg.attestation_object,
            client_extension_results: reg.client_extension_results,
        })
    }

    /// setMinPINLength and forceChangePin in one authenticatorConfig request: the forced
    /// change is the last thing done to the key (it blocks PIN tokens until changed).
    fn harden(&mut self, pin: &str) -> ctap::Result<()> {
        let shared = Arc::clone(&self.shared);
        let config = &shared.config;
        let current = self.key.summary.min_pin_length;
        let new_min = (config.minimum_pin_length > current).then_some(config.minimum_pin_length);
        if new_min.is_none() && !config.force_pin_change {
            return Ok(());
        }
        Authenticator::new(&mut *self.key.channel).set_min_pin_length(
            pin,
            new_min,
            &[],
            config.force_pin_change,
        )
    }
}
