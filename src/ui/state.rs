//! Everything the kiosk shows, and [`State::apply`]: the one place engine events change it.
//!
//! Pure: no I/O, no egui. Screens read this and mutate only the view fields (search text, PIN
//! being typed, dialogs); everything else changes through `apply`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

pub use crate::engine::api::HistoryEntry;
use crate::engine::api::{
    Check, EnrollmentState, Event, Issued, JobId, OperatorError, PinRequest, QueueRefreshSummary,
    Step, Unfinished,
};
use crate::i18n::{Catalog, Language, Texts};
use crate::keys::KeySummary;

use super::operator::OperatorAuth;
use super::queue_index::QueueIndex;
use super::secret::{SecretBuffer, PASSCODE_CAPACITY};

/// Which screen is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Start-up checks (until all pass or the operator continues).
    Startup,
    /// Unfinished enrollments from a previous run.
    Recovery,
    /// Operator sign-in.
    SignIn,
    /// Idle lock.
    Lock,
    /// The searchable queue.
    Queue,
    /// The enrollment wizard (including its done and error pages).
    Wizard,
    /// What this station issued.
    History,
}

/// The steps of the step bar, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Person chosen.
    Person,
    /// Insert (and read) the key.
    Key,
    /// PIN.
    Pin,
    /// makeCredential: touch.
    Touch,
    /// Graph registration, hardening, journal.
    Registering,
    /// Done.
    Done,
}

impl Stage {
    /// All stages, for the step bar.
    pub const ALL: [Stage; 6] = [
        Stage::Person,
        Stage::Key,
        Stage::Pin,
        Stage::Touch,
        Stage::Registering,
        Stage::Done,
    ];

    /// Step-bar label.
    pub fn label(self, texts: &Texts) -> String {
        texts.text(match self {
            Stage::Person => "stage-person",
            Stage::Key => "stage-key",
            Stage::Pin => "stage-pin",
            Stage::Touch => "stage-touch",
            Stage::Registering => "stage-registering",
            Stage::Done => "stage-done",
        })
    }

    fn of_step(step: Step) -> Stage {
        match step {
            Step::WaitingForKey | Step::CheckingKey => Stage::Key,
            Step::SettingPin => Stage::Pin,
            Step::RefreshingChallenge | Step::CreatingPasskey => Stage::Touch,
            Step::Registering | Step::Hardening | Step::RemovingOldKeys | Step::Recording => {
                Stage::Registering
            }
        }
    }
}

/// Where the current job stands.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// The engine is working (see [`JobView::step`]).
    Working,
    /// Waiting for a PIN to be typed.
    Pin(PinRequest),
    /// Waiting for a touch on the key.
    Touch,
    /// Cancel sent; waiting for the engine to confirm.
    Cancelling,
    /// Stopped with an error.
    Failed(OperatorError),
    /// Issued.
    Done(Issued),
}

/// The enrollment on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// Entra object id.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// UPN.
    pub upn: String,
    /// The engine's id, once it reported progress.
    pub job: Option<JobId>,
    /// Last step reported.
    pub step: Option<Step>,
    /// What is happening.
    pub phase: Phase,
    /// The random PIN is shown (done page).
    pub revealed: bool,
    /// The person's language: the station's when the job opens, changed by the language
    /// switch for this enrollment only.
    pub language: Language,
    /// The PIN letter asked for on the done page.
    pub letter: LetterPrint,
}

/// Where the done page's *Print letter* stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LetterPrint {
    /// Not asked for.
    #[default]
    NotAsked,
    /// Sent to the printer; waiting for the print command.
    Printing,
    /// The print command took it.
    Printed,
    /// It failed: what happened and what to do.
    Failed(OperatorError),
}

/// How the station asks for user presence and a reset's power-up: a USB key is touched and
/// re-inserted, a card is held on the reader and put back on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceWords {
    /// The big prompt while the key waits for presence.
    pub touch: String,
    /// The line under it.
    pub touch_hint: String,
    /// Before a reset: bring the key to power-up.
    pub reinsert: String,
    /// Why.
    pub reinsert_hint: String,
}

impl PresenceWords {
    /// The words for the key in front of the operator (a card, or anything else), in the
    /// language of `texts`.
    pub fn for_key(key: Option<&KeySummary>, texts: &Texts) -> PresenceWords {
        let kind = if key.is_some_and(|k| k.card) {
            "card"
        } else {
            "key"
        };
        let word = |what: &str| texts.text(&format!("presence-{kind}-{what}"));
        PresenceWords {
            touch: word("touch"),
            touch_hint: word("touch-hint"),
            reinsert: word("reinsert"),
            reinsert_hint: word("reinsert-hint"),
        }
    }
}

