//! One error type for the crate. Texts are written for an operator at the enrollment desk:
//! what happened and what to do. No PIN, token or key material ever appears in them.

use crate::hid::HidError;

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (device unplugged, socket error, OS refused access).
    #[error("cannot talk to the key: {0}")]
    Transport(String),
    /// The key did not answer in time.
    #[error("the key did not answer in time")]
    Timeout,
    /// A CTAPHID-level error or malformed framing.
    #[error(transparent)]
    Hid(#[from] HidError),
    /// CTAP over ISO 7816 (NFC, smart cards) failed below CTAP: the card refused an APDU.
    #[error(transparent)]
    Nfc(#[from] crate::nfc::NfcError),
    /// The key answered a CTAP2 status other than success.
    #[error("{0}")]
    Ctap(StatusCode),
    /// The key's reply could not be decoded (bad CBOR, missing or mistyped field).
    #[error("the key sent a malformed reply: {0}")]
    Malformed(String),
    /// The PIN was wrong (CTAP2_ERR_PIN_INVALID); `retries_left` as the key reported after.
    #[error("wrong PIN{}", match retries_left {
        Some(n) => format!(": {n} attempts left before the key locks"),
        None => String::new(),
    })]
    PinInvalid {
        /// PIN attempts left before the key blocks, when the key told us.
        retries_left: Option<u32>,
    },
    /// The PIN breaks the key's rules; checked before anything is sent. The text names the
    /// rule (never the PIN).
    #[error("the PIN does not meet the key's rules: {0}")]
    PinRules(String),
    /// setPIN was refused because the key already has a PIN.
    #[error("the key already has a PIN: use change PIN with the current PIN, or reset the key")]
    PinAlreadySet,
    /// The key lacks a feature this operation needs.
    #[error("the key does not support {0}")]
    Unsupported(String),
    /// The key requires a PIN change (forcePINChange) before it issues tokens.
    #[error("the key requires its PIN to be changed before use: change the PIN, then retry")]
    ForcedPinChangePending,
    /// authenticatorReset refused (NOT_ALLOWED / OPERATION_DENIED): keys accept a reset only
    /// shortly after power-up, with a touch.
    #[error("the key accepts a reset only within about 10 seconds of being plugged in: remove and re-insert it, then reset at once and touch it")]
    ResetNotAllowed,
    /// The request built from the caller's input is invalid (e.g. bad creation options).
    #[error("invalid request: {0}")]
    InvalidInput(String),
}

impl Error {
    /// The CTAP2 status the key answered, if this error is one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Ctap(s) => Some(*s),
            _ => None,
        }
    }
}

