//! The engine loop: commands in, events out, one thread that owns the key state and the
//! queue, jobs on threads of their own, Graph work on a tokio runtime.
//!
//! The loop blocks on its inbox (commands, key watcher reports, finished jobs): idle costs
//! nothing. Every event is followed by the `wake` callback so a GUI can repaint. The loop
//! itself never waits on Graph: start-up recovery and settling a person's earlier attempt run
//! on threads of their own too, so Cancel, ProvidePin and Lock are answered at once.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ctap::CancelToken;
use graph::GraphClient;

use super::api::{
    Check, CheckKind, Command, Event, JobId, OperatorError, Person, PersonStatus, Remedy, Step,
};
use super::job::{start_fresh, FreshOptions, Job, JobInput, JobResult};
use super::key_source::{self, KeyEvent, KeySource, PresentKey};
use super::recovery::{self, Earlier};
use super::steps::{self, Shared};
use super::{journal_watch, options, policy_check, print_letter, queue_refresh};
use crate::config::Config;
use crate::report::keys_registered::KeysRegisteredFile;
use crate::station::operator_auth::{self, Attempt, PasscodeCheck, Station};
use crate::station::{OperatorAuth, OperatorService};
use crate::store::postgres::Change;
use crate::store::{EnrollmentState, Journal, JournalLocation, QueuedUser};

/// How many people after the current one get their options refreshed in the background.
pub const PREFETCH_AHEAD: usize = 3;

/// Sends events and wakes the UI.
#[derive(Clone)]
pub struct Emitter {
    tx: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Emitter {
    /// Sends one event, then wakes the receiver.
    pub fn emit(&self, event: Event) {
        let _ = self.tx.send(event);
        (self.wake)();
    }
}

/// What the engine is started with.
pub struct EngineSetup {
    /// The configuration (PIN mode, hardening, deletion, timeouts).
    pub config: Config,
    /// Graph client for the tenant (`tenant::connect`).
    pub graph: GraphClient,
    /// The journal (`JournalLocation::from_config`: `journalUrl`, else `journalPath`).
    pub journal: JournalLocation,
    /// keysRegistered.csv to append to.
    pub keys_registered: PathBuf,
    /// Operator name for the audit log.
    pub operator: String,
    /// Where keys come from.
    pub key_source: KeySource,
    /// Called after every event (egui: `ctx.request_repaint()`).
    pub wake: Arc<dyn Fn() + Send + Sync>,
    /// How operators sign in at this station (`Headless` for the CLI).
    pub operator_auth: OperatorAuth,
}

/// The running engine: send commands, receive events.
pub struct EngineHandle {
    tx: Sender<Msg>,
    events: Receiver<Event>,
    thread: Option<JoinHandle<()>>,
}

impl EngineHandle {
    /// Sends a command (never blocks).
    pub fn send(&self, command: Command) {
        let _ = self.tx.send(Msg::Cmd(command));
    }
    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.try_recv().ok()
    }
    /// The next event, waiting up to `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Event> {
        self.events.recv_timeout(timeout).ok()
    }
    /// The next event; `None` once the engine has stopped.
    pub fn recv(&self) -> Option<Event> {
        self.events.recv().ok()
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        let _ = self.tx.send(Msg::Cmd(Command::Shutdown));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

enum Msg {
    Cmd(Command),
    Key(KeyEvent),
    /// A job no longer needs its key (registration continues in the background).
    Released(JobId, String),
    JobDone(JobResult),
    /// The background queue refresh ended.
    QueueFetched(Box<queue_refresh::Fetched>),
    /// A passcode check (on its worker thread) answered.
    PasscodeChecked(Attempt, bool),
    /// The start-up recovery and checks (on their thread) ended: the checks and the policy.
    StartedUp(Vec<Check>, Option<graph::Fido2Policy>),
    /// Settling a person's earlier attempt (on its thread) ended.
    Settled(JobId, Earlier),
    /// A person's options were refreshed ahead of time (their status may have changed).
    OptionsRefreshed(String),
    /// The waiting person's groups among the FIDO2 policy's targets were read.
    Membership(JobId, policy_check::Membership),
    /// Stations sharing the journal changed these people, or the queue.
    JournalChanged(Vec<Change>),
}

impl Msg {
    /// Whether this ends work counted in `Core::live`.
    fn ends_work(&self) -> bool {
        matches!(
            self,
            Msg::JobDone(_) | Msg::StartedUp(..) | Msg::Settled(..)
        )
    }
}

fn key_msg(e: KeyEvent) -> Msg {
    Msg::Key(e)
}

/// The engine.
pub struct Engine;

impl Engine {
    /// Opens the journal and starts the loop, which finishes what a previous run left
    /// unfinished (`Event::Recovered`) and runs the start-up checks on a thread of their own.
    pub fn start(setup: EngineSetup) -> Result<EngineHandle> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("engine-graph")
            .enable_all()
            .build()
            .context("starting the engine's runtime")?;
        let journal = Journal::open_at(&setup.journal)
            .with_context(|| format!("opening the journal {}", setup.journal))?;
        let (tx, inbox) = mpsc::channel();
        let (etx, events) = mpsc::channel();
        let emitter = Emitter {
            tx: etx,
            wake: setup.wake,
        };
        let shared = Arc::new(Shared {
            config: setup.config,
            // What the engine asks Graph, a person at the station waits on; bulk refreshes
            // lower their own priority.
            graph: setup.graph.with_priority(graph::ThrottlePriority::High),
            rt: rt.handle().clone(),
            journal: setup.journal,
            csv: KeysRegisteredFile::new(setup.keys_registered),
            csv_lock: Mutex::new(()),
            operator: Mutex::new(setup.operator.clone()),
            events: emitter.clone(),
        });
        let busy = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let watcher = match setup.key_source.watched() {
            Some(spec) => Some(
                key_source::spawn_watcher(
                    spec,
                    tx.clone(),
                    key_msg,
                    Arc::clone(&busy),
                    Arc::clone(&stop),
                )
                .context("starting the key watcher")?,
            ),
            None => None,
        };
        // A kiosk shows other stations' work live; a headless run has nobody to show it to.
        let journal_watch = if matches!(setup.operator_auth, OperatorAuth::Headless) {
            None
        } else {
            journal_watch::spawn(
                &shared.journal,
                tx.clone(),
                Msg::JournalChanged,
                Arc::clone(&stop),
            )
            .context("starting the journal watcher")?
        };
        let mut core = Core {
            shared,
            emitter,
            journal,
            tx: tx.clone(),
            busy,
            next_job: 1,
            waiting: None,
            key: None,
            refused: None,
            last_identity: None,
            running: None,
            jobs: HashMap::new(),
            refreshing: Arc::new(Mutex::new(HashSet::new())),
            job_operators: HashMap::new(),
            policy: None,
            membership: None,
            default_operator: setup.operator,
            live: 0,
            active: HashMap::new(),
            refreshing_queue: false,
            demo: setup.key_source.is_demo(),
            device: match &setup.key_source {
                KeySource::Device(spec) => Some(spec.clone()),
                _ => None,
            },
            demo_reader: match &setup.key_source {
                KeySource::SoftWithCards { vpcd } => Some(vpcd.clone()),
                _ => None,
            },
            soft_card: None,
            refresh_operator: String::new(),
            operators: OperatorService::new(setup.operator_auth),
            starting: false,
            held: Vec::new(),
            settling: HashMap::new(),
        };
        let thread = std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || {
                core.start_up();
                core.run(&inbox);
                stop.store(true, Ordering::SeqCst);
                if let Some(w) = watcher {
                    w.thread().unpark();
                    let _ = w.join();
                }
                if let Some(w) = journal_watch {
                    let _ = w.join();
                }
                // Background refreshes finish or are dropped with the runtime.
                rt.shutdown_timeout(Duration::from_secs(5));
            })
            .context("starting the engine thread")?;
        Ok(EngineHandle {
            tx,
            events,
            thread: Some(thread),
        })
    }
}

