//! The client's exclude-list pre-flight (CTAP 2.1 §6.2 silent getAssertion in batches of
//! maxCredentialCountInList) against the software key, which now answers getAssertion:
//! a credential already on the key stops the enrollment with CREDENTIAL_EXCLUDED before
//! any makeCredential or touch; foreign ids only let the credential be created. With a PIN
//! the probes carry a pinUvAuthParam from an mc|ga token, so credProtect level-3
//! credentials (hidden without UV) are found too; a key refusing that token gets
//! unauthenticated probes and an mc-only token, as before.
#![cfg(feature = "soft")]

use std::sync::{Arc, Mutex};

use ciborium::Value;
use ctap::authenticator::Authenticator;
use ctap::cbor::{expect_array, from_slice, map_get_int, map_get_text};
use ctap::commands::get_assertion::GetAssertionRequest;
use ctap::commands::transact;
use ctap::error::StatusCode;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy, Unattended};
use ctap::webauthn::CreationOptions;
use ctap::{CancelToken, CtapChannel, NoStatus, StatusSink};

const PIN: &str = "482916";
/// maxCredentialCountInList of the software key (its getInfo).
const MAX_IN_LIST: usize = 8;

/// CTAP2_ERR_UNAUTHORIZED_PERMISSION.
const UNAUTHORIZED_PERMISSION: u8 = 0x40;
/// CTAP2_ERR_PIN_AUTH_INVALID.
const PIN_AUTH_INVALID: u8 = 0x33;

/// A channel to the soft key that records every CTAP2 request, and can play an older key.
struct Recording {
    key: SoftAuthenticator,
    log: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Answer UNAUTHORIZED_PERMISSION to a token request with ga alongside mc.
    refuse_mc_ga: bool,
    /// Answer PIN_AUTH_INVALID to a getAssertion that carries a pinUvAuthParam.
    refuse_probe_token: bool,
}

impl CtapChannel for Recording {
    fn cbor(
        &mut self,
        request: &[u8],
        _status: &dyn StatusSink,
        _cancel: &CancelToken,
    ) -> ctap::Result<Vec<u8>> {
        self.log.lock().unwrap().push(request.to_vec());
        if self.refuse_mc_ga && token_request(request).is_some_and(|(p, _)| p == 0x03) {
            return Ok(vec![UNAUTHORIZED_PERMISSION]);
        }
        if self.refuse_probe_token && request[0] == 0x02 {
            let body = from_slice(&request[1..]).unwrap();
            if map_get_int(&body, 6).is_some() {
                return Ok(vec![PIN_AUTH_INVALID]);
            }
        }
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
            refuse_mc_ga: false,
            refuse_probe_token: false,
        },
        log,
    )
}

/// The fixture's creation options with `exclude` as excludeCredentials.
fn options_excluding(exclude: &[Vec<u8>]) -> CreationOptions {
    options_with(exclude, "userVerificationOptional")
}

