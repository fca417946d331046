//! A raw-bytes "platform" for driving the software key in tests: builds CTAP2 requests with
//! ciborium values and the crate's PIN protocols, and checks replies byte by byte.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use ciborium::value::Value;
use ctap::cbor::{self, int, text};
use ctap::handler::PresenceContext;
use ctap::pin::{cose_public_key, public_key_from_cose, PinProtocol};
use ctap::soft::{SoftAuthenticator, SoftConfig};
use ctap::KeepaliveStatus;
use p256::PublicKey;
use sha2::{Digest, Sha256};

pub const OK: u8 = 0x00;
pub const INVALID_PARAMETER: u8 = 0x02;
pub const MISSING_PARAMETER: u8 = 0x14;
pub const LIMIT_EXCEEDED: u8 = 0x15;
pub const CREDENTIAL_EXCLUDED: u8 = 0x19;
pub const UNSUPPORTED_ALGORITHM: u8 = 0x26;
pub const OPERATION_DENIED: u8 = 0x27;
pub const UNSUPPORTED_OPTION: u8 = 0x2B;
pub const INVALID_OPTION: u8 = 0x2C;
pub const KEEPALIVE_CANCEL: u8 = 0x2D;
pub const NO_CREDENTIALS: u8 = 0x2E;
pub const USER_ACTION_TIMEOUT: u8 = 0x2F;
pub const NOT_ALLOWED: u8 = 0x30;
pub const PIN_INVALID: u8 = 0x31;
pub const PIN_BLOCKED: u8 = 0x32;
pub const PIN_AUTH_INVALID: u8 = 0x33;
pub const PIN_AUTH_BLOCKED: u8 = 0x34;
pub const PIN_NOT_SET: u8 = 0x35;
pub const PUAT_REQUIRED: u8 = 0x36;
pub const PIN_POLICY_VIOLATION: u8 = 0x37;
pub const UNAUTHORIZED_PERMISSION: u8 = 0x40;

pub const MC: u8 = 0x01;
pub const GA: u8 = 0x02;
pub const ACFG: u8 = 0x20;

pub const RP: &str = "login.microsoft.com";

/// A presence context that records statuses and can be cancelled from another thread.
#[derive(Default)]
pub struct Recorder {
    pub cancelled: AtomicBool,
    pub statuses: Mutex<Vec<KeepaliveStatus>>,
}

impl PresenceContext for Recorder {
    fn set_status(&self, status: KeepaliveStatus) {
        self.statuses.lock().unwrap().push(status);
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Recorder {
    pub fn saw_up_needed(&self) -> bool {
        self.statuses
            .lock()
            .unwrap()
            .contains(&KeepaliveStatus::UpNeeded)
    }
}

pub fn new_key(config: SoftConfig) -> SoftAuthenticator {
    SoftAuthenticator::new(config).unwrap()
}

pub fn map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries)
}

pub fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

/// Sends `cmd` + canonical CBOR of `params` (or nothing) and splits the reply.
pub fn call_with(
    key: &SoftAuthenticator,
    cmd: u8,
    params: Option<Value>,
    presence: &dyn PresenceContext,
) -> (u8, Option<Value>) {
    let mut req = vec![cmd];
    if let Some(p) = params {
        req.extend_from_slice(&cbor::to_canonical_vec(&p));
    }
    let reply = key.process(&req, presence);
    let body = if reply.len() > 1 {
        // Replies must be canonical: re-encoding gives the same bytes.
        let v = cbor::from_slice(&reply[1..]).unwrap();
        assert_eq!(
            cbor::to_canonical_vec(&v),
            reply[1..],
            "reply is not canonical CBOR"
        );
        Some(v)
    } else {
        None
    };
    (reply[0], body)
}

pub fn call(key: &SoftAuthenticator, cmd: u8, params: Option<Value>) -> (u8, Option<Value>) {
    call_with(key, cmd, params, &Recorder::default())
}

pub fn get(v: &Value, k: i64) -> &Value {
    cbor::map_get_int(v, k).unwrap_or_else(|| panic!("key {k} missing in {v:?}"))
}

