//! CTAPHID message framing (CTAP 2.1 §11.2.4), pure and sans-I/O.
//!
//! A message is one initialization packet
//! `CID(4) | CMD|0x80 (1) | BCNTH | BCNTL | DATA(57)`
//! followed by continuation packets `CID(4) | SEQ 0..=127 (1) | DATA(59)`.
//! Hence the largest message is 57 + 128 * 59 = 7609 bytes.

use super::HidError;
use crate::transport::{Report, REPORT_LEN};

/// Payload bytes carried by the initialization packet.
pub const INIT_DATA_LEN: usize = REPORT_LEN - 7;
/// Payload bytes carried by each continuation packet.
pub const CONT_DATA_LEN: usize = REPORT_LEN - 5;
/// Highest continuation sequence number (seq is 7 bits).
pub const MAX_SEQ: u8 = 0x7F;
/// Largest CTAPHID message: 57 + 128 * 59.
pub const MAX_MESSAGE_LEN: usize = INIT_DATA_LEN + (MAX_SEQ as usize + 1) * CONT_DATA_LEN;

/// One report, parsed (CTAP 2.1 §11.2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet<'a> {
    /// An initialization packet: the start of a message.
    Init {
        /// Channel id.
        cid: u32,
        /// Command without the init bit.
        cmd: u8,
        /// Declared total payload length (BCNT).
        len: u16,
        /// The 57 data bytes of the packet (only the first `len` are payload).
        data: &'a [u8],
    },
    /// A continuation packet.
    Cont {
        /// Channel id.
        cid: u32,
        /// Sequence number 0..=127.
        seq: u8,
        /// The 59 data bytes of the packet.
        data: &'a [u8],
    },
}

impl<'a> Packet<'a> {
    /// Parses a report; every 64-byte report is one or the other, so this cannot fail.
    pub fn parse(report: &'a Report) -> Self {
        let cid = u32::from_be_bytes([report[0], report[1], report[2], report[3]]);
        let b4 = report[4];
        if b4 & 0x80 != 0 {
            Packet::Init {
                cid,
                cmd: b4 & 0x7F,
                len: u16::from_be_bytes([report[5], report[6]]),
                data: &report[7..],
            }
        } else {
            Packet::Cont {
                cid,
                seq: b4,
                data: &report[5..],
            }
        }
    }

    /// The channel id of the packet.
    pub fn cid(&self) -> u32 {
        match self {
            Packet::Init { cid, .. } | Packet::Cont { cid, .. } => *cid,
        }
    }
}

/// Splits a message into reports (CTAP 2.1 §11.2.4). `cmd` may be given with or without the
/// init bit. Unused bytes are zero. Fails for payloads over [`MAX_MESSAGE_LEN`].
pub fn packetize(cid: u32, cmd: u8, payload: &[u8]) -> Result<Vec<Report>, HidError> {
    if payload.len() > MAX_MESSAGE_LEN {
        return Err(HidError::MessageTooLong {
            len: payload.len(),
            max: MAX_MESSAGE_LEN,
        });
    }
    // Checked above: fits in u16 because MAX_MESSAGE_LEN < 65536.
    let len = u16::try_from(payload.len()).map_err(|_| HidError::MessageTooLong {
        len: payload.len(),
        max: MAX_MESSAGE_LEN,
    })?;
    let cid = cid.to_be_bytes();
    let first_len = payload.len().min(INIT_DATA_LEN);
    let (first, rest) = payload.split_at(first_len);

    let mut reports = Vec::with_capacity(1 + rest.len().div_ceil(CONT_DATA_LEN));
    let mut init = [0u8; REPORT_LEN];
    init[..4].copy_from_slice(&cid);
    init[4] = cmd | 0x80;
    init[5..7].copy_from_slice(&len.to_be_bytes());
    init[7..7 + first.len()].copy_from_slice(first);
    reports.push(init);

    for (seq, chunk) in (0u8..=MAX_SEQ).zip(rest.chunks(CONT_DATA_LEN)) {
        let mut cont = [0u8; REPORT_LEN];
        cont[..4].copy_from_slice(&cid);
        cont[4] = seq;
        cont[5..5 + chunk.len()].copy_from_slice(chunk);
        reports.push(cont);
    }
    Ok(reports)
}

/// A complete message: command (without the init bit) and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Command without the init bit.
    pub cmd: u8,
    /// Payload, exactly the declared length.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct Partial {
    cmd: u8,
    total: usize,
    data: Vec<u8>,
    next_seq: u8,
}

