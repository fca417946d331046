//! Keys with a PIN policy of their own (CTAP 2.2 pinComplexityPolicy, maxPINLength), through
//! the engine with software keys on the station's UDP slot: random PINs fit the key's length
//! limits; a random PIN the key refuses (PIN_POLICY_VIOLATION, no attempt spent) is replaced
//! by a fresh one, a few times at most, then the job ends with a clear error; a typed PIN is
//! judged by the key alone.

mod kit;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ctap::authenticator::Authenticator;
use ctap::soft::{PinComplexity, SoftAuthenticator, SoftConfig};
use kit::keys::pin_opens;
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event, Issued, OperatorError, Pin, PinRequest};
use passkey_kiosk::engine::random_pin::{PinRules, MAX_OFFERED};
use passkey_kiosk::engine::remedy::Remedy;
use passkey_kiosk::engine::EngineHandle;
use passkey_kiosk::store::Journal;

/// A key whose complexity policy is `accepts`; every PIN offered to it is kept in the list.
fn policy_key(
    serial: u32,
    min: u8,
    max: Option<u8>,
    accepts: impl Fn(&[String]) -> bool + Send + Sync + 'static,
) -> (SoftAuthenticator, Arc<Mutex<Vec<String>>>) {
    let offered = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&offered);
    let key = SoftAuthenticator::new(SoftConfig {
        serial,
        min_pin_length: min,
        max_pin_length: max,
        pin_complexity: Some(PinComplexity::custom("test policy", move |pin| {
            let mut seen = seen.lock().unwrap();
            seen.push(pin.to_owned());
            accepts(&seen)
        })),
        ..SoftConfig::default()
    })
    .unwrap();
    (key, offered)
}

/// Enrolls the person `user_id` with the key in the slot, answering every PIN request with
/// `typed`; returns the outcome and the requests.
fn enroll_asked(
    engine: &EngineHandle,
    user_id: &str,
    typed: Option<&str>,
) -> (Result<Issued, OperatorError>, Vec<PinRequest>) {
    engine.send(Command::Enroll {
        user_id: user_id.to_owned(),
    });
    let mut asked = Vec::new();
    loop {
        match engine
            .recv_timeout(Duration::from_secs(60))
            .expect("an event")
        {
            Event::PinNeeded { job, request } => {
                asked.push(request);
                let pin = typed.expect("no PIN should be asked for");
                engine.send(Command::ProvidePin {
                    job,
                    pin: Pin::new(pin),
                });
            }
            Event::Finished { issued, .. } => return (Ok(issued), asked),
            Event::Failed { error, .. } => return (Err(error), asked),
            _ => {}
        }
    }
}

/// One enrollment of a one-person tenant's person with `key` in the slot, on a station with
/// the `config` members, answering PIN requests with `typed`.
struct Run {
    st: Station,
    user_id: String,
    outcome: Result<Issued, OperatorError>,
    asked: Vec<PinRequest>,
}

fn run_one(config: &str, key: &SoftAuthenticator, typed: Option<&str>) -> Run {
    let st = Station::new(plain_tenant(1), config);
    st.prefetch();
    let user_id = Journal::open(&st.journal).unwrap().queue().unwrap()[0]
        .user_id
        .clone();
    st.slot.insert(Some(key.clone()));
    let engine = st.engine("Desk 1");
    let (outcome, asked) = enroll_asked(&engine, &user_id, typed);
    drop(engine);
    Run {
        st,
        user_id,
        outcome,
        asked,
    }
}

/// A key enforcing Token2 PIN+'s published rules.
fn pin_plus_key(serial: u32) -> SoftAuthenticator {
    SoftAuthenticator::new(SoftConfig {
        serial,
        pin_complexity: Some(PinComplexity::pin_plus()),
        ..SoftConfig::default()
    })
    .unwrap()
}

fn key_has_pin(key: &SoftAuthenticator) -> bool {
    let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
    Authenticator::new(&mut ch)
        .get_info()
        .unwrap()
        .option("clientPin")
        == Some(true)
}

#[test]
fn a_random_pin_the_key_refuses_is_replaced_and_the_key_limits_are_honoured() {
    // minPINLength 7, maxPINLength 8: the 12 configured digits become 8. The policy refuses
    // the first two PINs it sees.
    let (key, offered) = policy_key(88_100_001, 7, Some(8), |seen| seen.len() > 2);
    let run = run_one(
        r#","useRandomPIN":true,"randomPinLength":12,"minimumPinLength":6"#,
        &key,
        None,
    );
    let (st, issued) = (&run.st, run.outcome.as_ref().expect("enrolled"));

    let offered = offered.lock().unwrap().clone();
    assert_eq!(offered.len(), 3, "two refused, the third taken");
    let pin = issued.pin.as_ref().map(Pin::expose).expect("a random PIN");
    assert_eq!(pin, offered[2]);
    let rules = PinRules::new(8, 7, 6, Some(8), true).unwrap();
    for p in &offered {
        assert_eq!(p.len(), 8, "{p}");
        assert!(rules.allows(p), "{p} breaks {:?}", rules.broken_rule(p));
    }
    assert!(
        offered[0] != offered[1] && offered[1] != offered[2],
        "each refusal brings a fresh PIN"
    );
    assert_eq!(key.pin_retries(), 8, "refusals cost no attempt");
    let csv = std::fs::read_to_string(&st.out).unwrap();
    assert!(csv.contains(pin));
    assert!(
        !csv.contains(&offered[0]) && !csv.contains(&offered[1]),
        "refused PINs are not handed out"
    );
    assert_eq!(st.tenant.registrations(&run.user_id).len(), 1);
    assert!(pin_opens(&key, pin), "the PIN handed over opens the key");
}

