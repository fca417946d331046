//! The high-level [`Authenticator`] against a small fake key that runs the real PIN
//! protocols (CTAP 2.1 §6.5), authenticatorConfig (§6.11) and makeCredential (§6.1).

use std::sync::{Arc, Mutex};

use ciborium::Value;
use ctap::authenticator::Authenticator;
use ctap::cbor::{from_slice, int, map_get_int, map_get_text, text, to_canonical_vec};
use ctap::commands::client_pin::Permissions;
use ctap::error::StatusCode;
use ctap::pin::{cose_public_key, public_key_from_cose, PinProtocol, SharedSecret};
use ctap::webauthn::CreationOptions;
use ctap::{CancelToken, CtapChannel, Error, NoStatus, StatusSink};
use p256::SecretKey;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// attStmt the fake sends, deliberately not in canonical order ("sig" before "alg") so the
/// test can see it is passed on verbatim.
/// maxCredentialCountInList of the modern fake key.
const MAX_IN_LIST: usize = 2;

const ATT_STMT: &[u8] = &[
    0xA2, 0x63, b's', b'i', b'g', 0x42, 0xAB, 0xCD, 0x63, b'a', b'l', b'g', 0x26,
];

#[derive(Default)]
struct State {
    pin_hash: Option<[u8; 16]>,
    retries: u32,
    force_change: bool,
    min_len: u32,
    token: Vec<u8>,
    permissions: u8,
    token_rp: Option<String>,
    /// (command, clientPIN subcommand) of every request.
    log: Vec<(u8, Option<i64>)>,
    /// Answer the next command with this status instead.
    fail_next: Option<u8>,
    /// Credential ids on the key.
    creds: Vec<Vec<u8>>,
    /// Refuse a token with both mc and ga (UNAUTHORIZED_PERMISSION), as some keys do.
    refuse_mc_ga: bool,
    /// Whether each getAssertion carried a pinUvAuthParam.
    probe_tokens: Vec<bool>,
}

#[derive(Clone)]
struct FakeKey {
    key: SecretKey,
    modern: bool,
    state: Arc<Mutex<State>>,
}

impl FakeKey {
    fn new(modern: bool) -> Self {
        let state = State {
            retries: 8,
            min_len: 4,
            ..Default::default()
        };
        FakeKey {
            key: SecretKey::random(&mut rand::rngs::OsRng),
            modern,
            state: Arc::new(Mutex::new(state)),
        }
    }

    fn with_pin(self, pin: &str) -> Self {
        self.state.lock().unwrap().pin_hash = Some(hash(pin));
        self
    }

    fn log(&self) -> Vec<(u8, Option<i64>)> {
        self.state.lock().unwrap().log.clone()
    }

    fn info(&self, s: &State) -> Value {
        let mut opts = vec![
            (text("rk"), Value::Bool(true)),
            (text("clientPin"), Value::Bool(s.pin_hash.is_some())),
        ];
        let mut m = vec![
            (
                int(1),
                Value::Array(vec![text(if self.modern {
                    "FIDO_2_1"
                } else {
                    "FIDO_2_0"
                })]),
            ),
            (
                int(2),
                Value::Array(vec![text("credProtect"), text("hmac-secret")]),
            ),
            (int(3), Value::Bytes(vec![0x42; 16])),
        ];
        if self.modern {
            opts.push((text("pinUvAuthToken"), Value::Bool(true)));
            opts.push((text("authnrCfg"), Value::Bool(true)));
            opts.push((text("setMinPINLength"), Value::Bool(true)));
            m.push((int(6), Value::Array(vec![int(2), int(1)])));
            m.push((int(0x0C), Value::Bool(s.force_change)));
            m.push((int(0x0D), int(i64::from(s.min_len))));
            m.push((int(0x10), int(1)));
            m.push((int(7), int(MAX_IN_LIST as i64)));
            m.push((int(8), int(64)));
        } else {
            m.push((int(6), Value::Array(vec![int(1)])));
        }
        m.push((int(4), Value::Map(opts)));
        Value::Map(m)
    }