impl JobView {
    /// Where the step bar stands.
    pub fn stage(&self) -> Stage {
        match &self.phase {
            Phase::Done(_) => Stage::Done,
            Phase::Pin(_) => Stage::Pin,
            Phase::Touch => Stage::Touch,
            _ => self.step.map(Stage::of_step).unwrap_or(Stage::Key),
        }
    }
}

/// Re-issue of a returned key (factory reset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetFlow {
    /// Nothing going on.
    Idle,
    /// "Erase this key?" dialog.
    Confirm,
    /// ResetKey sent: "re-insert and touch within seconds".
    Waiting,
    /// The key waits for its touch to erase itself.
    Touch,
    /// KeyReset received.
    Done,
}

/// The live queue refresh (the group changes during a rollout), as the queue screen's status
/// line shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueRefreshView {
    /// A refresh is running (Refresh is disabled).
    pub running: bool,
    /// People fetched so far.
    pub done: usize,
    /// Member users of the group, once listed.
    pub total: Option<usize>,
    /// How the last refresh ended.
    pub last: Option<QueueRefreshSummary>,
}

impl QueueRefreshView {
    /// The status line and whether it reports a failure; `None` before any refresh.
    pub fn status_line(&self, t: &Texts) -> Option<(String, bool)> {
        if self.running {
            return Some((
                match self.total {
                    Some(total) => t.text_with(
                        "queue-fetching-count",
                        &[("done", self.done.into()), ("total", total.into())],
                    ),
                    None => t.text("queue-fetching"),
                },
                false,
            ));
        }
        let last = self.last.as_ref()?;
        if let Some(error) = &last.error {
            return Some((
                t.text_with(
                    "queue-refresh-failed",
                    &[("error", with_request_id(t, error).into())],
                ),
                true,
            ));
        }
        let group = match &last.group {
            Some(g) => g.clone(),
            None => t.text("queue-the-group"),
        };
        let mut line = t.text_with(
            "queue-refreshed",
            &[
                ("group", group.into()),
                ("updated", last.updated.into()),
                ("added", last.added.into()),
            ],
        );
        if last.kept > 0 {
            line.push_str(&t.text_with("queue-refreshed-kept", &[("kept", last.kept.into())]));
        }
        if last.removed > 0 {
            line.push_str(&t.text_with(
                "queue-refreshed-removed",
                &[("removed", last.removed.into())],
            ));
        }
        if let Some(first) = last.failures.first() {
            line.push_str(&t.text_with(
                "queue-refreshed-failures",
                &[
                    ("failed", last.failures.len().into()),
                    ("example", with_request_id(t, first).into()),
                ],
            ));
        }
        Some((line, !last.failures.is_empty()))
    }
}

/// The error's message, with Graph's request-id when the message does not carry it already.
fn with_request_id(t: &Texts, e: &OperatorError) -> String {
    match &e.request_id {
        Some(id) if !e.message.contains(id.as_str()) => t.text_with(
            "with-request-id",
            &[
                ("message", e.message.as_str().into()),
                ("id", id.as_str().into()),
            ],
        ),
        _ => e.message.clone(),
    }
}

/// The sign-in and lock forms.
pub struct SignInForm {
    /// Operator name being typed.
    pub name: String,
    /// Passcode being typed (fixed capacity, zeroized).
    pub passcode: SecretBuffer,
    /// Last refusal.
    pub error: Option<String>,
    /// A passcode was sent; the service has not answered yet.
    pub checking: bool,
    /// Failed passcodes: no attempt is checked before this time (Unix seconds).
    pub retry_at: Option<i64>,
    /// Delegated (device-code) sign-in in progress.
    pub delegated: super::operator::DeviceSignIn,
}

impl Default for SignInForm {
    fn default() -> Self {
        SignInForm {
            name: String::new(),
            passcode: SecretBuffer::with_capacity(PASSCODE_CAPACITY),
            error: None,
            checking: false,
            retry_at: None,
            delegated: Default::default(),
        }
    }
}

impl SignInForm {
    /// Seconds before a passcode is checked again, when failures imposed a pause.
    pub fn wait_left(&self, now: i64) -> Option<i64> {
        self.retry_at.map(|t| t - now).filter(|left| *left > 0)
    }
}

/// A fresh PIN buffer (CTAP's PIN limit).
fn pin_buffer() -> SecretBuffer {
    SecretBuffer::with_capacity(super::pin_pad::MAX_PIN_BYTES)
}