struct Running {
    id: JobId,
    input: Sender<JobInput>,
    cancel: CancelToken,
}

/// A job whose person's earlier attempt is being settled before they wait for a key.
struct Settling {
    user: QueuedUser,
    /// Cancelled meanwhile: the settling ends, nothing new starts.
    cancelled: bool,
}

struct Core {
    shared: Arc<Shared>,
    emitter: Emitter,
    journal: Journal,
    tx: Sender<Msg>,
    busy: Arc<AtomicBool>,
    next_job: u64,
    /// The person waiting for a key, with their fresh options if being fetched.
    waiting: Option<(JobId, QueuedUser, Option<FreshOptions>)>,
    /// Who started each job not yet ended (named on its audit entries).
    job_operators: HashMap<JobId, String>,
    /// A key that is in and not yet used.
    key: Option<PresentKey>,
    /// The key last refused (kept so it can be reset and issued).
    refused: Option<PresentKey>,
    /// The key last issued (or tried): a new person needs a different one.
    last_identity: Option<String>,
    running: Option<Running>,
    /// Who each job was for (Retry).
    jobs: HashMap<JobId, String>,
    refreshing: Arc<Mutex<HashSet<String>>>,
    policy: Option<graph::Fido2Policy>,
    /// The waiting person's groups among the policy's targets, when passkey profiles make
    /// them matter (a key waits for them before it is judged).
    membership: Option<(JobId, policy_check::Membership)>,
    /// The operator named at start (audit entries when nobody is signed in).
    default_operator: String,
    /// Jobs whose thread has not ended (the running one and background registrations).
    live: usize,
    /// People being enrolled (waiting for a key, running, registering in the background),
    /// by job: shown as in progress.
    active: HashMap<JobId, String>,
    /// A live queue refresh is running.
    refreshing_queue: bool,
    /// The demo (software keys only): the station issues nothing real.
    demo: bool,
    /// Where real keys come from (`None`: the demo's software keys).
    device: Option<ctap::device::DeviceSpec>,
    /// The demo's virtual card reader (`HOST:PORT` of vsmartcard's vpcd), when it has one.
    demo_reader: Option<String>,
    /// The demo's software card on that reader.
    soft_card: Option<ctap::nfc::vpcd::VirtualCard>,
    /// Who started the running queue refresh.
    refresh_operator: String,
    /// Operator sign-in, lock and exit (a station service the loop dispatches to).
    operators: OperatorService,
    /// The start-up recovery and checks are running on their thread.
    starting: bool,
    /// Commands that would start work on what the start-up recovery settles: run after it.
    held: Vec<Command>,
    /// Jobs whose person's earlier attempt is being settled on a thread.
    settling: HashMap<JobId, Settling>,
}