    fn handle(&self, req: &[u8]) -> Result<Vec<u8>, u8> {
        let mut s = self.state.lock().unwrap();
        let params = if req.len() > 1 {
            Some(from_slice(&req[1..]).map_err(|_| 0x12u8)?)
        } else {
            None
        };
        let sub = params
            .as_ref()
            .and_then(|p| map_get_int(p, 2))
            .and_then(|v| v.as_integer())
            .map(|i| i128::from(i) as i64);
        s.log
            .push((req[0], if req[0] == 0x06 { sub } else { None }));
        if let Some(code) = s.fail_next.take() {
            return Err(code);
        }
        let p = params.unwrap_or(Value::Map(vec![]));
        let bytes = |k: i64| {
            map_get_int(&p, k)
                .and_then(|v| v.as_bytes().cloned())
                .ok_or(0x14u8)
        };
        let protocol = map_get_int(&p, 1)
            .and_then(|v| v.as_integer())
            .and_then(|i| PinProtocol::from_number(i128::from(i) as u8))
            .unwrap_or(PinProtocol::V1);
        let shared = || -> Result<SharedSecret, u8> {
            let peer =
                public_key_from_cose(map_get_int(&p, 3).ok_or(0x14u8)?).map_err(|_| 0x11u8)?;
            protocol.decapsulate(&self.key, &peer).map_err(|_| 0x11)
        };
        let ok = |v: Value| Ok(to_canonical_vec(&v));
        match req[0] {
            0x04 => ok(self.info(&s)),
            0x06 => match sub {
                Some(1) => ok(Value::Map(vec![(int(3), int(i64::from(s.retries)))])),
                Some(2) => ok(Value::Map(vec![(
                    int(1),
                    cose_public_key(&self.key.public_key()),
                )])),
                Some(3) => {
                    let shared = shared()?;
                    let enc = bytes(5)?;
                    if s.pin_hash.is_some() || !protocol.verify(shared.as_bytes(), &enc, &bytes(4)?)
                    {
                        return Err(0x33);
                    }
                    let pin = new_pin(protocol, &shared, &enc, s.min_len)?;
                    s.pin_hash = Some(hash(&pin));
                    Ok(vec![])
                }
                Some(4) => {
                    let shared = shared()?;
                    let (enc, hash_enc) = (bytes(5)?, bytes(6)?);
                    let msg = [enc.clone(), hash_enc.clone()].concat();
                    if !protocol.verify(shared.as_bytes(), &msg, &bytes(4)?) {
                        return Err(0x33);
                    }
                    check_pin(&mut s, protocol, &shared, &hash_enc)?;
                    let pin = new_pin(protocol, &shared, &enc, s.min_len)?;
                    s.pin_hash = Some(hash(&pin));
                    s.force_change = false;
                    Ok(vec![])
                }
                Some(sub @ (5 | 9)) => {
                    if s.pin_hash.is_none() {
                        return Err(0x35);
                    }
                    let requested = map_get_int(&p, 9)
                        .and_then(|v| v.as_integer())
                        .map(|i| i128::from(i) as u8)
                        .unwrap_or(0);
                    if sub == 9 && s.refuse_mc_ga && requested & 0x03 == 0x03 {
                        return Err(0x40);
                    }
                    let shared = shared()?;
                    check_pin(&mut s, protocol, &shared, &bytes(6)?)?;
                    if s.force_change {
                        return Err(0x31);
                    }
                    let mut token = vec![0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut token);
                    s.token = token.clone();
                    s.permissions = if sub == 5 { 0x03 } else { requested };
                    s.token_rp = map_get_int(&p, 0x0A).and_then(|v| v.as_text().map(str::to_owned));
                    let enc = protocol.encrypt(&shared, &token).unwrap();
                    ok(Value::Map(vec![(int(2), Value::Bytes(enc))]))
                }
                _ => Err(0x3E),
            },
            0x0D => {
                let sub = map_get_int(&p, 1)
                    .and_then(|v| v.as_integer())
                    .map(|i| i128::from(i) as u8)
                    .ok_or(0x14u8)?;
                let params = map_get_int(&p, 2).cloned().unwrap_or(Value::Map(vec![]));
                let mut msg = vec![0xFF; 32];
                msg.extend([0x0D, sub]);
                msg.extend(to_canonical_vec(&params));
                if s.permissions & 0x20 == 0
                    || !protocol_of(&p, 3).verify(&s.token, &msg, &bytes(4)?)
                {
                    return Err(0x33);
                }
                if let Some(n) = map_get_int(&params, 1).and_then(|v| v.as_integer()) {
                    s.min_len = i128::from(n) as u32;
                }
                if map_get_int(&params, 3) == Some(&Value::Bool(true)) {
                    s.force_change = true;
                }
                Ok(vec![])
            }
            0x02 => {
                let allow = id_list(&p, 3);
                if self.modern && allow.len() > MAX_IN_LIST {
                    return Err(0x15);
                }
                if map_get_int(&p, 5).and_then(|o| map_get_text(o, "up"))
                    != Some(&Value::Bool(false))
                {
                    return Err(0x2B); // only silent probes are expected here
                }
                let rp = map_get_int(&p, 1).and_then(|v| v.as_text()).ok_or(0x14u8)?;
                // A pinUvAuthParam needs a token with ga for this RP; up=false keeps it.
                let with_token = map_get_int(&p, 6).is_some();
                s.probe_tokens.push(with_token);
                if with_token
                    && (s.permissions & 0x02 == 0
                        || s.token_rp.as_deref().is_some_and(|t| t != rp)
                        || !protocol_of(&p, 7).verify(&s.token, &bytes(2)?, &bytes(6)?))
                {
                    return Err(0x33);
                }
                let Some(id) = allow.iter().find(|id| s.creds.contains(id)) else {
                    return Err(0x2E);
                };
                let mut ad = Sha256::digest(rp.as_bytes()).to_vec();
                ad.extend([0x00, 0, 0, 0, 2]);
                ok(Value::Map(vec![
                    (
                        int(1),
                        Value::Map(vec![
                            (text("id"), Value::Bytes(id.clone())),
                            (text("type"), text("public-key")),
                        ]),
                    ),
                    (int(2), Value::Bytes(ad)),
                    (int(3), Value::Bytes(vec![0x30, 0x00])),
                ]))
            }
            0x01 => {
                let exclude = id_list(&p, 5);
                if self.modern && exclude.len() > MAX_IN_LIST {
                    return Err(0x15);
                }
                if exclude.iter().any(|id| s.creds.contains(id)) {
                    return Err(0x19);
                }
                s.creds.push(vec![0x99; 16]);
                let cdh = bytes(1)?;
                if s.permissions & 0x01 == 0
                    || !protocol_of(&p, 9).verify(&s.token, &cdh, &bytes(8)?)
                {
                    return Err(0x33);
                }
                let rp = map_get_int(&p, 2)
                    .and_then(|r| map_get_text(r, "id"))
                    .and_then(|v| v.as_text())
                    .ok_or(0x14u8)?;
                if s.token_rp.as_deref().is_some_and(|t| t != rp) {
                    return Err(0x33);
                }
                let mut ad = Sha256::digest(rp.as_bytes()).to_vec();
                ad.push(0x45 | 0x80); // UP, UV, AT, ED
                ad.extend([0, 0, 0, 1]);
                ad.extend([0x42; 16]);
                ad.extend([0, 16]);
                ad.extend([0x99; 16]);
                let cred_key = SecretKey::random(&mut rand::rngs::OsRng).public_key();
                ad.extend(to_canonical_vec(&cose_public_key(&cred_key)));
                let ext = map_get_int(&p, 6).cloned().unwrap_or(Value::Map(vec![]));
                ad.extend(to_canonical_vec(&ext));
                let mut out = vec![0xA3];
                out.extend(to_canonical_vec(&int(1)));
                out.extend(to_canonical_vec(&text("packed")));
                out.extend(to_canonical_vec(&int(2)));
                out.extend(to_canonical_vec(&Value::Bytes(ad)));
                out.extend(to_canonical_vec(&int(3)));
                out.extend(ATT_STMT);
                Ok(out)
            }
            0x07 => {
                *s = State {
                    retries: 8,
                    min_len: 4,
                    log: std::mem::take(&mut s.log),
                    ..Default::default()
                };
                Ok(vec![])
            }
            _ => Err(0x01),
        }
    }
}