/// The kiosk's whole state.
pub struct State {
    /// Demo mode: banner and soft-key controls.
    pub demo: bool,
    /// How operators sign in.
    pub auth: OperatorAuth,
    /// Signed-in operator.
    pub operator: Option<String>,
    /// Idle lock after this many seconds (None = never).
    pub idle_lock_secs: Option<f64>,
    /// Locked (the sign-in service said so: [`Event::Locked`]).
    pub locked: bool,
    /// Lock sent (idle or the operator's Lock): the screen is hidden at once, before the
    /// service answers. View only: unlocking comes from the service alone.
    pub lock_requested: bool,
    /// Bumped whenever secrets are forgotten; the secret fields' egui ids carry it.
    pub secret_generation: u64,
    /// The generation whose egui field state may still exist (the UI drops it when behind).
    pub secret_fields_drawn: u64,
    /// The screen drawn last frame (a screen change forgets the secrets typed).
    pub shown_screen: Option<Screen>,
    /// Sign-in / unlock form.
    pub sign_in: SignInForm,
    /// Start-up checks, once reported.
    pub checks: Option<Vec<Check>>,
    /// Start-up screen passed (all checks OK, or the operator continued).
    pub checks_done: bool,
    /// Enrollments found unfinished at start.
    pub recovered: Vec<Unfinished>,
    /// Recovery screen acknowledged.
    pub recovery_done: bool,
    /// Enrollments (journal ids) whose recovered PIN the operator revealed.
    pub recovered_revealed: Vec<i64>,
    /// The queue.
    pub queue: QueueIndex,
    /// Live queue refresh: progress, then the outcome.
    pub queue_refresh: QueueRefreshView,
    /// Search field text.
    pub search: String,
    /// The key in the reader.
    pub key: Option<KeySummary>,
    /// The key in the reader was already used by a job (issued or tried): the engine takes
    /// only a key inserted after it (a new one, or the same one put back).
    pub key_used: bool,
    /// The station also takes cards on PC/SC readers (NFC badges, FIDO2 smart cards).
    pub takes_cards: bool,
    /// The done page offers *Print letter* (`"pinDelivery": "letter"`).
    pub print_letters: bool,
    /// The enrollment on screen.
    pub job: Option<JobView>,
    /// Finished jobs with a PIN to hand over, waiting for the wizard to be free.
    pub pending_done: VecDeque<(JobId, String, Issued)>,
    /// Background jobs that failed while another was on screen.
    pub background_failures: Vec<(JobId, String, OperatorError)>,
    /// PIN being typed (fixed capacity, zeroized).
    pub pin_entry: SecretBuffer,
    /// The journal's enrollments (`Event::History`), oldest first; outcomes seen since the
    /// last one are appended until the next arrives (`enrollment_id` 0).
    pub history: Vec<HistoryEntry>,
    /// Error not tied to a job (banner).
    pub problem: Option<OperatorError>,
    /// Queue or history (when no job is on screen).
    pub show_history: bool,
    /// Re-issue flow.
    pub reset: ResetFlow,
    /// "Exit the station?" dialog.
    pub exit_confirm: bool,
    /// The window manager asked to close and was refused.
    pub close_refused: bool,
    /// The operator chose Exit: the window may close.
    pub exit_chosen: bool,
    /// Current time (Unix seconds), for challenge expiry.
    pub now: i64,
    /// The message catalogues (parsed once per process).
    pub catalog: Arc<Catalog>,
    /// The station's language (`language` in the config): every screen, and each person's
    /// pages until they choose another.
    pub language: Language,
    /// Which person each job is for (background failures name the person).
    job_people: HashMap<JobId, String>,
}

impl State {
    /// A fresh station.
    pub fn new(auth: OperatorAuth, demo: bool) -> Self {
        let sign_in = SignInForm {
            // The demo needs no passcode: Enter (or Sign in) is all it takes.
            name: if auth == OperatorAuth::Demo {
                "Demo operator".into()
            } else {
                String::new()
            },
            ..SignInForm::default()
        };
        State {
            demo,
            auth,
            operator: None,
            idle_lock_secs: None,
            locked: false,
            lock_requested: false,
            secret_generation: 0,
            secret_fields_drawn: 0,
            shown_screen: None,
            sign_in,
            checks: None,
            checks_done: false,
            recovered: Vec::new(),
            recovery_done: false,
            recovered_revealed: Vec::new(),
            queue: QueueIndex::default(),
            queue_refresh: QueueRefreshView::default(),
            search: String::new(),
            key: None,
            key_used: false,
            takes_cards: false,
            print_letters: false,
            job: None,
            pending_done: VecDeque::new(),
            background_failures: Vec::new(),
            pin_entry: pin_buffer(),
            history: Vec::new(),
            problem: None,
            show_history: false,
            reset: ResetFlow::Idle,
            exit_confirm: false,
            close_refused: false,
            exit_chosen: false,
            now: 0,
            catalog: Catalog::shared(),
            language: Language::default(),
            job_people: HashMap::new(),
        }
    }

    /// The station's texts: every screen but a person's own pages.
    pub fn texts(&self) -> Texts {
        Texts::new(self.catalog.clone(), self.language)
    }

