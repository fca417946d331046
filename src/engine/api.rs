//! The engine's interface: commands in (from the kiosk UI or the headless CLI), events out.
//!
//! Plain data (`Debug + Clone + PartialEq`) so tests can build and compare them; secrets are
//! wrapped in [`Pin`], which prints `***`. Every reply the engine waits for (a typed PIN, a
//! retry) comes back as a command keyed by the [`JobId`] the engine gave out.

use std::fmt;

use zeroize::Zeroizing;

pub use super::remedy::Remedy;
use crate::keys::KeySummary;
/// Where an enrollment stands, as the journal has it (the history shows its name).
pub use crate::store::EnrollmentState;

/// One enrollment attempt (one person, one key). Unique for the life of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// Declares a secret string type: zeroized on drop, printed as `Name(***)`. One definition for
/// every secret the UI hands on, while each keeps a type of its own.
macro_rules! secret_string {
    ($(#[$doc:meta])* $name:ident, $(#[$expose_doc:meta])*) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(Zeroizing<String>);

        impl $name {
            /// Wraps the secret.
            pub fn new(secret: impl Into<String>) -> Self {
                $name(Zeroizing::new(secret.into()))
            }
            $(#[$expose_doc])*
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(***)"))
            }
        }
    };
}

secret_string!(
    /// A PIN in transit between the UI and the engine: zeroized on drop, printed as `***`.
    Pin,
    /// The PIN itself, for the key or for display to the person it belongs to.
);

secret_string!(
    /// An operator passcode in transit from the UI to the station's sign-in service: zeroized
    /// on drop, printed as `***`.
    Passcode,
    /// The passcode itself, for the check against the hash.
);

/// UI → engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Fetch the queue live from the scope group (people join and leave it during a rollout):
    /// the engine runs the prefetch in the background ([`Event::QueueRefresh`], then
    /// [`Event::Queue`] and [`Event::QueueRefreshed`]).
    /// People with an enrollment in progress or already enrolled are left as they are. Ignored
    /// while a refresh is running.
    RefreshQueue,
    /// Start enrolling this person (Entra object id) with the key that is in, or the next one.
    Enroll {
        /// The person.
        user_id: String,
    },
    /// Answer to [`Event::PinNeeded`].
    ProvidePin {
        /// The job that asked.
        job: JobId,
        /// The PIN typed.
        pin: Pin,
    },
    /// Stop the job (sends CTAPHID_CANCEL if the key is waiting for a touch).
    Cancel {
        /// The job.
        job: JobId,
    },
    /// Retry a failed job from where it stopped (e.g. after a Graph 503).
    Retry {
        /// The job.
        job: JobId,
    },
    /// The operator confirmed the random PIN was handed over: purge it from the journal.
    PinDelivered {
        /// The job.
        job: JobId,
    },
    /// Print the PIN letter of a finished job whose random PIN has not been handed over
    /// yet (`"pinDelivery": "letter"`): the engine pipes the PDF to `letter.printCommand` and
    /// answers with [`Event::LetterPrinted`].
    PrintLetter {
        /// The finished job.
        job: JobId,
        /// The letter's language (`en`, `de`).
        language: String,
    },
    /// Factory-reset the inserted key (re-issue of a returned key).
    ResetKey,
    /// Demo: plug a fresh software key in (ignored unless the keys are `KeySource::Soft`).
    InsertSoftKey,
    /// Demo: unplug the software key, or take the software card off the reader (ignored
    /// unless the keys are the demo's).
    RemoveSoftKey,
    /// Demo: put a fresh software card on the virtual reader (`KeySource::SoftWithCards`).
    TapSoftCard,
    /// Finish what is in flight and stop.
    Shutdown,
    /// Delegated mode only: the sign-in runner reports the operator who completed the
    /// device-code sign-in; their UPN goes on every audit entry from now on. Ignored in the
    /// other modes (their sign-in is [`Command::SignIn`]).
    OperatorSignedIn {
        /// The signed-in UPN.
        operator: String,
    },
    /// App-only and demo mode: sign in with a name and the station's passcode (none in the
    /// demo). Answered with [`Event::SignedIn`] or [`Event::PasscodeRefused`].
    SignIn {
        /// Operator name as typed.
        name: String,
        /// The passcode typed.
        passcode: Passcode,
    },
    /// Unlock the locked station with the signed-in operator's passcode: answered with
    /// [`Event::Unlocked`] or [`Event::PasscodeRefused`].
    Unlock {
        /// The passcode typed.
        passcode: Passcode,
    },
    /// Lock the station (the operator's Lock, or idle): answered with [`Event::Locked`]; in
    /// delegated mode the operator is signed out too ([`Event::SignedOut`]).
    Lock,
    /// The operator signs out (or the lock screen switches operator): [`Event::SignedOut`].
    SignOut,
    /// The signed-in, unlocked operator leaves full screen: answered with [`Event::Exiting`]
    /// (the kiosk then closes and sends [`Command::Shutdown`]).
    Exit,
    /// Delegated mode: start a device-code sign-in. The kiosk's sign-in runner (not the engine)
    /// answers with [`Event::DeviceCode`], then [`Event::SignedIn`] or [`Event::SignInFailed`].
    StartDelegatedSignIn,
    /// Delegated mode: stop waiting for the device-code sign-in.
    CancelDelegatedSignIn,
}

