//! The high-level client: one key, the operations the enrollment workflow needs, and the
//! interpretation of the key's errors (with getInfo) into operator-actionable [`Error`]s.
//!
//! Everything is blocking; run it on a thread of its own. getInfo is fetched once and
//! refreshed after operations that change it (PIN set/changed, config, reset).

use p256::PublicKey;

use crate::commands::client_pin::{self, ClientPinRequest, Permissions, PinToken};
use crate::commands::config::{ConfigRequest, SetMinPinLength};
use crate::commands::credential_management::{
    CredMgmtVersion, CredentialManagementRequest, CredentialManagementResponse, StoredCredentials,
};
use crate::commands::get_assertion::GetAssertionRequest;
use crate::commands::get_info::{GetInfo, Info};
use crate::commands::make_credential::MakeCredentialRequest;
use crate::commands::reset::Reset;
use crate::commands::{transact, Command};
use crate::error::StatusCode;
use crate::pin::{PinProtocol, SharedSecret};
use crate::webauthn::{CreationOptions, Registration};
use crate::{CancelToken, CtapChannel, Error, NoStatus, Result, StatusSink};

/// A CTAP2 authenticator behind a [`CtapChannel`].
pub struct Authenticator<'c> {
    channel: &'c mut dyn CtapChannel,
    info: Option<Info>,
}

impl std::fmt::Debug for Authenticator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl<'c> Authenticator<'c> {
    /// Wraps a channel; nothing is sent until the first call.
    pub fn new(channel: &'c mut dyn CtapChannel) -> Self {
        Self {
            channel,
            info: None,
        }
    }

    /// The underlying channel (e.g. for wink or vendor commands).
    pub fn channel(&mut self) -> &mut dyn CtapChannel {
        &mut *self.channel
    }

    fn send<C: Command>(&mut self, cmd: &C) -> Result<C::Response> {
        transact(&mut *self.channel, cmd, &NoStatus, &CancelToken::new())
    }

    /// authenticatorGetInfo, cached after the first call.
    pub fn get_info(&mut self) -> Result<&Info> {
        if self.info.is_none() {
            self.info = Some(self.send(&GetInfo)?);
        }
        self.info
            .as_ref()
            .ok_or_else(|| Error::Malformed("getInfo unavailable".into()))
    }

    /// authenticatorGetInfo, fetched afresh.
    pub fn refresh_info(&mut self) -> Result<&Info> {
        self.info = None;
        self.get_info()
    }

    /// PIN attempts left before the key blocks (clientPIN getPINRetries).
    pub fn pin_retries(&mut self) -> Result<u32> {
        let protocol = self.get_info()?.preferred_pin_protocol();
        let r = self.send(&client_pin::get_pin_retries(protocol))?;
        r.pin_retries
            .ok_or_else(|| Error::Malformed("clientPIN: pinRetries (0x03) is missing".into()))
    }

    fn protocol(&mut self) -> Result<PinProtocol> {
        let info = self.get_info()?;
        if info.option("clientPin").is_none() {
            return Err(Error::Unsupported("PINs (clientPin)".into()));
        }
        info.preferred_pin_protocol()
            .ok_or_else(|| Error::Unsupported("PIN/UV auth protocol one or two".into()))
    }

    /// getKeyAgreement + encapsulate (CTAP 2.1 §6.5.5.4).
    fn key_agreement(&mut self, protocol: PinProtocol) -> Result<(PublicKey, SharedSecret)> {
        let r = self.send(&client_pin::get_key_agreement(protocol))?;
        let peer = r
            .key_agreement
            .ok_or_else(|| Error::Malformed("clientPIN: keyAgreement (0x01) is missing".into()))?;
        protocol.encapsulate(&peer)
    }

