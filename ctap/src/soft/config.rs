//! How a software key is set up: identity (AAGUID, serial, firmware), PIN policy defaults,
//! the touch policy and the timers a real key has (reset window, token lifetime).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::pin_complexity::PinComplexity;

/// The fixed test AAGUID: ASCII "PasskeyKioskSoft". No real key model uses it, so a relying
/// party that checks metadata sees at once that this is the software key.
pub const TEST_AAGUID: [u8; 16] = *b"PasskeyKioskSoft";

/// What the simulated user does when the key asks for a touch (user presence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TouchPolicy {
    /// The user touches at once.
    Immediate,
    /// The user touches after this long (the key reports UPNEEDED meanwhile).
    Delay(Duration),
    /// The user declines: CTAP2_ERR_OPERATION_DENIED.
    Deny,
    /// Nobody touches: CTAP2_ERR_USER_ACTION_TIMEOUT after [`SoftConfig::touch_timeout`].
    Never,
}

/// A shared handle on the touch policy: change it while the key is serving (even while a
/// request waits for a touch, e.g. switch `Never` to `Immediate` to "touch now").
#[derive(Debug, Clone)]
pub struct TouchHandle {
    policy: Arc<Mutex<TouchPolicy>>,
    requests: Arc<AtomicU64>,
}

impl TouchHandle {
    /// A handle starting with `policy`.
    pub fn new(policy: TouchPolicy) -> Self {
        Self {
            policy: Arc::new(Mutex::new(policy)),
            requests: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The policy in force.
    pub fn get(&self) -> TouchPolicy {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the policy; a request waiting for a touch sees it within ~10 ms.
    pub fn set(&self, policy: TouchPolicy) {
        *self.policy.lock().unwrap_or_else(|e| e.into_inner()) = policy;
    }

    /// How many times the key has asked for a touch since it was built (for tests).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}

/// Which credentialManagement a software key offers (getInfo options and command bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialManagement {
    /// `credMgmt`: the command 0x0A (and the prototype 0x41), as a CTAP 2.1 key.
    Standard,
    /// `credentialMgmtPreview` only: the prototype 0x41, as CTAP 2.1 pre-release firmware.
    Preview,
    /// None (CTAP1_ERR_INVALID_COMMAND), as a CTAP 2.0 key.
    Absent,
}

/// Everything configurable about a software key. [`Default`] is a fresh key with a test
/// identity and the timers of a real one.
#[derive(Debug, Clone)]
pub struct SoftConfig {
    /// AAGUID reported in getInfo and in attested credential data.
    pub aaguid: [u8; 16],
    /// Serial number, readable through the YubiKey vendor command (CTAPHID 0x42, page 0).
    pub serial: u32,
    /// Whether the vendor command answers at all: `false` is a key that reports no serial
    /// (most non-YubiKey models), answering ERR_INVALID_CMD.
    pub report_serial: bool,
    /// Which credentialManagement the key offers.
    pub credential_management: CredentialManagement,
    /// firmwareVersion in getInfo (0x0E).
    pub firmware_version: u32,
    /// Firmware version as major.minor.patch for the YubiKey config TLV.
    pub yubikey_version: [u8; 3],
    /// minPINLength of a fresh (or reset) key, at least 4 (CTAP 2.1 §6.4).
    pub min_pin_length: u8,
    /// maxPINLength (CTAP 2.2 getInfo 0x1D), in code points: announced, and longer new PINs
    /// are refused (PIN_POLICY_VIOLATION). `None`: not announced; only the 63-byte limit.
    pub max_pin_length: Option<u8>,
    /// A PIN complexity policy: announced (getInfo pinComplexityPolicy 0x1B true, its URL in
    /// 0x1C) and enforced on setPIN and changePIN. `None`: the key has none (0x1B absent).
    pub pin_complexity: Option<PinComplexity>,
    /// Initial touch policy; change it later through [`TouchHandle`].
    pub touch: TouchPolicy,
    /// How long the key waits for a touch before USER_ACTION_TIMEOUT (real keys: ~30 s).
    pub touch_timeout: Duration,
    /// A pinUvAuthToken not used for this long expires (CTAP 2.1 §6.5.2.1.1: 30 s).
    pub token_timeout: Duration,
    /// authenticatorReset is allowed only this long after power-up (CTAP 2.1 §6.6: 10 s).
    pub reset_window: Duration,
    /// How many discoverable credentials fit.
    pub max_resident_credentials: usize,
    /// Where the key keeps its state between runs (JSON). `None`: in memory only.
    pub state_file: Option<PathBuf>,
}

impl Default for SoftConfig {
    fn default() -> Self {
        Self {
            aaguid: TEST_AAGUID,
            serial: 12_345_678,
            report_serial: true,
            credential_management: CredentialManagement::Standard,
            firmware_version: 0x0005_0704,
            yubikey_version: [5, 7, 4],
            min_pin_length: 4,
            max_pin_length: None,
            pin_complexity: None,
            touch: TouchPolicy::Immediate,
            touch_timeout: Duration::from_secs(30),
            token_timeout: Duration::from_secs(30),
            reset_window: Duration::from_secs(10),
            max_resident_credentials: 25,
            state_file: None,
        }
    }
}
