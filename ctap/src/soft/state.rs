//! What the key remembers across power cycles (its "flash"): PIN hash and retries, PIN
//! policy, the credential master key, the signature counter and discoverable credentials.
//! Optionally mirrored to a JSON file so a training key survives restarts.
//!
//! The file holds secrets of a TEST key (master key, PIN hash) in the clear; it must never
//! be used for a real person's credentials.

use std::path::Path;

use rand::rngs::OsRng;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

/// Format version of the state file.
const STATE_VERSION: u32 = 1;

/// PIN retries of a fresh key (CTAP 2.1 §6.5.2.2: maximum 8).
pub(crate) const MAX_PIN_RETRIES: u8 = 8;

/// Errors reading or writing the state file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The file could not be read or written.
    #[error("soft key state file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a state file of this version.
    #[error("soft key state file {path} is not valid: {source}")]
    Format {
        /// The file.
        path: String,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// A discoverable (resident) credential. The private key is not stored: it is re-derived
/// from the credential id and the master key (see `credential.rs`).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq, Debug)]
pub struct ResidentCredential {
    /// Relying party id.
    pub rp_id: String,
    /// user.id (opaque bytes).
    pub user_id: Vec<u8>,
    /// user.name, if given.
    pub user_name: Option<String>,
    /// user.displayName, if given.
    pub user_display_name: Option<String>,
    /// Credential id as returned in the attestation.
    pub credential_id: Vec<u8>,
    /// credProtect level (1..=3, CTAP 2.1 §12.1).
    pub cred_protect: u8,
    /// Whether hmac-secret was requested at creation.
    pub hmac_secret: bool,
}

/// The persistent state. Not `Debug`: it holds the master key and the PIN hash.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PersistentState {
    pub version: u32,
    /// Wraps credential ids and derives credential keys; replaced on reset.
    pub master_key: [u8; 32],
    /// LEFT(SHA-256(PIN), 16) (CTAP 2.1 §6.5.5.5), `None` when no PIN is set.
    pub pin_hash: Option<[u8; 16]>,
    /// Length of the current PIN in Unicode code points, to enforce a raised minimum.
    pub pin_code_points: usize,
    pub pin_retries: u8,
    pub min_pin_length: u8,
    pub min_pin_length_rp_ids: Vec<String>,
    pub force_pin_change: bool,
    pub sign_count: u32,
    pub credentials: Vec<ResidentCredential>,
}

impl Drop for PersistentState {
    fn drop(&mut self) {
        self.master_key.zeroize();
        self.pin_hash.zeroize();
    }
}

impl PersistentState {
    /// A factory-fresh key: new master key, no PIN, no credentials.
    pub fn fresh(min_pin_length: u8) -> Self {
        let mut master_key = [0u8; 32];
        OsRng.fill_bytes(&mut master_key);
        Self {
            version: STATE_VERSION,
            master_key,
            pin_hash: None,
            pin_code_points: 0,
            pin_retries: MAX_PIN_RETRIES,
            min_pin_length: min_pin_length.max(4),
            min_pin_length_rp_ids: Vec::new(),
            force_pin_change: false,
            sign_count: 0,
            credentials: Vec::new(),
        }
    }

    /// Reads the state file; `Ok(None)` when it does not exist yet.
    pub fn load(path: &Path) -> Result<Option<Self>, StateError> {
        let text = match std::fs::read(path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|source| StateError::Format {
                path: path.display().to_string(),
                source,
            })
    }

    /// Writes the state file atomically (temp file + rename), so a crash never leaves half.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = Zeroizing::new(serde_json::to_vec_pretty(self).map_err(|source| {
            StateError::Format {
                path: path.display().to_string(),
                source,
            }
        })?);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        write_private(Path::new(&tmp), &json).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// Writes `data` to `path`, readable by the owner only where the OS supports it (the file
/// holds the test key's PIN hash and master key).
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(data)?;
    file.sync_all()
}