fn id_list(p: &Value, key: i64) -> Vec<Vec<u8>> {
    match map_get_int(p, key) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|d| map_get_text(d, "id")?.as_bytes().cloned())
            .collect(),
        _ => vec![],
    }
}

fn protocol_of(p: &Value, key: i64) -> PinProtocol {
    map_get_int(p, key)
        .and_then(|v| v.as_integer())
        .and_then(|i| PinProtocol::from_number(i128::from(i) as u8))
        .unwrap_or(PinProtocol::V1)
}

fn hash(pin: &str) -> [u8; 16] {
    let mut h = [0u8; 16];
    h.copy_from_slice(&Sha256::digest(pin.as_bytes())[..16]);
    h
}

fn check_pin(
    s: &mut State,
    protocol: PinProtocol,
    shared: &SharedSecret,
    hash_enc: &[u8],
) -> Result<(), u8> {
    let got = protocol.decrypt(shared, hash_enc).map_err(|_| 0x31u8)?;
    if s.retries == 0 {
        return Err(0x32);
    }
    if Some(&got[..]) != s.pin_hash.as_ref().map(|h| &h[..]) {
        s.retries -= 1;
        return Err(0x31);
    }
    s.retries = 8;
    Ok(())
}

fn new_pin(
    protocol: PinProtocol,
    shared: &SharedSecret,
    enc: &[u8],
    min_len: u32,
) -> Result<String, u8> {
    let padded = protocol.decrypt(shared, enc).map_err(|_| 0x33u8)?;
    if padded.len() != 64 {
        return Err(0x37);
    }
    let end = padded.iter().position(|&b| b == 0).unwrap_or(64);
    let pin = String::from_utf8(padded[..end].to_vec()).map_err(|_| 0x37u8)?;
    if (pin.chars().count() as u32) < min_len {
        return Err(0x37);
    }
    Ok(pin)
}

