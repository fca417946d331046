//! authenticatorMakeCredential (0x01, CTAP 2.1 §6.1.2) with packed attestation.

use ciborium::value::Value;
use sha2::{Digest, Sha256};

use super::credential::{self, ES256};
use super::get_info::{MAX_CREDENTIAL_COUNT_IN_LIST, MAX_CREDENTIAL_ID_LENGTH};
use super::key::KeyState;
use super::presence;
use super::request::{as_array, as_bool, as_bytes, as_int, as_map, as_text, text_key, Params};
use super::state::ResidentCredential;
use super::status::{CmdResult, Status};
use super::token::permission;
use crate::cbor::{int, text, to_canonical_vec};
use crate::handler::PresenceContext;

/// authData flags (WebAuthn §6.1).
pub(super) mod flag {
    pub const UP: u8 = 0x01;
    pub const UV: u8 = 0x04;
    pub const AT: u8 = 0x40;
    pub const ED: u8 = 0x80;
}

/// The parts of the user entity the key stores.
struct User {
    id: Vec<u8>,
    name: Option<String>,
    display_name: Option<String>,
}

/// Requested extensions this key understands (CTAP 2.1 §12).
#[derive(Default)]
struct Extensions {
    cred_protect: Option<u8>,
    hmac_secret: bool,
    min_pin_length: bool,
}

fn parse_user(v: &Value) -> CmdResult<User> {
    as_map(v)?;
    let id = as_bytes(text_key(v, "id").ok_or(Status::MissingParameter)?)?.to_vec();
    if id.len() > 64 {
        return Err(Status::InvalidParameter);
    }
    let opt_text = |k: &str| -> CmdResult<Option<String>> {
        text_key(v, k)
            .map(|t| as_text(t).map(str::to_owned))
            .transpose()
    };
    Ok(User {
        id,
        name: opt_text("name")?,
        display_name: opt_text("displayName")?,
    })
}

/// pubKeyCredParams (CTAP 2.1 §6.1.2 step 3): ES256 must be among them.
fn check_algorithms(v: &Value) -> CmdResult<()> {
    let mut found = false;
    for entry in as_array(v)? {
        as_map(entry)?;
        let alg = as_int(text_key(entry, "alg").ok_or(Status::MissingParameter)?)?;
        let kind = as_text(text_key(entry, "type").ok_or(Status::MissingParameter)?)?;
        if alg == ES256 && kind == "public-key" {
            found = true;
        }
    }
    if found {
        Ok(())
    } else {
        Err(Status::UnsupportedAlgorithm)
    }
}

fn parse_extensions(v: Option<&Value>) -> CmdResult<Extensions> {
    let Some(v) = v else {
        return Ok(Extensions::default());
    };
    as_map(v)?;
    let mut ext = Extensions::default();
    if let Some(cp) = text_key(v, "credProtect") {
        let level = as_int(cp)?;
        ext.cred_protect = Some(match level {
            1..=3 => level as u8,
            _ => return Err(Status::InvalidOption),
        });
    }
    if let Some(hs) = text_key(v, "hmac-secret") {
        ext.hmac_secret = as_bool(hs)?;
    }
    if let Some(mpl) = text_key(v, "minPinLength") {
        ext.min_pin_length = as_bool(mpl)?;
    }
    Ok(ext)
}

/// options (CTAP 2.1 §6.1.2 step 5): returns rk.
fn parse_options(v: Option<&Value>, has_pin_uv_auth_param: bool) -> CmdResult<bool> {
    let Some(v) = v else {
        return Ok(false);
    };
    as_map(v)?;
    let opt = |k: &str| text_key(v, k).map(as_bool).transpose();
    if opt("up")? == Some(false) {
        // "up": false is invalid for makeCredential.
        return Err(Status::InvalidOption);
    }
    // No built-in UV: "uv": true without a pinUvAuthParam cannot be honoured.
    if opt("uv")? == Some(true) && !has_pin_uv_auth_param {
        return Err(Status::InvalidOption);
    }
    Ok(opt("rk")?.unwrap_or(false))
}