/// A person in the queue, as the UI lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Entra object id.
    pub user_id: String,
    /// UPN.
    pub upn: String,
    /// Display name.
    pub display_name: String,
    /// Where they stand.
    pub status: PersonStatus,
    /// When their challenge expires (Unix seconds), if options are held.
    pub challenge_expires_at: Option<i64>,
    /// Another station of a shared journal that holds them (being enrolled there) or
    /// recorded their key.
    pub elsewhere: Option<String>,
}

impl Person {
    /// The other station enrolling them right now, if any: they cannot be started here.
    pub fn held_elsewhere(&self) -> Option<&str> {
        self.elsewhere
            .as_deref()
            .filter(|_| self.status == PersonStatus::InProgress)
    }
}

/// Queue state of a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonStatus {
    /// No options fetched yet.
    Waiting,
    /// Options held and valid: a key can be issued now.
    Ready,
    /// Being enrolled.
    InProgress,
    /// Has a key from this station.
    Enrolled,
    /// Last attempt failed (see the journal).
    Failed,
}

/// Steps of the per-key workflow, shown in the step bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Waiting for a key to be inserted.
    WaitingForKey,
    /// Reading the key (getInfo, serial).
    CheckingKey,
    /// Setting or changing the PIN.
    SettingPin,
    /// Fetching fresh creation options (challenge about to expire).
    RefreshingChallenge,
    /// makeCredential sent; the key may ask for a touch.
    CreatingPasskey,
    /// POST fido2Methods.
    Registering,
    /// setMinPINLength / forceChangePin.
    Hardening,
    /// Deleting the person's older methods (deleteExistingUserFIDOCredentials).
    RemovingOldKeys,
    /// Journal + keysRegistered.csv.
    Recording,
}

/// What PIN the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinRequest {
    /// The key already has a PIN: its current PIN (`retries_left` when known).
    Current {
        /// Attempts left before the key blocks.
        retries_left: Option<u32>,
        /// The PIN typed before was wrong (the key said so); asked again in the same job.
        after_wrong: bool,
    },
    /// A new PIN to set (operator- or person-typed mode), at least `min_length` digits.
    New {
        /// The key's minimum PIN length.
        min_length: u32,
    },
}

/// An error as the operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorError {
    /// Short stable code, e.g. `graph-503`, `pin-invalid`, `key-removed`.
    pub code: String,
    /// What happened.
    pub message: String,
    /// What to do next; each front end words it ([`Remedy::ui`], [`Remedy::cli`]).
    pub remedy: Remedy,
    /// Graph's request-id, for every Graph error.
    pub request_id: Option<String>,
    /// Whether [`Command::Retry`] can succeed.
    pub retry_possible: bool,
}

/// Which start-up check a [`Check`] reports: code decides on this, never on the words shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The configuration file was read and is valid.
    Configuration,
    /// The station's settings (passcode hashes, idle lock) are valid.
    StationSettings,
    /// The engine (its threads) started.
    EngineStarted,
    /// The app signed in to Entra ID.
    SignIn,
    /// Microsoft Graph answered.
    GraphReachable,
    /// The users-in-scope group exists.
    UsersGroup,
    /// The tenant's FIDO2 method policy could not be read (noted, not failed).
    Fido2Policy,
    /// The FIDO2 method is enabled in the tenant.
    Fido2Enabled,
    /// "Allow self-service set up" is on.
    SelfServiceSetup,
    /// The tenant's key restrictions, as read.
    KeyRestrictions,
    /// The journal can be written.
    Journal,
    /// The secret files are readable only by the station's user.
    SecretFileModes,
    /// The FIDO keys present can be opened by the station's user.
    KeyAccess,
    /// pcscd answers (cards on PC/SC readers).
    CardReaders,
    /// The journal's file system has room.
    DiskSpace,
    /// The station's clock agrees with Microsoft's.
    Clock,
}

