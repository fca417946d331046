//! Scripted states for screenshots and documentation: each scene is a [`State`] built from
//! hand-made events, exactly as the engine would send them.

use crate::engine::api::{
    Check, CheckKind, Event, Issued, JobId, OperatorError, Person, PersonStatus, Pin, PinRequest,
    Remedy, Step, Unfinished,
};
use crate::keys::{KeySummary, PinState};

use crate::i18n::Language;
use crate::ui::operator::OperatorAuth;
use crate::ui::state::{ResetFlow, State};

/// Scene names, in the order the screenshots script takes them.
pub const SCENES: [&str; 14] = [
    "startup",
    "recovery",
    "sign-in",
    "queue",
    "insert-key",
    "key-refused",
    "pin",
    "touch",
    "error",
    "reveal",
    "done",
    "history",
    "reset",
    "lock",
];

fn people(now: i64) -> Vec<Person> {
    let names = [
        ("Ada Lovelace", "ada.lovelace", PersonStatus::Ready, 50 * 60),
        ("Alan Turing", "alan.turing", PersonStatus::Enrolled, 0),
        (
            "Barbara Liskov",
            "barbara.liskov",
            PersonStatus::Ready,
            6 * 3600,
        ),
        ("Donald Knuth", "donald.knuth", PersonStatus::Waiting, 0),
        (
            "Edsger Dijkstra",
            "edsger.dijkstra",
            PersonStatus::Failed,
            3 * 60,
        ),
        (
            "Frances Allen",
            "frances.allen",
            PersonStatus::Ready,
            26 * 3600,
        ),
        ("Grace Hopper", "grace.hopper", PersonStatus::Ready, 7 * 60),
        ("Ken Thompson", "ken.thompson", PersonStatus::Ready, -60),
        (
            "Margaret Hamilton",
            "margaret.hamilton",
            PersonStatus::InProgress,
            3 * 86_400,
        ),
        (
            "Radia Perlman",
            "radia.perlman",
            PersonStatus::Ready,
            40 * 60,
        ),
        (
            "Tim Berners-Lee",
            "tim.berners-lee",
            PersonStatus::Enrolled,
            0,
        ),
        (
            "Dennis Ritchie",
            "dennis.ritchie",
            PersonStatus::Ready,
            90 * 60,
        ),
    ];
    names
        .iter()
        .enumerate()
        .map(|(i, (name, user, status, valid))| Person {
            user_id: format!("{i:08x}-1111-4222-8333-444455556666"),
            upn: format!("{user}@contoso.example"),
            display_name: (*name).to_string(),
            status: *status,
            challenge_expires_at: (*valid != 0).then_some(now + valid),
            elsewhere: None,
        })
        .collect()
}

/// The key the scenes insert.
pub fn demo_key() -> KeySummary {
    KeySummary {
        address: "hid:/dev/hidraw3".into(),
        card: false,
        model: "YubiKey 5 NFC".into(),
        aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a".into(),
        versions: vec!["FIDO_2_0".into(), "FIDO_2_1".into()],
        firmware: Some(328_707),
        serial: Some("23456789".into()),
        pin: PinState::NotSet,
        pin_retries: None,
        min_pin_length: 6,
        force_pin_change: false,
        resident_keys: true,
        supports_min_pin_length: true,
    }
}

fn signed_in(demo: bool, now: i64) -> State {
    let mut s = State::new(OperatorAuth::Demo, demo);
    s.now = now;
    s.apply(Event::StartupChecks(vec![]));
    s.apply(Event::Recovered(vec![]));
    s.apply(Event::Queue(people(now)));
    s.apply(Event::SignedIn {
        operator: "Tess Operator".into(),
    });
    s
}

fn in_job(now: i64, step: Step) -> State {
    let mut s = signed_in(true, now);
    s.begin("00000000-1111-4222-8333-444455556666");
    s.apply(Event::KeyInserted(demo_key()));
    s.apply(Event::Progress {
        job: JobId(12),
        user_id: "00000000-1111-4222-8333-444455556666".into(),
        step,
    });
    s
}

/// [`scene`] at a station speaking `language` (the person on screen too).
pub fn scene_in(name: &str, now: i64, language: Language) -> Option<State> {
    let mut state = scene(name, now)?;
    state.language = language;
    if let Some(job) = state.job.as_mut() {
        job.language = language;
    }
    Some(state)
}

