//! authenticatorGetAssertion (0x02, CTAP 2.1 §6.2.2) and authenticatorGetNextAssertion
//! (0x08, §6.3), with the hmac-secret extension (§12.5).
//!
//! Credentials are found by their ids in the allowList (any id this key issued for the RP,
//! discoverable or not) or, without an allowList, among the discoverable credentials of the
//! RP, most recent first. credProtect hides level-3 credentials from a request without UV,
//! and level-2 ones too when there is no allowList. `"up": false` is the platform's silent
//! probe (e.g. the exclude-list pre-flight): no touch, UP clear in the flags.

use std::time::{Duration, Instant};

use ciborium::value::Value;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::Signature;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::credential::{
    self, Opened, CRED_PROTECT_UV_OPTIONAL_WITH_LIST, CRED_PROTECT_UV_REQUIRED,
};
use super::get_info::{MAX_CREDENTIAL_COUNT_IN_LIST, MAX_CREDENTIAL_ID_LENGTH};
use super::key::KeyState;
use super::make_credential::flag;
use super::presence;
use super::request::{as_array, as_bool, as_bytes, as_map, as_text, as_uint, text_key, Params};
use super::state::ResidentCredential;
use super::status::{CmdResult, Status};
use super::token::permission;
use crate::cbor::{int, text, to_canonical_vec};
use crate::handler::PresenceContext;
use crate::pin::{PinProtocol, SharedSecret};

/// Request parameter keys (CTAP 2.1 §6.2).
mod key {
    pub const RP_ID: i64 = 0x01;
    pub const CLIENT_DATA_HASH: i64 = 0x02;
    pub const ALLOW_LIST: i64 = 0x03;
    pub const EXTENSIONS: i64 = 0x04;
    pub const OPTIONS: i64 = 0x05;
    pub const PIN_UV_AUTH_PARAM: i64 = 0x06;
    pub const PIN_UV_AUTH_PROTOCOL: i64 = 0x07;
}

/// How long after a getAssertion (or getNextAssertion) the next one may follow
/// (CTAP 2.1 §6.2.2 step 12, §6.3).
const NEXT_ASSERTION_WINDOW: Duration = Duration::from_secs(30);

type HmacSha256 = Hmac<Sha256>;

/// The hmac-secret input as sent (CTAP 2.1 §12.5).
struct HmacSecretInput<'a> {
    key_agreement: &'a Value,
    salt_enc: &'a [u8],
    salt_auth: &'a [u8],
    protocol: PinProtocol,
}

/// A verified hmac-secret request: the salts and the secret to encrypt the outputs with.
struct HmacSecret {
    protocol: PinProtocol,
    shared: SharedSecret,
    salts: Zeroizing<Vec<u8>>,
}

/// What one getAssertion fixes for each of its assertions (getNextAssertion included).
struct AssertionInput {
    rp_id_hash: [u8; 32],
    client_data_hash: Vec<u8>,
    up: bool,
    uv: bool,
    hmac_secret: Option<HmacSecret>,
}

/// The rest of a getAssertion that found several discoverable credentials, for
/// getNextAssertion. Any other command, or a power cycle, drops it.
pub(crate) struct PendingAssertions {
    input: AssertionInput,
    /// Credential ids still to assert, the next one last.
    remaining: Vec<Vec<u8>>,
    last: Instant,
}

/// An applicable credential (CTAP 2.1 §6.2.2 step 7).
struct Candidate {
    id: Vec<u8>,
    opened: Opened,
    /// The stored discoverable credential, if it is one (its user goes in the response).
    resident: Option<ResidentCredential>,
}