    /// Turns PIN_INVALID into [`Error::PinInvalid`] with the retries left, or into
    /// [`Error::ForcedPinChangePending`] when getInfo says a change is forced.
    fn interpret_pin_error(&mut self, err: Error, token_request: bool) -> Error {
        match err.status() {
            Some(StatusCode::PinInvalid) | Some(StatusCode::PinPolicyViolation)
                if token_request =>
            {
                if self
                    .refresh_info()
                    .map(|i| i.force_pin_change)
                    .unwrap_or(false)
                {
                    return Error::ForcedPinChangePending;
                }
                if err.status() == Some(StatusCode::PinInvalid) {
                    return Error::PinInvalid {
                        retries_left: self.pin_retries().ok(),
                    };
                }
                err
            }
            Some(StatusCode::PinInvalid) => Error::PinInvalid {
                retries_left: self.pin_retries().ok(),
            },
            _ => err,
        }
    }

    /// Sets the first PIN (clientPIN setPIN, CTAP 2.1 §6.5.5.5). Checks the PIN against the
    /// key's minPINLength (and maxPINLength, CTAP 2.2) first. A key enforcing a complexity
    /// policy refuses a PIN it dislikes with PIN_POLICY_VIOLATION; that costs no retry.
    pub fn set_pin(&mut self, new_pin: &str) -> Result<()> {
        let protocol = self.protocol()?;
        let info = self.get_info()?;
        if info.option("clientPin") == Some(true) {
            return Err(Error::PinAlreadySet);
        }
        let min = info.min_pin_length_or_default();
        client_pin::check_new_pin(new_pin, min)?;
        client_pin::check_max_pin_length(new_pin, info.max_pin_length)?;
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let req = client_pin::set_pin(protocol, &shared, platform_key, new_pin, min)?;
        let result = self.send(&req).map(|_| ());
        self.info = None;
        result.map_err(|e| match e.status() {
            // Keys refuse setPIN this way when a PIN exists; confirm with getInfo so a real
            // authentication failure is not reported as "already has a PIN".
            Some(StatusCode::PinAuthInvalid) | Some(StatusCode::NotAllowed)
                if self.refresh_info().ok().and_then(|i| i.option("clientPin")) == Some(true) =>
            {
                Error::PinAlreadySet
            }
            _ => e,
        })
    }

    /// Changes the PIN (clientPIN changePIN, CTAP 2.1 §6.5.5.6); also clears a forced change.
    pub fn change_pin(&mut self, current_pin: &str, new_pin: &str) -> Result<()> {
        let protocol = self.protocol()?;
        let info = self.get_info()?;
        if info.option("clientPin") == Some(false) {
            return Err(Error::Ctap(StatusCode::PinNotSet));
        }
        let min = info.min_pin_length_or_default();
        client_pin::check_new_pin(new_pin, min)?;
        client_pin::check_max_pin_length(new_pin, info.max_pin_length)?;
        // CTAP 2.1 §6.5.5.6: a forced change must pick a different PIN.
        if info.force_pin_change && current_pin == new_pin {
            return Err(Error::PinRules(
                "the new PIN must differ from the current one".into(),
            ));
        }
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let req =
            client_pin::change_pin(protocol, &shared, platform_key, current_pin, new_pin, min)?;
        let result = self.send(&req).map(|_| ());
        let result = result.map_err(|e| self.interpret_pin_error(e, false));
        self.info = None;
        result
    }

    /// A PIN token (CTAP 2.1 §6.5.5.7): getPinUvAuthTokenUsingPinWithPermissions when the key
    /// has the pinUvAuthToken option, else the CTAP 2.0 getPinToken. Protocol two preferred.
    /// Use it at once: keys expire unused tokens within seconds.
    pub fn token(
        &mut self,
        pin: &str,
        permissions: Permissions,
        rp_id: Option<&str>,
    ) -> Result<PinToken> {
        let protocol = self.protocol()?;
        let info = self.get_info()?;
        if info.option("clientPin") == Some(false) {
            return Err(Error::Ctap(StatusCode::PinNotSet));
        }
        let with_permissions = info.option("pinUvAuthToken") == Some(true);
        let (platform_key, shared) = self.key_agreement(protocol)?;
        let req: ClientPinRequest = if with_permissions {
            client_pin::get_pin_uv_auth_token_using_pin_with_permissions(
                protocol,
                &shared,
                platform_key,
                pin,
                permissions,
                rp_id,
            )?
        } else {
            client_pin::get_pin_token(protocol, &shared, platform_key, pin)?
        };
        match self.send(&req) {
            Ok(r) => client_pin::decrypt_token(protocol, &shared, &r),
            Err(e) => Err(self.interpret_pin_error(e, true)),
        }
    }

