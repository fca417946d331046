//! PINs sealed for a shared journal: AES-256-GCM under the deployment's journal key.
//!
//! The key is 32 random bytes, given base64-encoded in `PASSKEY_KIOSK_JOURNAL_KEY` or in the
//! file named by `journalKeyFile` (the variable wins); create one with
//! `head -c 32 /dev/urandom | base64`. Every seal has a fresh random nonce, and the
//! enrollment's id is bound as associated data: a sealed PIN copied to another row does not
//! open. A sealed PIN is `1 ‖ nonce (12 bytes) ‖ ciphertext with its tag`.
//!
//! How a station without the key is refused: the journal keeps one value sealed under the
//! key ([`JournalKey::check_value`], stored by the first station that had a key). On start
//! a station passes its key (if any) and that stored value to [`admit`]: a journal holding
//! the value refuses a station with no key ([`SealError::KeyMissing`]) or with another key
//! ([`SealError::WrongKey`]), naming the remedy, before it seals or opens anything.
//!
//! The key bytes, the ciphers' round keys and every opened PIN are zeroized when dropped.

use std::fmt;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use zeroize::Zeroizing;

/// The environment variable holding the journal key (base64 of 32 bytes).
pub const KEY_ENV: &str = "PASSKEY_KIOSK_JOURNAL_KEY";

/// The first byte of every sealed value: the format, so a later one can be told apart.
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Associated data of a PIN (followed by its enrollment id) and of the key check.
const PIN_CONTEXT: &[u8] = b"passkey-kiosk sealed pin\0";
const CHECK_CONTEXT: &[u8] = b"passkey-kiosk journal key check\0";
const CHECK_TEXT: &[u8] = b"journal key";

/// Why a key could not be had, or a sealed value not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key is not base64 of 32 bytes (the key itself is never shown).
    #[error("journal key from {from} is not valid ({detail}): it must be the base64 of 32 random bytes, e.g. the output of `head -c 32 /dev/urandom | base64`")]
    KeyFormat {
        /// `PASSKEY_KIOSK_JOURNAL_KEY` or the file.
        from: String,
        /// What is wrong (never the key).
        detail: String,
    },
    /// The key file could not be read.
    #[error("journalKeyFile {path}: {source}; point it at the file holding the journal key (base64 of 32 bytes)")]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        source: std::io::Error,
    },
    /// The key file can be read by every account on the machine.
    #[error("journalKeyFile {path} can be read by every account on this machine: restrict it (chmod 600, owned by the station's account)")]
    KeyFileOpen {
        /// The file.
        path: PathBuf,
    },
    /// The journal holds sealed PINs and this station has no key.
    #[error("the journal holds PINs sealed under a journal key, and this station has none: set {KEY_ENV} (base64 of 32 bytes) or journalKeyFile to the key the other stations use")]
    KeyMissing,
    /// The station's key is not the one the journal's PINs are sealed under.
    #[error("the journal key of this station is not the one the journal's PINs are sealed under: set {KEY_ENV} or journalKeyFile to the key the other stations use")]
    WrongKey,
    /// AES-GCM refused to seal (it does only for messages of gigabytes).
    #[error("sealing a PIN for the journal failed: AES-GCM refused it")]
    Seal,
    /// A sealed PIN does not open: another key, altered, or moved from another enrollment.
    #[error("the sealed PIN of enrollment {enrollment_id} does not open: it was sealed under another journal key, altered, or copied from another enrollment")]
    Unopenable {
        /// The enrollment whose PIN it is.
        enrollment_id: i64,
    },
}

/// The journal key: 32 bytes, zeroized on drop, never printed.
pub struct JournalKey {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for JournalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JournalKey(..)")
    }
}