impl Core {
    fn emit(&self, e: Event) {
        self.emitter.emit(e);
    }

    fn problem(&self, code: &str, message: String, remedy: Remedy) {
        self.emit(Event::Problem(OperatorError {
            code: code.into(),
            message,
            remedy,
            request_id: None,
            retry_possible: false,
        }));
    }

    /// Starts the recovery and the checks on a thread of their own (both call Graph);
    /// `Event::Recovered` comes before the checks (`started_up`).
    fn start_up(&mut self) {
        steps::purge_expired_pins(&self.shared.config, &mut self.journal);
        let operator = self.shared.operator();
        let shared = Arc::clone(&self.shared);
        let events = self.emitter.clone();
        let spawned = self.spawn_work("start-up", move || {
            events.emit(Event::Recovered(recovery::recover(&shared, &operator)));
            let (checks, policy) = policy_check::run(&shared);
            Msg::StartedUp(checks, policy)
        });
        match spawned {
            Ok(()) => self.starting = true,
            Err(e) => {
                self.emit(Event::Recovered(Vec::new()));
                let failed = Check {
                    kind: CheckKind::EngineStarted,
                    ok: false,
                    detail: format!("cannot start a thread ({e}): restart the station"),
                };
                self.started_up(vec![failed], None);
            }
        }
    }