/// Reassembles the messages of one channel from reports fed one at a time.
///
/// Reports of other channels are ignored (`Ok(None)`), never mixed in. An initialization
/// packet on our channel starts a new message, dropping any unfinished one (the sender gave
/// up on it). Never allocates more than the declared length, itself capped at
/// [`MAX_MESSAGE_LEN`].
#[derive(Debug)]
pub struct Reassembler {
    cid: u32,
    partial: Option<Partial>,
}

impl Reassembler {
    /// A reassembler for channel `cid`.
    pub fn new(cid: u32) -> Self {
        Self { cid, partial: None }
    }

    /// The channel this reassembler listens to.
    pub fn cid(&self) -> u32 {
        self.cid
    }

    /// Whether a message has started but not finished.
    pub fn is_pending(&self) -> bool {
        self.partial.is_some()
    }

    /// Drops any unfinished message.
    pub fn reset(&mut self) {
        self.partial = None;
    }

    /// Feeds one report. Returns the message once its last packet arrived.
    ///
    /// Errors (the unfinished message, if any, is dropped): a continuation packet with no
    /// message in progress, a wrong sequence number, a declared length over the limit.
    pub fn push(&mut self, report: &Report) -> Result<Option<Message>, HidError> {
        match Packet::parse(report) {
            Packet::Init { cid, .. } | Packet::Cont { cid, .. } if cid != self.cid => Ok(None),
            Packet::Init { cmd, len, data, .. } => {
                self.partial = None;
                let total = usize::from(len);
                if total > MAX_MESSAGE_LEN {
                    return Err(HidError::MessageTooLong {
                        len: total,
                        max: MAX_MESSAGE_LEN,
                    });
                }
                let first = total.min(INIT_DATA_LEN);
                let mut buf = Vec::with_capacity(total);
                buf.extend_from_slice(&data[..first]);
                if buf.len() == total {
                    return Ok(Some(Message { cmd, payload: buf }));
                }
                self.partial = Some(Partial {
                    cmd,
                    total,
                    data: buf,
                    next_seq: 0,
                });
                Ok(None)
            }
            Packet::Cont { seq, data, .. } => {
                let Some(mut partial) = self.partial.take() else {
                    return Err(HidError::SpuriousContinuation { seq });
                };
                if seq != partial.next_seq {
                    return Err(HidError::UnexpectedSequence {
                        expected: partial.next_seq,
                        got: seq,
                    });
                }
                let take = (partial.total - partial.data.len()).min(CONT_DATA_LEN);
                partial.data.extend_from_slice(&data[..take]);
                if partial.data.len() == partial.total {
                    return Ok(Some(Message {
                        cmd: partial.cmd,
                        payload: partial.data,
                    }));
                }
                // A message that fits never needs more than 128 continuation packets, so seq
                // cannot pass 127 here; saturate anyway rather than wrap.
                partial.next_seq = partial.next_seq.saturating_add(1);
                self.partial = Some(partial);
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(len: usize) -> (usize, Message) {
        let payload: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
        let reports = packetize(0x0102_0304, 0x10, &payload).unwrap();
        let mut r = Reassembler::new(0x0102_0304);
        let n = reports.len();
        let mut out = None;
        for (i, rep) in reports.iter().enumerate() {
            let got = r.push(rep).unwrap();
            if i + 1 < n {
                assert!(got.is_none());
            } else {
                out = got;
            }
        }
        let msg = out.unwrap();
        assert_eq!(msg.payload, payload);
        (n, msg)
    }

    #[test]
    fn packet_counts_at_boundaries() {
        assert_eq!(MAX_MESSAGE_LEN, 7609);
        assert_eq!(roundtrip(0).0, 1);
        assert_eq!(roundtrip(57).0, 1);
        assert_eq!(roundtrip(58).0, 2);
        assert_eq!(roundtrip(57 + 59).0, 2);
        assert_eq!(roundtrip(57 + 59 + 1).0, 3);
        assert_eq!(roundtrip(7609).0, 129);
        assert_eq!(roundtrip(7609).1.cmd, 0x10);
    }

    #[test]
    fn init_packet_layout() {
        let reports = packetize(0xAABB_CCDD, 0x90, &[1, 2, 3]).unwrap();
        assert_eq!(
            &reports[0][..10],
            &[0xAA, 0xBB, 0xCC, 0xDD, 0x90, 0, 3, 1, 2, 3]
        );
        assert!(reports[0][10..].iter().all(|&b| b == 0));
    }

    #[test]
    fn too_long_is_refused() {
        assert_eq!(
            packetize(1, 0x10, &vec![0; 7610]),
            Err(HidError::MessageTooLong {
                len: 7610,
                max: 7609
            })
        );
    }
}