/// The same with credentialProtectionPolicy `policy` (enforced, as in the fixture).
fn options_with(exclude: &[Vec<u8>], policy: &str) -> CreationOptions {
    let mut o: CreationOptions =
        serde_json::from_str(include_str!("data/creation-options.json")).unwrap();
    o.exclude_credentials = exclude.to_vec();
    o.extensions.credential_protection_policy =
        Some(serde_json::from_value(policy.into()).unwrap());
    o
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

/// One silent getAssertion probe as sent.
struct Probe {
    /// allowList ids.
    ids: Vec<Vec<u8>>,
    /// 0x06 pinUvAuthParam and 0x07 pinUvAuthProtocol, when sent.
    auth: Option<(Vec<u8>, i128)>,
}

/// The silent getAssertion probes in `log`.
fn probes(log: &[Vec<u8>]) -> Vec<Probe> {
    log.iter()
        .filter(|r| r[0] == 0x02)
        .map(|r| {
            let body = from_slice(&r[1..]).unwrap();
            let up = map_get_int(&body, 5).and_then(|o| map_get_text(o, "up"));
            assert_eq!(up, Some(&Value::Bool(false)), "a probe is silent");
            let auth = map_get_int(&body, 6).map(|p| {
                let protocol = map_get_int(&body, 7)
                    .and_then(Value::as_integer)
                    .expect("pinUvAuthProtocol goes with pinUvAuthParam");
                (p.as_bytes().unwrap().clone(), i128::from(protocol))
            });
            let ids = expect_array(map_get_int(&body, 3).unwrap(), "allowList")
                .unwrap()
                .iter()
                .map(|d| map_get_text(d, "id").unwrap().as_bytes().unwrap().clone())
                .collect();
            Probe { ids, auth }
        })
        .collect()
}

/// (permissions, rpId) of a getPinUvAuthTokenUsingPinWithPermissions request.
fn token_request(request: &[u8]) -> Option<(u8, Option<String>)> {
    if request[0] != 0x06 {
        return None;
    }
    let body = from_slice(&request[1..]).ok()?;
    let sub = map_get_int(&body, 2).and_then(Value::as_integer)?;
    if i128::from(sub) != 0x09 {
        return None;
    }
    let permissions = map_get_int(&body, 9).and_then(Value::as_integer)?;
    let rp_id = map_get_int(&body, 0x0A)
        .and_then(Value::as_text)
        .map(str::to_owned);
    Some((u8::try_from(permissions).unwrap(), rp_id))
}

/// The token requests in `log`.
fn token_requests(log: &[Vec<u8>]) -> Vec<(u8, Option<String>)> {
    log.iter().filter_map(|r| token_request(r)).collect()
}

/// The command bytes of `log`, clientPIN ones with their subcommand (`0x06_09` = 0x0609).
fn commands(log: &[Vec<u8>]) -> Vec<u16> {
    log.iter()
        .map(|r| {
            if r[0] != 0x06 {
                return u16::from(r[0]);
            }
            let body = from_slice(&r[1..]).unwrap();
            let sub = map_get_int(&body, 2).and_then(Value::as_integer).unwrap();
            0x0600 | u16::try_from(i128::from(sub)).unwrap()
        })
        .collect()
}

const RP: &str = "login.microsoft.com";
/// makeCredential and getAssertion permissions (CTAP 2.1 §6.5.5.7).
const MC_GA: u8 = 0x01 | 0x02;
const MC: u8 = 0x01;

fn make_credentials(log: &[Vec<u8>]) -> Vec<Value> {
    log.iter()
        .filter(|r| r[0] == 0x01)
        .map(|r| from_slice(&r[1..]).unwrap())
        .collect()
}

/// Enrolls once (no exclude list) and returns the new credential id.
fn enroll_first(a: &mut Authenticator<'_>) -> Vec<u8> {
    enroll_first_with(a, "userVerificationOptional")
}

/// Enrolls once with credentialProtectionPolicy `policy` and returns the new credential id.
fn enroll_first_with(a: &mut Authenticator<'_>, policy: &str) -> Vec<u8> {
    a.set_pin(PIN).unwrap();
    a.make_credential(
        &options_with(&[], policy),
        Some(PIN),
        &NoStatus,
        &CancelToken::new(),
    )
    .unwrap()
    .credential_id
}

/// 12 foreign ids with `ours` last, and where ours lands once the client has decoded the
/// list: past the first batch.
fn exclude_with(ours: &[u8], policy: &str) -> (CreationOptions, usize) {
    let mut exclude = foreign_ids(12);
    exclude.push(ours.to_vec());
    let options = options_with(&exclude, policy);
    let pos = options
        .exclude_credentials
        .iter()
        .position(|id| id == ours)
        .unwrap();
    assert!(pos >= MAX_IN_LIST, "ours is not in the first batch");
    (options, pos)
}

/// Every probe carried the same pinUvAuthParam (one token, one clientDataHash) under a
/// protocol of the key; returns it.
fn one_probe_param(batches: &[Probe]) -> Vec<u8> {
    let (param, protocol) = batches[0].auth.clone().expect("the probe carries a token");
    assert!(protocol == 1 || protocol == 2);
    assert!(
        batches
            .iter()
            .all(|b| b.auth.as_ref() == Some(&(param.clone(), protocol))),
        "every probe carries the token"
    );
    param
}

#[test]
fn a_credential_on_the_key_is_excluded_by_the_pre_flight() {
    let (mut ch, log) = recording();
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let ours = enroll_first(&mut a);

    // More than the key takes in one list, so the client probes in batches and ours is in
    // the second one.
    let (options, pos) = exclude_with(&ours, "userVerificationOptional");
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
    assert!(batches.iter().all(|b| b.ids.len() <= MAX_IN_LIST));
    assert!(batches.last().unwrap().ids.contains(&ours));
    one_probe_param(&batches);
    assert_eq!(token_requests(&log), vec![(MC_GA, Some(RP.to_owned()))]);
    assert!(
        make_credentials(&log).is_empty(),
        "excluded before any makeCredential"
    );
    assert_eq!(key.touch().requests(), touches, "and without a touch");
    assert_eq!(key.resident_credentials().len(), 1);
}

#[test]
fn a_cred_protect_3_credential_is_excluded_by_the_authenticated_pre_flight() {
    let (mut ch, log) = recording();
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let ours = enroll_first_with(&mut a, "userVerificationRequired");
    assert_eq!(key.resident_credentials()[0].cred_protect, 3);

    // Without UV the key hides it: a probe without a token does not see it.
    let plain = GetAssertionRequest {
        rp_id: RP.into(),
        client_data_hash: [7; 32],
        allow_list: vec![ours.clone()],
        user_presence: false,
        pin_uv_auth: None,
    };
    let e = transact(a.channel(), &plain, &NoStatus, &CancelToken::new()).unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::NoCredentials), "{e:?}");

    let (options, pos) = exclude_with(&ours, "userVerificationRequired");
    log.lock().unwrap().clear();
    let touches = key.touch().requests();
    let e = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded), "{e:?}");

    let log = log.lock().unwrap();
    // getKeyAgreement, the mc|ga token for the RP, then only the authenticated probes.
    let expected: Vec<u16> = [0x0602, 0x0609]
        .into_iter()
        .chain(std::iter::repeat_n(0x02, pos / MAX_IN_LIST + 1))
        .collect();
    assert_eq!(commands(&log), expected);
    assert_eq!(token_requests(&log), vec![(MC_GA, Some(RP.to_owned()))]);
    let batches = probes(&log);
    assert!(batches.last().unwrap().ids.contains(&ours));
    one_probe_param(&batches);
    assert!(
        make_credentials(&log).is_empty(),
        "no makeCredential was sent"
    );
    assert_eq!(key.touch().requests(), touches, "and no touch asked");
    let stored = key.resident_credentials();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, ours, "the credential is untouched");
}