pub fn get_info(key: &SoftAuthenticator) -> Value {
    let (status, body) = call(key, 0x04, None);
    assert_eq!(status, OK);
    body.unwrap()
}

pub fn info_option(key: &SoftAuthenticator, name: &str) -> Option<bool> {
    let info = get_info(key);
    cbor::map_get_text(get(&info, 0x04), name).map(|v| v.as_bool().unwrap())
}

pub fn pin_retries(key: &SoftAuthenticator) -> (u8, bool) {
    let (status, body) = call(
        key,
        0x06,
        Some(map(vec![(int(1), int(2)), (int(2), int(1))])),
    );
    assert_eq!(status, OK);
    let body = body.unwrap();
    let retries = cbor::expect_int(get(&body, 3), "retries").unwrap() as u8;
    let power_cycle = cbor::map_get_int(&body, 4)
        .map(|v| v.as_bool().unwrap())
        .unwrap_or(false);
    (retries, power_cycle)
}

/// getKeyAgreement + encapsulate: our COSE key and the shared secret.
pub fn agree(key: &SoftAuthenticator, proto: PinProtocol) -> (Value, ctap::pin::SharedSecret) {
    let (status, body) = call(
        key,
        0x06,
        Some(map(vec![
            (int(1), int(proto.number().into())),
            (int(2), int(2)),
        ])),
    );
    assert_eq!(status, OK);
    let peer: PublicKey = public_key_from_cose(get(&body.unwrap(), 1)).unwrap();
    let (ours, shared) = proto.encapsulate(&peer).unwrap();
    (cose_public_key(&ours), shared)
}

pub fn padded(pin: &[u8]) -> Vec<u8> {
    let mut p = pin.to_vec();
    p.resize(64.max(p.len()), 0);
    p
}

pub fn pin_hash(pin: &str) -> Vec<u8> {
    Sha256::digest(pin.as_bytes())[..16].to_vec()
}

/// setPIN with a raw padded block (so tests can send over-long PINs).
pub fn set_pin_padded(key: &SoftAuthenticator, proto: PinProtocol, padded_pin: &[u8]) -> u8 {
    let (ka, shared) = agree(key, proto);
    let enc = proto.encrypt(&shared, padded_pin).unwrap();
    let auth = proto.authenticate(shared.as_bytes(), &enc);
    call(
        key,
        0x06,
        Some(map(vec![
            (int(1), int(proto.number().into())),
            (int(2), int(3)),
            (int(3), ka),
            (int(4), bytes(&auth)),
            (int(5), bytes(&enc)),
        ])),
    )
    .0
}

pub fn set_pin(key: &SoftAuthenticator, proto: PinProtocol, pin: &str) -> u8 {
    set_pin_padded(key, proto, &padded(pin.as_bytes()))
}

/// A fresh key whose PIN is `pin` (set with PIN protocol 2).
pub fn key_with_pin(pin: &str) -> SoftAuthenticator {
    let key = new_key(SoftConfig::default());
    assert_eq!(set_pin(&key, PinProtocol::V2, pin), OK);
    key
}

pub fn change_pin(key: &SoftAuthenticator, proto: PinProtocol, old: &str, new: &str) -> u8 {
    let (ka, shared) = agree(key, proto);
    let new_enc = proto.encrypt(&shared, &padded(new.as_bytes())).unwrap();
    let hash_enc = proto.encrypt(&shared, &pin_hash(old)).unwrap();
    let mut msg = new_enc.clone();
    msg.extend_from_slice(&hash_enc);
    let auth = proto.authenticate(shared.as_bytes(), &msg);
    call(
        key,
        0x06,
        Some(map(vec![
            (int(1), int(proto.number().into())),
            (int(2), int(4)),
            (int(3), ka),
            (int(4), bytes(&auth)),
            (int(5), bytes(&new_enc)),
            (int(6), bytes(&hash_enc)),
        ])),
    )
    .0
}

