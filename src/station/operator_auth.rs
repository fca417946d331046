//! Operator sign-in as a station service: the UI sends [`Command::SignIn`],
//! [`Command::Unlock`], [`Command::Lock`], [`Command::SignOut`] and [`Command::Exit`] and renders
//! the events this service answers with; it never decides itself who is signed in.
//!
//! [`OperatorService`] is the decision without I/O: commands and passcode results in,
//! [`Effect`]s out (check a passcode, write an audit entry, name the operator on the engine's
//! audit entries, send an event). [`apply`] runs the effects through a [`Station`]: the engine
//! loop checks passcodes on a worker thread and writes to its journal; tests can check inline.

use std::time::Instant;

use super::passcode::{self, verify_passcode};
use super::throttle::Throttle;
use crate::config::{Config, OperatorSignIn};
use crate::engine::api::{Command, Event, OperatorError, Passcode, Remedy};
use crate::engine::audit::audit_failed;
use crate::store::Journal;

/// How operators sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorAuth {
    /// A name and the station's local passcode; Graph is called with the app's identity.
    AppOnly {
        /// argon2id PHC string; `None` means no passcode was set up (sign-in is refused).
        passcode_hash: Option<String>,
    },
    /// Entra ID device-code sign-in with the operator's own rights (the kiosk's sign-in runner
    /// reports who signed in with [`Command::OperatorSignedIn`]).
    Delegated,
    /// Demo mode: a name is enough.
    Demo,
    /// Headless commands: the operator is named at start; nobody signs in.
    Headless,
}

impl OperatorAuth {
    /// The sign-in mode of a validated config: `operatorSignIn` and the passcode hash
    /// (`operatorPasscodeHash`, else the file `set-passcode` wrote next to the config). A hash
    /// that is not argon2id or weaker than new hashes is refused, with the remedy.
    pub fn from_config(config: &Config) -> Result<OperatorAuth, String> {
        Ok(match config.operator_sign_in {
            OperatorSignIn::Delegated => OperatorAuth::Delegated,
            OperatorSignIn::AppOnly => {
                let file = passcode::passcode_file(&config.path);
                let hash = match &config.operator_passcode_hash {
                    Some(h) => Some(h.clone()),
                    None => std::fs::read_to_string(&file)
                        .ok()
                        .map(|s| s.trim().to_owned())
                        .filter(|h| !h.is_empty()),
                };
                if let Some(h) = &hash {
                    passcode::check_hash(h).map_err(|e| match config.operator_passcode_hash {
                        Some(_) => {
                            format!("{}: {}: {e}", config.path.display(), passcode::PASSCODE_KEY)
                        }
                        None => format!("{}: {e}", file.display()),
                    })?;
                }
                OperatorAuth::AppOnly {
                    passcode_hash: hash,
                }
            }
        })
    }
}

/// What a typed passcode is checked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Sign-in of this operator name.
    SignIn {
        /// The name typed.
        name: String,
    },
    /// Unlock of the locked station (the operator stays the same).
    Unlock,
}

/// A passcode to check against the hash: slow on purpose, so never on the UI thread or the
/// engine loop. Answer with [`OperatorService::checked`]. `Debug` shows neither the passcode
/// nor the hash.
#[derive(Clone, PartialEq)]
pub struct PasscodeCheck {
    /// What the check is for.
    pub attempt: Attempt,
    hash: String,
    passcode: Passcode,
}

impl std::fmt::Debug for PasscodeCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasscodeCheck")
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl PasscodeCheck {
    /// Runs the check (argon2id): whether the passcode matches.
    pub fn run(&self) -> bool {
        verify_passcode(&self.hash, self.passcode.expose())
    }
}

