//! CTAPHID (CTAP 2.1 §11.2): framing and the channel protocol.
//!
//! - [`framing`]: pure packetizing and reassembly of 64-byte reports (no I/O).
//! - [`client`]: [`HidChannel`], the blocking host-side driver, a [`crate::CtapChannel`].
//! - [`server`]: the device side, serving any [`crate::handler::CtapHandler`].

pub mod client;
pub mod framing;
pub mod server;

pub use client::{Capabilities, HidChannel, Presence, Timeouts};
pub use framing::{packetize, Packet, Reassembler};

/// The broadcast channel id, used only for CTAPHID_INIT (CTAP 2.1 §11.2.3).
pub const BROADCAST_CID: u32 = 0xFFFF_FFFF;

/// CTAPHID command codes without the init bit (CTAP 2.1 §11.2.9). On the wire the init
/// packet carries `code | 0x80`.
pub mod cmd {
    /// CTAPHID_PING: echo.
    pub const PING: u8 = 0x01;
    /// CTAPHID_MSG: a U2F/CTAP1 APDU.
    pub const MSG: u8 = 0x03;
    /// CTAPHID_LOCK: exclusive channel lock.
    pub const LOCK: u8 = 0x04;
    /// CTAPHID_INIT: allocate a channel.
    pub const INIT: u8 = 0x06;
    /// CTAPHID_WINK: blink.
    pub const WINK: u8 = 0x08;
    /// CTAPHID_CBOR: a CTAP2 request.
    pub const CBOR: u8 = 0x10;
    /// CTAPHID_CANCEL: abort the request in progress on the channel.
    pub const CANCEL: u8 = 0x11;
    /// CTAPHID_KEEPALIVE: the key is still working.
    pub const KEEPALIVE: u8 = 0x3B;
    /// CTAPHID_ERROR: one error byte follows.
    pub const ERROR: u8 = 0x3F;
    /// First vendor-specific command (CTAPHID_VENDOR_FIRST).
    pub const VENDOR_FIRST: u8 = 0x40;
    /// Last vendor-specific command (CTAPHID_VENDOR_LAST).
    pub const VENDOR_LAST: u8 = 0x7F;
}

/// CTAPHID_INIT capability flags (CTAP 2.1 §11.2.9.1.3).
pub mod capability {
    /// CAPABILITY_WINK: the key implements CTAPHID_WINK.
    pub const WINK: u8 = 0x01;
    /// CAPABILITY_CBOR: the key implements CTAPHID_CBOR.
    pub const CBOR: u8 = 0x04;
    /// CAPABILITY_NMSG: the key does NOT implement CTAPHID_MSG.
    pub const NMSG: u8 = 0x08;
}

/// CTAPHID-level failures: error codes a key sent in CTAPHID_ERROR (CTAP 2.1 §11.2.9.1.6)
/// and framing faults found while reassembling a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HidError {
    /// ERR_INVALID_CMD (0x01): the key does not know the command.
    #[error("the key does not support this command")]
    InvalidCommand,
    /// ERR_INVALID_PAR (0x02): a parameter of the command was invalid.
    #[error("the key rejected a parameter of the command")]
    InvalidParameter,
    /// ERR_INVALID_LEN (0x03): the message length was invalid.
    #[error("the key rejected the message length")]
    InvalidLength,
    /// ERR_INVALID_SEQ (0x04): the key saw packets out of order.
    #[error("the key received packets out of order; unplug and reinsert it if this repeats")]
    InvalidSequence,
    /// ERR_MSG_TIMEOUT (0x05): the key timed out waiting for the rest of a message.
    #[error("the key timed out waiting for the rest of the message")]
    MessageTimeout,
    /// ERR_CHANNEL_BUSY (0x06): the key is serving another channel (another program uses it).
    #[error("the key is busy with another program; close other programs using it and retry")]
    ChannelBusy,
    /// ERR_LOCK_REQUIRED (0x0A): the command needs a channel lock.
    #[error("the key requires a channel lock for this command")]
    LockRequired,
    /// ERR_INVALID_CHANNEL (0x0B): the key does not know our channel (it was reset or replugged).
    #[error("the key no longer knows this connection; reinsert it and retry")]
    InvalidChannel,
    /// ERR_OTHER (0x7F): unspecified error in the key.
    #[error("the key reported an unspecified error")]
    Other,
    /// A CTAPHID error code without a name in the spec.
    #[error("the key reported CTAPHID error 0x{0:02X}")]
    Unknown(u8),

    /// A continuation packet arrived while no message was being received on the channel.
    #[error("received a continuation packet (sequence {seq}) with no message in progress")]
    SpuriousContinuation {
        /// Its sequence number.
        seq: u8,
    },
    /// A continuation packet arrived with a sequence number other than the next one.
    #[error("received packet sequence {got} where {expected} was expected")]
    UnexpectedSequence {
        /// The sequence number that should have come next.
        expected: u8,
        /// The one that came.
        got: u8,
    },
    /// A message declared (or a caller asked for) more bytes than CTAPHID can carry.
    #[error("message of {len} bytes exceeds the CTAPHID limit of {max} bytes")]
    MessageTooLong {
        /// Declared or requested length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The key answered with a command other than the one sent.
    #[error("the key answered command 0x{got:02X} to command 0x{expected:02X}")]
    UnexpectedCommand {
        /// The command sent (without the init bit).
        expected: u8,
        /// The command received (without the init bit).
        got: u8,
    },
    /// A reply was shorter than its command requires (e.g. CTAPHID_INIT under 17 bytes).
    #[error("the key sent a truncated reply to command 0x{cmd:02X}")]
    ShortReply {
        /// The command (without the init bit).
        cmd: u8,
    },
}

impl HidError {
    /// Maps a CTAPHID_ERROR code (CTAP 2.1 §11.2.9.1.6) to its variant.
    pub fn from_code(code: u8) -> Self {
        match code {
            0x01 => HidError::InvalidCommand,
            0x02 => HidError::InvalidParameter,
            0x03 => HidError::InvalidLength,
            0x04 => HidError::InvalidSequence,
            0x05 => HidError::MessageTimeout,
            0x06 => HidError::ChannelBusy,
            0x0A => HidError::LockRequired,
            0x0B => HidError::InvalidChannel,
            0x7F => HidError::Other,
            other => HidError::Unknown(other),
        }
    }

    /// The CTAPHID_ERROR code for an error a key can send, `None` for local framing faults.
    pub fn code(&self) -> Option<u8> {
        Some(match self {
            HidError::InvalidCommand => 0x01,
            HidError::InvalidParameter => 0x02,
            HidError::InvalidLength => 0x03,
            HidError::InvalidSequence => 0x04,
            HidError::MessageTimeout => 0x05,
            HidError::ChannelBusy => 0x06,
            HidError::LockRequired => 0x0A,
            HidError::InvalidChannel => 0x0B,
            HidError::Other => 0x7F,
            HidError::Unknown(c) => *c,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip() {
        for code in 0u8..=255 {
            assert_eq!(HidError::from_code(code).code(), Some(code));
        }
        assert_eq!(HidError::from_code(0x06), HidError::ChannelBusy);
        assert_eq!(HidError::from_code(0x0B), HidError::InvalidChannel);
        assert_eq!(HidError::from_code(0x42), HidError::Unknown(0x42));
    }
}