/// getPinUvAuthTokenUsingPinWithPermissions (or getPinToken when `permissions` is None).
/// Returns the decrypted token or the status.
pub fn token(
    key: &SoftAuthenticator,
    proto: PinProtocol,
    pin: &str,
    permissions: Option<u8>,
    rp_id: Option<&str>,
) -> Result<Vec<u8>, u8> {
    let (ka, shared) = agree(key, proto);
    let hash_enc = proto.encrypt(&shared, &pin_hash(pin)).unwrap();
    let mut params = vec![
        (int(1), int(proto.number().into())),
        (int(2), int(if permissions.is_some() { 9 } else { 5 })),
        (int(3), ka),
        (int(6), bytes(&hash_enc)),
    ];
    if let Some(p) = permissions {
        params.push((int(9), int(p.into())));
    }
    if let Some(rp) = rp_id {
        params.push((int(0x0A), text(rp)));
    }
    match call(key, 0x06, Some(map(params))) {
        (OK, Some(body)) => {
            let enc = cbor::expect_bytes(get(&body, 2), "token").unwrap();
            Ok(proto.decrypt(&shared, enc).unwrap().to_vec())
        }
        (status, _) => Err(status),
    }
}

/// A makeCredential request for `rp_id`/`user_id`, ES256, with optional token auth.
pub struct Mc {
    pub rp_id: String,
    pub user_id: Vec<u8>,
    pub client_data_hash: [u8; 32],
    pub rk: bool,
    pub algs: Vec<i64>,
    pub exclude: Vec<Vec<u8>>,
    pub extensions: Vec<(Value, Value)>,
    pub auth: Option<(PinProtocol, Vec<u8>)>,
    pub uv_option: Option<bool>,
}

impl Mc {
    pub fn new(rp_id: &str, user_id: &[u8]) -> Self {
        Self {
            rp_id: rp_id.into(),
            user_id: user_id.into(),
            client_data_hash: Sha256::digest(b"{\"type\":\"webauthn.create\"}").into(),
            rk: false,
            algs: vec![-7],
            exclude: vec![],
            extensions: vec![],
            auth: None,
            uv_option: None,
        }
    }

    pub fn with_token(mut self, proto: PinProtocol, token: &[u8]) -> Self {
        self.auth = Some((proto, token.to_vec()));
        self
    }

