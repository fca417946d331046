//! A software CTAP 2.1 security key (feature `soft`) for tests, benchmarks, the demo and
//! operator training. It behaves like a real key where the kiosk can tell: PIN retries and
//! blocking, PIN policy (minPINLength, forcePINChange, and optionally the CTAP 2.2 maxPINLength
//! and a PIN complexity policy), token permissions and expiry,
//! touch (user presence) with keepalive UPNEEDED and cancel, the reset window, packed
//! attestation, and the YubiKey serial-number vendor command.
//!
//! Commands: getInfo, clientPIN, makeCredential, getAssertion (with silent `up: false`
//! probes, credProtect and hmac-secret), getNextAssertion, reset, selection,
//! authenticatorConfig, credentialManagement (getCredsMetadata and enumerateRPs, also under
//! the prototype 0x41). Not implemented (CTAP1_ERR_INVALID_COMMAND): largeBlobs,
//! bioEnrollment, U2F/CTAP1.
//!
//! TEST ONLY: the attestation key is public and the state file holds secrets in the clear.
//!
//! ```no_run
//! use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy, Unattended};
//! let key = SoftAuthenticator::new(SoftConfig::default())?;
//! key.touch().set(TouchPolicy::Immediate);
//! let reply = key.process(&[0x04], &Unattended); // getInfo
//! assert_eq!(reply[0], 0x00);
//! # Ok::<(), ctap::soft::SoftError>(())
//! ```

mod attestation;
mod authenticator_config;
mod client_pin;
mod config;
mod credential;
mod credential_management;
mod get_assertion;
mod get_info;
mod key;
mod make_credential;
mod pin_complexity;
mod presence;
mod request;
mod reset;
mod state;
mod status;
mod token;
mod vendor;

use std::sync::{Arc, Mutex, MutexGuard};

use ciborium::value::Value;

pub use config::{CredentialManagement, SoftConfig, TouchHandle, TouchPolicy, TEST_AAGUID};
pub use pin_complexity::PinComplexity;
pub use state::{ResidentCredential, StateError};
pub use status::Status;
pub use vendor::YUBIKEY_READ_CONFIG;

use crate::cbor;
use crate::handler::{CtapHandler, PresenceContext};
use crate::KeepaliveStatus;
use attestation::Attestation;
use key::{KeyState, Volatile};
use request::Params;
use state::PersistentState;
use status::CmdResult;

/// CTAP2 command bytes (CTAP 2.1 §6).
mod command {
    pub const MAKE_CREDENTIAL: u8 = 0x01;
    pub const GET_ASSERTION: u8 = 0x02;
    pub const GET_INFO: u8 = 0x04;
    pub const CLIENT_PIN: u8 = 0x06;
    pub const RESET: u8 = 0x07;
    pub const GET_NEXT_ASSERTION: u8 = 0x08;
    pub const SELECTION: u8 = 0x0B;
    pub const CONFIG: u8 = 0x0D;
    pub const CREDENTIAL_MANAGEMENT: u8 = 0x0A;
    /// The prototype credentialManagement of `credentialMgmtPreview` keys.
    pub const CREDENTIAL_MANAGEMENT_PREVIEW: u8 = 0x41;
}

/// Why a software key could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SoftError {
    /// The state file could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// The test attestation certificate could not be built.
    #[error("cannot build the test attestation certificate")]
    Attestation,
}

/// A [`PresenceContext`] for direct calls: never cancelled, status ignored.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unattended;

impl PresenceContext for Unattended {
    fn set_status(&self, _status: KeepaliveStatus) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// A software CTAP 2.1 key. Cloning gives another handle on the same key, so a test can
/// keep one (to re-plug it or read its state) while a CTAPHID server owns the other.
#[derive(Clone)]
pub struct SoftAuthenticator {
    inner: Arc<Mutex<KeyState>>,
    touch: TouchHandle,
}

impl std::fmt::Debug for SoftAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftAuthenticator")
            .field("touch", &self.touch.get())
            .finish_non_exhaustive()
    }
}