/// What the service asks its driver to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Check a passcode off the loop, then call [`OperatorService::checked`].
    Check(PasscodeCheck),
    /// Append an audit entry (`operator` `None`: the station's default operator).
    Audit {
        /// Who.
        operator: Option<String>,
        /// One of `sign-in`, `sign-in-refused`, `sign-out`, `lock`, `unlock`,
        /// `unlock-refused`, `exit`.
        action: &'static str,
        /// The operator concerned.
        subject: Option<String>,
        /// `ok`, or why it was refused (failure count and delay).
        result: String,
    },
    /// The operator named on the engine's audit entries from now on (`None`: the default).
    Operator(Option<String>),
    /// Tell the UI.
    Emit(Event),
}

/// Who is signed in, whether the station is locked, and how many passcodes failed.
#[derive(Debug)]
pub struct OperatorService {
    auth: OperatorAuth,
    throttle: Throttle,
    operator: Option<String>,
    locked: bool,
    /// A passcode is being checked: further attempts wait for its answer.
    checking: bool,
}

fn audit(operator: Option<&str>, action: &'static str, result: impl Into<String>) -> Effect {
    Effect::Audit {
        operator: operator.map(str::to_owned),
        action,
        subject: operator.map(str::to_owned),
        result: result.into(),
    }
}

impl OperatorService {
    /// Nobody signed in yet.
    pub fn new(auth: OperatorAuth) -> Self {
        OperatorService {
            auth,
            throttle: Throttle::default(),
            operator: None,
            locked: false,
            checking: false,
        }
    }

    /// Whether `command` is this service's.
    pub fn handles(command: &Command) -> bool {
        matches!(
            command,
            Command::SignIn { .. }
                | Command::Unlock { .. }
                | Command::Lock
                | Command::SignOut
                | Command::Exit
                | Command::OperatorSignedIn { .. }
        )
    }

    /// How operators sign in here.
    pub fn auth(&self) -> &OperatorAuth {
        &self.auth
    }

    /// The signed-in operator, if any.
    pub fn operator(&self) -> Option<&str> {
        self.operator.as_deref()
    }

    /// Handles one of the commands [`Self::handles`] names (others are ignored).
    pub fn command(&mut self, command: Command, now: Instant) -> Vec<Effect> {
        match command {
            Command::SignIn { name, passcode } => {
                self.sign_in(name.trim().to_owned(), passcode, now)
            }
            Command::Unlock { passcode } => self.unlock(passcode, now),
            Command::Lock => self.lock(),
            Command::SignOut => self.sign_out(false),
            Command::Exit => self.exit(),
            Command::OperatorSignedIn { operator } => {
                // Only the delegated sign-in runner reports sign-ins; nothing else may.
                if self.auth != OperatorAuth::Delegated {
                    return Vec::new();
                }
                self.signed_in(operator, false)
            }
            _ => Vec::new(),
        }
    }

    /// The answer of an [`Effect::Check`].
    pub fn checked(&mut self, attempt: Attempt, ok: bool, now: Instant) -> Vec<Effect> {
        self.checking = false;
        if ok {
            self.throttle.succeeded();
            return match attempt {
                Attempt::SignIn { name } => self.signed_in(name, true),
                Attempt::Unlock if self.locked && self.operator.is_some() => {
                    self.locked = false;
                    vec![
                        audit(self.operator.as_deref(), "unlock", "ok"),
                        Effect::Emit(Event::Unlocked),
                    ]
                }
                Attempt::Unlock => Vec::new(),
            };
        }
        let delay = self.throttle.failed(now);
        let failures = self.throttle.failures();
        let mut result = format!("wrong passcode ({failures} consecutive failures");
        if !delay.is_zero() {
            result.push_str(&format!("; next attempt in {} s", delay.as_secs()));
        }
        result.push(')');
        self.refused(&attempt, true, result, delay.as_secs())
    }

