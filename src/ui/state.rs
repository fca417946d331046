//! Everything the kiosk shows, and [`State::apply`]: the one place engine events change it.
//!
//! Pure: no I/O, no egui. Screens read this and mutate only the view fields (search text, PIN
//! being typed, dialogs); everything else changes through `apply`.

use std::collections::{HashMap, VecDeque};

pub use crate::engine::api::HistoryEntry;
use crate::engine::api::{
    Check, EnrollmentState, Event, Issued, JobId, OperatorError, PinRequest, QueueRefreshSummary,
    Step, Unfinished,
};
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
    pub fn label(self) -> &'static str {
        match self {
            Stage::Person => "Person",
            Stage::Key => "Insert key",
            Stage::Pin => "PIN",
            Stage::Touch => "Touch",
            Stage::Registering => "Registering",
            Stage::Done => "Done",
        }
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
    /// KeyReset received.
    Done,
}

/// The live queue refresh (issue 5), as the queue screen's status line shows it.
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
    pub fn status_line(&self) -> Option<(String, bool)> {
        if self.running {
            return Some((
                match self.total {
                    Some(total) => format!(
                        "Fetching the queue from the group: {} of {total} people",
                        self.done
                    ),
                    None => "Fetching the queue from the group…".to_owned(),
                },
                false,
            ));
        }
        let last = self.last.as_ref()?;
        if let Some(error) = &last.error {
            return Some((
                format!(
                    "Queue refresh failed, the queue was kept: {}",
                    with_request_id(error)
                ),
                true,
            ));
        }
        let mut line = format!(
            "Queue refreshed from {}: {} people updated, {} new",
            last.group.as_deref().unwrap_or("the group"),
            last.updated,
            last.added
        );
        if last.kept > 0 {
            line.push_str(&format!(
                ", {} left as they were (enrolled or in progress)",
                last.kept
            ));
        }
        if last.removed > 0 {
            line.push_str(&format!(", {} removed (left the group)", last.removed));
        }
        if let Some(first) = last.failures.first() {
            line.push_str(&format!(
                "; {} failed, e.g. {}",
                last.failures.len(),
                with_request_id(first)
            ));
        }
        Some((line, !last.failures.is_empty()))
    }
}

/// The error's message, with Graph's request-id when the message does not carry it already.
fn with_request_id(e: &OperatorError) -> String {
    match &e.request_id {
        Some(id) if !e.message.contains(id.as_str()) => format!("{} (request-id {id})", e.message),
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
            job_people: HashMap::new(),
        }
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
            Event::KeyReset => self.reset = ResetFlow::Done,
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
                if self.reset == ResetFlow::Waiting {
                    self.reset = ResetFlow::Idle;
                }
                self.problem = Some(error);
            }
        }
    }
}