impl CheckKind {
    /// What was checked, as the start-up screen and the CLI name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Configuration => "Configuration valid",
            Self::StationSettings => "Station settings valid",
            Self::EngineStarted => "Station engine started",
            Self::SignIn => "Sign-in to Entra ID",
            Self::GraphReachable => "Microsoft Graph reachable",
            Self::UsersGroup => "Users-in-scope group found",
            Self::Fido2Policy => "FIDO2 method policy",
            Self::Fido2Enabled => "FIDO2 passkeys enabled",
            Self::SelfServiceSetup => "Self-service setup allowed",
            Self::KeyRestrictions => "Key restrictions",
            Self::Journal => "Journal writable",
            Self::SecretFileModes => "Secret files readable only by the station's user",
            Self::KeyAccess => "Security keys can be opened",
            Self::CardReaders => "Card readers (pcscd) answer",
            Self::DiskSpace => "Room for the journal",
            Self::Clock => "Clock in sync",
        }
    }
}

/// Result of a start-up check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// Passed?
    pub ok: bool,
    /// Detail or remedy.
    pub detail: String,
}

impl Check {
    /// What was checked, as shown.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }
}

/// An enrollment a previous run left unfinished, as the recovery screen shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    /// Journal row id.
    pub enrollment_id: i64,
    /// The person.
    pub upn: String,
    /// Their display name, when the queue knows them.
    pub display_name: Option<String>,
    /// Where it stopped (journal state name).
    pub state: String,
    /// What the engine did, or what stopped it.
    pub resolution: String,
    /// What the operator must do to finish it, when the engine could not.
    pub remedy: Option<Remedy>,
    /// The random PIN the journal holds for it (set on the key, or about to be): the
    /// person never received it, so the operator sees it here, behind Reveal.
    pub pin: Option<Pin>,
}

/// A finished enrollment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The person.
    pub upn: String,
    /// Graph's method id.
    pub method_id: String,
    /// Key serial, when known.
    pub serial: Option<String>,
    /// The random PIN to hand over (None when typed by someone).
    pub pin: Option<Pin>,
}

/// One enrollment from the journal, as the history screen lists it. Never carries a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// Journal row id.
    pub enrollment_id: i64,
    /// The person.
    pub upn: String,
    /// Their display name, when the queue knows them.
    pub display_name: Option<String>,
    /// Where it stands (shown by its journal name: `recorded`, `failed`, `registering`, …).
    pub state: EnrollmentState,
    /// Key serial, when known.
    pub serial: Option<String>,
    /// Graph's method id, once registered.
    pub method_id: Option<String>,
    /// Last change (Unix seconds).
    pub at: i64,
    /// Last error, with what the operator should do.
    pub last_error: Option<String>,
}

impl HistoryEntry {
    /// The key was issued and recorded.
    pub fn issued(&self) -> bool {
        self.state == EnrollmentState::Recorded
    }
    /// The enrollment stopped for good.
    pub fn failed(&self) -> bool {
        self.state == EnrollmentState::Failed
    }
}