#[test]
fn foreign_ids_only_pass_the_pre_flight_and_the_credential_is_created() {
    let (mut ch, log) = recording();
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let first = enroll_first(&mut a);

    let options = options_excluding(&foreign_ids(17));
    let n = options.exclude_credentials.len();
    assert!(n > MAX_IN_LIST);
    log.lock().unwrap().clear();
    let reg = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap();
    assert_ne!(reg.credential_id, first);

    let log = log.lock().unwrap();
    let batches = probes(&log);
    assert_eq!(batches.len(), n.div_ceil(MAX_IN_LIST));
    assert_eq!(batches.iter().map(|b| b.ids.len()).sum::<usize>(), n);
    let param = one_probe_param(&batches);
    // One token, mc|ga: the silent probes left it usable for the makeCredential.
    assert_eq!(token_requests(&log), vec![(MC_GA, Some(RP.to_owned()))]);
    let mc = make_credentials(&log);
    assert_eq!(mc.len(), 1);
    assert!(
        map_get_int(&mc[0], 5).is_none(),
        "no id is on the key, so the exclude list is dropped"
    );
    assert_eq!(
        map_get_int(&mc[0], 8).and_then(Value::as_bytes),
        Some(&param),
        "the same token over the same clientDataHash authorised the makeCredential"
    );
    assert!(reg.auth_data.flags.user_verified());
    // Same user (requireResidentKey): the new credential replaced the first.
    let stored = key.resident_credentials();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].credential_id, reg.credential_id);
}