impl SoftAuthenticator {
    /// Plugs in a key: loads `config.state_file` if it exists (creating it otherwise),
    /// else starts factory-fresh.
    pub fn new(config: SoftConfig) -> Result<Self, SoftError> {
        let persistent = match &config.state_file {
            Some(path) => match PersistentState::load(path)? {
                Some(state) => state,
                None => {
                    let fresh = PersistentState::fresh(config.min_pin_length);
                    fresh.save(path)?;
                    fresh
                }
            },
            None => PersistentState::fresh(config.min_pin_length),
        };
        let attestation = Attestation::test(&config.aaguid).map_err(|_| SoftError::Attestation)?;
        let touch = TouchHandle::new(config.touch);
        let state = KeyState {
            config,
            touch: touch.clone(),
            persistent,
            volatile: Volatile::power_up(),
            attestation,
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(state)),
            touch,
        })
    }

    fn lock(&self) -> MutexGuard<'_, KeyState> {
        // A panic in another handle's request must not brick the key for the rest of a test.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared touch policy handle.
    pub fn touch(&self) -> TouchHandle {
        self.touch.clone()
    }

    /// Unplug and re-plug: clears the PIN_AUTH_BLOCKED streak, makes a new key-agreement
    /// key, invalidates the pinUvAuthToken and restarts the reset window.
    ///
    /// Like every accessor here it waits for a request in progress (e.g. one waiting for a
    /// touch) to finish first; use [`touch`](Self::touch) to end such a wait.
    pub fn power_cycle(&self) {
        self.lock().power_cycle();
    }

    /// The configuration the key was built with.
    pub fn config(&self) -> SoftConfig {
        self.lock().config.clone()
    }

    /// The DER test attestation certificate (what x5c[0] carries).
    pub fn attestation_certificate(&self) -> Vec<u8> {
        self.lock().attestation.certificate().to_vec()
    }

    /// The discoverable credentials on the key.
    pub fn resident_credentials(&self) -> Vec<ResidentCredential> {
        self.lock().persistent.credentials.clone()
    }

    /// PIN retries left (what getPINRetries reports).
    pub fn pin_retries(&self) -> u8 {
        self.lock().persistent.pin_retries
    }

    /// Handles one CTAP2 message (command byte + CBOR) and returns status byte + CBOR.
    pub fn process(&self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        let mut key = self.lock();
        match dispatch(&mut key, request, presence) {
            Ok(None) => vec![0x00],
            Ok(Some(body)) => {
                let mut out = vec![0x00];
                out.extend_from_slice(&cbor::to_canonical_vec(&body));
                out
            }
            Err(status) => {
                tracing::debug!(command = request.first().copied(), %status, "soft key: error");
                vec![status.code()]
            }
        }
    }
}

fn dispatch(
    key: &mut KeyState,
    request: &[u8],
    presence: &dyn PresenceContext,
) -> CmdResult<Option<Value>> {
    let (&cmd, body) = request.split_first().ok_or(Status::InvalidLength)?;
    // getNextAssertion continues only the command right before it (CTAP 2.1 §6.3).
    if cmd != command::GET_NEXT_ASSERTION {
        key.volatile.assertions = None;
    }
    // Likewise enumerateRPsGetNextRP continues only the credentialManagement before it.
    if cmd != command::CREDENTIAL_MANAGEMENT && cmd != command::CREDENTIAL_MANAGEMENT_PREVIEW {
        key.volatile.rp_enumeration = None;
    }
    // A real key refuses what it did not promise to read (getInfo maxMsgSize).
    if request.len() > get_info::MAX_MSG_SIZE {
        return Err(Status::RequestTooLarge);
    }
    let empty = Value::Map(Vec::new());
    let parsed;
    let params = if body.is_empty() {
        Params::new(&empty)?
    } else {
        parsed = cbor::from_slice(body).map_err(|_| Status::InvalidCbor)?;
        Params::new(&parsed)?
    };
    match cmd {
        command::GET_INFO => Ok(Some(key.get_info())),
        command::MAKE_CREDENTIAL => {
            if body.is_empty() {
                return Err(Status::MissingParameter);
            }
            key.make_credential(&params, presence).map(Some)
        }
        command::GET_ASSERTION => {
            if body.is_empty() {
                return Err(Status::MissingParameter);
            }
            key.get_assertion(&params, presence).map(Some)
        }
        command::GET_NEXT_ASSERTION => key.get_next_assertion().map(Some),
        command::CLIENT_PIN => key.client_pin(&params),
        command::RESET => key.reset(presence).map(|()| None),
        command::SELECTION => key.selection(presence).map(|()| None),
        command::CONFIG => key.authenticator_config(&params).map(|()| None),
        command::CREDENTIAL_MANAGEMENT
            if key.config.credential_management == CredentialManagement::Standard =>
        {
            key.credential_management(&params).map(Some)
        }
        // Keys with the standard command keep the prototype too (as YubiKeys do).
        command::CREDENTIAL_MANAGEMENT_PREVIEW
            if key.config.credential_management != CredentialManagement::Absent =>
        {
            key.credential_management(&params).map(Some)
        }
        _ => Err(Status::InvalidCommand),
    }
}

impl CtapHandler for SoftAuthenticator {
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8> {
        self.process(request, presence)
    }

    fn handle_vendor(&mut self, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
        vendor::handle(&self.lock().config, cmd, data)
    }

    fn wink(&mut self) {
        tracing::info!("soft key: wink");
    }
}