/// Engine → UI.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Results of the start-up checks, in order.
    StartupChecks(Vec<Check>),
    /// Enrollments found unfinished at start, with what was done about them.
    Recovered(Vec<Unfinished>),
    /// The whole queue (sent on start and after RefreshQueue).
    Queue(Vec<Person>),
    /// A live queue refresh is running (RefreshQueue, or at start when the journal's queue is
    /// empty): `done` of `total` people fetched; `total` is `None` until the group's members
    /// are listed.
    QueueRefresh {
        /// People whose options were fetched (or failed) so far.
        done: usize,
        /// Member users of the scope group, once listed.
        total: Option<usize>,
    },
    /// A live queue refresh ended; the queue it produced (if any) came just before as
    /// [`Event::Queue`].
    QueueRefreshed(QueueRefreshSummary),
    /// One person changed.
    PersonChanged(Person),
    /// A key was inserted and read.
    KeyInserted(KeySummary),
    /// The key was removed.
    KeyRemoved,
    /// A job moved to a step.
    Progress {
        /// The job.
        job: JobId,
        /// The person.
        user_id: String,
        /// The step.
        step: Step,
    },
    /// The job needs a PIN: answer with [`Command::ProvidePin`].
    PinNeeded {
        /// The job.
        job: JobId,
        /// Which PIN.
        request: PinRequest,
    },
    /// The key waits for a touch (keepalive UPNEEDED).
    TouchNeeded {
        /// The job.
        job: JobId,
    },
    /// Done: show the PIN (if random) and "remove the key".
    Finished {
        /// The job.
        job: JobId,
        /// What was issued.
        issued: Issued,
    },
    /// Stopped with an error; nothing done is lost.
    Failed {
        /// The job.
        job: JobId,
        /// What to tell the operator.
        error: OperatorError,
    },
    /// The answer to [`Command::PrintLetter`].
    LetterPrinted {
        /// The job whose letter it was.
        job: JobId,
        /// Why it was not printed (`None`: the print command took it).
        error: Option<OperatorError>,
    },
    /// The key being factory-reset ([`Command::ResetKey`]) waits for a touch: no job is
    /// involved.
    ResetTouchNeeded,
    /// The inserted key was factory-reset.
    KeyReset,
    /// An error not tied to a job (e.g. journal not writable).
    Problem(OperatorError),
    /// Delegated sign-in: show this code and address to the operator.
    DeviceCode {
        /// The code to type, e.g. `GQ7WZ2K4B`.
        user_code: String,
        /// Where to type it, e.g. `https://microsoft.com/devicelogin`.
        verification_uri: String,
        /// When the code stops working (Unix seconds).
        expires_at: i64,
        /// Entra's own instruction sentence.
        message: String,
    },
    /// Delegated sign-in completed: `operator` (the UPN) goes on every audit entry.
    SignedIn {
        /// `preferred_username` of the operator's ID token.
        operator: String,
    },
    /// Delegated sign-in stopped (declined, expired, refused); AADSTS ids are in the message.
    SignInFailed(OperatorError),
    /// A passcode was refused (wrong, or not checked because of earlier failures).
    PasscodeRefused {
        /// It was an unlock (else a sign-in).
        unlock: bool,
        /// The passcode was checked and wrong (else not checked: a pause was running).
        checked: bool,
        /// Consecutive failures so far.
        failures: u32,
        /// Seconds before the next attempt is checked (0: now).
        wait_secs: u64,
    },
    /// The station is locked.
    Locked,
    /// The station is unlocked (the operator's passcode was right).
    Unlocked,
    /// The operator was signed out.
    SignedOut {
        /// By the lock (delegated mode keeps no one's rights while locked).
        after_lock: bool,
    },
    /// Exit was accepted: the kiosk closes.
    Exiting,
    /// The journal's enrollments, oldest first (the newest [`HISTORY_LIMIT`]): sent at start
    /// and after every enrollment that finished or failed.
    History(Vec<HistoryEntry>),
}

/// How a live queue refresh ([`Command::RefreshQueue`]) ended.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueueRefreshSummary {
    /// The scope group's display name (`None` when it was not reached).
    pub group: Option<String>,
    /// People whose creation options were fetched and saved in the queue.
    pub updated: usize,
    /// Of those, people who were not in the queue before.
    pub added: usize,
    /// People left as they were: an enrollment in progress, or already enrolled.
    pub kept: usize,
    /// People removed from the queue because the group no longer lists them (the audit entry
    /// names them). Those enrolled or with an enrollment under way stay, and are not counted.
    pub removed: usize,
    /// Members that are not users, and guests.
    pub skipped_members: usize,
    /// People whose options could not be fetched (the message names the person; Graph's
    /// request-id is in the field). They keep what the queue held for them.
    pub failures: Vec<OperatorError>,
    /// The refresh failed as a whole (sign-in, group, members, journal): the queue is unchanged.
    pub error: Option<OperatorError>,
}

/// How many of the newest journal enrollments [`Event::History`] carries.
pub const HISTORY_LIMIT: usize = 500;

#[cfg(test)]
mod secret_tests {
    use super::*;

    #[test]
    fn secrets_print_their_type_and_never_their_value() {
        let pin = Pin::new("480213");
        let passcode = Passcode::new("2468 open sesame");
        assert_eq!(format!("{pin:?}"), "Pin(***)");
        assert_eq!(format!("{passcode:?}"), "Passcode(***)");
        assert_eq!(
            (pin.expose(), passcode.expose()),
            ("480213", "2468 open sesame")
        );
    }
}