impl JournalKey {
    /// The key from base64 text; `from` names where it came from, for the error.
    pub fn from_base64(text: &str, from: &str) -> Result<JournalKey, SealError> {
        let format = |detail: String| SealError::KeyFormat {
            from: from.to_string(),
            detail,
        };
        let bytes = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| format("not base64".into()))?,
        );
        let mut key = Zeroizing::new([0u8; 32]);
        if bytes.len() != key.len() {
            return Err(format(format!("{} bytes instead of 32", bytes.len())));
        }
        key.copy_from_slice(&bytes);
        Ok(JournalKey { key })
    }

    /// The key in `path` (base64, surrounding white space ignored); refused when every
    /// account can read the file.
    pub fn from_file(path: &Path) -> Result<JournalKey, SealError> {
        use std::os::unix::fs::PermissionsExt;
        let read_error = |source| SealError::KeyFile {
            path: path.to_path_buf(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(read_error)?
            .permissions()
            .mode();
        if mode & 0o004 != 0 {
            return Err(SealError::KeyFileOpen {
                path: path.to_path_buf(),
            });
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(read_error)?);
        JournalKey::from_base64(&text, &format!("journalKeyFile {}", path.display()))
    }

    /// The station's key: `env` (the value of [`KEY_ENV`]) wins over `file`; `None` when
    /// neither is given.
    pub fn configured(
        env: Option<Zeroizing<String>>,
        file: Option<&Path>,
    ) -> Result<Option<JournalKey>, SealError> {
        match (env, file) {
            (Some(text), _) => JournalKey::from_base64(&text, KEY_ENV).map(Some),
            (None, Some(path)) => JournalKey::from_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// `pin` sealed for enrollment `enrollment_id` (a fresh nonce each time).
    pub fn seal_pin(&self, enrollment_id: i64, pin: &str) -> Result<Vec<u8>, SealError> {
        self.seal(&pin_context(enrollment_id), pin.as_bytes())
    }

    /// The PIN sealed for enrollment `enrollment_id`.
    pub fn open_pin(
        &self,
        enrollment_id: i64,
        sealed: &[u8],
    ) -> Result<Zeroizing<String>, SealError> {
        let unopenable = || SealError::Unopenable { enrollment_id };
        let mut clear = self
            .open(&pin_context(enrollment_id), sealed)
            .ok_or_else(unopenable)?;
        // The bytes move into the String without a copy; a non-UTF-8 PIN was never sealed
        // by this program.
        String::from_utf8(std::mem::take(&mut *clear))
            .map(Zeroizing::new)
            .map_err(|e| {
                zeroize::Zeroize::zeroize(&mut e.into_bytes());
                unopenable()
            })
    }

    /// A value sealed under this key, which the journal keeps so that [`admit`] can tell
    /// whether a station has the same key.
    pub fn check_value(&self) -> Result<Vec<u8>, SealError> {
        self.seal(CHECK_CONTEXT, CHECK_TEXT)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(self.key.as_ref().into())
    }

    fn seal(&self, context: &[u8], clear: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: clear,
                    aad: context,
                },
            )
            .map_err(|_| SealError::Seal)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != FORMAT {
            return None;
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .ok()
            .map(Zeroizing::new)
    }
}

fn pin_context(enrollment_id: i64) -> Vec<u8> {
    [PIN_CONTEXT, &enrollment_id.to_be_bytes()].concat()
}

/// What a station does with the journal key on start.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// The station's key is the journal's.
    SameKey,
    /// The journal has no key yet: store this check value (the first keyed station's).
    Record(Vec<u8>),
    /// Neither the journal nor the station has a key: the station may not seal PINs.
    NoKey,
}

/// Admits a station with `key` to a journal whose stored check value is `stored`.
pub fn admit(key: Option<&JournalKey>, stored: Option<&[u8]>) -> Result<Admission, SealError> {
    match (key, stored) {
        (Some(key), Some(check)) => match key.open(CHECK_CONTEXT, check) {
            Some(text) if text.as_slice() == CHECK_TEXT => Ok(Admission::SameKey),
            _ => Err(SealError::WrongKey),
        },
        (Some(key), None) => Ok(Admission::Record(key.check_value()?)),
        (None, Some(_)) => Err(SealError::KeyMissing),
        (None, None) => Ok(Admission::NoKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> JournalKey {
        let text = base64::engine::general_purpose::STANDARD.encode([byte; 32]);
        JournalKey::from_base64(&text, KEY_ENV).unwrap()
    }

    #[test]
    fn a_pin_opens_under_its_key_and_enrollment_only() {
        let k = key(7);
        let sealed = k.seal_pin(41, "482913").unwrap();
        assert_eq!(sealed[0], FORMAT);
        assert!(!sealed.windows(6).any(|w| w == b"482913"));
        assert_eq!(k.open_pin(41, &sealed).unwrap().as_str(), "482913");
        // A fresh nonce every time: the same PIN never seals to the same bytes.
        assert_ne!(k.seal_pin(41, "482913").unwrap(), sealed);
        // Moved to another row, opened with another key, or altered: refused, typed.
        for (id, opener, text) in [
            (42, key(7), sealed.clone()),
            (41, key(8), sealed.clone()),
            (41, key(7), {
                let mut t = sealed.clone();
                *t.last_mut().unwrap() ^= 1;
                t
            }),
            (41, key(7), {
                let mut t = sealed.clone();
                t[0] = 2;
                t
            }),
            (41, key(7), sealed[..20].to_vec()),
        ] {
            match opener.open_pin(id, &text) {
                Err(SealError::Unopenable { enrollment_id }) => assert_eq!(enrollment_id, id),
                other => panic!("opened or wrong error: {other:?}"),
            }
        }
    }

    #[test]
    fn admission_refuses_a_station_without_the_key_or_with_another() {
        let first = key(1);
        let Admission::Record(check) = admit(Some(&first), None).unwrap() else {
            panic!("the first keyed station records the check value");
        };
        assert_eq!(
            admit(Some(&key(1)), Some(&check)).unwrap(),
            Admission::SameKey
        );
        let other = admit(Some(&key(2)), Some(&check)).unwrap_err();
        assert!(matches!(other, SealError::WrongKey), "{other}");
        let none = admit(None, Some(&check)).unwrap_err();
        assert!(matches!(none, SealError::KeyMissing));
        assert!(none.to_string().contains(KEY_ENV), "{none}");
        assert_eq!(admit(None, None).unwrap(), Admission::NoKey);
        // A PIN's seal is no check value (other associated data).
        let pin = first.seal_pin(1, "journal key").unwrap();
        assert!(matches!(
            admit(Some(&first), Some(&pin)),
            Err(SealError::WrongKey)
        ));
    }

    #[test]
    fn keys_must_be_base64_of_32_bytes_and_are_never_shown() {
        let short = base64::engine::general_purpose::STANDARD.encode([9u8; 16]);
        let e = JournalKey::from_base64(&short, KEY_ENV)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("16 bytes instead of 32") && e.contains(KEY_ENV),
            "{e}"
        );
        assert!(!e.contains(&short), "{e}");
        let e = JournalKey::from_base64("not*base64!", KEY_ENV)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not base64") && !e.contains("not*base64!"),
            "{e}"
        );
        assert_eq!(format!("{:?}", key(3)), "JournalKey(..)");
    }

    #[test]
    fn the_variable_wins_over_the_file_and_open_files_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("journal.key");
        let text = base64::engine::general_purpose::STANDARD.encode([5u8; 32]);
        std::fs::write(&file, format!("{text}\n")).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let from_file = JournalKey::configured(None, Some(&file)).unwrap().unwrap();
        let sealed = from_file.seal_pin(1, "123456").unwrap();
        assert_eq!(key(5).open_pin(1, &sealed).unwrap().as_str(), "123456");

        let env = base64::engine::general_purpose::STANDARD.encode([6u8; 32]);
        let from_env = JournalKey::configured(Some(Zeroizing::new(env)), Some(&file))
            .unwrap()
            .unwrap();
        assert!(from_env.open_pin(1, &sealed).is_err());
        assert!(JournalKey::configured(None, None).unwrap().is_none());

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = JournalKey::from_file(&file).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        let e = JournalKey::from_file(&dir.path().join("absent.key"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("absent.key") && e.contains("journalKeyFile"),
            "{e}"
        );
    }
}