    /// The texts of the person on screen (the wizard), in the language they chose; the
    /// station's when no one is.
    pub fn person_texts(&self) -> Texts {
        let language = self.job.as_ref().map_or(self.language, |v| v.language);
        Texts::new(self.catalog.clone(), language)
    }

    /// The screen to show.
    pub fn screen(&self) -> Screen {
        if !self.checks_done {
            Screen::Startup
        } else if !self.recovery_done && !self.recovered.is_empty() {
            Screen::Recovery
        } else if self.operator.is_none() {
            Screen::SignIn
        } else if self.locked || self.lock_requested {
            Screen::Lock
        } else if self.job.is_some() {
            Screen::Wizard
        } else if self.show_history {
            Screen::History
        } else {
            Screen::Queue
        }
    }

    /// Wipes every secret being typed (passcode, PIN) and moves the secret fields to a new
    /// generation: after a submit, a lock, a sign-in or sign-out, or a screen change.
    pub fn forget_secrets(&mut self) {
        self.sign_in.passcode.wipe();
        self.pin_entry.wipe();
        self.secret_generation += 1;
    }

    /// Opens the wizard for a person (the caller sends `Command::Enroll`).
    pub fn begin(&mut self, user_id: &str) {
        let (display_name, upn) = match self.queue.by_user_id(user_id) {
            Some(p) => (p.display_name.clone(), p.upn.clone()),
            None => (user_id.to_string(), String::new()),
        };
        self.job = Some(JobView {
            user_id: user_id.to_string(),
            display_name,
            upn,
            job: None,
            step: None,
            phase: Phase::Working,
            revealed: false,
            language: self.language,
            letter: LetterPrint::NotAsked,
        });
        self.pin_entry.wipe();
    }

    /// Closes the wizard and brings up the next PIN to hand over, if any.
    pub fn close_job(&mut self) {
        self.job = None;
        self.pin_entry.wipe();
        if let Some((job, upn, issued)) = self.pending_done.pop_front() {
            self.job = Some(JobView {
                user_id: String::new(),
                display_name: upn.clone(),
                upn,
                job: Some(job),
                step: None,
                phase: Phase::Done(issued),
                revealed: false,
                language: self.language,
                letter: LetterPrint::NotAsked,
            });
        }
    }

    /// Opens a background failure in the wizard (its Retry is then on screen).
    pub fn open_background_failure(&mut self, index: usize) {
        if self.job.is_some() || index >= self.background_failures.len() {
            return;
        }
        let (job, upn, error) = self.background_failures.remove(index);
        self.job = Some(JobView {
            user_id: String::new(),
            display_name: upn.clone(),
            upn,
            job: Some(job),
            step: None,
            phase: Phase::Failed(error),
            revealed: false,
            language: self.language,
            letter: LetterPrint::NotAsked,
        });
    }

    fn current(&mut self, job: JobId) -> Option<&mut JobView> {
        self.job.as_mut().filter(|v| v.job == Some(job))
    }

    fn upn_of_job(&self, job: JobId) -> String {
        self.job_people
            .get(&job)
            .and_then(|id| self.queue.by_user_id(id))
            .map(|p| p.upn.clone())
            .unwrap_or_else(|| format!("job {}", job.0))
    }

    fn name_of_job(&self, job: JobId) -> Option<String> {
        self.job_people
            .get(&job)
            .and_then(|id| self.queue.by_user_id(id))
            .map(|p| p.display_name.clone())
    }