fn parse_extensions(v: Option<&Value>) -> CmdResult<Option<HmacSecretInput<'_>>> {
    let Some(v) = v else {
        return Ok(None);
    };
    as_map(v)?;
    // Extensions this key does not know are ignored (CTAP 2.1 §6.2.2 step 10).
    let Some(hs) = text_key(v, "hmac-secret") else {
        return Ok(None);
    };
    as_map(hs)?;
    let p = Params::new(hs)?;
    let protocol = match p.get(0x04) {
        None => PinProtocol::V1,
        Some(n) => u8::try_from(as_uint(n)?)
            .ok()
            .and_then(PinProtocol::from_number)
            .ok_or(Status::InvalidParameter)?,
    };
    Ok(Some(HmacSecretInput {
        key_agreement: p.require(0x01)?,
        salt_enc: p.bytes(0x02)?,
        salt_auth: p.bytes(0x03)?,
        protocol,
    }))
}

/// options (CTAP 2.1 §6.2.2 step 4): returns up (default true).
fn parse_options(v: Option<&Value>, has_pin_uv_auth_param: bool) -> CmdResult<bool> {
    let Some(v) = v else {
        return Ok(true);
    };
    as_map(v)?;
    let opt = |k: &str| text_key(v, k).map(as_bool).transpose();
    if text_key(v, "rk").is_some() {
        return Err(Status::UnsupportedOption);
    }
    // No built-in UV; with a pinUvAuthParam, "uv" is treated as false.
    if opt("uv")? == Some(true) && !has_pin_uv_auth_param {
        return Err(Status::InvalidOption);
    }
    Ok(opt("up")?.unwrap_or(true))
}

