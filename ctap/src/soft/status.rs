//! Authenticator-side CTAP status codes (CTAP 2.1 §8.2), named as in the spec.
//!
//! Every command handler returns `Result<Value, Status>`; the dispatcher turns the error
//! into the single status byte a real key would send.

/// A CTAP status other than CTAP2_OK, as the software key reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Status {
    /// CTAP1_ERR_INVALID_COMMAND (0x01).
    #[error("CTAP1_ERR_INVALID_COMMAND")]
    InvalidCommand,
    /// CTAP1_ERR_INVALID_PARAMETER (0x02).
    #[error("CTAP1_ERR_INVALID_PARAMETER")]
    InvalidParameter,
    /// CTAP1_ERR_INVALID_LENGTH (0x03).
    #[error("CTAP1_ERR_INVALID_LENGTH")]
    InvalidLength,
    /// CTAP2_ERR_CBOR_UNEXPECTED_TYPE (0x11).
    #[error("CTAP2_ERR_CBOR_UNEXPECTED_TYPE")]
    CborUnexpectedType,
    /// CTAP2_ERR_INVALID_CBOR (0x12).
    #[error("CTAP2_ERR_INVALID_CBOR")]
    InvalidCbor,
    /// CTAP2_ERR_MISSING_PARAMETER (0x14).
    #[error("CTAP2_ERR_MISSING_PARAMETER")]
    MissingParameter,
    /// CTAP2_ERR_LIMIT_EXCEEDED (0x15).
    #[error("CTAP2_ERR_LIMIT_EXCEEDED")]
    LimitExceeded,
    /// CTAP2_ERR_CREDENTIAL_EXCLUDED (0x19).
    #[error("CTAP2_ERR_CREDENTIAL_EXCLUDED")]
    CredentialExcluded,
    /// CTAP2_ERR_UNSUPPORTED_ALGORITHM (0x26).
    #[error("CTAP2_ERR_UNSUPPORTED_ALGORITHM")]
    UnsupportedAlgorithm,
    /// CTAP2_ERR_OPERATION_DENIED (0x27).
    #[error("CTAP2_ERR_OPERATION_DENIED")]
    OperationDenied,
    /// CTAP2_ERR_KEY_STORE_FULL (0x28).
    #[error("CTAP2_ERR_KEY_STORE_FULL")]
    KeyStoreFull,
    /// CTAP2_ERR_UNSUPPORTED_OPTION (0x2B).
    #[error("CTAP2_ERR_UNSUPPORTED_OPTION")]
    UnsupportedOption,
    /// CTAP2_ERR_INVALID_OPTION (0x2C).
    #[error("CTAP2_ERR_INVALID_OPTION")]
    InvalidOption,
    /// CTAP2_ERR_KEEPALIVE_CANCEL (0x2D).
    #[error("CTAP2_ERR_KEEPALIVE_CANCEL")]
    KeepaliveCancel,
    /// CTAP2_ERR_NO_CREDENTIALS (0x2E).
    #[error("CTAP2_ERR_NO_CREDENTIALS")]
    NoCredentials,
    /// CTAP2_ERR_USER_ACTION_TIMEOUT (0x2F).
    #[error("CTAP2_ERR_USER_ACTION_TIMEOUT")]
    UserActionTimeout,
    /// CTAP2_ERR_NOT_ALLOWED (0x30).
    #[error("CTAP2_ERR_NOT_ALLOWED")]
    NotAllowed,
    /// CTAP2_ERR_PIN_INVALID (0x31).
    #[error("CTAP2_ERR_PIN_INVALID")]
    PinInvalid,
    /// CTAP2_ERR_PIN_BLOCKED (0x32).
    #[error("CTAP2_ERR_PIN_BLOCKED")]
    PinBlocked,
    /// CTAP2_ERR_PIN_AUTH_INVALID (0x33).
    #[error("CTAP2_ERR_PIN_AUTH_INVALID")]
    PinAuthInvalid,
    /// CTAP2_ERR_PIN_AUTH_BLOCKED (0x34).
    #[error("CTAP2_ERR_PIN_AUTH_BLOCKED")]
    PinAuthBlocked,
    /// CTAP2_ERR_PIN_NOT_SET (0x35).
    #[error("CTAP2_ERR_PIN_NOT_SET")]
    PinNotSet,
    /// CTAP2_ERR_PUAT_REQUIRED (0x36, PIN_REQUIRED in CTAP 2.0).
    #[error("CTAP2_ERR_PUAT_REQUIRED")]
    PuatRequired,
    /// CTAP2_ERR_PIN_POLICY_VIOLATION (0x37).
    #[error("CTAP2_ERR_PIN_POLICY_VIOLATION")]
    PinPolicyViolation,
    /// CTAP2_ERR_REQUEST_TOO_LARGE (0x39): longer than the maxMsgSize in getInfo.
    #[error("CTAP2_ERR_REQUEST_TOO_LARGE")]
    RequestTooLarge,
    /// CTAP2_ERR_INVALID_SUBCOMMAND (0x3E).
    #[error("CTAP2_ERR_INVALID_SUBCOMMAND")]
    InvalidSubcommand,
    /// CTAP2_ERR_UNAUTHORIZED_PERMISSION (0x40).
    #[error("CTAP2_ERR_UNAUTHORIZED_PERMISSION")]
    UnauthorizedPermission,
    /// CTAP1_ERR_OTHER (0x7F): an internal fault (e.g. the state file could not be written).
    #[error("CTAP1_ERR_OTHER")]
    Other,
}

impl Status {
    /// The status byte on the wire (CTAP 2.1 §8.2).
    pub fn code(self) -> u8 {
        match self {
            Status::InvalidCommand => 0x01,
            Status::InvalidParameter => 0x02,
            Status::InvalidLength => 0x03,
            Status::CborUnexpectedType => 0x11,
            Status::InvalidCbor => 0x12,
            Status::MissingParameter => 0x14,
            Status::LimitExceeded => 0x15,
            Status::CredentialExcluded => 0x19,
            Status::UnsupportedAlgorithm => 0x26,
            Status::OperationDenied => 0x27,
            Status::KeyStoreFull => 0x28,
            Status::UnsupportedOption => 0x2B,
            Status::InvalidOption => 0x2C,
            Status::KeepaliveCancel => 0x2D,
            Status::NoCredentials => 0x2E,
            Status::UserActionTimeout => 0x2F,
            Status::NotAllowed => 0x30,
            Status::PinInvalid => 0x31,
            Status::PinBlocked => 0x32,
            Status::PinAuthInvalid => 0x33,
            Status::PinAuthBlocked => 0x34,
            Status::PinNotSet => 0x35,
            Status::PuatRequired => 0x36,
            Status::PinPolicyViolation => 0x37,
            Status::RequestTooLarge => 0x39,
            Status::InvalidSubcommand => 0x3E,
            Status::UnauthorizedPermission => 0x40,
            Status::Other => 0x7F,
        }
    }
}

/// Result of one command handler.
pub type CmdResult<T> = std::result::Result<T, Status>;