    fn refused(
        &self,
        attempt: &Attempt,
        checked: bool,
        result: String,
        wait_secs: u64,
    ) -> Vec<Effect> {
        let (action, who, unlock) = match attempt {
            Attempt::SignIn { name } => ("sign-in-refused", Some(name.as_str()), false),
            Attempt::Unlock => ("unlock-refused", self.operator.as_deref(), true),
        };
        vec![
            audit(who, action, result),
            Effect::Emit(Event::PasscodeRefused {
                unlock,
                checked,
                failures: self.throttle.failures(),
                wait_secs,
            }),
        ]
    }

    /// A typed passcode goes to a check unless one is running or the throttle says wait.
    fn attempt(
        &mut self,
        attempt: Attempt,
        hash: String,
        passcode: Passcode,
        now: Instant,
    ) -> Vec<Effect> {
        if self.checking {
            return Vec::new();
        }
        if let Some(wait) = self.throttle.wait(now) {
            // Rounded up: "0 s left" while still refused would be a lie.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let result = format!(
                "not checked: {} consecutive failures, next attempt in {secs} s",
                self.throttle.failures()
            );
            return self.refused(&attempt, false, result, secs);
        }
        self.checking = true;
        vec![Effect::Check(PasscodeCheck {
            attempt,
            hash,
            passcode,
        })]
    }

    fn sign_in(&mut self, name: String, passcode: Passcode, now: Instant) -> Vec<Effect> {
        if self.operator.is_some() || name.is_empty() {
            return Vec::new();
        }
        match self.auth.clone() {
            OperatorAuth::Demo => self.signed_in(name, true),
            OperatorAuth::AppOnly {
                passcode_hash: Some(hash),
            } => self.attempt(Attempt::SignIn { name }, hash, passcode, now),
            OperatorAuth::AppOnly {
                passcode_hash: None,
            } => vec![audit(
                Some(&name),
                "sign-in-refused",
                "no operator passcode is set up on this station",
            )],
            OperatorAuth::Delegated | OperatorAuth::Headless => Vec::new(),
        }
    }

    fn signed_in(&mut self, name: String, tell_ui: bool) -> Vec<Effect> {
        self.operator = Some(name.clone());
        self.locked = false;
        let mut effects = vec![
            Effect::Operator(Some(name.clone())),
            audit(Some(&name), "sign-in", "ok"),
        ];
        if tell_ui {
            effects.push(Effect::Emit(Event::SignedIn { operator: name }));
        }
        effects
    }

    fn unlock(&mut self, passcode: Passcode, now: Instant) -> Vec<Effect> {
        if !self.locked || self.operator.is_none() {
            return Vec::new();
        }
        match self.auth.clone() {
            OperatorAuth::AppOnly {
                passcode_hash: Some(hash),
            } => self.attempt(Attempt::Unlock, hash, passcode, now),
            OperatorAuth::Demo => {
                self.locked = false;
                vec![
                    audit(self.operator.as_deref(), "unlock", "ok"),
                    Effect::Emit(Event::Unlocked),
                ]
            }
            _ => Vec::new(),
        }
    }

    fn lock(&mut self) -> Vec<Effect> {
        if self.locked || self.operator.is_none() {
            return Vec::new();
        }
        self.locked = true;
        let mut effects = vec![
            audit(self.operator.as_deref(), "lock", "ok"),
            Effect::Emit(Event::Locked),
        ];
        // A locked delegated station keeps no one's rights: the lock signs the operator out.
        if self.auth == OperatorAuth::Delegated {
            effects.extend(self.sign_out(true));
        }
        effects
    }

    fn sign_out(&mut self, after_lock: bool) -> Vec<Effect> {
        let Some(operator) = self.operator.take() else {
            return Vec::new();
        };
        self.locked = false;
        vec![
            audit(Some(&operator), "sign-out", "ok"),
            Effect::Operator(None),
            Effect::Emit(Event::SignedOut { after_lock }),
        ]
    }

    fn exit(&mut self) -> Vec<Effect> {
        match &self.operator {
            Some(operator) if !self.locked => vec![
                audit(Some(operator), "exit", "ok"),
                Effect::Emit(Event::Exiting),
            ],
            _ => vec![Effect::Emit(Event::Problem(OperatorError {
                code: "exit-refused".into(),
                message: "leaving the station needs a signed-in operator".into(),
                remedy: Remedy::Text("sign in (or unlock) first, then choose Exit".into()),
                request_id: None,
                retry_possible: false,
            }))],
        }
    }
}