impl KeyState {
    pub(crate) fn get_assertion(
        &mut self,
        p: &Params<'_>,
        presence_ctx: &dyn PresenceContext,
    ) -> CmdResult<Value> {
        self.volatile.assertions = None;
        // Steps 1–2: the "which key?" probe; a pinUvAuthParam needs a protocol we speak.
        let auth = self.pin_uv_auth(
            p,
            key::PIN_UV_AUTH_PARAM,
            key::PIN_UV_AUTH_PROTOCOL,
            presence_ctx,
        )?;
        let rp_id = as_text(p.require(key::RP_ID)?)?.to_owned();
        let client_data_hash = p.bytes(key::CLIENT_DATA_HASH)?;
        // An empty allowList is no allowList.
        let allow_list = p
            .get(key::ALLOW_LIST)
            .map(as_array)
            .transpose()?
            .filter(|l| !l.is_empty());
        let hmac_input = parse_extensions(p.get(key::EXTENSIONS))?;
        // Step 4: options.
        let up = parse_options(p.get(key::OPTIONS), auth.is_some())?;
        if hmac_input.is_some() && !up {
            // hmac-secret needs user presence (as OpenSK and YubiKeys answer).
            return Err(Status::UnsupportedOption);
        }
        // Step 6: token checks, with the ga permission for this RP.
        let uv = match auth {
            Some(auth) => {
                self.check_pin_uv_auth(auth, client_data_hash, permission::GA, &rp_id)?;
                true
            }
            None => false,
        };
        // Step 7: the applicable credentials.
        let rp_id_hash: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
        let mut applicable = match allow_list {
            Some(list) => self
                .allowed_credential(list, &rp_id, &rp_id_hash, uv)?
                .into_iter()
                .collect(),
            None => self.discoverable_credentials(&rp_id, &rp_id_hash, uv)?,
        };
        if applicable.is_empty() {
            return Err(Status::NoCredentials);
        }
        // Step 9: user presence, unless the platform asked for none. A PIN-derived token
        // does not carry UP, so a touch is always collected; then the token is used up.
        if up {
            presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)?;
            if auth.is_some() {
                self.volatile.token.consume();
            }
        }
        // Step 10: extensions.
        let hmac_secret = hmac_input
            .map(|input| self.hmac_secret_request(&input))
            .transpose()?;
        let input = AssertionInput {
            rp_id_hash,
            client_data_hash: client_data_hash.to_vec(),
            up,
            uv,
            hmac_secret,
        };
        // Steps 11–12: with an allowList any one credential; without, the most recent
        // first, the others through getNextAssertion.
        let count = applicable.len();
        let first = applicable.remove(0);
        let number = (count > 1).then_some(count);
        let response = self.assertion_response(&input, first, number)?;
        if number.is_some() {
            self.volatile.assertions = Some(PendingAssertions {
                input,
                remaining: applicable.into_iter().rev().map(|c| c.id).collect(),
                last: Instant::now(),
            });
        }
        tracing::info!(rp_id = %rp_id, up, uv, count, "soft key: assertion");
        Ok(response)
    }

    /// authenticatorGetNextAssertion (CTAP 2.1 §6.3).
    pub(crate) fn get_next_assertion(&mut self) -> CmdResult<Value> {
        let mut pending = self.volatile.assertions.take().ok_or(Status::NotAllowed)?;
        if pending.last.elapsed() > NEXT_ASSERTION_WINDOW {
            return Err(Status::NotAllowed);
        }
        let id = pending.remaining.pop().ok_or(Status::NotAllowed)?;
        let resident = self
            .persistent
            .credentials
            .iter()
            .find(|c| c.credential_id == id)
            .cloned();
        let opened = credential::open(&self.persistent.master_key, &pending.input.rp_id_hash, &id)?
            .ok_or(Status::NotAllowed)?;
        let candidate = Candidate {
            id,
            opened,
            resident,
        };
        let response = self.assertion_response(&pending.input, candidate, None)?;
        if !pending.remaining.is_empty() {
            pending.last = Instant::now();
            self.volatile.assertions = Some(pending);
        }
        Ok(response)
    }

    /// The first allowList entry that is a credential of this key for the RP and that
    /// credProtect lets this request use.
    fn allowed_credential(
        &self,
        list: &[Value],
        rp_id: &str,
        rp_id_hash: &[u8; 32],
        uv: bool,
    ) -> CmdResult<Option<Candidate>> {
        if list.len() > MAX_CREDENTIAL_COUNT_IN_LIST {
            return Err(Status::LimitExceeded);
        }
        for desc in list {
            as_map(desc)?;
            let id = as_bytes(text_key(desc, "id").ok_or(Status::MissingParameter)?)?;
            if let Some(kind) = text_key(desc, "type") {
                if as_text(kind)? != "public-key" {
                    continue;
                }
            }
            if id.len() > MAX_CREDENTIAL_ID_LENGTH {
                continue;
            }
            let Some(opened) = credential::open(&self.persistent.master_key, rp_id_hash, id)?
            else {
                continue;
            };
            if opened.cred_protect == CRED_PROTECT_UV_REQUIRED && !uv {
                continue;
            }
            let resident = self
                .persistent
                .credentials
                .iter()
                .find(|c| c.rp_id == rp_id && c.credential_id == id)
                .cloned();
            return Ok(Some(Candidate {
                id: id.to_vec(),
                opened,
                resident,
            }));
        }
        Ok(None)
    }

    /// The RP's discoverable credentials this request may use, most recent first.
    fn discoverable_credentials(
        &self,
        rp_id: &str,
        rp_id_hash: &[u8; 32],
        uv: bool,
    ) -> CmdResult<Vec<Candidate>> {
        let mut found = Vec::new();
        for c in self.persistent.credentials.iter().rev() {
            if c.rp_id != rp_id {
                continue;
            }
            let hidden = match c.cred_protect {
                CRED_PROTECT_UV_REQUIRED | CRED_PROTECT_UV_OPTIONAL_WITH_LIST => !uv,
                _ => false,
            };
            if hidden {
                continue;
            }
            let Some(opened) =
                credential::open(&self.persistent.master_key, rp_id_hash, &c.credential_id)?
            else {
                tracing::warn!("soft key: a stored credential id does not open; skipped");
                continue;
            };
            found.push(Candidate {
                id: c.credential_id.clone(),
                opened,
                resident: Some(c.clone()),
            });
        }
        Ok(found)
    }

    /// hmac-secret (CTAP 2.1 §12.5): the shared secret with the platform's key-agreement
    /// key, saltAuth checked, the salts (one or two, 32 bytes each) decrypted.
    fn hmac_secret_request(&self, input: &HmacSecretInput<'_>) -> CmdResult<HmacSecret> {
        let shared = self.decapsulate(input.protocol, input.key_agreement)?;
        if !input
            .protocol
            .verify(shared.as_bytes(), input.salt_enc, input.salt_auth)
        {
            return Err(Status::PinAuthInvalid);
        }
        let salts = input
            .protocol
            .decrypt(&shared, input.salt_enc)
            .map_err(|_| Status::InvalidParameter)?;
        if salts.len() != 32 && salts.len() != 64 {
            return Err(Status::InvalidParameter);
        }
        Ok(HmacSecret {
            protocol: input.protocol,
            shared,
            salts,
        })
    }

    /// One assertion (CTAP 2.1 §6.2.2 step 13): the signature counter moves on (and is
    /// saved), authData is signed with the credential's key together with clientDataHash.
    fn assertion_response(
        &mut self,
        input: &AssertionInput,
        cred: Candidate,
        number_of_credentials: Option<usize>,
    ) -> CmdResult<Value> {
        // hmac-secret outputs, for credentials created with the extension only.
        let mut ext_out = Vec::new();
        let has_hmac_secret =
            cred.opened.hmac_secret || cred.resident.as_ref().is_some_and(|r| r.hmac_secret);
        if let (Some(hs), true) = (&input.hmac_secret, has_hmac_secret) {
            let cred_random = credential::cred_random(
                &self.persistent.master_key,
                &input.rp_id_hash,
                &cred.id,
                input.uv,
            )?;
            let mut outputs = Zeroizing::new(Vec::with_capacity(hs.salts.len()));
            for salt in hs.salts.chunks(32) {
                let mut mac =
                    HmacSha256::new_from_slice(&cred_random[..]).map_err(|_| Status::Other)?;
                mac.update(salt);
                outputs.extend_from_slice(&mac.finalize().into_bytes());
            }
            let enc = hs
                .protocol
                .encrypt(&hs.shared, &outputs)
                .map_err(|_| Status::Other)?;
            ext_out.push((text("hmac-secret"), Value::Bytes(enc)));
        }

        self.persistent.sign_count = self.persistent.sign_count.wrapping_add(1);
        self.persist()?;

        // authData (WebAuthn §6.1): rpIdHash, flags, signCount, extensions.
        let mut flags = 0;
        if input.up {
            flags |= flag::UP;
        }
        if input.uv {
            flags |= flag::UV;
        }
        if !ext_out.is_empty() {
            flags |= flag::ED;
        }
        let mut auth_data = Vec::with_capacity(128);
        auth_data.extend_from_slice(&input.rp_id_hash);
        auth_data.push(flags);
        auth_data.extend_from_slice(&self.persistent.sign_count.to_be_bytes());
        if !ext_out.is_empty() {
            auth_data.extend_from_slice(&to_canonical_vec(&Value::Map(ext_out)));
        }
        let mut signed = Vec::with_capacity(auth_data.len() + input.client_data_hash.len());
        signed.extend_from_slice(&auth_data);
        signed.extend_from_slice(&input.client_data_hash);
        let signature: Signature = cred.opened.key.sign(&signed);

        let mut out = vec![
            (
                int(0x01),
                Value::Map(vec![
                    (text("id"), Value::Bytes(cred.id)),
                    (text("type"), text("public-key")),
                ]),
            ),
            (int(0x02), Value::Bytes(auth_data)),
            (
                int(0x03),
                Value::Bytes(signature.to_der().as_bytes().to_vec()),
            ),
        ];
        // The user of a discoverable credential; name and displayName only after UV.
        if let Some(r) = cred.resident {
            let mut user = vec![(text("id"), Value::Bytes(r.user_id))];
            if input.uv {
                if let Some(name) = r.user_name {
                    user.push((text("name"), Value::Text(name)));
                }
                if let Some(display) = r.user_display_name {
                    user.push((text("displayName"), Value::Text(display)));
                }
            }
            out.push((int(0x04), Value::Map(user)));
        }
        if let Some(n) = number_of_credentials {
            out.push((int(0x05), int(i64::try_from(n).map_err(|_| Status::Other)?)));
        }
        Ok(Value::Map(out))
    }
}