/// The state for `name` (None if there is no such scene); `now` is Unix seconds.
pub fn scene(name: &str, now: i64) -> Option<State> {
    let state = match name {
        "startup" => {
            let mut s = State::new(OperatorAuth::Demo, false);
            s.apply(Event::StartupChecks(vec![
                check(CheckKind::Configuration, true, "configs.json"),
                check(CheckKind::SignIn, true, "ok"),
                check(
                    CheckKind::GraphReachable,
                    false,
                    "graph.microsoft.com: connection timed out. Check the proxy and firewall \
                     (outbound HTTPS to graph.microsoft.com and login.microsoftonline.com).",
                ),
                check(CheckKind::UsersGroup, true, "FIDO2 (1,204 members)"),
                check(
                    CheckKind::Fido2Enabled,
                    false,
                    "The tenant's FIDO2 policy is disabled: Entra admin center > Authentication \
                     methods > Passkey (FIDO2) > Enable, target the FIDO2 group.",
                ),
                check(CheckKind::Journal, true, "passkey-kiosk.journal.sqlite"),
            ]));
            s
        }
        "recovery" => {
            let mut s = State::new(OperatorAuth::Demo, false);
            s.apply(Event::StartupChecks(vec![]));
            s.apply(Event::Recovered(vec![
                Unfinished {
                    enrollment_id: 41,
                    upn: "grace.hopper@contoso.example".into(),
                    display_name: Some("Grace Hopper".into()),
                    state: "registering".into(),
                    resolution: "Found registered in Entra ID: recorded. Hand over the PIN \
                                 shown here."
                        .into(),
                    remedy: None,
                    pin: Some(Pin::new("275819")),
                },
                Unfinished {
                    enrollment_id: 42,
                    upn: "alan.turing@contoso.example".into(),
                    display_name: Some("Alan Turing".into()),
                    state: "pin_set".into(),
                    resolution: "No passkey was created: the key keeps its PIN (in the \
                                 journal). Insert it again to continue."
                        .into(),
                    remedy: None,
                    pin: None,
                },
            ]));
            s
        }
        "sign-in" => {
            let mut s = State::new(
                OperatorAuth::AppOnly {
                    passcode_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                },
                false,
            );
            s.apply(Event::StartupChecks(vec![]));
            s.apply(Event::Recovered(vec![]));
            s.sign_in.name = "Tess Operator".into();
            s
        }
        "queue" => {
            let mut s = signed_in(true, now);
            s.search = String::new();
            s
        }
        "insert-key" => {
            let mut s = signed_in(true, now);
            s.begin("00000000-1111-4222-8333-444455556666");
            s
        }
        "key-refused" => {
            let mut s = in_job(now, Step::CheckingKey);
            let mut key = demo_key();
            key.model = "U2F Security Key".into();
            key.aaguid = "00000000-0000-0000-0000-000000000000".into();
            key.resident_keys = false;
            key.firmware = None;
            s.apply(Event::KeyInserted(key));
            s
        }
        "pin" => {
            let mut s = in_job(now, Step::SettingPin);
            s.apply(Event::PinNeeded {
                job: JobId(12),
                request: PinRequest::New { min_length: 6 },
            });
            s.pin_entry.push_str("2580");
            s
        }
        "touch" => {
            let mut s = in_job(now, Step::CreatingPasskey);
            s.apply(Event::TouchNeeded { job: JobId(12) });
            s
        }
        "error" => {
            let mut s = in_job(now, Step::Registering);
            s.apply(Event::Failed {
                job: JobId(12),
                error: OperatorError {
                    code: "graph-503".into(),
                    message: "Microsoft Graph is temporarily unavailable (503).".into(),
                    remedy: Remedy::Text(
                        "Nothing was lost: the passkey is on the key and in the journal. \
                         Press Retry in a minute."
                            .into(),
                    ),
                    request_id: Some("7a1c2b64-5d0e-4f3a-9b8c-1d2e3f4a5b6c".into()),
                    retry_possible: true,
                },
            });
            s
        }
        // The done page before the PIN is revealed, then after.
        "reveal" | "done" => {
            let mut s = in_job(now, Step::Recording);
            s.apply(Event::Finished {
                job: JobId(12),
                issued: Issued {
                    upn: "ada.lovelace@contoso.example".into(),
                    method_id: "AQFpL0XRRMbSh8Iw1NLcUeyXS_cBvIShjLAzhtppoKtJ".into(),
                    serial: Some("23456789".into()),
                    pin: Some(Pin::new("730514")),
                },
            });
            if let Some(v) = s.job.as_mut() {
                v.revealed = name == "done";
            }
            s
        }
        "history" => {
            let mut s = signed_in(true, now);
            for (i, upn) in ["alan.turing", "tim.berners-lee", "edsger.dijkstra"]
                .iter()
                .enumerate()
            {
                s.now = now - 3600 + i as i64 * 900;
                let job = JobId(i as u64 + 1);
                s.apply(Event::Progress {
                    job,
                    user_id: format!("{:08x}-1111-4222-8333-444455556666", [1, 10, 4][i]),
                    step: Step::Registering,
                });
                s.job = None;
                if i == 2 {
                    s.apply(Event::Failed {
                        job,
                        error: OperatorError {
                            code: "key-removed".into(),
                            message: "The key was removed during registration".into(),
                            remedy: Remedy::ReinsertKey,
                            request_id: None,
                            retry_possible: true,
                        },
                    });
                } else {
                    s.apply(Event::Finished {
                        job,
                        issued: Issued {
                            upn: format!("{upn}@contoso.example"),
                            method_id: format!("method-{i}"),
                            serial: Some(format!("2345678{i}")),
                            pin: None,
                        },
                    });
                }
            }
            s.now = now;
            s.background_failures.clear();
            s.show_history = true;
            s
        }
        "reset" => {
            let mut s = signed_in(true, now);
            s.apply(Event::KeyInserted(demo_key()));
            s.reset = ResetFlow::Confirm;
            s
        }
        "lock" => {
            let mut s = signed_in(false, now);
            s.auth = OperatorAuth::AppOnly {
                passcode_hash: Some("$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA".into()),
            };
            s.apply(Event::Locked);
            s
        }
        _ => return None,
    };
    Some(state)
}

fn check(kind: CheckKind, ok: bool, detail: &str) -> Check {
    Check {
        kind,
        ok,
        detail: detail.into(),
    }
}
