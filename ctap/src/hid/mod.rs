//! CTAPHID (CTAP 2.1 §11.2): framing and the channel protocol.

/// CTAPHID-level failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HidError {
    /// ERR_INVALID_CMD (0x01): the key does not know the command.
    #[error("the key does not support this command")]
    InvalidCommand,
}