impl KeyState {
    pub(crate) fn make_credential(
        &mut self,
        p: &Params<'_>,
        presence_ctx: &dyn PresenceContext,
    ) -> CmdResult<Value> {
        // Steps 1–2: the "which key?" probe; a pinUvAuthParam needs a protocol we speak.
        let auth = self.pin_uv_auth(p, 0x08, 0x09, presence_ctx)?;
        // Step 3: required parameters.
        let client_data_hash = p.bytes(0x01)?;
        let rp = p.require(0x02)?;
        as_map(rp)?;
        let rp_id = as_text(text_key(rp, "id").ok_or(Status::MissingParameter)?)?.to_owned();
        let user = parse_user(p.require(0x03)?)?;
        check_algorithms(p.require(0x04)?)?;
        let exclude_list = p.get(0x05).map(as_array).transpose()?;
        let ext = parse_extensions(p.get(0x06))?;
        let rk = parse_options(p.get(0x07), auth.is_some())?;
        if p.get(0x0A).is_some() {
            // Not enterprise-attestation capable (CTAP 2.1 §6.1.2 step 9).
            return Err(Status::InvalidParameter);
        }
        // Step 6: makeCredUvNotRqd is false, so a PIN-protected key needs a token.
        if auth.is_none() && self.pin_is_set() {
            return Err(Status::PuatRequired);
        }
        // Step 11 (token checks): verify the pinUvAuthParam over clientDataHash.
        let uv = match auth {
            Some(auth) => {
                self.check_pin_uv_auth(auth, client_data_hash, permission::MC, &rp_id)?;
                true
            }
            None => false,
        };
        let rp_id_hash: [u8; 32] = Sha256::digest(rp_id.as_bytes()).into();
        // Step 12: excludeList. A known credential costs a touch, then CREDENTIAL_EXCLUDED.
        if let Some(list) = exclude_list {
            if list.len() > MAX_CREDENTIAL_COUNT_IN_LIST {
                return Err(Status::LimitExceeded);
            }
            for desc in list {
                as_map(desc)?;
                let Some(id) = text_key(desc, "id") else {
                    return Err(Status::MissingParameter);
                };
                let id = as_bytes(id)?;
                if id.len() > MAX_CREDENTIAL_ID_LENGTH {
                    continue;
                }
                if let Some(found) = credential::open(&self.persistent.master_key, &rp_id_hash, id)?
                {
                    // A uv-required credential stays hidden from an unverified request.
                    if found.cred_protect == credential::CRED_PROTECT_UV_REQUIRED && !uv {
                        continue;
                    }
                    presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)?;
                    return Err(Status::CredentialExcluded);
                }
            }
        }
        // Step 14: user presence, always (a PIN-derived token does not carry UP).
        presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)?;
        if auth.is_some() {
            self.volatile.token.consume();
        }
        // Step 15: create the credential.
        let cred_protect = ext.cred_protect.unwrap_or(1);
        let (cred_id, signing_key) = credential::create(
            &self.persistent.master_key,
            &rp_id_hash,
            cred_protect,
            ext.hmac_secret,
        )?;
        if rk {
            let creds = &mut self.persistent.credentials;
            let same_user = creds
                .iter()
                .position(|c| c.rp_id == rp_id && c.user_id == user.id);
            if same_user.is_none() && creds.len() >= self.config.max_resident_credentials {
                return Err(Status::KeyStoreFull);
            }
            let stored = ResidentCredential {
                rp_id: rp_id.clone(),
                user_id: user.id,
                user_name: user.name,
                user_display_name: user.display_name,
                credential_id: cred_id.clone(),
                cred_protect,
                hmac_secret: ext.hmac_secret,
            };
            // Same RP and user id: the new credential replaces the old (CTAP 2.1 §6.1.2 step
            // 15). Newest last, so getAssertion can offer the most recent first (§6.2.2).
            if let Some(i) = same_user {
                creds.remove(i);
            }
            creds.push(stored);
        }
        self.persistent.sign_count = self.persistent.sign_count.wrapping_add(1);
        self.persist()?;

        // Extension outputs (CTAP 2.1 §12): only those requested and honoured.
        let mut ext_out = Vec::new();
        if let Some(level) = ext.cred_protect {
            ext_out.push((text("credProtect"), int(i64::from(level))));
        }
        if ext.hmac_secret {
            ext_out.push((text("hmac-secret"), Value::Bool(true)));
        }
        if ext.min_pin_length && self.persistent.min_pin_length_rp_ids.contains(&rp_id) {
            ext_out.push((
                text("minPinLength"),
                int(i64::from(self.persistent.min_pin_length)),
            ));
        }

        // authData (WebAuthn §6.1): rpIdHash, flags, signCount, attestedCredentialData, ext.
        let mut flags = flag::UP | flag::AT;
        if uv {
            flags |= flag::UV;
        }
        if !ext_out.is_empty() {
            flags |= flag::ED;
        }
        let mut auth_data = Vec::with_capacity(256);
        auth_data.extend_from_slice(&rp_id_hash);
        auth_data.push(flags);
        auth_data.extend_from_slice(&self.persistent.sign_count.to_be_bytes());
        auth_data.extend_from_slice(&self.config.aaguid);
        let id_len = u16::try_from(cred_id.len()).map_err(|_| Status::Other)?;
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(&cred_id);
        auth_data.extend_from_slice(&to_canonical_vec(&credential::cose_es256(&signing_key)));
        if !ext_out.is_empty() {
            auth_data.extend_from_slice(&to_canonical_vec(&Value::Map(ext_out)));
        }

        let att_stmt = self.attestation.statement(&auth_data, client_data_hash);
        tracing::info!(rp_id = %rp_id, rk, uv, "soft key: credential created");
        Ok(Value::Map(vec![
            (int(0x01), text("packed")),
            (int(0x02), Value::Bytes(auth_data)),
            (int(0x03), att_stmt),
        ]))
    }
}