#[test]
fn a_key_refusing_ga_with_mc_gets_unauthenticated_probes_and_an_mc_token() {
    let (mut ch, log) = recording();
    ch.refuse_mc_ga = true;
    let key = ch.key.clone();
    let mut a = Authenticator::new(&mut ch);
    let first = enroll_first(&mut a);

    let options = options_excluding(&foreign_ids(17));
    let n = options.exclude_credentials.len();
    log.lock().unwrap().clear();
    let reg = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap();
    assert_ne!(reg.credential_id, first);

    let log = log.lock().unwrap();
    let batches = probes(&log);
    assert_eq!(batches.len(), n.div_ceil(MAX_IN_LIST));
    assert!(
        batches.iter().all(|b| b.auth.is_none()),
        "no token on probes"
    );
    // The refused mc|ga request, then an mc-only one after the probes.
    assert_eq!(
        token_requests(&log),
        vec![(MC_GA, Some(RP.to_owned())), (MC, Some(RP.to_owned()))]
    );
    let probes_then: Vec<u16> = std::iter::repeat_n(0x02, batches.len())
        .chain([0x0602, 0x0609, 0x01])
        .collect();
    assert_eq!(commands(&log)[2..], probes_then[..]);
    let mc = make_credentials(&log);
    assert_eq!(mc.len(), 1);
    assert!(map_get_int(&mc[0], 5).is_none());
    assert!(map_get_int(&mc[0], 8).is_some());
    assert_eq!(
        key.resident_credentials()[0].credential_id,
        reg.credential_id
    );
    assert_eq!(key.pin_retries(), 8, "the refusal cost no PIN attempt");

    // Credentials without credProtect 3 are still found without a token.
    drop(log);
    let (options, _) = exclude_with(&reg.credential_id, "userVerificationOptional");
    let e = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded), "{e:?}");
}

#[test]
fn a_key_refusing_the_token_on_a_probe_gets_the_rest_unauthenticated() {
    let (mut ch, log) = recording();
    ch.refuse_probe_token = true;
    let mut a = Authenticator::new(&mut ch);
    let first = enroll_first(&mut a);

    let options = options_excluding(&foreign_ids(17));
    let n = options.exclude_credentials.len();
    log.lock().unwrap().clear();
    let reg = a
        .make_credential(&options, Some(PIN), &NoStatus, &CancelToken::new())
        .unwrap();
    assert_ne!(reg.credential_id, first);

    let log = log.lock().unwrap();
    let batches = probes(&log);
    // The first batch twice (refused with the token, then without), the others without.
    assert_eq!(batches.len(), n.div_ceil(MAX_IN_LIST) + 1);
    assert!(batches[0].auth.is_some());
    assert_eq!(batches[0].ids, batches[1].ids);
    assert!(batches[1..].iter().all(|b| b.auth.is_none()));
    // A fresh mc-only token for the makeCredential.
    assert_eq!(
        token_requests(&log),
        vec![(MC_GA, Some(RP.to_owned())), (MC, Some(RP.to_owned()))]
    );
    assert_eq!(make_credentials(&log).len(), 1);
}

#[test]
fn a_short_exclude_list_goes_to_the_key_whole() {
    // At most maxCredentialCountInList ids: no pre-flight, makeCredential decides.
    let (mut ch, log) = recording();
    let mut a = Authenticator::new(&mut ch);
    let ours = enroll_first_with(&mut a, "userVerificationRequired");
    let mut exclude = foreign_ids(3);
    exclude.push(ours);
    log.lock().unwrap().clear();
    let e = a
        .make_credential(
            &options_with(&exclude, "userVerificationRequired"),
            Some(PIN),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded), "{e:?}");
    let log = log.lock().unwrap();
    assert!(probes(&log).is_empty());
    // The token comes last and needs mc only; the makeCredential with UV sees level 3.
    assert_eq!(token_requests(&log), vec![(MC, Some(RP.to_owned()))]);
    assert_eq!(make_credentials(&log).len(), 1);
}