impl CtapChannel for FakeKey {
    fn cbor(
        &mut self,
        request: &[u8],
        _status: &dyn StatusSink,
        _cancel: &CancelToken,
    ) -> ctap::Result<Vec<u8>> {
        Ok(match self.handle(request) {
            Ok(body) => [vec![0x00], body].concat(),
            Err(code) => vec![code],
        })
    }
    fn vendor(&mut self, _cmd: u8, _data: &[u8]) -> ctap::Result<Vec<u8>> {
        Err(ctap::hid::HidError::InvalidCommand.into())
    }
    fn wink(&mut self) -> ctap::Result<()> {
        Ok(())
    }
    fn max_msg_size(&self) -> usize {
        1200
    }
}

fn fixture_options() -> CreationOptions {
    serde_json::from_str(include_str!("data/creation-options.json")).unwrap()
}

#[test]
fn set_pin_then_make_credential_end_to_end() {
    let mut key = FakeKey::new(true);
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    assert_eq!(a.get_info().unwrap().option("clientPin"), Some(false));
    a.set_pin("482916").unwrap();
    assert_eq!(
        a.get_info().unwrap().option("clientPin"),
        Some(true),
        "info refreshed after setPIN"
    );
    assert_eq!(a.pin_retries().unwrap(), 8);

    let reg = a
        .make_credential(
            &fixture_options(),
            Some("482916"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(reg.credential_id, vec![0x99; 16]);
    assert!(reg.auth_data.flags.user_verified());
    assert_eq!(
        reg.auth_data.extension("hmac-secret"),
        Some(&Value::Bool(true))
    );
    assert_eq!(
        reg.client_extension_results,
        serde_json::json!({"hmacCreateSecret": true})
    );
    // attStmt passed on byte for byte, in the attestation object with text keys.
    let ao = &reg.attestation_object;
    assert!(ao.windows(ATT_STMT.len()).any(|w| w == ATT_STMT));
    let aov = from_slice(ao).unwrap();
    assert_eq!(map_get_text(&aov, "fmt"), Some(&text("packed")));
    assert!(reg
        .client_data_json
        .starts_with(b"{\"type\":\"webauthn.create\",\"challenge\":\"ZXlK"));

    let s = probe.state.lock().unwrap();
    assert_eq!(
        s.permissions,
        (Permissions::MAKE_CREDENTIAL | Permissions::GET_ASSERTION).bits()
    );
    assert_eq!(s.token_rp.as_deref(), Some("login.microsoft.com"));
    // getInfo, getKeyAgreement, setPIN, getInfo, getPINRetries, getKeyAgreement, an mc|ga
    // token (0x09), two silent exclude-list probes with it (4 ids, 2 per request),
    // makeCredential with the same token.
    let cmds: Vec<_> = s.log.iter().map(|(c, sub)| (*c, *sub)).collect();
    assert_eq!(
        cmds,
        vec![
            (4, None),
            (6, Some(2)),
            (6, Some(3)),
            (4, None),
            (6, Some(1)),
            (6, Some(2)),
            (6, Some(9)),
            (2, None),
            (2, None),
            (1, None)
        ]
    );
    assert_eq!(s.probe_tokens, vec![true, true]);
}

#[test]
fn pin_rules_are_checked_before_anything_is_sent() {
    let mut key = FakeKey::new(true);
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    assert!(matches!(a.set_pin("123"), Err(Error::PinRules(_))));
    assert!(
        matches!(a.set_pin("€€€"), Err(Error::PinRules(_))),
        "3 code points"
    );
    assert!(matches!(
        a.set_pin(&"9".repeat(64)),
        Err(Error::PinRules(_))
    ));
    assert!(
        matches!(a.set_pin(&"ä".repeat(32)), Err(Error::PinRules(_))),
        "64 bytes UTF-8"
    );
    let e = a.set_pin("12").unwrap_err().to_string();
    assert!(
        !e.contains("12"),
        "error text must not contain the PIN: {e}"
    );
    assert_eq!(probe.log(), vec![(4, None)], "only getInfo went to the key");
    a.set_pin("ääää").unwrap();
    assert_eq!(probe.state.lock().unwrap().pin_hash, Some(hash("ääää")));
}

#[test]
fn set_pin_on_a_key_with_a_pin_says_so() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let mut a = Authenticator::new(&mut key);
    assert!(matches!(a.set_pin("222222"), Err(Error::PinAlreadySet)));
    // With getInfo already cached before someone else set a PIN, the key's answer is mapped.
    let mut key = FakeKey::new(true);
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    a.get_info().unwrap();
    probe.state.lock().unwrap().pin_hash = Some(hash("111111"));
    let e = a.set_pin("222222").unwrap_err();
    assert!(matches!(e, Error::PinAlreadySet));
    assert!(e.to_string().contains("already has a PIN"));
}

#[test]
fn wrong_pin_reports_retries_left() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let mut a = Authenticator::new(&mut key);
    let e = a
        .token(
            "999999",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com"),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::PinInvalid {
                retries_left: Some(7)
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("7 attempts left"));
    let e = a.change_pin("999999", "333333").unwrap_err();
    assert!(
        matches!(
            e,
            Error::PinInvalid {
                retries_left: Some(6)
            }
        ),
        "{e:?}"
    );
    assert!(a
        .token(
            "111111",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com")
        )
        .is_ok());
}

