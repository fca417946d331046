//! `passkey-kiosk enroll`: the proof of concept's step 2, headless. For each person in the
//! journal's queue (or the given usersToRegister.csv) it waits for a new key and runs the
//! engine's workflow; one line per key, a summary, exit status 1 when anyone failed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

use super::sign_in::{self, sign_in_if_delegated, TerminalSignIn};
use super::{pin_input, DeviceArg};
use crate::config::{Config, PinDelivery};
use crate::engine::api::{
    CheckKind, Command, Event, Issued, JobId, OperatorError, Pin, PinRequest, Remedy, Step,
    Unfinished,
};
use crate::engine::audit::AUDIT_FAILED;
use crate::engine::errors::HELD_ELSEWHERE;
use crate::engine::job::key_needed_after_registration;
use crate::engine::registration_check::REGISTRATION_MISMATCH;
use crate::engine::steps::PIN_LETTER_FAILED;
use crate::engine::{options, Engine, EngineHandle, EngineSetup, KeySource};
use crate::keys::KeySummary;
use crate::report::users_to_register;
use crate::store::{EnrollmentState, Journal, QueuedUser};

/// `enroll` options.
#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// The configs.json to use.
    #[arg(long, default_value = "configs.json")]
    pub config: PathBuf,
    /// A usersToRegister.csv (proof-of-concept format) to enroll instead of the whole queue.
    #[arg(long = "in")]
    pub input: Option<PathBuf>,
    /// keysRegistered.csv to append to (created 0600).
    #[arg(long, default_value = "keysRegistered.csv")]
    pub out: PathBuf,
    /// Only this person (UPN or object id).
    #[arg(long)]
    pub user: Option<String>,
    /// Stop after this many people (each station of a shared journal takes the next people
    /// nobody holds).
    #[arg(long)]
    pub limit: Option<usize>,
    /// This station's name.
    #[command(flatten)]
    pub station: super::StationArg,
    /// Try again people whose last enrollment failed.
    #[arg(long)]
    pub retry_failed: bool,
    /// Confirm deleting people's older FIDO2 keys (deleteExistingUserFIDOCredentials).
    #[arg(long)]
    pub yes: bool,
    /// Operator name for the audit log (default: operatorName in the config, else the OS user).
    /// With "operatorSignIn": "delegated" the account that signs in is named instead.
    #[arg(long)]
    pub operator: Option<String>,
    /// Write each person's random PIN into a PDF letter in this folder (created 0700, each
    /// letter 0600) instead of keysRegistered.csv; the same as "pinDelivery": "letter", whose
    /// letters go to the folder `letters` beside the journal.
    #[arg(long, value_name = "DIR")]
    pub pin_letters: Option<PathBuf>,
    /// The language of the PIN letters: en or de (default: "language" in the config).
    #[arg(long, value_name = "LANG")]
    pub letter_language: Option<String>,
    /// Which key(s) to use.
    #[command(flatten)]
    pub device: DeviceArg,
}