/// What runs the service's effects.
pub trait Station {
    /// The journal the audit entries go to.
    fn journal(&self) -> &Journal;
    /// Who an entry that names no operator is written under.
    fn default_operator(&self) -> &str;
    /// Appends an audit entry to [`Station::journal`].
    fn audit(
        &mut self,
        operator: Option<&str>,
        action: &str,
        subject: Option<&str>,
        result: &str,
    ) -> Result<(), String> {
        let operator = operator.unwrap_or(self.default_operator());
        self.journal()
            .audit(operator, action, subject, result, &[])
            .map_err(|e| e.to_string())
    }
    /// Names the operator on the engine's audit entries (`None`: the default).
    fn set_operator(&mut self, operator: Option<String>);
    /// Sends an event to the UI.
    fn emit(&mut self, event: Event);
    /// Starts a passcode check off the loop.
    fn check(&mut self, check: PasscodeCheck);
}

/// Runs `effects`; an audit entry that cannot be written is shown to the operator
/// (`audit-failed`), never dropped.
pub fn apply(effects: Vec<Effect>, station: &mut impl Station) {
    for effect in effects {
        match effect {
            Effect::Check(check) => station.check(check),
            Effect::Audit {
                operator,
                action,
                subject,
                result,
            } => {
                if let Err(e) =
                    station.audit(operator.as_deref(), action, subject.as_deref(), &result)
                {
                    station.emit(Event::Problem(audit_failed(action, subject.as_deref(), &e)));
                }
            }
            Effect::Operator(operator) => station.set_operator(operator),
            Effect::Emit(event) => station.emit(event),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn hash() -> String {
        passcode::hash_passcode("2468 open sesame").unwrap()
    }

    fn actions(effects: &[Effect]) -> Vec<&'static str> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Audit { action, .. } => Some(*action),
                _ => None,
            })
            .collect()
    }

    fn check_of(effects: Vec<Effect>) -> PasscodeCheck {
        match effects.as_slice() {
            [Effect::Check(c)] => c.clone(),
            other => panic!("expected one check, got {other:?}"),
        }
    }

    #[test]
    fn sign_in_goes_through_the_check_and_is_audited() {
        let now = Instant::now();
        let mut s = OperatorService::new(OperatorAuth::AppOnly {
            passcode_hash: Some(hash()),
        });
        let check = check_of(s.command(
            Command::SignIn {
                name: " Tess ".into(),
                passcode: Passcode::new("wrong"),
            },
            now,
        ));
        assert!(!check.run());
        let refused = s.checked(check.attempt, false, now);
        assert_eq!(actions(&refused), ["sign-in-refused"]);
        assert!(refused.contains(&Effect::Emit(Event::PasscodeRefused {
            unlock: false,
            checked: true,
            failures: 1,
            wait_secs: 0
        })));
        assert_eq!(s.operator(), None);

        let check = check_of(s.command(
            Command::SignIn {
                name: "Tess".into(),
                passcode: Passcode::new("2468 open sesame"),
            },
            now,
        ));
        assert!(check.run());
        let shown = format!("{check:?}");
        assert!(
            !shown.contains("2468") && !shown.contains("argon2"),
            "{shown}"
        );
        let done = s.checked(check.attempt, true, now);
        assert_eq!(actions(&done), ["sign-in"]);
        assert!(done.contains(&Effect::Operator(Some("Tess".into()))));
        assert!(done.contains(&Effect::Emit(Event::SignedIn {
            operator: "Tess".into()
        })));
    }

    #[test]
    fn five_wrong_passcodes_then_attempts_wait_and_each_refusal_is_audited() {
        let start = Instant::now();
        let mut s = OperatorService::new(OperatorAuth::AppOnly {
            passcode_hash: Some(
                "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            ),
        });
        let unlock = |s: &mut OperatorService, now| {
            s.command(
                Command::Unlock {
                    passcode: Passcode::new("guess"),
                },
                now,
            )
        };
        // Signed in (demo of the state: the check said yes), then locked.
        let _ = check_of(s.command(
            Command::SignIn {
                name: "Tess".into(),
                passcode: Passcode::new("x"),
            },
            start,
        ));
        s.checked(
            Attempt::SignIn {
                name: "Tess".into(),
            },
            true,
            start,
        );
        assert_eq!(actions(&s.command(Command::Lock, start)), ["lock"]);
        for n in 1..=5u32 {
            let check = check_of(unlock(&mut s, start));
            let effects = s.checked(check.attempt, false, start);
            assert_eq!(actions(&effects), ["unlock-refused"]);
            let wait = if n == 5 { 30 } else { 0 };
            assert!(
                effects.contains(&Effect::Emit(Event::PasscodeRefused {
                    unlock: true,
                    checked: true,
                    failures: n,
                    wait_secs: wait
                })),
                "{effects:?}"
            );
        }
        // Refused unchecked while the delay runs, and audited.
        let effects = unlock(&mut s, start + Duration::from_secs(10));
        assert_eq!(actions(&effects), ["unlock-refused"]);
        let Effect::Audit { result, .. } = &effects[0] else {
            panic!()
        };
        assert_eq!(
            result,
            "not checked: 5 consecutive failures, next attempt in 20 s"
        );
        // After the delay it is checked again; one more failure doubles the delay.
        let later = start + Duration::from_secs(30);
        let check = check_of(unlock(&mut s, later));
        let effects = s.checked(check.attempt, false, later);
        let Effect::Audit { result, .. } = &effects[0] else {
            panic!()
        };
        assert_eq!(
            result,
            "wrong passcode (6 consecutive failures; next attempt in 60 s)"
        );
    }

    #[test]
    fn exit_needs_a_signed_in_unlocked_operator_and_delegated_lock_signs_out() {
        let now = Instant::now();
        let mut s = OperatorService::new(OperatorAuth::Delegated);
        assert!(actions(&s.command(Command::Exit, now)).is_empty());
        // Only the runner's report signs in; a UI sign-in command does nothing here.
        assert!(s
            .command(
                Command::SignIn {
                    name: "x".into(),
                    passcode: Passcode::new("")
                },
                now
            )
            .is_empty());
        let e = s.command(
            Command::OperatorSignedIn {
                operator: "admin@contoso.example".into(),
            },
            now,
        );
        assert_eq!(actions(&e), ["sign-in"]);
        let e = s.command(Command::Lock, now);
        assert_eq!(actions(&e), ["lock", "sign-out"]);
        assert!(e.contains(&Effect::Emit(Event::SignedOut { after_lock: true })));
        assert_eq!(s.operator(), None);

        let mut s = OperatorService::new(OperatorAuth::Demo);
        s.command(
            Command::SignIn {
                name: "Demo".into(),
                passcode: Passcode::new(""),
            },
            now,
        );
        s.command(Command::Lock, now);
        assert!(
            actions(&s.command(Command::Exit, now)).is_empty(),
            "locked: no exit"
        );
        s.command(
            Command::Unlock {
                passcode: Passcode::new(""),
            },
            now,
        );
        let e = s.command(Command::Exit, now);
        assert_eq!(actions(&e), ["exit"]);
        assert!(e.contains(&Effect::Emit(Event::Exiting)));
    }
}