#[test]
fn forced_pin_change_is_recognised_and_cleared_by_change_pin() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    a.set_min_pin_length(
        "111111",
        Some(6),
        &["login.microsoft.com".to_string()],
        true,
    )
    .unwrap();
    {
        let s = probe.state.lock().unwrap();
        assert!(s.force_change);
        assert_eq!(s.min_len, 6);
    }
    assert_eq!(a.get_info().unwrap().min_pin_length, Some(6));
    let e = a
        .token(
            "111111",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com"),
        )
        .unwrap_err();
    assert!(matches!(e, Error::ForcedPinChangePending), "{e:?}");
    assert!(
        matches!(a.change_pin("111111", "12345"), Err(Error::PinRules(_))),
        "new minimum applies"
    );
    assert!(
        matches!(a.change_pin("111111", "111111"), Err(Error::PinRules(_))),
        "must differ"
    );
    a.change_pin("111111", "654321").unwrap();
    assert!(!a.get_info().unwrap().force_pin_change);
    assert!(a
        .token(
            "654321",
            Permissions::GET_ASSERTION,
            Some("login.microsoft.com")
        )
        .is_ok());
}

#[test]
fn set_min_pin_length_checks_before_sending() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let mut a = Authenticator::new(&mut key);
    let two = vec!["a.example".to_string(), "b.example".to_string()];
    assert!(matches!(
        a.set_min_pin_length("111111", Some(8), &two, false),
        Err(Error::Unsupported(_))
    ));
    assert!(matches!(
        a.set_min_pin_length("111111", Some(3), &[], false),
        Err(Error::InvalidInput(_))
    ));
    let mut legacy = FakeKey::new(false).with_pin("111111");
    let mut a = Authenticator::new(&mut legacy);
    assert!(matches!(
        a.set_min_pin_length("111111", Some(8), &[], false),
        Err(Error::Unsupported(_))
    ));
}