/// Runs `enroll`.
pub fn run(args: &EnrollArgs) -> Result<ExitCode> {
    let mut config = Config::load(&args.config)?;
    args.station.apply(&mut config);
    pin_letters(args, &mut config)?;
    super::warn_loose_files(&config);
    for key in &config.unknown_keys {
        eprintln!("warning: {}: {key}", args.config.display());
    }
    if config.delete_existing_credentials && !args.yes {
        bail!(
            "deleteExistingUserFIDOCredentials is true: each person's older FIDO2 keys are deleted once the new key is registered; pass --yes to confirm"
        );
    }
    let graph = crate::tenant::connect(&config)?;
    // Delegated config: the operator signs in first (code on stderr); nothing is written
    // until they have. Kept for the whole run: the client's pooled connections may live on it.
    let sign_in_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("operator-sign-in")
        .enable_all()
        .build()
        .context("starting the sign-in runtime")?;
    let signed_in = match sign_in_if_delegated(&graph, &sign_in_runtime, "enroll")? {
        TerminalSignIn::NotNeeded => None,
        TerminalSignIn::SignedIn(account) => Some(account.username),
        TerminalSignIn::Failed => return Ok(sign_in::failed_exit_code()),
        TerminalSignIn::Cancelled => return Ok(sign_in::cancelled_exit_code()),
    };
    let mut failures: Vec<String> = Vec::new();
    let mut order: Option<Vec<String>> = None;
    if let Some(csv) = &args.input {
        order = Some(import_csv(&config, &graph, csv, &mut failures)?);
    }
    let operator = match signed_in {
        // Audit entries name the account whose rights Graph was called with.
        Some(upn) => {
            if let Some(other) = args.operator.as_ref().filter(|o| **o != upn) {
                eprintln!(
                    "warning: --operator {other:?} is ignored: with delegated sign-in the audit \
                     log names the signed-in account, {upn}"
                );
            }
            upn
        }
        None => super::cli_operator(args.operator.as_deref(), &config),
    };
    let location = crate::store::JournalLocation::from_config(&config)?;
    let rules = config.clone();
    let engine = Engine::start(EngineSetup {
        config,
        graph,
        journal: location.clone(),
        keys_registered: args.out.clone(),
        operator,
        key_source: KeySource::Device(args.device.device.clone()),
        wake: Arc::new(|| {}),
        operator_auth: crate::station::OperatorAuth::Headless,
    })?;
    // A failed audit write fails the run (after its work is done), with the reason.
    let letters = (rules.pin_delivery() == PinDelivery::Letter).then(|| rules.letters_dir.clone());
    let (audit_failures, key) = start_up(&engine, rules.pins_in_csv())?;
    failures.extend(audit_failures);

    let mut journal = Journal::open_at(&location)?;
    // One person is looked up alone: the whole queue is read only to enroll all of it.
    let queue = match (&args.user, &order) {
        (Some(only), None) => journal.queued_user(only)?.into_iter().collect(),
        _ => journal.queue()?,
    };
    let mut people: Vec<QueuedUser> = match &order {
        Some(upns) => upns
            .iter()
            .filter_map(|u| {
                queue
                    .iter()
                    .find(|q| q.upn.eq_ignore_ascii_case(u))
                    .cloned()
            })
            .collect(),
        None => queue,
    };
    if let Some(only) = &args.user {
        people.retain(|q| q.user_id == *only || q.upn.eq_ignore_ascii_case(only));
        if people.is_empty() {
            bail!("{only} is not in the queue: run prefetch, or give the CSV with --in");
        }
    }
    if people.is_empty() && failures.is_empty() {
        println!("nobody to enroll: the queue is empty (run `passkey-kiosk prefetch` first)");
        return Ok(ExitCode::SUCCESS);
    }

    let mut tally = Tally {
        enrolled: 0,
        failures,
        background: HashMap::new(),
        held: 0,
        skip_held: args.user.is_none(),
        stopped: false,
        pins_in_csv: rules.pins_in_csv(),
        letters,
        key,
    };
    let mut skipped = 0usize;
    let mut started = 0usize;
    let total = people.len();
    // Nobody named: each next person is reserved in the journal as they are taken, so
    // stations sharing it pass each other's people by instead of starting them twice.
    let next_free = args.user.is_none() && order.is_none();
    if next_free {
        let stale = journal.release_reservations()?;
        if stale > 0 {
            println!("gave back {stale} reservation(s) a stopped run of this station left");
        }
    }
    let mut reserved: Option<QueuedUser> = None;
    let mut next = 0usize;
    loop {
        let i = next;
        next += 1;
        if args.limit.is_some_and(|limit| started >= limit) {
            println!("stopped after {started} (--limit)");
            break;
        }
        let person = if next_free {
            match journal.reserve_next(reserved.as_ref())? {
                Some(p) => reserved.insert(p).clone(),
                None => break,
            }
        } else {
            match people.get(i) {
                Some(p) => p.clone(),
                None => break,
            }
        };
        let person = &person;
        'person: {
            // Another station's claim: asked for by name, the run fails saying where the
            // person is; taken from a CSV's order, they are skipped. A reserved person is
            // held by nobody else: no need to ask.
            let holder = if next_free {
                None
            } else {
                journal.holder(&person.user_id)?
            };
            if let Some(station) = holder {
                let why = crate::store::StoreError::Claimed {
                    upn: person.upn.clone(),
                    station,
                };
                if args.user.is_some() {
                    println!("[{}/{total}] ✗ {why}", i + 1);
                    tally.failures.push(why.to_string());
                } else {
                    println!(
                        "[{}/{total}] {}: held by another station, skipped ({why})",
                        i + 1,
                        person.upn
                    );
                    tally.held += 1;
                }
                break 'person;
            }
            let history = journal.enrollments_of(&person.user_id)?;
            if history.iter().any(|e| e.state == EnrollmentState::Recorded) {
                println!(
                    "[{}/{total}] {}: already enrolled, skipped",
                    i + 1,
                    person.upn
                );
                skipped += 1;
                break 'person;
            }
            if let Some(last) = history
                .last()
                .filter(|e| e.state == EnrollmentState::Failed)
            {
                if !args.retry_failed {
                    let why = last.last_error.as_deref().unwrap_or("failed");
                    println!(
                        "[{}/{total}] {}: failed before ({why}); not retried without --retry-failed",
                        i + 1,
                        person.upn
                    );
                    tally.failures.push(format!("{}: {why}", person.upn));
                    break 'person;
                }
            }
            println!(
                "[{}/{total}] insert a new key for {} ({})",
                i + 1,
                person.display_name,
                person.upn
            );
            started += 1;
            enroll_one(&engine, person, &rules, &mut tally);
        }
        if next_free {
            journal.release_reservation(&person.user_id)?;
        }
        if tally.stopped {
            println!("stopped: the remaining people are not tried");
            break;
        }
    }
    // Registrations still running in the background.
    while !tally.background.is_empty() {
        match engine.recv() {
            Some(event) => {
                if !tally.settle(&event) {
                    if let Event::Problem(e) = event {
                        tally.problem(&e);
                    }
                }
            }
            None => break,
        }
    }
    drop(engine);
    let failures = tally.failures;
    println!(
        "summary: {} enrolled, {skipped} already enrolled, {} failed",
        tally.enrolled,
        failures.len()
    );
    if tally.held > 0 {
        println!(
            "  {} held by other stations (being enrolled there)",
            tally.held
        );
    }
    for f in &failures {
        println!("  failed: {f}");
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--pin-letters DIR` and `--letter-language`: letters instead of the CSV's PIN column.
fn pin_letters(args: &EnrollArgs, config: &mut Config) -> Result<()> {
    if let Some(code) = &args.letter_language {
        config.language = crate::i18n::Language::from_code(code).ok_or_else(|| {
            anyhow::anyhow!(
                "--letter-language {code:?}: use one of {}",
                crate::i18n::Language::supported()
            )
        })?;
    }
    if let Some(dir) = &args.pin_letters {
        if config.pins_in_keys_registered_csv == Some(true) {
            bail!(
                "--pin-letters puts each PIN only in its letter, but {} says \
                 \"pinsInKeysRegisteredCsv\": true: remove that key, or leave out --pin-letters",
                args.config.display()
            );
        }
        config.pin_delivery = Some(PinDelivery::Letter);
        config.letters_dir.clone_from(dir);
    }
    if config.pin_delivery() == PinDelivery::Letter {
        if !config.use_random_pin {
            eprintln!(
                "warning: useRandomPIN is false: no PIN letters are written (the PIN is typed, \
                 so its person already knows it)"
            );
        }
        println!("PIN letters go to {}", config.letters_dir.display());
    }
    Ok(())
}

/// Results so far, and the registrations finishing in the background (job -> UPN).
struct Tally {
    enrolled: usize,
    failures: Vec<String>,
    background: HashMap<JobId, String>,
    /// People another station held or enrolled, skipped.
    held: usize,
    /// Whether people held elsewhere are skipped (the next person nobody holds is taken);
    /// else, asked for by name, they are failures.
    skip_held: bool,
    /// The station cannot go on (the test key refused): the rest of the queue is not tried.
    stopped: bool,
    /// `pinsInKeysRegisteredCsv`: else a random PIN is shown here, its only delivery.
    pins_in_csv: bool,
    /// The folder of PIN letters, when they are the delivery.
    letters: Option<PathBuf>,
    /// The key in the reader as the engine last reported it: it may have been inserted before
    /// this person's turn, even while the engine was starting.
    key: Option<KeySummary>,
}

impl Tally {
    fn done(&mut self, line: String) {
        println!("  ✓ {line}");
        self.enrolled += 1;
    }

    /// Prints a problem; a failed audit write counts as a failure of the run.
    fn problem(&mut self, e: &OperatorError) {
        println!("  ! {}", describe(e));
        if let Some(f) = audit_failure(e) {
            self.failures.push(f);
        }
    }

    fn failed(&mut self, upn: &str, e: &OperatorError) {
        // Another station took the person between the look-up and this station's claim.
        if self.skip_held && e.code == HELD_ELSEWHERE {
            println!("  - {upn}: {}; skipped", e.message);
            self.held += 1;
            return;
        }
        println!("  ✗ {upn}: {}", describe(e));
        self.failures.push(format!("{upn}: {}", describe(e)));
    }

    /// Prints the end of a background registration; false if `event` is not one.
    fn settle(&mut self, event: &Event) -> bool {
        match event {
            Event::Finished { job, issued } => match self.background.remove(job) {
                Some(_) => {
                    self.done(issued_line(
                        issued,
                        self.pins_in_csv,
                        self.letters.as_deref(),
                    ));
                    true
                }
                None => false,
            },
            Event::Failed { job, error } => match self.background.remove(job) {
                Some(upn) => {
                    self.failed(&upn, error);
                    true
                }
                None => false,
            },
            _ => false,
        }
    }
}

fn issued_line(issued: &Issued, pins_in_csv: bool, letters: Option<&Path>) -> String {
    let pin = match &issued.pin {
        Some(_) if letters.is_some() => {
            match letter_of(letters, &issued.upn, issued.serial.as_deref()) {
                Some(path) => format!("  PIN letter {}", path.display()),
                None => "  random PIN in the CSV (no letter: see above)".to_owned(),
            }
        }
        Some(_) if pins_in_csv => "  random PIN in the CSV".to_owned(),
        // Not in the CSV (pinsInKeysRegisteredCsv false): the operator's only copy.
        Some(p) => format!("  random PIN {} (hand it over; it is not kept)", p.expose()),
        None => String::new(),
    };
    format!(
        "{}  method {}  serial {}{pin}",
        issued.upn,
        issued.method_id,
        issued.serial.as_deref().unwrap_or("-")
    )
}

/// The PIN letter written for this person and key, if there is one.
fn letter_of(letters: Option<&Path>, upn: &str, serial: Option<&str>) -> Option<PathBuf> {
    let path = letters?.join(crate::letters::file_name(upn, serial));
    path.is_file().then_some(path)
}

fn describe(e: &OperatorError) -> String {
    let rid = e
        .request_id
        .as_deref()
        .map(|r| format!(" (request-id {r})"))
        .unwrap_or_default();
    format!("{} — {}{rid}", e.message, e.remedy.cli())
}

/// A recovered enrollment's next step, in the command line's words.
fn to_finish(u: &Unfinished) -> String {
    u.remedy
        .as_ref()
        .map(|r| format!(" To finish: {}", r.cli()))
        .unwrap_or_default()
}

/// A failed audit write, or a registration that differs from its key, as a failure of the run.
fn audit_failure(e: &OperatorError) -> Option<String> {
    (e.code == AUDIT_FAILED || e.code == REGISTRATION_MISMATCH || e.code == PIN_LETTER_FAILED)
        .then(|| describe(e))
}

/// Prints what recovery did and the start-up checks; a failed sign-in stops the run. A
/// recovered random PIN is shown unless the CSV is where its person gets it. Returns the audit
/// writes that failed meanwhile and the key inserted meanwhile.
pub(super) fn start_up(
    engine: &EngineHandle,
    pins_in_csv: bool,
) -> Result<(Vec<String>, Option<KeySummary>)> {
    let mut audit_failures = Vec::new();
    let mut key = None;
    loop {
        match engine.recv() {
            Some(Event::Recovered(list)) => {
                for u in list {
                    println!(
                        "recovered: {} (interrupted at {}): {}{}",
                        u.upn,
                        u.state,
                        u.resolution,
                        to_finish(&u)
                    );
                    if let (false, Some(pin)) = (pins_in_csv, &u.pin) {
                        println!(
                            "  random PIN of {}: {} (not in the CSV: hand it over)",
                            u.upn,
                            pin.expose()
                        );
                    }
                }
            }
            Some(Event::StartupChecks(checks)) => {
                for c in &checks {
                    let mark = if c.ok { "ok" } else { "WARNING" };
                    println!("check: {}: {mark}: {}", c.name(), c.detail);
                }
                if let Some(c) = checks.iter().find(|c| c.kind == CheckKind::SignIn && !c.ok) {
                    bail!("cannot sign in to Entra ID: {}", c.detail);
                }
                return Ok((audit_failures, key));
            }
            Some(Event::KeyInserted(k)) => key = Some(k),
            Some(Event::KeyRemoved) => key = None,
            Some(Event::Problem(e)) => {
                eprintln!("  ! {}", describe(&e));
                audit_failures.extend(audit_failure(&e));
            }
            Some(_) => {}
            None => bail!("the engine stopped during start-up"),
        }
    }
}

/// Drives one person's job until it ends, or until its key is released with the
/// registration going on in the background (then the result comes later, via `tally`).
fn enroll_one(engine: &EngineHandle, person: &QueuedUser, rules: &Config, tally: &mut Tally) {
    engine.send(Command::Enroll {
        user_id: person.user_id.clone(),
    });
    let mut job = None;
    loop {
        let Some(event) = engine.recv() else {
            tally.failed(
                &person.upn,
                &OperatorError {
                    code: "engine".into(),
                    message: "the engine stopped".into(),
                    remedy: Remedy::Text("see the messages above".into()),
                    request_id: None,
                    retry_possible: true,
                },
            );
            return;
        };
        if tally.settle(&event) {
            continue;
        }
        match event {
            Event::Progress {
                job: j,
                user_id,
                step,
            } if user_id == person.user_id => {
                job = Some(j);
                match step {
                    Step::RefreshingChallenge => println!("  fetching a fresh challenge"),
                    Step::Registering => {
                        if tally
                            .key
                            .as_ref()
                            .is_some_and(|k| !key_needed_after_registration(rules, k))
                        {
                            println!("  remove the key; registering in Entra ID in the background");
                            tally.background.insert(j, person.upn.clone());
                            return;
                        }
                        println!("  registering in Entra ID");
                    }
                    Step::Hardening => println!("  applying the PIN policy"),
                    Step::RemovingOldKeys => println!("  removing older keys"),
                    _ => {}
                }
            }
            Event::KeyInserted(k) => {
                println!(
                    "  key: {} serial {} AAGUID {}",
                    k.model,
                    k.serial.as_deref().unwrap_or("(none)"),
                    k.aaguid
                );
                tally.key = Some(k);
            }
            Event::KeyRemoved => tally.key = None,
            Event::TouchNeeded { .. } => println!("  touch the key"),
            Event::Recovered(list) => {
                for u in list {
                    println!(
                        "  recovered: {} (interrupted at {}): {}{}",
                        u.upn,
                        u.state,
                        u.resolution,
                        to_finish(&u)
                    );
                }
            }
            Event::PinNeeded { job: j, request } => {
                let pin = match request {
                    PinRequest::Current {
                        retries_left,
                        after_wrong,
                    } => {
                        let left =
                            retries_left.map_or(String::new(), |n| format!(": {n} attempts left"));
                        if after_wrong && pin_input::current_pin_is_preset() {
                            // The same preset PIN again would only cost another attempt.
                            println!(
                                "  ! wrong PIN{left}: the key refused {}; it is not tried again",
                                pin_input::PIN_ENV
                            );
                            engine.send(Command::Cancel { job: j });
                            continue;
                        }
                        let wrong = if after_wrong { "Wrong PIN. " } else { "" };
                        let prompt = format!("{wrong}Current PIN of the key{left}: ");
                        pin_input::current_pin(&prompt)
                    }
                    PinRequest::New { .. } => pin_input::new_pin(),
                };
                match pin {
                    Ok(p) => engine.send(Command::ProvidePin {
                        job: j,
                        pin: Pin::new(p.as_str()),
                    }),
                    Err(e) => {
                        eprintln!("  ! {e:#}");
                        engine.send(Command::Cancel { job: j });
                    }
                }
            }
            Event::Problem(e)
                if e.code == "key-refused"
                    && !rules.allow_test_keys
                    && tally.key.as_ref().is_some_and(KeySummary::is_test_key) =>
            {
                // The test key refused (the engine checks that first): the station's set-up,
                // not this person's key, so every next person would wait for nothing.
                tally.failed(&person.upn, &e);
                tally.stopped = true;
                return;
            }
            Event::Problem(e) => tally.problem(&e),
            Event::Finished { job: j, issued } if Some(j) == job || job.is_none() => {
                tally.done(issued_line(
                    &issued,
                    tally.pins_in_csv,
                    tally.letters.as_deref(),
                ));
                return;
            }
            Event::Failed { job: j, error } if job.is_none() || Some(j) == job => {
                tally.failed(&person.upn, &error);
                return;
            }
            _ => {}
        }
    }
}

/// Puts the CSV's people in the queue: Graph's whole options when Graph answers (the CSV
/// lacks excludeCredentials and extensions), else the row itself as the proof of concept
/// used it. Returns the UPNs in file order; bad rows and unknown users go to `failures`.
fn import_csv(
    config: &Config,
    graph: &graph::GraphClient,
    path: &std::path::Path,
    failures: &mut Vec<String>,
) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (rows, errors) =
        users_to_register::read(file).with_context(|| format!("reading {}", path.display()))?;
    let name = path.display();
    for e in errors {
        println!("  ✗ {name}: {e}");
        failures.push(format!("{name}: {e}"));
    }
    let mut journal = Journal::open_for(config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a runtime")?;
    let mut upns = Vec::new();
    for row in rows {
        if journal.queued_user(&row.upn)?.is_some() {
            upns.push(row.upn);
            continue;
        }
        let fetched = rt.block_on(async {
            let opts = graph
                .creation_options(&row.upn, config.challenge_timeout_minutes)
                .await?;
            let existing = if config.delete_existing_credentials {
                graph
                    .list_fido2_methods(&row.upn)
                    .await?
                    .into_iter()
                    .map(|m| m.id)
                    .collect()
            } else {
                Vec::new()
            };
            Ok::<_, graph::Error>((opts, existing))
        });
        let queued = match fetched {
            Ok((opts, existing)) => {
                let mut q = options::queued_from_options(&row.upn, &opts);
                q.upn.clone_from(&row.upn);
                q.existing_method_ids = existing;
                q
            }
            Err(e) if e.graph_status() == Some(404) => {
                let msg = format!(
                    "{name}: row for {}: no such user in the tenant{}",
                    row.upn,
                    e.request_id()
                        .map(|r| format!(" (request-id {r})"))
                        .unwrap_or_default()
                );
                println!("  ✗ {msg}");
                failures.push(msg);
                continue;
            }
            Err(e) => {
                println!(
                    "  ! {name}: row for {}: fresh options unavailable ({e}); using the CSV's challenge as the proof of concept did (no excludeCredentials)",
                    row.upn
                );
                match options::queued_from_csv_row(&row) {
                    Ok(q) => q,
                    Err(e) => {
                        let msg = format!("{name}: {e}");
                        println!("  ✗ {msg}");
                        failures.push(msg);
                        continue;
                    }
                }
            }
        };
        journal.upsert_queue(&[queued])?;
        upns.push(row.upn);
    }
    Ok(upns)
}