macro_rules! status_codes {
    ($( $(#[$doc:meta])* $name:ident = $code:literal => $text:literal, )*) => {
        /// CTAP2 status codes (CTAP 2.1 §8.2), named as in the spec.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum StatusCode {
            $( $(#[$doc])* $name, )*
            /// Any code without a name here (extension- or vendor-specific).
            Other(u8),
        }

        impl From<u8> for StatusCode {
            fn from(code: u8) -> Self {
                match code {
                    $( $code => StatusCode::$name, )*
                    other => StatusCode::Other(other),
                }
            }
        }

        impl StatusCode {
            /// The status byte on the wire.
            pub fn code(self) -> u8 {
                match self {
                    $( StatusCode::$name => $code, )*
                    StatusCode::Other(c) => c,
                }
            }
        }

        impl std::fmt::Display for StatusCode {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $( StatusCode::$name => write!(f, "{} (0x{:02X})", $text, $code), )*
                    StatusCode::Other(c) => write!(f, "the key reported error 0x{c:02X}"),
                }
            }
        }
    };
}

status_codes! {
    /// CTAP2_OK / CTAP1_ERR_SUCCESS (0x00).
    Ok = 0x00 => "success",
    /// CTAP1_ERR_INVALID_COMMAND (0x01).
    InvalidCommand = 0x01 => "the key does not support this command",
    /// CTAP1_ERR_INVALID_PARAMETER (0x02).
    InvalidParameter = 0x02 => "the key rejected a parameter of the request",
    /// CTAP1_ERR_INVALID_LENGTH (0x03).
    InvalidLength = 0x03 => "the key rejected the message length",
    /// CTAP1_ERR_INVALID_SEQ (0x04).
    InvalidSeq = 0x04 => "message sequencing error: re-insert the key and retry",
    /// CTAP1_ERR_TIMEOUT (0x05).
    Timeout = 0x05 => "the message timed out: retry",
    /// CTAP1_ERR_CHANNEL_BUSY (0x06).
    ChannelBusy = 0x06 => "the key is busy with another program: close other FIDO apps and retry",
    /// CTAP1_ERR_LOCK_REQUIRED (0x0A).
    LockRequired = 0x0A => "the key requires a channel lock",
    /// CTAP1_ERR_INVALID_CHANNEL (0x0B).
    InvalidChannel = 0x0B => "invalid channel: re-insert the key and retry",
    /// CTAP2_ERR_CBOR_UNEXPECTED_TYPE (0x11).
    CborUnexpectedType = 0x11 => "the key rejected a field type in the request",
    /// CTAP2_ERR_INVALID_CBOR (0x12).
    InvalidCbor = 0x12 => "the key could not parse the request",
    /// CTAP2_ERR_MISSING_PARAMETER (0x14).
    MissingParameter = 0x14 => "the request lacks a parameter the key requires",
    /// CTAP2_ERR_LIMIT_EXCEEDED (0x15).
    LimitExceeded = 0x15 => "a limit of the key was exceeded",
    /// CTAP2_ERR_FP_DATABASE_FULL (0x17).
    FpDatabaseFull = 0x17 => "the key's fingerprint storage is full",
    /// CTAP2_ERR_LARGE_BLOB_STORAGE_FULL (0x18).
    LargeBlobStorageFull = 0x18 => "the key's large-blob storage is full",
    /// CTAP2_ERR_CREDENTIAL_EXCLUDED (0x19).
    CredentialExcluded = 0x19 => "this key is already registered for this user",
    /// CTAP2_ERR_PROCESSING (0x21).
    Processing = 0x21 => "the key is still processing",
    /// CTAP2_ERR_INVALID_CREDENTIAL (0x22).
    InvalidCredential = 0x22 => "the key rejected the credential",
    /// CTAP2_ERR_USER_ACTION_PENDING (0x23).
    UserActionPending = 0x23 => "the key waits for the user",
    /// CTAP2_ERR_OPERATION_PENDING (0x24).
    OperationPending = 0x24 => "another operation is pending on the key",
    /// CTAP2_ERR_NO_OPERATIONS (0x25).
    NoOperations = 0x25 => "no operation is pending",
    /// CTAP2_ERR_UNSUPPORTED_ALGORITHM (0x26).
    UnsupportedAlgorithm = 0x26 => "the key supports none of the requested algorithms",
    /// CTAP2_ERR_OPERATION_DENIED (0x27).
    OperationDenied = 0x27 => "the operation was denied on the key",
    /// CTAP2_ERR_KEY_STORE_FULL (0x28).
    KeyStoreFull = 0x28 => "the key has no room for another passkey: delete one or use another key",
    /// CTAP2_ERR_NOT_BUSY (0x29, CTAP 2.0).
    NotBusy = 0x29 => "the key is not busy",
    /// CTAP2_ERR_NO_OPERATION_PENDING (0x2A).
    NoOperationPending = 0x2A => "no operation is pending",
    /// CTAP2_ERR_UNSUPPORTED_OPTION (0x2B).
    UnsupportedOption = 0x2B => "the key does not support a requested option",
    /// CTAP2_ERR_INVALID_OPTION (0x2C).
    InvalidOption = 0x2C => "the key rejected an option of the request",
    /// CTAP2_ERR_KEEPALIVE_CANCEL (0x2D): the request was cancelled.
    KeepaliveCancel = 0x2D => "the operation was cancelled",
    /// CTAP2_ERR_NO_CREDENTIALS (0x2E).
    NoCredentials = 0x2E => "the key has no matching passkey",
    /// CTAP2_ERR_USER_ACTION_TIMEOUT (0x2F).
    UserActionTimeout = 0x2F => "the key was not touched in time: retry and touch the key when it blinks",
    /// CTAP2_ERR_NOT_ALLOWED (0x30).
    NotAllowed = 0x30 => "the key does not allow this operation now",
    /// CTAP2_ERR_PIN_INVALID (0x31).
    PinInvalid = 0x31 => "wrong PIN",
    /// CTAP2_ERR_PIN_BLOCKED (0x32).
    PinBlocked = 0x32 => "the PIN is blocked after too many wrong attempts: the key must be reset",
    /// CTAP2_ERR_PIN_AUTH_INVALID (0x33).
    PinAuthInvalid = 0x33 => "the key rejected the PIN authentication: retry",
    /// CTAP2_ERR_PIN_AUTH_BLOCKED (0x34).
    PinAuthBlocked = 0x34 => "too many wrong PINs in a row: remove and re-insert the key, then retry",
    /// CTAP2_ERR_PIN_NOT_SET (0x35).
    PinNotSet = 0x35 => "the key has no PIN yet: set a PIN first",
    /// CTAP2_ERR_PUAT_REQUIRED (0x36; CTAP2_ERR_PIN_REQUIRED in CTAP 2.0).
    PuatRequired = 0x36 => "the key requires PIN verification for this operation",
    /// CTAP2_ERR_PIN_POLICY_VIOLATION (0x37).
    PinPolicyViolation = 0x37 => "the PIN does not meet the key's policy: choose a longer or different PIN",
    /// CTAP2_ERR_PIN_TOKEN_EXPIRED (0x38, CTAP 2.0; reserved in 2.1).
    PinTokenExpired = 0x38 => "the PIN token expired: retry",
    /// CTAP2_ERR_REQUEST_TOO_LARGE (0x39).
    RequestTooLarge = 0x39 => "the request is too large for the key",
    /// CTAP2_ERR_ACTION_TIMEOUT (0x3A).
    ActionTimeout = 0x3A => "the key timed out waiting: retry",
    /// CTAP2_ERR_UP_REQUIRED (0x3B).
    UpRequired = 0x3B => "the key requires a touch",
    /// CTAP2_ERR_UV_BLOCKED (0x3C).
    UvBlocked = 0x3C => "built-in user verification is blocked: use the PIN",
    /// CTAP2_ERR_INTEGRITY_FAILURE (0x3D).
    IntegrityFailure = 0x3D => "the key reported an integrity failure: retry, then replace the key",
    /// CTAP2_ERR_INVALID_SUBCOMMAND (0x3E).
    InvalidSubcommand = 0x3E => "the key does not support this subcommand",
    /// CTAP2_ERR_UV_INVALID (0x3F).
    UvInvalid = 0x3F => "built-in user verification failed",
    /// CTAP2_ERR_UNAUTHORIZED_PERMISSION (0x40).
    UnauthorizedPermission = 0x40 => "the PIN token lacks the permission for this operation",
    /// CTAP1_ERR_OTHER (0x7F).
    ErrOther = 0x7F => "the key reported an unspecified error",
}

impl StatusCode {
    /// CTAP 2.0 name of [`StatusCode::PuatRequired`] (CTAP2_ERR_PIN_REQUIRED, 0x36).
    #[allow(non_upper_case_globals)]
    pub const PinRequired: StatusCode = StatusCode::PuatRequired;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for b in 0..=255u8 {
            assert_eq!(StatusCode::from(b).code(), b);
        }
        assert_eq!(StatusCode::from(0x34), StatusCode::PinAuthBlocked);
        assert_eq!(StatusCode::from(0x36), StatusCode::PinRequired);
        assert_eq!(StatusCode::from(0xF2), StatusCode::Other(0xF2));
    }

    #[test]
    fn texts_tell_the_operator_what_to_do() {
        assert!(StatusCode::PinAuthBlocked
            .to_string()
            .contains("remove and re-insert the key"));
        assert!(Error::PinInvalid {
            retries_left: Some(3)
        }
        .to_string()
        .contains("3 attempts left"));
        assert_eq!(
            Error::PinInvalid { retries_left: None }.to_string(),
            "wrong PIN"
        );
    }
}