#[test]
fn legacy_key_uses_get_pin_token_with_protocol_one() {
    let mut key = FakeKey::new(false).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    let t = a
        .token(
            "111111",
            Permissions::MAKE_CREDENTIAL,
            Some("login.microsoft.com"),
        )
        .unwrap();
    assert_eq!(t.protocol(), PinProtocol::V1);
    assert!(format!("{t:?}").contains("***"));
    assert_eq!(probe.log().last(), Some(&(6, Some(5))));
    let reg = a
        .make_credential(
            &fixture_options(),
            Some("111111"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(reg.credential_id.len(), 16);
}

#[test]
fn key_errors_pass_through_with_operator_text() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    a.get_info().unwrap();
    probe.state.lock().unwrap().fail_next = Some(0x34);
    let e = a.pin_retries().unwrap_err();
    assert!(matches!(e, Error::Ctap(StatusCode::PinAuthBlocked)));
    assert!(e.to_string().contains("remove and re-insert the key"));
    // makeCredential without a PIN on a key that has one is refused before the key is touched.
    let before = probe.log().len();
    assert!(matches!(
        a.make_credential(&fixture_options(), None, &NoStatus, &CancelToken::new()),
        Err(Error::InvalidInput(_))
    ));
    assert_eq!(probe.log().len(), before);
}

#[test]
fn credential_excluded_and_reset() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    a.get_info().unwrap();
    // The token request succeeds, then the key reports the credential as excluded.
    let opts = fixture_options();
    {
        let mut s = probe.state.lock().unwrap();
        s.fail_next = None;
    }
    let token = a.token(
        "111111",
        Permissions::MAKE_CREDENTIAL,
        Some("login.microsoft.com"),
    );
    assert!(token.is_ok());
    probe.state.lock().unwrap().fail_next = Some(0x19);
    let mut prepared = opts.prepare(a.get_info().unwrap()).unwrap();
    prepared.request.authorize(&token.unwrap());
    let e = ctap::commands::transact(
        a.channel(),
        &prepared.request,
        &NoStatus,
        &CancelToken::new(),
    )
    .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded));
    assert!(e.to_string().contains("already registered"));

    probe.state.lock().unwrap().fail_next = Some(0x30);
    let e = a.reset(&NoStatus, &CancelToken::new()).unwrap_err();
    assert!(matches!(e, Error::ResetNotAllowed), "{e:?}");
    a.reset(&NoStatus, &CancelToken::new()).unwrap();
    assert_eq!(a.get_info().unwrap().option("clientPin"), Some(false));
}

