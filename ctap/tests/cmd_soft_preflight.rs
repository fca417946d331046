//! The client's exclude-list pre-flight (CTAP 2.1 §6.2 silent getAssertion in batches of
//! maxCredentialCountInList) against the software key, which now answers getAssertion:
//! a credential already on the key stops the enrollment with CREDENTIAL_EXCLUDED before
//! any makeCredential or touch; foreign ids only let the credential be created.
#![cfg(feature = "soft")]

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ciborium::Value;
use ctap::authenticator::Authenticator;
use ctap::cbor::{expect_array, from_slice, map_get_int, map_get_text};
use ctap::error::StatusCode;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy, Unattended};
use ctap::webauthn::CreationOptions;
use ctap::{CancelToken, CtapChannel, NoStatus, StatusSink};

const PIN: &str = "482916";
/// maxCredentialCountInList of the software key (its getInfo).
const MAX_IN_LIST: usize = 8;

/// A channel to the soft key that records every CTAP2 request.
struct Recording {
    key: SoftAuthenticator,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl CtapChannel for Recording {
    fn cbor(
        &mut self,
        request: &[u8],
        _status: &dyn StatusSink,
        _cancel: &CancelToken,
    ) -> ctap::Result<Vec<u8>> {
        self.log.lock().unwrap().push(request.to_vec());
        Ok(self.key.process(request, &Unattended))
    }
    fn vendor(&mut self, _cmd: u8, _data: &[u8]) -> ctap::Result<Vec<u8>> {
        Err(ctap::hid::HidError::InvalidCommand.into())
    }
    fn wink(&mut self) -> ctap::Result<()> {
        Ok(())
    }
    fn max_msg_size(&self) -> usize {
        7609
    }
}

fn recording() -> (Recording, Arc<Mutex<Vec<Vec<u8>>>>) {
    let key = SoftAuthenticator::new(SoftConfig::default()).unwrap();
    key.touch().set(TouchPolicy::Immediate);
    let log = Arc::new(Mutex::new(Vec::new()));
    (
        Recording {
            key,
            log: log.clone(),
        },
        log,
    )
}

/// The fixture's creation options with `exclude` as excludeCredentials (base64url ids).
fn options_excluding(exclude: &[Vec<u8>]) -> CreationOptions {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/fido2-registration-fixture.json"
    );
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let list: Vec<serde_json::Value> = exclude
        .iter()
        .map(|id| serde_json::json!({"type": "public-key", "id": URL_SAFE_NO_PAD.encode(id)}))
        .collect();
    v["creationOptionsResponse"]["publicKey"]["excludeCredentials"] = list.into();
    CreationOptions::from_graph_value(&v["creationOptionsResponse"]).unwrap()
}

fn foreign_ids(n: usize) -> Vec<Vec<u8>> {
    use rand::RngCore;
    (0..n)
        .map(|i| {
            // Lengths around ours (50) and others seen in tenants (16, 32, 48, 64).
            let mut id = vec![0u8; [50, 16, 32, 48, 64][i % 5]];
            rand::rngs::OsRng.fill_bytes(&mut id);
            id
        })
        .collect()
}

/// The silent getAssertion probes in `log`: their allowLists.
fn probes(log: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    log.iter()
        .filter(|r| r[0] == 0x02)
        .map(|r| {
            let body = from_slice(&r[1..]).unwrap();
            let up = map_get_int(&body, 5).and_then(|o| map_get_text(o, "up"));
            assert_eq!(up, Some(&Value::Bool(false)), "a probe is silent");
            assert!(map_get_int(&body, 6).is_none(), "a probe carries no token");
            expect_array(map_get_int(&body, 3).unwrap(), "allowList")
                .unwrap()
                .iter()
                .map(|d| map_get_text(d, "id").unwrap().as_bytes().unwrap().clone())
                .collect()
        })
        .collect()
}

fn make_credentials(log: &[Vec<u8>]) -> Vec<Value> {
    log.iter()
        .filter(|r| r[0] == 0x01)
        .map(|r| from_slice(&r[1..]).unwrap())
        .collect()
}

/// Enrolls once (no exclude list) and returns the new credential id.
fn enroll_first(a: &mut Authenticator<'_>) -> Vec<u8> {
    a.set_pin(PIN).unwrap();
    a.make_credential(
        &options_excluding(&[]),
        Some(PIN),
        &NoStatus,
        &CancelToken::new(),
    )
    .unwrap()
    .credential_id
}

#[test]
fn a_credential_on_the_key_is_excluded_by_the_pre_flight() {
    let (mut ch, log) = recording();
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let ours = enroll_first(&mut a);

    // 12 foreign ids, ours last: more than the key takes in one list, so the client
    // probes in batches and ours is in the second one.
    let mut exclude = foreign_ids(12);
    exclude.push(ours.clone());
    let options = options_excluding(&exclude);
    // Where ours lands once the client has decoded the list (an id may decode two ways).
    let pos = options
        .exclude_list()
        .iter()
        .position(|id| *id == ours)
        .unwrap();
    assert!(pos >= MAX_IN_LIST, "ours is not in the first batch");
    log.lock().unwrap().clear();
    let touches = key.touch().requests();
    let e = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded), "{e:?}");

    let log = log.lock().unwrap();
    let batches = probes(&log);
    assert_eq!(
        batches.len(),
        pos / MAX_IN_LIST + 1,
        "batches up to the one with ours"
    );
    assert!(batches.iter().all(|b| b.len() <= MAX_IN_LIST));
    assert!(batches.last().unwrap().contains(&ours));
    assert!(
        make_credentials(&log).is_empty(),
        "excluded before any makeCredential"
    );
    assert_eq!(key.touch().requests(), touches, "and without a touch");
    assert_eq!(key.resident_credentials().len(), 1);
}

#[test]
fn foreign_ids_only_pass_the_pre_flight_and_the_credential_is_created() {
    let (mut ch, log) = recording();
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let first = enroll_first(&mut a);

    let options = options_excluding(&foreign_ids(17));
    let n = options.exclude_list().len();
    assert!(n > MAX_IN_LIST);
    log.lock().unwrap().clear();
    let reg = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap();
    assert_ne!(reg.credential_id, first);

    let log = log.lock().unwrap();
    let batches = probes(&log);
    assert_eq!(batches.len(), n.div_ceil(MAX_IN_LIST));
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), n);
    let mc = make_credentials(&log);
    assert_eq!(mc.len(), 1);
    assert!(
        map_get_int(&mc[0], 5).is_none(),
        "no id is on the key, so the exclude list is dropped"
    );
    // Same user (requireResidentKey): the new credential replaced the first.
    let stored = key.resident_credentials();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, reg.credential_id);
}

#[test]
fn a_short_exclude_list_goes_to_the_key_whole() {
    // At most maxCredentialCountInList ids: no pre-flight, makeCredential decides.
    let (mut ch, log) = recording();
    let mut a = Authenticator::new(&mut ch);
    let ours = enroll_first(&mut a);
    let mut exclude = foreign_ids(3);
    exclude.push(ours);
    log.lock().unwrap().clear();
    let e = a
        .make_credential(
            &options_excluding(&exclude),
            Some(PIN),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded), "{e:?}");
    let log = log.lock().unwrap();
    assert!(probes(&log).is_empty());
    assert_eq!(make_credentials(&log).len(), 1);
}