    /// Applies one engine event.
    pub fn apply(&mut self, event: Event) {
        match event {
            Event::StartupChecks(checks) => {
                // All green: straight on; otherwise the operator reads the remedies first.
                self.checks_done = checks.iter().all(|c| c.ok);
                self.checks = Some(checks);
            }
            Event::Recovered(list) => {
                self.recovery_done = list.is_empty();
                self.recovered = list;
            }
            Event::Queue(people) => self.queue.replace(people),
            Event::PersonChanged(person) => self.queue.update(person),
            Event::QueueRefresh { done, total } => {
                self.queue_refresh.running = true;
                self.queue_refresh.done = done;
                self.queue_refresh.total = total;
            }
            Event::QueueRefreshed(summary) => {
                self.queue_refresh.running = false;
                if let Some(error) = &summary.error {
                    self.problem = Some(error.clone());
                }
                self.queue_refresh.last = Some(summary);
            }
            Event::KeyInserted(key) => {
                if self.reset == ResetFlow::Done {
                    self.reset = ResetFlow::Idle;
                }
                self.key = Some(key);
                self.key_used = false;
            }
            Event::KeyRemoved => {
                self.key = None;
                self.key_used = false;
            }
            Event::Progress { job, user_id, step } => {
                self.job_people.insert(job, user_id.clone());
                if step == Step::CheckingKey {
                    // A job took the key in the reader.
                    self.key_used = true;
                }
                let adopt = matches!(&self.job, Some(v) if v.user_id == user_id
                    && (v.job.is_none() || v.job == Some(job)));
                if adopt {
                    if let Some(v) = self.job.as_mut() {
                        v.job = Some(job);
                        v.step = Some(step);
                        if !matches!(v.phase, Phase::Cancelling) {
                            v.phase = Phase::Working;
                        }
                    }
                } else if self.job.is_none() {
                    // A job the engine runs on its own (recovery, retry of a background job).
                    self.begin(&user_id);
                    if let Some(v) = self.job.as_mut() {
                        v.job = Some(job);
                        v.step = Some(step);
                    }
                }
            }
            Event::PinNeeded { job, request } => {
                if let Some(v) = self.current(job) {
                    v.phase = Phase::Pin(request);
                    self.pin_entry.wipe();
                }
            }
            Event::TouchNeeded { job } => {
                if let Some(v) = self.current(job) {
                    v.phase = Phase::Touch;
                }
            }
            Event::Finished { job, issued } => {
                let display_name = self.name_of_job(job);
                self.history.push(HistoryEntry {
                    enrollment_id: 0,
                    upn: issued.upn.clone(),
                    display_name,
                    state: EnrollmentState::Recorded,
                    serial: issued.serial.clone(),
                    method_id: Some(issued.method_id.clone()),
                    at: self.now,
                    last_error: None,
                });
                if let Some(v) = self.current(job) {
                    v.phase = Phase::Done(issued);
                    v.revealed = false;
                } else if issued.pin.is_some() {
                    // Finished in the background: its PIN must still reach the person.
                    self.pending_done
                        .push_back((job, issued.upn.clone(), issued));
                }
            }
            Event::Failed { job, error } => {
                let upn = match self.job.as_ref().filter(|v| v.job == Some(job)) {
                    Some(v) => v.upn.clone(),
                    None => self.upn_of_job(job),
                };
                let display_name = self.name_of_job(job);
                self.history.push(HistoryEntry {
                    enrollment_id: 0,
                    upn: upn.clone(),
                    display_name,
                    state: EnrollmentState::Failed,
                    serial: None,
                    method_id: None,
                    at: self.now,
                    last_error: Some(format!("{} ({})", error.message, error.code)),
                });
                if let Some(v) = self.current(job) {
                    v.phase = Phase::Failed(error);
                } else {
                    self.background_failures.push((job, upn, error));
                }
            }
            Event::ResetTouchNeeded => {
                if self.reset == ResetFlow::Waiting {
                    self.reset = ResetFlow::Touch;
                }
            }
            Event::KeyReset => self.reset = ResetFlow::Done,
            Event::LetterPrinted { job, error } => {
                if let Some(v) = self.current(job) {
                    v.letter = error.map_or(LetterPrint::Printed, LetterPrint::Failed);
                }
            }
            Event::DeviceCode { .. }
            | Event::SignedIn { .. }
            | Event::SignInFailed(_)
            | Event::PasscodeRefused { .. }
            | Event::Locked
            | Event::Unlocked
            | Event::SignedOut { .. }
            | Event::Exiting => super::operator::apply_sign_in(self, event),
            Event::History(entries) => self.history = entries,
            Event::Problem(error) => {
                if matches!(self.reset, ResetFlow::Waiting | ResetFlow::Touch) {
                    self.reset = ResetFlow::Idle;
                }
                self.problem = Some(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::api::{Check, CheckKind, Person, PersonStatus, Pin, Remedy};

    const ANA: &str = "id-ana";
    const BO: &str = "id-bo";

    fn person(user_id: &str, upn: &str, name: &str, status: PersonStatus) -> Person {
        Person {
            user_id: user_id.into(),
            upn: upn.into(),
            display_name: name.into(),
            status,
            challenge_expires_at: Some(2_000_000_000),
            elsewhere: None,
        }
    }

    #[test]
    fn a_card_is_held_on_the_reader_and_a_key_is_touched() {
        let mut card = key();
        card.card = true;
        let s = State::new(OperatorAuth::Demo, false);
        let t = s.texts();
        let for_card = PresenceWords::for_key(Some(&card), &t);
        assert_eq!(for_card.touch, "Hold the card on the reader");
        assert!(for_card.reinsert.contains("put it back"));
        let for_key = PresenceWords::for_key(Some(&key()), &t);
        assert_eq!(for_key.touch, "Touch the key now");
        assert_eq!(PresenceWords::for_key(None, &t), for_key);
        let german = Texts::new(s.catalog.clone(), Language::German);
        assert_eq!(
            PresenceWords::for_key(Some(&card), &german).touch,
            "Halten Sie die Karte an das Lesegerät"
        );
    }

    /// What a factory-fresh software key says of itself.
    fn key() -> KeySummary {
        crate::engine::key_source::soft_key()
            .map(|k| k.summary)
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn error(code: &str) -> OperatorError {
        OperatorError {
            code: code.into(),
            message: format!("{code} happened"),
            remedy: Remedy::Retry,
            request_id: None,
            retry_possible: true,
        }
    }

    fn issued(upn: &str, pin: Option<&str>) -> Issued {
        Issued {
            upn: upn.into(),
            method_id: format!("method-of-{upn}"),
            serial: Some("1234".into()),
            pin: pin.map(Pin::new),
        }
    }

    fn progress(job: u64, user_id: &str, step: Step) -> Event {
        Event::Progress {
            job: JobId(job),
            user_id: user_id.into(),
            step,
        }
    }

    /// Past the start-up checks, no recovery, Ana and Bo queued, an operator signed in.
    fn signed_in() -> State {
        let mut s = State::new(OperatorAuth::Demo, true);
        s.apply(Event::StartupChecks(vec![]));
        s.apply(Event::Recovered(vec![]));
        s.apply(Event::Queue(vec![
            person(ANA, "ana@x.example", "Ana", PersonStatus::Ready),
            person(BO, "bo@x.example", "Bo", PersonStatus::Ready),
        ]));
        s.apply(Event::SignedIn {
            operator: "Tess".into(),
        });
        s
    }

    /// Ana's job 7 on screen, at `step`.
    fn in_job(step: Step) -> State {
        let mut s = signed_in();
        s.begin(ANA);
        s.apply(progress(7, ANA, step));
        s
    }

    fn phase(s: &State) -> Option<&Phase> {
        s.job.as_ref().map(|v| &v.phase)
    }

    #[test]
    fn the_screen_follows_checks_recovery_sign_in_lock_and_the_wizard() {
        let mut s = State::new(OperatorAuth::Demo, true);
        assert_eq!(s.screen(), Screen::Startup);
        let failing = Check {
            kind: CheckKind::Journal,
            ok: false,
            detail: "make it writable".into(),
        };
        s.apply(Event::StartupChecks(vec![failing]));
        assert_eq!(s.screen(), Screen::Startup, "a failed check is read first");
        s.checks_done = true;
        s.apply(Event::Recovered(vec![Unfinished {
            enrollment_id: 3,
            upn: "ana@x.example".into(),
            display_name: None,
            state: "registering".into(),
            resolution: "settled".into(),
            remedy: None,
            pin: None,
        }]));
        assert_eq!(s.screen(), Screen::Recovery);
        s.recovery_done = true;
        assert_eq!(s.screen(), Screen::SignIn);
        s.apply(Event::SignedIn {
            operator: "Tess".into(),
        });
        assert_eq!(s.operator.as_deref(), Some("Tess"));
        assert_eq!(s.screen(), Screen::Queue);
        s.show_history = true;
        assert_eq!(s.screen(), Screen::History);
        s.begin(ANA);
        assert_eq!(s.screen(), Screen::Wizard, "a job comes before the history");

        s.lock_requested = true;
        assert_eq!(
            s.screen(),
            Screen::Lock,
            "hidden at once, before the answer"
        );
        s.apply(Event::Locked);
        assert!(s.locked && !s.lock_requested);
        assert_eq!(s.screen(), Screen::Lock);
        s.apply(Event::Unlocked);
        assert_eq!(s.screen(), Screen::Wizard);
        s.apply(Event::SignedOut { after_lock: true });
        assert_eq!(s.screen(), Screen::SignIn);
        assert!(s.sign_in.delegated.signed_out_idle);
    }

    #[test]
    fn all_checks_passing_and_nothing_recovered_go_straight_on() {
        let mut s = State::new(OperatorAuth::Demo, true);
        let ok = Check {
            kind: CheckKind::Journal,
            ok: true,
            detail: String::new(),
        };
        s.apply(Event::StartupChecks(vec![ok]));
        s.apply(Event::Recovered(vec![]));
        assert_eq!(s.screen(), Screen::SignIn);
    }

    #[test]
    fn the_queue_is_replaced_whole_and_changed_one_person_at_a_time() {
        let mut s = signed_in();
        assert_eq!(s.queue.len(), 2);
        s.apply(Event::PersonChanged(person(
            BO,
            "bo@x.example",
            "Bo",
            PersonStatus::Enrolled,
        )));
        assert_eq!(s.queue.len(), 2);
        let bo = s.queue.by_user_id(BO).map(|p| p.status);
        assert_eq!(bo, Some(PersonStatus::Enrolled));
        s.apply(Event::PersonChanged(person(
            "id-cy",
            "cy@x.example",
            "Cy",
            PersonStatus::Waiting,
        )));
        assert_eq!(s.queue.len(), 3, "a new person is added");
        s.apply(Event::Queue(vec![person(
            ANA,
            "ana@x.example",
            "Ana",
            PersonStatus::Ready,
        )]));
        assert_eq!(s.queue.len(), 1);
        assert!(s.queue.by_user_id(BO).is_none());
    }

    #[test]
    fn progress_adopts_the_job_of_the_person_on_screen_and_moves_the_stage() {
        let mut s = signed_in();
        s.begin(ANA);
        let view = s.job.as_ref().map(|v| (v.display_name.as_str(), v.stage()));
        assert_eq!(view, Some(("Ana", Stage::Key)));
        s.apply(progress(7, ANA, Step::CheckingKey));
        assert!(s.key_used, "the job took the key in the reader");
        s.apply(progress(7, ANA, Step::Registering));
        let view = s.job.as_ref().map(|v| (v.job, v.step, v.stage()));
        assert_eq!(
            view,
            Some((Some(JobId(7)), Some(Step::Registering), Stage::Registering))
        );
        // Another person's job does not take over the screen.
        s.apply(progress(8, BO, Step::SettingPin));
        assert_eq!(s.job.as_ref().and_then(|v| v.job), Some(JobId(7)));
        // Cancel sent: progress does not hide that it is being cancelled.
        if let Some(v) = s.job.as_mut() {
            v.phase = Phase::Cancelling;
        }
        s.apply(progress(7, ANA, Step::Recording));
        assert_eq!(phase(&s), Some(&Phase::Cancelling));
    }

    #[test]
    fn a_job_the_engine_runs_on_its_own_opens_the_wizard() {
        let mut s = signed_in();
        s.apply(progress(9, BO, Step::Registering));
        let view = s.job.as_ref().map(|v| (v.upn.as_str(), v.job, v.step));
        assert_eq!(
            view,
            Some(("bo@x.example", Some(JobId(9)), Some(Step::Registering)))
        );
        assert_eq!(s.screen(), Screen::Wizard);
    }

    #[test]
    fn pin_and_touch_prompts_reach_only_their_job() {
        let mut s = in_job(Step::SettingPin);
        assert!(s.pin_entry.push_str("12"));
        let request = PinRequest::New { min_length: 6 };
        s.apply(Event::PinNeeded {
            job: JobId(8),
            request: request.clone(),
        });
        assert_eq!(phase(&s), Some(&Phase::Working), "not this job's prompt");
        s.apply(Event::PinNeeded {
            job: JobId(7),
            request: request.clone(),
        });
        assert_eq!(phase(&s), Some(&Phase::Pin(request)));
        assert!(s.pin_entry.is_empty(), "a new prompt starts empty");
        assert_eq!(s.job.as_ref().map(JobView::stage), Some(Stage::Pin));
        s.apply(Event::TouchNeeded { job: JobId(7) });
        assert_eq!(phase(&s), Some(&Phase::Touch));
        assert_eq!(s.job.as_ref().map(JobView::stage), Some(Stage::Touch));
    }

    #[test]
    fn finished_on_screen_shows_done_and_in_the_background_waits_to_hand_over_its_pin() {
        let mut s = in_job(Step::Recording);
        s.apply(Event::Finished {
            job: JobId(7),
            issued: issued("ana@x.example", Some("123456")),
        });
        assert_eq!(
            phase(&s),
            Some(&Phase::Done(issued("ana@x.example", Some("123456"))))
        );
        assert_eq!(s.job.as_ref().map(JobView::stage), Some(Stage::Done));
        let last = s
            .history
            .last()
            .map(|h| (h.upn.as_str(), h.method_id.clone()));
        assert_eq!(
            last,
            Some(("ana@x.example", Some("method-of-ana@x.example".into())))
        );

        // Bo's job finished while Ana's done page is up: his PIN waits its turn.
        s.apply(progress(8, BO, Step::Registering));
        s.apply(Event::Finished {
            job: JobId(8),
            issued: issued("bo@x.example", Some("654321")),
        });
        // A typed PIN (none to hand over) does not wait.
        s.apply(progress(10, BO, Step::Registering));
        s.apply(Event::Finished {
            job: JobId(10),
            issued: issued("bo@x.example", None),
        });
        assert_eq!(s.pending_done.len(), 1);
        assert_eq!(s.history.len(), 3);
        s.close_job();
        let view = s.job.as_ref().map(|v| (v.job, v.phase.clone()));
        assert_eq!(
            view,
            Some((
                Some(JobId(8)),
                Phase::Done(issued("bo@x.example", Some("654321")))
            ))
        );
        s.close_job();
        assert!(s.job.is_none());
        assert_eq!(s.screen(), Screen::Queue);
    }

    #[test]
    fn a_printed_letter_reaches_only_its_job_and_a_new_done_page_starts_unasked() {
        let mut s = in_job(Step::Recording);
        s.apply(Event::Finished {
            job: JobId(7),
            issued: issued("ana@x.example", Some("123456")),
        });
        let letter = |s: &State| s.job.as_ref().map(|v| v.letter.clone());
        assert_eq!(letter(&s), Some(LetterPrint::NotAsked));
        s.apply(Event::LetterPrinted {
            job: JobId(8),
            error: None,
        });
        assert_eq!(
            letter(&s),
            Some(LetterPrint::NotAsked),
            "another job's letter"
        );
        let error = OperatorError {
            code: "print-letter".into(),
            message: "lp: no such printer".into(),
            remedy: Remedy::Text("check the printer".into()),
            request_id: None,
            retry_possible: false,
        };
        s.apply(Event::LetterPrinted {
            job: JobId(7),
            error: Some(error.clone()),
        });
        assert_eq!(letter(&s), Some(LetterPrint::Failed(error)));
        s.apply(Event::LetterPrinted {
            job: JobId(7),
            error: None,
        });
        assert_eq!(letter(&s), Some(LetterPrint::Printed));

        // Bo's PIN waited in the background: his done page starts with no letter asked for.
        s.apply(progress(8, BO, Step::Registering));
        s.apply(Event::Finished {
            job: JobId(8),
            issued: issued("bo@x.example", Some("654321")),
        });
        s.close_job();
        assert_eq!(letter(&s), Some(LetterPrint::NotAsked));
    }

    #[test]
    fn failed_on_screen_shows_the_error_and_in_the_background_waits_with_the_person() {
        let mut s = in_job(Step::CreatingPasskey);
        s.apply(Event::Failed {
            job: JobId(7),
            error: error("key-removed"),
        });
        assert_eq!(phase(&s), Some(&Phase::Failed(error("key-removed"))));
        let last = s.history.last().and_then(|h| h.last_error.clone());
        assert_eq!(last.as_deref(), Some("key-removed happened (key-removed)"));

        s.apply(progress(8, BO, Step::Registering));
        s.apply(Event::Failed {
            job: JobId(8),
            error: error("graph-503"),
        });
        assert_eq!(
            s.background_failures,
            vec![(JobId(8), "bo@x.example".into(), error("graph-503"))]
        );
        s.open_background_failure(0);
        assert_eq!(
            s.background_failures.len(),
            1,
            "not while a job is on screen"
        );
        s.close_job();
        s.open_background_failure(0);
        assert!(s.background_failures.is_empty());
        assert_eq!(phase(&s), Some(&Phase::Failed(error("graph-503"))));
    }

    #[test]
    fn keys_in_and_out_and_the_reset_flow() {
        let mut s = signed_in();
        let inserted = key();
        s.apply(Event::KeyInserted(inserted.clone()));
        assert_eq!(s.key.as_ref(), Some(&inserted));
        s.key_used = true;
        s.apply(Event::KeyRemoved);
        assert!(s.key.is_none() && !s.key_used);

        s.reset = ResetFlow::Waiting;
        s.apply(Event::Problem(error("no-key")));
        assert_eq!(s.reset, ResetFlow::Idle, "a refused reset ends the wait");
        assert_eq!(s.problem, Some(error("no-key")));
        s.reset = ResetFlow::Waiting;
        s.apply(Event::TouchNeeded { job: JobId(7) });
        assert_eq!(
            s.reset,
            ResetFlow::Waiting,
            "a job's touch is not the reset's"
        );
        s.apply(Event::ResetTouchNeeded);
        assert_eq!(s.reset, ResetFlow::Touch);
        s.apply(Event::KeyReset);
        assert_eq!(s.reset, ResetFlow::Done);
        s.apply(Event::KeyInserted(inserted));
        assert_eq!(s.reset, ResetFlow::Idle);
        assert!(!s.key_used, "a key put in is not used yet");
    }

    #[test]
    fn a_queue_refresh_reports_progress_and_a_failure_as_a_problem() {
        let mut s = signed_in();
        assert_eq!(s.queue_refresh.status_line(&s.texts()), None);
        s.apply(Event::QueueRefresh {
            done: 3,
            total: Some(10),
        });
        assert_eq!(
            s.queue_refresh.status_line(&s.texts()),
            Some((
                "Fetching the queue from the group: 3 of 10 people".into(),
                false
            ))
        );
        s.apply(Event::QueueRefreshed(QueueRefreshSummary {
            error: Some(error("graph-403")),
            ..QueueRefreshSummary::default()
        }));
        assert!(!s.queue_refresh.running);
        assert_eq!(s.problem, Some(error("graph-403")));
        let line = s.queue_refresh.status_line(&s.texts());
        assert_eq!(line.map(|(_, failed)| failed), Some(true));
    }
}