#[test]
fn long_exclude_list_is_probed_in_batches_then_cleared() {
    // The fixture yields 4 exclude ids; this key takes 2 per request.
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    a.make_credential(
        &fixture_options(),
        Some("111111"),
        &NoStatus,
        &CancelToken::new(),
    )
    .unwrap();
    let cmds: Vec<u8> = probe.log().iter().map(|(c, _)| *c).collect();
    assert_eq!(
        cmds.iter().filter(|&&c| c == 0x02).count(),
        2,
        "two silent probes: {cmds:?}"
    );
    assert_eq!(cmds.last(), Some(&0x01));
}

#[test]
fn already_registered_key_is_found_by_the_authenticated_probe() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    // The fixture's third exclude id (plain base64url "L-pqCQL3U2NlFYi8FhxDyA").
    probe
        .state
        .lock()
        .unwrap()
        .creds
        .push(hex::decode("2fea6a0902f75363651588bc161c43c8").unwrap());
    let mut a = Authenticator::new(&mut key);
    let e = a
        .make_credential(
            &fixture_options(),
            Some("111111"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded));
    // One mc|ga token, then the probes with it (the id is in the second batch), no
    // makeCredential.
    let cmds = probe.log();
    let token_at = cmds.iter().position(|c| *c == (6, Some(9))).unwrap();
    assert_eq!(cmds[token_at + 1..], [(2, None), (2, None)]);
    let s = probe.state.lock().unwrap();
    assert_eq!(s.permissions, 0x03);
    assert_eq!(s.probe_tokens, vec![true, true]);
}

#[test]
fn a_key_refusing_mc_with_ga_is_probed_without_a_token() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    probe.state.lock().unwrap().refuse_mc_ga = true;
    let mut a = Authenticator::new(&mut key);
    a.make_credential(
        &fixture_options(),
        Some("111111"),
        &NoStatus,
        &CancelToken::new(),
    )
    .unwrap();
    let cmds = probe.log();
    // getInfo, the refused mc|ga token, the probes without one, an mc token, makeCredential.
    assert_eq!(
        cmds,
        vec![
            (4, None),
            (6, Some(2)),
            (6, Some(9)),
            (2, None),
            (2, None),
            (6, Some(2)),
            (6, Some(9)),
            (1, None)
        ]
    );
    let s = probe.state.lock().unwrap();
    assert_eq!(s.probe_tokens, vec![false, false]);
    assert_eq!(s.permissions, Permissions::MAKE_CREDENTIAL.bits());
    assert_eq!(s.retries, 8);
}

#[test]
fn a_wrong_pin_stops_before_the_probes() {
    let mut key = FakeKey::new(true).with_pin("111111");
    let probe = key.clone();
    let mut a = Authenticator::new(&mut key);
    let e = a
        .make_credential(
            &fixture_options(),
            Some("999999"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::PinInvalid {
                retries_left: Some(7)
            }
        ),
        "{e:?}"
    );
    let cmds = probe.log();
    assert_eq!(
        cmds.iter().filter(|c| **c == (6, Some(9))).count(),
        1,
        "the PIN is tried once: {cmds:?}"
    );
    assert!(!cmds.iter().any(|(c, _)| *c == 0x02 || *c == 0x01));
}

#[test]
fn short_exclude_list_goes_to_make_credential_directly() {
    let mut key = FakeKey::new(false).with_pin("111111");
    let probe = key.clone();
    probe
        .state
        .lock()
        .unwrap()
        .creds
        .push(hex::decode("2fea6a0902f75363651588bc161c43c8").unwrap());
    let mut a = Authenticator::new(&mut key);
    let e = a
        .make_credential(
            &fixture_options(),
            Some("111111"),
            &NoStatus,
            &CancelToken::new(),
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::CredentialExcluded));
    assert!(
        !probe.log().iter().any(|(c, _)| *c == 0x02),
        "no probes without maxCredentialCountInList"
    );
}