    /// setMinPINLength (authenticatorConfig, CTAP 2.1 §6.11.4), optionally forcing a PIN
    /// change. Do it last: a forced change blocks PIN tokens until the PIN is changed.
    pub fn set_min_pin_length(
        &mut self,
        pin: &str,
        new_min_pin_length: Option<u32>,
        rp_ids: &[String],
        force_change_pin: bool,
    ) -> Result<()> {
        let info = self.get_info()?;
        if info.option("authnrCfg") != Some(true) || info.option("setMinPINLength") != Some(true) {
            return Err(Error::Unsupported(
                "setting a minimum PIN length (setMinPINLength)".into(),
            ));
        }
        if let Some(max) = info.max_rpids_for_set_min_pin_length {
            if rp_ids.len() > max as usize {
                return Err(Error::Unsupported(format!(
                    "more than {max} RP ids for minPinLength"
                )));
            }
        } else if !rp_ids.is_empty() {
            return Err(Error::Unsupported("RP ids for minPinLength".into()));
        }
        if let (Some(new), Some(cur)) = (new_min_pin_length, info.min_pin_length) {
            if new < cur {
                return Err(Error::InvalidInput(format!(
                    "the minimum PIN length can only grow (now {cur})"
                )));
            }
        }
        let token = self.token(pin, Permissions::AUTHENTICATOR_CONFIG, None)?;
        let params = SetMinPinLength {
            new_min_pin_length,
            rp_ids: rp_ids.to_vec(),
            force_change_pin,
        };
        let result = self.send(&ConfigRequest::set_min_pin_length(&params, &token));
        self.info = None;
        result
    }