#[test]
fn a_refused_new_pin_on_a_key_with_a_pin_asks_for_the_current_one_only_once() {
    // The first PIN the policy sees is the one set here; it refuses the next one.
    let (key, offered) = policy_key(88_100_005, 4, None, |seen| seen.len() != 2);
    {
        let mut ch = ctap::hid::server::in_process(key.clone()).unwrap();
        Authenticator::new(&mut ch).set_pin("905127").unwrap();
    }
    let run = run_one(r#","useRandomPIN":true"#, &key, Some("905127"));
    let (issued, asked) = (run.outcome.expect("enrolled"), run.asked);
    assert_eq!(asked.len(), 1, "the current PIN is asked once: {asked:?}");
    assert!(matches!(asked[0], PinRequest::Current { .. }));
    let offered = offered.lock().unwrap().clone();
    assert_eq!(offered.len(), 3, "{offered:?}");
    assert_eq!(
        issued.pin.as_ref().map(Pin::expose),
        Some(offered[2].as_str())
    );
    assert_eq!(key.pin_retries(), 8, "changePIN refusals cost no attempt");
    assert!(pin_opens(&key, &offered[2]));
}

#[test]
fn a_key_refusing_every_random_pin_ends_the_job_with_a_clear_error() {
    let (key, offered) = policy_key(88_100_002, 4, None, |_| false);
    let run = run_one(r#","useRandomPIN":true"#, &key, None);
    let error = run.outcome.expect_err("refused");

    let offered = offered.lock().unwrap().clone();
    assert_eq!(
        offered.len(),
        MAX_OFFERED,
        "a few PINs at most: {offered:?}"
    );
    assert_eq!(error.code, "random-pin-refused");
    assert_eq!(error.remedy, Remedy::KeyRefusesRandomPins);
    assert!(!error.retry_possible);
    assert!(
        error
            .message
            .contains(&format!("refused {MAX_OFFERED} random PINs")),
        "{}",
        error.message
    );
    assert!(error.remedy.ui().contains("use another key"));
    for p in &offered {
        assert!(!error.message.contains(p.as_str()), "no PIN in the error");
    }
    assert!(!key_has_pin(&key), "the key has no PIN");
    assert_eq!(key.pin_retries(), 8);
    assert!(key.resident_credentials().is_empty());
    assert!(run.st.tenant.registrations(&run.user_id).is_empty());
    let journal = Journal::open(&run.st.journal).unwrap();
    let tries = journal.enrollments_of(&run.user_id).unwrap();
    assert_eq!(tries.len(), 1);
    assert!(tries[0].pin.is_none(), "no refused PIN is kept");
    assert!(journal.pin_for_key("88100002").unwrap().is_none());
}

#[test]
fn a_typed_pin_is_judged_by_the_key_alone() {
    let st = Station::new(plain_tenant(2), r#","useRandomPIN":false"#);
    st.prefetch();
    let queue = Journal::open(&st.journal).unwrap().queue().unwrap();
    let engine = st.engine("Desk 1");

    // The key's policy (PIN+) refuses a palindrome: the operator is told to choose another.
    let strict = pin_plus_key(88_100_003);
    st.slot.insert(Some(strict.clone()));
    let error = enroll_asked(&engine, &queue[0].user_id, Some("135531"))
        .0
        .expect_err("refused");
    assert_eq!(error.code, "pin-policy");
    assert_eq!(error.remedy, Remedy::PinRules);
    assert!(!error.message.contains("135531"));
    assert!(!key_has_pin(&strict));
    assert_eq!(strict.pin_retries(), 8);

    // 112233 breaks the station's rules for random PINs, but the person chose it and the
    // key takes it.
    assert!(!PinRules::new(6, 4, 4, None, true).unwrap().allows("112233"));
    let other = pin_plus_key(88_100_004);
    st.slot.insert(Some(other.clone()));
    let issued = enroll_asked(&engine, &queue[1].user_id, Some("112233"))
        .0
        .expect("enrolled");
    drop(engine);
    assert_eq!(issued.pin, None, "a typed PIN is never shown");
    assert!(pin_opens(&other, "112233"));
}