    /// Runs `work` (it calls Graph) on a thread of its own, never on this loop; its answer
    /// comes back as a message. Counted in `live`: shutdown waits for it.
    fn spawn_work(
        &mut self,
        name: &str,
        work: impl FnOnce() -> Msg + Send + 'static,
    ) -> std::io::Result<()> {
        let back = self.tx.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _ = back.send(work());
            })?;
        self.live += 1;
        Ok(())
    }

    /// The start-up checks are in: the station's own checks join them, then the queue, and
    /// the commands held meanwhile run.
    fn started_up(&mut self, mut checks: Vec<Check>, policy: Option<graph::Fido2Policy>) {
        self.starting = false;
        // The kiosk's checks; headless commands warn on stderr instead.
        if *self.operators.auth() != OperatorAuth::Headless {
            let host = crate::station::host_checks::run(&self.shared.config, self.device.as_ref());
            checks.splice(0..0, host);
        }
        self.policy = policy;
        self.emit(Event::StartupChecks(checks));
        self.send_queue();
        self.send_history();
        // Nobody ran `prefetch` (or a delegated station starts fresh): fetch it live.
        if self.journal.queue_is_empty().unwrap_or(false) {
            self.refresh_queue();
        }
        for c in std::mem::take(&mut self.held) {
            self.command(c);
        }
    }

    /// Starts a live queue refresh from the scope group, unless one is running.
    fn refresh_queue(&mut self) {
        if self.refreshing_queue {
            return;
        }
        self.refresh_operator = self.shared.operator();
        let back = self.tx.clone();
        queue_refresh::spawn(
            Arc::clone(&self.shared),
            self.emitter.clone(),
            move |fetched| {
                let _ = back.send(Msg::QueueFetched(Box::new(fetched)));
            },
        );
        self.refreshing_queue = true;
    }

    /// Saves what the refresh fetched (leaving in-progress and enrolled people alone), then
    /// sends the queue and the outcome.
    fn queue_fetched(&mut self, fetched: queue_refresh::Fetched) {
        self.refreshing_queue = false;
        let protected = queue_refresh::protected(&self.journal, self.active.values().cloned());
        let summary = queue_refresh::save(
            &self.shared,
            &mut self.journal,
            fetched,
            protected,
            &self.refresh_operator,
            &crate::engine::prefetch::group_label(&self.shared.config.group),
        );
        if summary.error.is_none() {
            self.send_queue();
            self.send_history();
        }
        self.emit(Event::QueueRefreshed(summary));
    }

    /// A person's status as the queue shows it: in progress while a job is theirs, or while
    /// another station holds them; an unsettled enrollment of this station's that nobody is
    /// working on counts as failed (Retry settles it).
    fn shown(&self, mut person: Person) -> Person {
        if self.active.values().any(|u| *u == person.user_id) {
            person.status = PersonStatus::InProgress;
        } else if person.status == PersonStatus::InProgress && person.elsewhere.is_none() {
            person.status = PersonStatus::Failed;
        }
        person
    }

    fn send_queue(&self) {
        match super::queue_view::people(&self.journal) {
            Ok(people) => self.emit(Event::Queue(
                people.into_iter().map(|p| self.shown(p)).collect(),
            )),
            Err(e) => self.problem("journal", e.to_string(), Remedy::CheckJournal),
        }
    }

    /// `PersonChanged` for one person, as the journal and the running jobs have them now.
    fn person_changed(&self, user_id: &str) {
        match super::queue_view::person(&self.journal, user_id) {
            Ok(Some(p)) => self.emit(Event::PersonChanged(self.shown(p))),
            Ok(None) => {}
            Err(e) => self.problem("journal", e.to_string(), Remedy::CheckJournal),
        }
    }

    /// Other stations' work: the people they changed, or the whole queue when it changed.
    fn journal_changed(&self, changes: Vec<Change>) {
        if changes.contains(&Change::Queue) {
            self.send_queue();
            return;
        }
        for change in changes {
            if let Change::Person(user_id) = change {
                self.person_changed(&user_id);
            }
        }
    }

    /// The journal's enrollments for the history screen.
    fn send_history(&self) {
        match super::queue_view::history(&self.journal) {
            Ok(entries) => self.emit(Event::History(entries)),
            Err(e) => self.problem("journal", e.to_string(), Remedy::CheckJournal),
        }
    }

    fn run(&mut self, inbox: &Receiver<Msg>) {
        while let Ok(msg) = inbox.recv() {
            match msg {
                Msg::Cmd(Command::Shutdown) => {
                    if let Some(r) = &self.running {
                        r.cancel.cancel();
                        let _ = r.input.send(JobInput::Cancel);
                    }
                    // Let every job (background registrations too) record what it did.
                    while self.live > 0 {
                        match inbox.recv() {
                            Ok(m) if m.ends_work() => self.live -= 1,
                            Ok(_) => {}
                            Err(_) => break,
                        }
                    }
                    return;
                }
                Msg::Cmd(c) => self.command(c),
                Msg::Key(KeyEvent::Present(k)) => self.key_present(*k),
                Msg::Key(KeyEvent::Removed) => {
                    self.key = None;
                    self.refused = None;
                    // Put back, the key is judged afresh (as after RemoveSoftKey): the same
                    // key again to retry, or refused by the journal when it is not free.
                    self.last_identity = None;
                    self.emit(Event::KeyRemoved);
                }
                Msg::Released(id, identity) => self.release_device(id, identity),
                Msg::QueueFetched(fetched) => self.queue_fetched(*fetched),
                Msg::StartedUp(checks, policy) => {
                    self.live = self.live.saturating_sub(1);
                    self.started_up(checks, policy);
                }
                Msg::Settled(id, earlier) => {
                    self.live = self.live.saturating_sub(1);
                    self.settled(id, earlier);
                }
                Msg::OptionsRefreshed(user_id) => self.person_changed(&user_id),
                Msg::JournalChanged(changes) => self.journal_changed(changes),
                Msg::Membership(id, found) => {
                    if let Some((_, m)) = self.membership.as_mut().filter(|(j, _)| *j == id) {
                        *m = found;
                        self.try_start();
                    }
                }
                Msg::PasscodeChecked(attempt, ok) => {
                    let effects = self.operators.checked(attempt, ok, Instant::now());
                    self.operator_effects(effects);
                }
                Msg::JobDone(r) => {
                    self.live = self.live.saturating_sub(1);
                    let user = self.active.remove(&r.id);
                    self.release_device(r.id, r.identity);
                    if let Some(key) = r.in_use_key {
                        // Kept, as a refused key is: the operator may reset it and issue it.
                        self.refused = Some(*key);
                    }
                    tracing::debug!(job = r.id.0, "job done");
                    steps::purge_expired_pins(&self.shared.config, &mut self.journal);
                    // Only this job's person changed: the rest of the queue is not re-sent.
                    if let Some(user) = user {
                        self.person_changed(&user);
                    }
                    self.send_history();
                }
            }
        }
    }

    /// Factory-resets the inserted key (re-issue of a returned key) on a thread of its own;
    /// the key must have been plugged in within the last seconds and is touched.
    fn reset_key(&mut self) {
        if self.running.is_some() {
            self.problem(
                "busy",
                "a key is being enrolled".into(),
                Remedy::Text("wait until it is finished".into()),
            );
            return;
        }
        let Some(mut key) = self.key.take().or_else(|| self.refused.take()) else {
            self.problem(
                "no-key",
                "no key to reset: insert the returned key (a key just issued is not reset here)"
                    .into(),
                Remedy::ReinsertAndReset,
            );
            return;
        };
        if self.last_identity.as_deref() == Some(key.identity.as_str()) {
            self.last_identity = None;
        }
        let events = self.emitter.clone();
        let back = self.tx.clone();
        let operator = self.shared.operator();
        let shared = Arc::clone(&self.shared);
        let name = key
            .summary
            .serial
            .clone()
            .unwrap_or_else(|| key.summary.model.clone());
        let spawned = std::thread::Builder::new()
            .name("key-reset".into())
            .spawn(move || {
                let touch = |s: ctap::KeepaliveStatus| {
                    if s == ctap::KeepaliveStatus::UpNeeded {
                        events.emit(Event::ResetTouchNeeded);
                    }
                };
                let result = ctap::authenticator::Authenticator::new(&mut *key.channel)
                    .reset(&touch, &CancelToken::new());
                let text = match &result {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => e.to_string(),
                };
                match Journal::open_at(&shared.journal) {
                    Ok(mut j) => {
                        shared.audit(&j, &operator, "reset-key", Some(&name), &text, &[]);
                        // No PIN the journal holds for this key opens it any more.
                        if let (Ok(()), Some(serial)) = (&result, key.summary.serial.as_deref()) {
                            if let Err(e) = j.purge_pins_of_key(serial) {
                                tracing::warn!(error = %e, "purging the reset key's PINs");
                            }
                        }
                    }
                    Err(e) => events.emit(Event::Problem(super::audit::audit_failed(
                        "reset-key",
                        Some(&name),
                        &e,
                    ))),
                }
                match result {
                    Ok(()) => {
                        events.emit(Event::KeyReset);
                        // Back to the engine as the factory-fresh key it now is.
                        if let Ok(summary) = crate::keys::inspect(&key.desc, &mut *key.channel) {
                            key.summary = summary;
                            let _ = back.send(Msg::Key(KeyEvent::Present(Box::new(key))));
                        }
                    }
                    Err(e) => {
                        // Over NFC a refused reset is the card's rule, not a missed window.
                        let card_refused =
                            key.desc.is_pcsc() && matches!(e, ctap::Error::ResetNotAllowed);
                        let mut shown =
                            super::errors::operator_error(&super::errors::JobError::Ctap(e));
                        if card_refused {
                            shown.remedy = Remedy::ResetOverUsb;
                            shown.retry_possible = false;
                        }
                        events.emit(Event::Problem(shown));
                    }
                }
            });
        if let Err(e) = spawned {
            self.problem("thread", e.to_string(), Remedy::RestartStation);
        }
    }

    /// The job's key is free: the next person's key may start.
    fn release_device(&mut self, id: JobId, identity: String) {
        if self.running.as_ref().is_some_and(|r| r.id == id) {
            self.running = None;
            self.last_identity = Some(identity);
            self.busy.store(false, Ordering::SeqCst);
            self.try_start();
        }
    }

    fn command(&mut self, c: Command) {
        if self.starting
            && matches!(
                c,
                Command::Enroll { .. } | Command::Retry { .. } | Command::RefreshQueue
            )
        {
            // They would work on what the start-up recovery is settling.
            self.held.push(c);
            return;
        }
        match c {
            Command::RefreshQueue => self.refresh_queue(),
            Command::Enroll { user_id } => {
                let id = JobId(self.next_job);
                self.next_job += 1;
                self.enroll(id, &user_id);
            }
            Command::Retry { job } => {
                if let Some(user) = self.jobs.get(&job).cloned() {
                    self.enroll(job, &user);
                }
            }
            Command::ProvidePin { job, pin } => match &self.running {
                Some(r) if r.id == job => {
                    let _ = r.input.send(JobInput::Pin(pin));
                }
                _ => self.problem(
                    "no-such-job",
                    format!("job {} is not waiting for a PIN", job.0),
                    Remedy::Text("none".into()),
                ),
            },
            Command::Cancel { job } => {
                if let Some(r) = self.running.as_ref().filter(|r| r.id == job) {
                    r.cancel.cancel();
                    let _ = r.input.send(JobInput::Cancel);
                } else if self.waiting.as_ref().is_some_and(|(id, _, _)| *id == job) {
                    self.waiting = None;
                    self.job_operators.remove(&job);
                    if let Some(user) = self.active.remove(&job) {
                        self.person_changed(&user);
                    }
                    self.cancelled(job, "cancelled before a key was inserted".into());
                } else if let Some(s) = self.settling.get_mut(&job).filter(|s| !s.cancelled) {
                    // The settling goes on (it may be registering); nothing starts after it.
                    s.cancelled = true;
                    let message = format!(
                        "cancelled; the earlier enrollment of {} is still being settled (the history shows how it ends)",
                        s.user.upn
                    );
                    self.cancelled(job, message);
                }
            }
            Command::PrintLetter { job, language } => {
                let user_id = self.jobs.get(&job).map(String::as_str);
                let letter = print_letter::letter_of(&self.journal, &self.shared, job, user_id);
                print_letter::start(job, letter, &self.shared, &self.emitter, language);
            }
            Command::PinDelivered { job } => {
                self.forget_delivered_pin(job);
                self.shared.audit(
                    &self.journal,
                    &self.shared.operator(),
                    "pin-delivered",
                    self.jobs.get(&job).map(String::as_str),
                    "ok",
                    &[],
                );
            }
            // A station with real keys takes no software key, whoever asks.
            Command::InsertSoftKey | Command::RemoveSoftKey | Command::TapSoftCard
                if !self.demo =>
            {
                tracing::warn!("software key command ignored: the station is not a demo");
            }
            Command::InsertSoftKey => match key_source::soft_key() {
                Ok(k) => self.key_present(k),
                Err(e) => self.problem(
                    "soft-key",
                    format!("{e:#}"),
                    Remedy::Text("restart the demo".into()),
                ),
            },
            Command::TapSoftCard => {
                let tapped = match &self.demo_reader {
                    Some(vpcd) => key_source::soft_card(vpcd),
                    None => Err(anyhow::anyhow!(
                        "this demo has no card reader (demo --vpcd)"
                    )),
                };
                match tapped {
                    // The watcher sees it arrive through pcscd, as any card.
                    Ok(card) => self.soft_card = Some(card),
                    Err(e) => self.problem(
                        "soft-card",
                        format!("{e:#}"),
                        Remedy::Text("restart the demo".into()),
                    ),
                }
            }
            Command::RemoveSoftKey => {
                // A card leaves the reader: the watcher reports it gone.
                if self.soft_card.take().is_none() {
                    self.key = None;
                    self.last_identity = None;
                    self.emit(Event::KeyRemoved);
                }
            }
            Command::ResetKey => self.reset_key(),
            c @ (Command::OperatorSignedIn { .. }
            | Command::SignIn { .. }
            | Command::Unlock { .. }
            | Command::Lock
            | Command::SignOut
            | Command::Exit) => {
                let effects = self.operators.command(c, Instant::now());
                self.operator_effects(effects);
            }
            Command::Shutdown => {}
            // Delegated sign-in is run by the kiosk's sign-in runner, never by the engine.
            Command::StartDelegatedSignIn | Command::CancelDelegatedSignIn => {}
        }
    }

    fn cancelled(&self, job: JobId, message: String) {
        self.emit(Event::Failed {
            job,
            error: OperatorError {
                code: "cancelled".into(),
                message,
                remedy: Remedy::StartAgain,
                request_id: None,
                retry_possible: true,
            },
        });
    }

    /// The person has their random PIN: the journal forgets it (unless `keepPinsInJournal`).
    fn forget_delivered_pin(&mut self, job: JobId) {
        if self.shared.config.keep_pins_in_journal {
            return;
        }
        let Some(user_id) = self.jobs.get(&job) else {
            return;
        };
        let delivered = self.journal.enrollments_of(user_id).map(|es| {
            es.into_iter()
                .rev()
                .find(|e| e.state == EnrollmentState::Recorded && e.pin.is_some())
        });
        let purged = match delivered {
            Ok(Some(e)) => self.journal.purge_pin(e.id),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = purged {
            self.problem(
                "journal",
                format!("the handed-over PIN could not be removed from the journal: {e}"),
                Remedy::CheckJournal,
            );
        }
    }

    /// Runs the operator service's effects: audit entries in the journal, passcode checks on a
    /// worker thread (never on this loop), the audit operator, events.
    fn operator_effects(&mut self, effects: Vec<operator_auth::Effect>) {
        let mut station = EngineStation {
            journal: &self.journal,
            shared: &self.shared,
            emitter: &self.emitter,
            tx: &self.tx,
            default_operator: &self.default_operator,
        };
        operator_auth::apply(effects, &mut station);
    }

    fn enroll(&mut self, id: JobId, user_id: &str) {
        if self.waiting.is_some() {
            self.problem(
                "busy",
                "another person is already waiting for a key".into(),
                Remedy::Text("cancel that first".into()),
            );
            return;
        }
        if let Some(s) = self
            .settling
            .values()
            .find(|s| !s.cancelled || s.user.user_id == user_id)
        {
            let message = format!(
                "an earlier enrollment of {} is being settled with Microsoft Graph",
                s.user.upn
            );
            self.problem(
                "busy",
                message,
                Remedy::Text("wait until it is settled".into()),
            );
            return;
        }
        let user = match self.journal.queued_user(user_id) {
            Ok(Some(u)) => u,
            Ok(None) => {
                self.emit(Event::Failed {
                    job: id,
                    error: OperatorError {
                        code: "unknown-user".into(),
                        message: format!("{user_id} is not in the queue"),
                        remedy: Remedy::RefreshQueue,
                        request_id: None,
                        retry_possible: false,
                    },
                });
                return;
            }
            Err(e) => {
                self.problem("journal", e.to_string(), Remedy::CheckJournal);
                return;
            }
        };
        self.jobs.insert(id, user.user_id.clone());
        // Captured now: background steps of this job name whoever started it.
        let operator = self.shared.operator();
        self.job_operators.insert(id, operator.clone());
        let open = self
            .journal
            .enrollments_of(&user.user_id)
            .is_ok_and(|es| es.iter().any(|e| !e.state.is_terminal()));
        if open {
            self.settle_earlier(id, operator, user);
        } else {
            self.wait_for_key(id, user);
        }
    }

    /// The job's person waits for a key (fresh options fetched meanwhile).
    fn wait_for_key(&mut self, id: JobId, user: QueuedUser) {
        self.emit(Event::Progress {
            job: id,
            user_id: user.user_id.clone(),
            step: Step::WaitingForKey,
        });
        self.active.insert(id, user.user_id.clone());
        self.person_changed(&user.user_id);
        self.prefetch_ahead(&user);
        // Fetched while the operator inserts the key.
        let fresh = start_fresh(&self.shared, &user);
        let back = self.tx.clone();
        let asked = policy_check::ask_membership(
            &self.shared,
            self.policy.as_ref(),
            &user.user_id,
            move |m| {
                let _ = back.send(Msg::Membership(id, m));
            },
        );
        self.membership = asked.then_some((id, policy_check::Membership::Pending));
        self.waiting = Some((id, user, fresh));
        self.try_start();
    }

    /// An earlier enrollment of this person left open (e.g. Graph unreachable after the POST)
    /// is settled first, on a thread of its own: never a second passkey while the first may
    /// be registered. The job goes on in `settled`.
    fn settle_earlier(&mut self, id: JobId, operator: String, user: QueuedUser) {
        let shared = Arc::clone(&self.shared);
        let user_id = user.user_id.clone();
        let spawned = self.spawn_work("settle", move || {
            Msg::Settled(id, recovery::settle_earlier(&shared, &operator, &user_id))
        });
        match spawned {
            Ok(()) => {
                self.active.insert(id, user.user_id.clone());
                self.person_changed(&user.user_id);
                self.settling.insert(
                    id,
                    Settling {
                        user,
                        cancelled: false,
                    },
                );
            }
            Err(e) => {
                self.job_operators.remove(&id);
                self.problem("thread", e.to_string(), Remedy::RestartStation);
            }
        }
    }

    /// The person's earlier attempt is settled: reported through this job's Finished/Failed,
    /// not as Event::Recovered (that event is the start-up recovery screen and would pull the
    /// operator away mid-wizard); then the person waits for a key unless that is not allowed.
    fn settled(&mut self, id: JobId, earlier: Earlier) {
        let Some(Settling { user, cancelled }) = self.settling.remove(&id) else {
            return;
        };
        self.active.remove(&id);
        let may_start = match earlier {
            // Even when cancelled: the random PIN must still reach the person.
            Earlier::Issued(issued) => {
                self.emit(Event::Finished { job: id, issued });
                false
            }
            Earlier::Unsettled(why) => {
                if !cancelled {
                    self.emit(Event::Failed {
                        job: id,
                        error: OperatorError {
                            code: "recovery-pending".into(),
                            message: format!(
                                "an earlier enrollment of {} is unsettled: {why}",
                                user.upn
                            ),
                            remedy: Remedy::RetryLater,
                            request_id: None,
                            retry_possible: true,
                        },
                    });
                }
                false
            }
            Earlier::Settled => !cancelled,
        };
        self.person_changed(&user.user_id);
        self.send_history();
        if may_start {
            self.wait_for_key(id, user);
        } else {
            self.job_operators.remove(&id);
        }
    }

    fn key_present(&mut self, key: PresentKey) {
        if self.last_identity.as_deref() == Some(key.identity.as_str()) {
            // The key just issued (or tried) is still in: "remove the key".
            self.key = None;
            return;
        }
        self.emit(Event::KeyInserted(key.summary.clone()));
        self.key = Some(key);
        self.try_start();
    }

    /// Starts the waiting person's job when a new key is in and no job holds the device.
    fn try_start(&mut self) {
        if self.running.is_some() || self.waiting.is_none() {
            return;
        }
        let Some(key) = self.key.take() else {
            return;
        };
        if self.last_identity.as_deref() == Some(key.identity.as_str()) {
            return;
        }
        if matches!(
            self.membership,
            Some((_, policy_check::Membership::Pending))
        ) {
            // Judged once the person's groups are known (`Msg::Membership`).
            self.key = Some(key);
            return;
        }
        if let Some(why) = self.refusal(&key) {
            self.last_identity = Some(key.identity.clone());
            let name = key.summary.serial.as_deref().map_or_else(
                || key.summary.model.clone(),
                |s| format!("{} serial {s}", key.summary.model),
            );
            let operator = self
                .waiting
                .as_ref()
                .and_then(|(id, _, _)| self.job_operators.get(id).cloned())
                .unwrap_or_else(|| self.shared.operator());
            self.shared.audit(
                &self.journal,
                &operator,
                "refuse-key",
                Some(&name),
                &why,
                &[],
            );
            self.emit(Event::Problem(OperatorError {
                code: "key-refused".into(),
                message: format!("key {name} ({}) refused: {why}", key.desc.address),
                remedy: Remedy::UseAnotherKey,
                request_id: None,
                retry_possible: false,
            }));
            // Kept: the operator may reset it (a returned key) and issue it then.
            self.refused = Some(key);
            return;
        }
        let Some((id, user, fresh)) = self.waiting.take() else {
            return;
        };
        self.start_job(id, user, key, fresh);
    }

    /// Why this key may not be issued: the built-in test key outside the demo (unless
    /// `allowTestKeys`), unsuitable model, already issued by this station,
    /// or not allowed by the tenant's FIDO2 key restrictions. Checked before anything is
    /// written to the key.
    fn refusal(&self, key: &PresentKey) -> Option<String> {
        if key.summary.is_test_key() && !self.demo && !self.shared.config.allow_test_keys {
            return Some(crate::keys::TEST_KEY_REFUSAL.into());
        }
        if let Some(why) = key.summary.refusal() {
            return Some(why);
        }
        // A returned key that was factory-reset (no PIN) may be issued again.
        let reset = key.summary.pin == crate::keys::PinState::NotSet;
        if let Some(serial) = key.summary.serial.as_ref().filter(|_| !reset) {
            // Issued, or its enrollment not settled yet (Graph may hold its passkey).
            if let Ok(Some(e)) = self.journal.unfailed_of_key(serial) {
                return Some(if e.state == EnrollmentState::Recorded {
                    format!(
                        "this key was already issued to {} (method {}); reset it to issue it again",
                        e.upn,
                        e.method_id.as_deref().unwrap_or("?")
                    )
                } else {
                    format!(
                        "this key's enrollment of {} is not finished ({}); settle it first (Retry for {})",
                        e.upn,
                        e.state.as_str(),
                        e.upn
                    )
                });
            }
        }
        let waiting = self.waiting.as_ref().map(|(id, _, _)| *id);
        self.verdict(key, waiting).and_then(|v| v.refusal)
    }

    /// What the tenant's FIDO2 policy (when read) says of this key for job `job`'s person.
    fn verdict(&self, key: &PresentKey, job: Option<JobId>) -> Option<graph::KeyVerdict> {
        let membership = self
            .membership
            .as_ref()
            .filter(|(id, _)| Some(*id) == job)
            .map(|(_, m)| m);
        self.policy
            .as_ref()
            .map(|p| policy_check::key_verdict(p, &key.summary.aaguid, membership))
    }

    fn start_job(
        &mut self,
        id: JobId,
        user: QueuedUser,
        key: PresentKey,
        fresh: Option<FreshOptions>,
    ) {
        self.busy.store(true, Ordering::SeqCst);
        let attestation_required = self
            .verdict(&key, Some(id))
            .is_some_and(|v| v.attestation_required);
        self.membership = None;
        let (input_tx, input) = mpsc::channel();
        let cancel = CancelToken::new();
        let operator = self
            .job_operators
            .remove(&id)
            .unwrap_or_else(|| self.shared.operator());
        let job = Job {
            id,
            user,
            key,
            shared: Arc::clone(&self.shared),
            operator,
            events: self.emitter.clone(),
            input,
            cancel: cancel.clone(),
            fresh,
            release: None,
            attestation_required,
        };
        let released = self.tx.clone();
        let identity = job.key.identity.clone();
        let job = Job {
            release: Some(Box::new(move || {
                let _ = released.send(Msg::Released(id, identity));
            })),
            ..job
        };
        let done = self.tx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("job-{}", id.0))
            .spawn(move || {
                let result = job.run();
                let _ = done.send(Msg::JobDone(result));
            });
        match spawned {
            Ok(_) => {
                self.live += 1;
                self.running = Some(Running {
                    id,
                    input: input_tx,
                    cancel,
                })
            }
            Err(e) => {
                self.busy.store(false, Ordering::SeqCst);
                if let Some(user) = self.active.remove(&id) {
                    self.person_changed(&user);
                }
                self.problem("thread", e.to_string(), Remedy::RestartStation);
            }
        }
    }

    /// Refreshes, in the background, the options of the next people in the queue whose
    /// challenge would expire within the margin, so their keys never wait for Graph.
    fn prefetch_ahead(&self, current: &QueuedUser) {
        let Ok(ahead) = self.journal.next_unrecorded_after(current, PREFETCH_AHEAD) else {
            return;
        };
        let api = self.shared.graph.api_version();
        let next = ahead.into_iter().filter(|q| {
            // v1.0 challenges are fetched in the job itself (five minutes is too short
            // to keep ahead of the desk).
            api == graph::ApiVersion::Beta && options::needs_fresh(q, api, options::EXPIRY_MARGIN)
        });
        for q in next {
            {
                let mut set = self.refreshing.lock().unwrap_or_else(|p| p.into_inner());
                if !set.insert(q.user_id.clone()) {
                    continue;
                }
            }
            let shared = Arc::clone(&self.shared);
            let refreshing = Arc::clone(&self.refreshing);
            let back = self.tx.clone();
            self.shared.rt.spawn(async move {
                let result = options::refresh(
                    &shared.graph,
                    &q,
                    shared.config.challenge_timeout_minutes,
                )
                .await;
                match result {
                    Ok(fresh) => {
                        let location = shared.journal.clone();
                        let saved = tokio::task::spawn_blocking(move || {
                            Journal::open_at(&location).and_then(|mut j| j.upsert_queue(&[fresh]))
                        })
                        .await;
                        match saved {
                            Ok(Ok(())) => {
                                let _ = back.send(Msg::OptionsRefreshed(q.user_id.clone()));
                            }
                            Ok(Err(e)) => tracing::warn!(error = %e, "saving refreshed options"),
                            Err(_) => {}
                        }
                    }
                    Err(e) => tracing::warn!(upn = %q.upn, error = %e, "background options refresh failed"),
                }
                refreshing
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&q.user_id);
            });
        }
    }
}

/// The engine's side of the operator service's effects.
struct EngineStation<'a> {
    journal: &'a Journal,
    shared: &'a Shared,
    emitter: &'a Emitter,
    tx: &'a Sender<Msg>,
    default_operator: &'a str,
}

impl Station for EngineStation<'_> {
    fn journal(&self) -> &Journal {
        self.journal
    }

    fn default_operator(&self) -> &str {
        self.default_operator
    }

    fn set_operator(&mut self, operator: Option<String>) {
        let mut o = self
            .shared
            .operator
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *o = operator.unwrap_or_else(|| self.default_operator.to_owned());
    }

    fn emit(&mut self, event: Event) {
        self.emitter.emit(event);
    }

    fn check(&mut self, check: PasscodeCheck) {
        let back = self.tx.clone();
        let attempt = check.attempt.clone();
        let spawned = std::thread::Builder::new()
            .name("passcode-check".into())
            .spawn(move || {
                let ok = check.run();
                let _ = back.send(Msg::PasscodeChecked(check.attempt, ok));
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the passcode check");
            // Answered as a failure: the attempt is not left hanging.
            let _ = self.tx.send(Msg::PasscodeChecked(attempt, false));
        }
    }
}