    /// Creates a passkey from a relying party's creation options (authenticatorMakeCredential,
    /// CTAP 2.1 §6.1). With `pin`, a token with the mc permission is fetched right before the request;
    /// when the exclude list is too long for the key and is checked first with silent
    /// getAssertion probes, the token is fetched before them with mc and ga (bound to the
    /// rpId), authorises each probe so that credProtect level-3 credentials are seen, and then
    /// the makeCredential.
    /// Touch prompts go to `status`; `cancel` aborts the wait for a touch.
    pub fn make_credential(
        &mut self,
        options: &CreationOptions,
        pin: Option<&str>,
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Registration> {
        let info = self.get_info()?.clone();
        let mut prepared = options.prepare(&info)?;
        // Decide how the user is verified before the key is touched.
        match pin {
            Some(_) => {}
            None if info.option("uv") == Some(true) => prepared.request.user_verification = true,
            None if prepared.user_verification_required
                || info.option("clientPin") == Some(true) =>
            {
                return Err(Error::InvalidInput(
                    "the key's PIN is needed to create the passkey".into(),
                ))
            }
            None => {}
        }
        let batch = exclude_list_batch(&mut prepared.request, &info);
        let mut token = match (pin, batch) {
            (Some(pin), Some(_)) => self.pre_flight_token(pin, &options.rp.id)?,
            _ => None,
        };
        if let Some(max) = batch {
            self.fit_exclude_list(&mut prepared.request, max, &mut token, status, cancel)?;
        }
        if let Some(pin) = pin {
            // Without a pre-flight token the token comes last: keys expire unused tokens
            // within seconds.
            let token = match token {
                Some(token) => token,
                None => self.token(pin, Permissions::MAKE_CREDENTIAL, Some(&options.rp.id))?,
            };
            prepared.request.authorize(&token);
        }
        let response = transact(&mut *self.channel, &prepared.request, status, cancel)?;
        Registration::from_response(&prepared, &response)
    }

    /// The token for a makeCredential whose exclude list is probed first: permissions mc and
    /// ga bound to the rpId, so that the probes are made with user verification and see the
    /// credentials credProtect level 3 (userVerificationRequired) hides from a getAssertion
    /// without it (CTAP 2.1 §12.1). `None` when the key refuses ga alongside mc (some
    /// early CTAP 2.1 keys): the probes then go without a token, as a CTAP 2.0 platform's
    /// would, and an mc-only token is fetched after them.
    fn pre_flight_token(&mut self, pin: &str, rp_id: &str) -> Result<Option<PinToken>> {
        let permissions = Permissions::MAKE_CREDENTIAL | Permissions::GET_ASSERTION;
        match self.token(pin, permissions, Some(rp_id)) {
            Ok(token) => Ok(Some(token)),
            Err(e) if refuses_permissions(&e) => {
                tracing::warn!(
                    error = %e,
                    "the key refuses a PIN token for makeCredential and getAssertion together: \
                     the exclude list is checked without user verification, credentials \
                     that require it (credProtect level 3) stay hidden"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Checks a too-long exclude list (see [`exclude_list_batch`]) in batches of `max` with
    /// silent getAssertion probes (up = false, no touch): a hit means the key is already
    /// registered (CREDENTIAL_EXCLUDED), no hit means none of the ids is on the key and the
    /// list is cleared. With `token` (mc and ga) every probe is authorised with it, so that
    /// credProtect level-3 credentials are found; the key does not consume a token on an
    /// assertion without up, so it still authorises the makeCredential. A key that refuses
    /// the token on a probe gets the remaining probes without one, and `token` is cleared
    /// so that the caller fetches a fresh mc-only token.
    fn fit_exclude_list(
        &mut self,
        request: &mut MakeCredentialRequest,
        max: usize,
        token: &mut Option<PinToken>,
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<()> {
        let ids = std::mem::take(&mut request.exclude_list);
        for batch in ids.chunks(max) {
            let mut probe = GetAssertionRequest {
                rp_id: request.rp.id.clone(),
                client_data_hash: request.client_data_hash,
                allow_list: batch.to_vec(),
                user_presence: false,
                pin_uv_auth: None,
            };
            if let Some(token) = token.as_ref() {
                probe.authorize(token);
            }
            let mut result = transact(&mut *self.channel, &probe, status, cancel);
            if probe.pin_uv_auth.is_some() && result.as_ref().is_err_and(refuses_token) {
                if let Err(e) = &result {
                    tracing::warn!(
                        error = %e,
                        "the key refuses the PIN token on a silent getAssertion: the rest of \
                         the exclude list is checked without user verification"
                    );
                }
                *token = None;
                probe.pin_uv_auth = None;
                result = transact(&mut *self.channel, &probe, status, cancel);
            }
            match result {
                Ok(_) => return Err(Error::Ctap(StatusCode::CredentialExcluded)),
                Err(e) if e.status() == Some(StatusCode::NoCredentials) => {}
                // A key without getAssertion gets the whole list and decides.
                Err(e) if e.status() == Some(StatusCode::InvalidCommand) => {
                    request.exclude_list = ids;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The discoverable credentials on the key (authenticatorCredentialManagement, CTAP 2.1
    /// §6.8): how many (getCredsMetadata) and for which RPs (enumerateRPs), read with a PIN
    /// token carrying the cm permission. Keys that only advertise `credentialMgmtPreview`
    /// get the prototype command 0x41; keys with neither are [`Error::Unsupported`].
    pub fn stored_credentials(&mut self, pin: &str) -> Result<StoredCredentials> {
        let info = self.get_info()?;
        let version = if info.option("credMgmt") == Some(true) {
            CredMgmtVersion::Standard
        } else if info.option("credentialMgmtPreview") == Some(true) {
            CredMgmtVersion::Preview
        } else {
            return Err(Error::Unsupported(
                "credential management (credMgmt)".into(),
            ));
        };
        let token = self.token(pin, Permissions::CREDENTIAL_MANAGEMENT, None)?;
        let meta = self.send(&CredentialManagementRequest::get_creds_metadata(
            version, &token,
        ))?;
        let count = meta.existing_resident_credentials_count.ok_or_else(|| {
            Error::Malformed(
                "credentialManagement: existingResidentCredentialsCount (0x01) is missing".into(),
            )
        })?;
        let mut rp_ids = Vec::new();
        if count == 0 {
            return Ok(StoredCredentials { count, rp_ids });
        }
        let first = match self.send(&CredentialManagementRequest::enumerate_rps_begin(
            version, &token,
        )) {
            Ok(first) => first,
            Err(e) if e.status() == Some(StatusCode::NoCredentials) => {
                return Ok(StoredCredentials { count, rp_ids })
            }
            Err(e) => return Err(e),
        };
        // A key cannot hold more RPs than credentials; never loop on what it claims.
        let total = first.total_rps.unwrap_or(1).min(count);
        rp_ids.push(rp_name(&first));
        for _ in 1..total {
            let next = self.send(&CredentialManagementRequest::enumerate_rps_get_next_rp(
                version,
            ))?;
            rp_ids.push(rp_name(&next));
        }
        Ok(StoredCredentials { count, rp_ids })
    }

    /// Factory reset (authenticatorReset, CTAP 2.1 §6.6): wipes credentials and the PIN.
    /// Keys accept it only shortly after insertion and with a touch.
    pub fn reset(&mut self, status: &dyn StatusSink, cancel: &CancelToken) -> Result<()> {
        let result = transact(&mut *self.channel, &Reset, status, cancel);
        self.info = None;
        result.map_err(|e| match e.status() {
            Some(StatusCode::NotAllowed) | Some(StatusCode::OperationDenied) => {
                Error::ResetNotAllowed
            }
            _ => e,
        })
    }
}

/// Makes the exclude list fit the key (CTAP 2.1 §6.4 maxCredentialIdLength and
/// maxCredentialCountInList): ids longer than the key's maximum cannot be its own and are
/// dropped. Returns the batch size when the list is still longer than the key takes in one
/// request, i.e. when [`Authenticator::fit_exclude_list`] must probe it.
fn exclude_list_batch(request: &mut MakeCredentialRequest, info: &Info) -> Option<usize> {
    if let Some(max_len) = info.max_credential_id_length {
        request
            .exclude_list
            .retain(|id| id.len() <= max_len as usize);
    }
    let max = info
        .max_credential_count_in_list
        .map(|m| m.max(1) as usize)?;
    (request.exclude_list.len() > max).then_some(max)
}

/// An enumerated RP by its id, or by the start of its id hash when the key gave no id.
fn rp_name(r: &CredentialManagementResponse) -> String {
    match (&r.rp_id, &r.rp_id_hash) {
        (Some(id), _) => id.clone(),
        (None, Some(hash)) => {
            let hex: String = hash.iter().take(8).map(|b| format!("{b:02x}")).collect();
            format!("(RP id hash {hex}…)")
        }
        (None, None) => "(unnamed RP)".to_owned(),
    }
}

/// A token request refused for its permissions rather than for the PIN: CTAP 2.1
/// §6.5.5.7.2 checks the permissions (UNAUTHORIZED_PERMISSION) before the PIN, so the
/// refusal costs no PIN retry; some keys answer INVALID_PARAMETER to a combination they do
/// not grant. A wrong PIN (PIN_INVALID) is never retried.
fn refuses_permissions(e: &Error) -> bool {
    matches!(
        e.status(),
        Some(StatusCode::UnauthorizedPermission) | Some(StatusCode::InvalidParameter)
    )
}

/// A getAssertion refused for its pinUvAuthParam (the token, its ga permission or its RP).
fn refuses_token(e: &Error) -> bool {
    matches!(
        e.status(),
        Some(StatusCode::PinAuthInvalid) | Some(StatusCode::UnauthorizedPermission)
    )
}