    pub fn params(&self) -> Value {
        let mut p = vec![
            (int(1), bytes(&self.client_data_hash)),
            (
                int(2),
                map(vec![
                    (text("id"), text(&self.rp_id)),
                    (text("name"), text("RP")),
                ]),
            ),
            (
                int(3),
                map(vec![
                    (text("id"), bytes(&self.user_id)),
                    (text("name"), text("ada@contoso.com")),
                    (text("displayName"), text("Ada")),
                ]),
            ),
            (
                int(4),
                Value::Array(
                    self.algs
                        .iter()
                        .map(|a| {
                            map(vec![
                                (text("alg"), int(*a)),
                                (text("type"), text("public-key")),
                            ])
                        })
                        .collect(),
                ),
            ),
        ];
        if !self.exclude.is_empty() {
            p.push((
                int(5),
                Value::Array(
                    self.exclude
                        .iter()
                        .map(|id| {
                            map(vec![
                                (text("id"), bytes(id)),
                                (text("type"), text("public-key")),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.extensions.is_empty() {
            p.push((int(6), map(self.extensions.clone())));
        }
        let mut opts = vec![];
        if self.rk {
            opts.push((text("rk"), Value::Bool(true)));
        }
        if let Some(uv) = self.uv_option {
            opts.push((text("uv"), Value::Bool(uv)));
        }
        if !opts.is_empty() {
            p.push((int(7), map(opts)));
        }
        if let Some((proto, token)) = &self.auth {
            p.push((
                int(8),
                bytes(&proto.authenticate(token, &self.client_data_hash)),
            ));
            p.push((int(9), int(proto.number().into())));
        }
        map(p)
    }

    pub fn send(&self, key: &SoftAuthenticator) -> (u8, Option<Value>) {
        call(key, 0x01, Some(self.params()))
    }
}

/// A getAssertion request (CTAP 2.1 §6.2) for `rp_id`, with optional token auth.
pub struct Ga {
    pub rp_id: String,
    pub client_data_hash: [u8; 32],
    pub allow: Vec<Vec<u8>>,
    pub extensions: Vec<(Value, Value)>,
    pub up: Option<bool>,
    pub uv_option: Option<bool>,
    pub auth: Option<(PinProtocol, Vec<u8>)>,
}

impl Ga {
    pub fn new(rp_id: &str) -> Self {
        Self {
            rp_id: rp_id.into(),
            client_data_hash: Sha256::digest(b"{\"type\":\"webauthn.get\"}").into(),
            allow: vec![],
            extensions: vec![],
            up: None,
            uv_option: None,
            auth: None,
        }
    }

    /// A silent probe (`"up": false`) for `ids`.
    pub fn silent(rp_id: &str, ids: &[&[u8]]) -> Self {
        let mut ga = Self::new(rp_id);
        ga.allow = ids.iter().map(|id| id.to_vec()).collect();
        ga.up = Some(false);
        ga
    }

    pub fn with_token(mut self, proto: PinProtocol, token: &[u8]) -> Self {
        self.auth = Some((proto, token.to_vec()));
        self
    }

    pub fn params(&self) -> Value {
        let mut p = vec![
            (int(1), text(&self.rp_id)),
            (int(2), bytes(&self.client_data_hash)),
        ];
        if !self.allow.is_empty() {
            p.push((
                int(3),
                Value::Array(
                    self.allow
                        .iter()
                        .map(|id| {
                            map(vec![
                                (text("id"), bytes(id)),
                                (text("type"), text("public-key")),
                            ])
                        })
                        .collect(),
                ),
            ));
        }
        if !self.extensions.is_empty() {
            p.push((int(4), map(self.extensions.clone())));
        }
        let mut opts = vec![];
        if let Some(up) = self.up {
            opts.push((text("up"), Value::Bool(up)));
        }
        if let Some(uv) = self.uv_option {
            opts.push((text("uv"), Value::Bool(uv)));
        }
        if !opts.is_empty() {
            p.push((int(5), map(opts)));
        }
        if let Some((proto, token)) = &self.auth {
            p.push((
                int(6),
                bytes(&proto.authenticate(token, &self.client_data_hash)),
            ));
            p.push((int(7), int(proto.number().into())));
        }
        map(p)
    }

    pub fn send(&self, key: &SoftAuthenticator) -> (u8, Option<Value>) {
        call(key, 0x02, Some(self.params()))
    }

    pub fn send_with(
        &self,
        key: &SoftAuthenticator,
        presence: &dyn PresenceContext,
    ) -> (u8, Option<Value>) {
        call_with(key, 0x02, Some(self.params()), presence)
    }
}

/// A getAssertion reply, parsed; the signature is checked against `public_key` (COSE) by
/// [`Assertion::verify`].
#[derive(Debug)]
pub struct Assertion {
    pub credential_id: Vec<u8>,
    pub auth_data: Vec<u8>,
    pub rp_id_hash: Vec<u8>,
    pub flags: u8,
    pub sign_count: u32,
    pub extensions: Option<Value>,
    pub signature: Vec<u8>,
    pub user: Option<Value>,
    pub number_of_credentials: Option<i64>,
}

pub fn parse_assertion(reply: &Value) -> Assertion {
    let cred = get(reply, 1);
    assert_eq!(cbor::map_get_text(cred, "type"), Some(&text("public-key")));
    let credential_id = cbor::expect_bytes(cbor::map_get_text(cred, "id").unwrap(), "id")
        .unwrap()
        .to_vec();
    let ad = cbor::expect_bytes(get(reply, 2), "authData")
        .unwrap()
        .to_vec();
    assert!(ad.len() >= 37, "authData too short");
    assert_eq!(
        ad[32] & 0x40,
        0,
        "no attested credential data in an assertion"
    );
    let extensions = (ad.len() > 37).then(|| cbor::from_slice(&ad[37..]).unwrap());
    assert_eq!(
        extensions.is_some(),
        ad[32] & 0x80 != 0,
        "ED flag matches the extension data"
    );
    Assertion {
        credential_id,
        rp_id_hash: ad[..32].to_vec(),
        flags: ad[32],
        sign_count: u32::from_be_bytes(ad[33..37].try_into().unwrap()),
        extensions,
        auth_data: ad,
        signature: cbor::expect_bytes(get(reply, 3), "signature")
            .unwrap()
            .to_vec(),
        user: cbor::map_get_int(reply, 4).cloned(),
        number_of_credentials: cbor::map_get_int(reply, 5)
            .map(|n| cbor::expect_int(n, "numberOfCredentials").unwrap()),
    }
}

impl Assertion {
    /// Checks the ES256 signature over authData || clientDataHash with the credential
    /// public key from the attestation (COSE_Key).
    pub fn verify(&self, public_key: &Value, client_data_hash: &[u8]) {
        use p256::ecdsa::signature::Verifier;
        use p256::ecdsa::{Signature, VerifyingKey};
        let pk = ctap::pin::public_key_from_cose(public_key).unwrap();
        let vk = VerifyingKey::from(&pk);
        let mut signed = self.auth_data.clone();
        signed.extend_from_slice(client_data_hash);
        vk.verify(&signed, &Signature::from_der(&self.signature).unwrap())
            .expect("the assertion signature must verify with the credential public key");
    }
}

/// The parts of authData (WebAuthn §6.1) tests look at.
#[derive(Debug)]
pub struct AuthData {
    pub rp_id_hash: Vec<u8>,
    pub flags: u8,
    pub sign_count: u32,
    pub aaguid: Vec<u8>,
    pub credential_id: Vec<u8>,
    pub public_key: Value,
    pub extensions: Option<Value>,
}

pub fn parse_auth_data(ad: &[u8]) -> AuthData {
    let flags = ad[32];
    let sign_count = u32::from_be_bytes(ad[33..37].try_into().unwrap());
    let aaguid = ad[37..53].to_vec();
    let id_len = u16::from_be_bytes([ad[53], ad[54]]) as usize;
    let credential_id = ad[55..55 + id_len].to_vec();
    let mut rest = std::io::Cursor::new(&ad[55 + id_len..]);
    let public_key: Value = ciborium::de::from_reader(&mut rest).unwrap();
    let used = rest.position() as usize;
    let tail = &ad[55 + id_len + used..];
    let extensions = if tail.is_empty() {
        None
    } else {
        Some(cbor::from_slice(tail).unwrap())
    };
    AuthData {
        rp_id_hash: ad[..32].to_vec(),
        flags,
        sign_count,
        aaguid,
        credential_id,
        public_key,
        extensions,
    }
}

/// Verifies a packed attestation statement: the signature over authData || clientDataHash
/// with the x5c[0] certificate's key. Returns the certificate DER.
pub fn verify_packed(reply: &Value, client_data_hash: &[u8]) -> Vec<u8> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use x509_cert::der::Decode;

    assert_eq!(get(reply, 1), &text("packed"));
    let auth_data = cbor::expect_bytes(get(reply, 2), "authData").unwrap();
    let stmt = get(reply, 3);
    assert_eq!(cbor::map_get_text(stmt, "alg"), Some(&int(-7)));
    let sig = cbor::expect_bytes(cbor::map_get_text(stmt, "sig").unwrap(), "sig").unwrap();
    let x5c = cbor::expect_array(cbor::map_get_text(stmt, "x5c").unwrap(), "x5c").unwrap();
    let cert_der = cbor::expect_bytes(&x5c[0], "x5c[0]").unwrap();
    let cert = x509_cert::Certificate::from_der(cert_der).unwrap();
    let spki = &cert.tbs_certificate.subject_public_key_info;
    let vk = VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes()).unwrap();
    let mut signed = auth_data.to_vec();
    signed.extend_from_slice(client_data_hash);
    vk.verify(&signed, &Signature::from_der(sig).unwrap())
        .expect("attestation signature must verify with the x5c key");
    cert_der.to_vec()
}
