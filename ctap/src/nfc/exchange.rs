//! The platform side of one command over ISO 7816 (CTAP 2.1 §11.3), as a state machine: it
//! says which APDU to send next and reassembles the answer; the caller moves the bytes.
//!
//! - Long commands go as one extended APDU when the reader and card take them, otherwise as an
//!   ISO 7816-4 chain (CLA bit 0x10 on every part but the last, each part answered 9000).
//! - Answers longer than Le come in parts: `61xx` means "GET RESPONSE for xx more bytes".
//! - `9100` is CTAP's status update (the keepalive of this transport): the card is still
//!   working; the caller waits briefly and polls with NFCCTAP_GETRESPONSE, which also carries
//!   a cancellation.

use std::collections::VecDeque;

use super::apdu::{
    Command, Response, CLA_CHAINING, SHORT_MAX_DATA, SW1_MORE_DATA, SW_OK, SW_STATUS_UPDATE,
};
use super::{NfcError, CLA_CTAP, INS_NFCCTAP_GETRESPONSE, INS_NFCCTAP_MSG};
use crate::KeepaliveStatus;

/// The largest answer this side reassembles: a CTAP message is far below it (CTAP 2.1
/// maxMsgSize is announced in getInfo; 64 KiB covers every extended APDU answer).
pub const MAX_RESPONSE_LEN: usize = 65_536 + 256;

/// P1 of NFCCTAP_MSG telling the card we poll with NFCCTAP_GETRESPONSE (so it may answer
/// `9100` instead of holding the field until it is done).
const P1_GETRESPONSE_SUPPORTED: u8 = 0x80;
/// P1 of NFCCTAP_GETRESPONSE asking the card to cancel the request in progress.
const P1_CANCEL: u8 = 0x11;

/// What to do after an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Send this APDU and give its answer to [`Exchange::receive`].
    Send(Vec<u8>),
    /// The card is still working; wait briefly, then send [`Exchange::poll`]'s APDU.
    Working(KeepaliveStatus),
    /// The whole answer (without the status word).
    Done(Vec<u8>),
}

/// One command in flight.
#[derive(Debug)]
pub struct Exchange {
    /// Chain parts still to send after the one in flight.
    chain: VecDeque<Vec<u8>>,
    collected: Vec<u8>,
    extended: bool,
}

impl Exchange {
    /// Starts `command`; returns the exchange and the first APDU to send. `extended`: the
    /// reader and card take extended APDUs (else long data is chained).
    pub fn start(command: &Command, extended: bool) -> Result<(Exchange, Vec<u8>), NfcError> {
        let mut parts = VecDeque::new();
        if extended || command.data.len() <= SHORT_MAX_DATA {
            parts.push_back(command.encode(extended)?);
        } else {
            let chunks: Vec<&[u8]> = command.data.chunks(SHORT_MAX_DATA).collect();
            let last = chunks.len() - 1;
            for (i, chunk) in chunks.into_iter().enumerate() {
                let mut part = command.clone();
                part.data = chunk.to_vec();
                if i < last {
                    part.cla |= CLA_CHAINING;
                    part.le = None;
                }
                parts.push_back(part.encode(false)?);
            }
        }
        let first = parts
            .pop_front()
            .ok_or(NfcError::MalformedCommand("empty chain"))?;
        Ok((
            Exchange {
                chain: parts,
                collected: Vec::new(),
                extended,
            },
            first,
        ))
    }

    /// Starts a CTAP message (command byte + CBOR) as NFCCTAP_MSG.
    pub fn ctap_msg(message: &[u8], extended: bool) -> Result<(Exchange, Vec<u8>), NfcError> {
        let command = Command::new(CLA_CTAP, INS_NFCCTAP_MSG, P1_GETRESPONSE_SUPPORTED, 0)
            .with_data(message.to_vec())
            .with_le(0);
        Self::start(&command, extended)
    }

    /// Takes the answer to the APDU last sent.
    pub fn receive(&mut self, answer: &[u8]) -> Result<Next, NfcError> {
        let r = Response::parse(answer)?;
        if let Some(part) = self.chain.pop_front() {
            // A chain part is acknowledged with 9000 and no data.
            return match r.sw {
                SW_OK => Ok(Next::Send(part)),
                sw => Err(NfcError::Status(sw)),
            };
        }
        match r.sw {
            SW_OK => {
                self.append(&r.data)?;
                Ok(Next::Done(std::mem::take(&mut self.collected)))
            }
            SW_STATUS_UPDATE => Ok(Next::Working(match r.data.first() {
                Some(2) => KeepaliveStatus::UpNeeded,
                _ => KeepaliveStatus::Processing,
            })),
            sw if (sw >> 8) as u8 == SW1_MORE_DATA => {
                self.append(&r.data)?;
                let more = u32::from(sw as u8);
                // GET RESPONSE (ISO 7816-4 §7.6.1); xx = 00 means 256 bytes.
                let get = Command::new(0x00, 0xC0, 0x00, 0x00).with_le(more);
                Ok(Next::Send(get.encode(false)?))
            }
            sw => Err(NfcError::Status(sw)),
        }
    }

    /// NFCCTAP_GETRESPONSE after [`Next::Working`]; `cancel` asks the card to stop.
    pub fn poll(&self, cancel: bool) -> Result<Vec<u8>, NfcError> {
        let p1 = if cancel { P1_CANCEL } else { 0 };
        Command::new(CLA_CTAP, INS_NFCCTAP_GETRESPONSE, p1, 0)
            .with_le(0)
            .encode(self.extended)
    }

    fn append(&mut self, data: &[u8]) -> Result<(), NfcError> {
        if self.collected.len() + data.len() > MAX_RESPONSE_LEN {
            return Err(NfcError::ResponseTooLong);
        }
        self.collected.extend_from_slice(data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(data: &[u8]) -> Vec<u8> {
        Response {
            data: data.to_vec(),
            sw: SW_OK,
        }
        .encode()
    }

    #[test]
    fn a_short_message_is_one_apdu_answered_in_parts() {
        let (mut x, first) = Exchange::ctap_msg(&[0x04], false).unwrap();
        assert_eq!(hex::encode(&first), "80108000010400");
        let part = Response {
            data: vec![1; 256],
            sw: 0x6105,
        };
        let Next::Send(get) = x.receive(&part.encode()).unwrap() else {
            panic!("expected GET RESPONSE")
        };
        assert_eq!(hex::encode(get), "00c0000005");
        assert_eq!(
            x.receive(&ok(&[2; 5])).unwrap(),
            Next::Done([vec![1; 256], vec![2; 5]].concat())
        );
    }

    #[test]
    fn a_long_message_is_chained_without_extended_apdus() {
        let message = vec![9u8; 600];
        let (mut x, first) = Exchange::ctap_msg(&message, false).unwrap();
        assert_eq!(&first[..5], &[0x90, 0x10, 0x80, 0x00, 0xFF]);
        let Next::Send(second) = x.receive(&ok(&[])).unwrap() else {
            panic!()
        };
        assert_eq!(&second[..5], &[0x90, 0x10, 0x80, 0x00, 0xFF]);
        let Next::Send(last) = x.receive(&ok(&[])).unwrap() else {
            panic!()
        };
        // The last part: plain CLA, the remaining 90 bytes, Le.
        assert_eq!(&last[..5], &[0x80, 0x10, 0x80, 0x00, 90]);
        assert_eq!(last.len(), 5 + 90 + 1);
        assert_eq!(x.receive(&ok(b"x")).unwrap(), Next::Done(b"x".to_vec()));
    }

    #[test]
    fn extended_apdus_carry_a_long_message_at_once() {
        let (_, first) = Exchange::ctap_msg(&[5u8; 600], true).unwrap();
        assert_eq!(&first[..7], &[0x80, 0x10, 0x80, 0x00, 0x00, 0x02, 0x58]);
        assert_eq!(first.len(), 7 + 600 + 2);
    }

    #[test]
    fn status_updates_poll_and_cancel() {
        let (mut x, _) = Exchange::ctap_msg(&[0x01], false).unwrap();
        let update = Response {
            data: vec![2],
            sw: SW_STATUS_UPDATE,
        };
        assert_eq!(
            x.receive(&update.encode()).unwrap(),
            Next::Working(KeepaliveStatus::UpNeeded)
        );
        assert_eq!(hex::encode(x.poll(false).unwrap()), "8011000000");
        assert_eq!(hex::encode(x.poll(true).unwrap()), "8011110000");
        assert_eq!(x.receive(&ok(&[0x27])).unwrap(), Next::Done(vec![0x27]));
    }

    #[test]
    fn errors_name_the_status_word() {
        let (mut x, _) = Exchange::ctap_msg(&[0x04], false).unwrap();
        let err = x.receive(&Response::status(0x6D00).encode()).unwrap_err();
        assert_eq!(err, NfcError::Status(0x6D00));
        assert!(err.to_string().contains("6D00"), "{err}");
        // A chain part refused stops the chain.
        let (mut x, _) = Exchange::ctap_msg(&[0u8; 300], false).unwrap();
        assert_eq!(
            x.receive(&Response::status(0x6700).encode()).unwrap_err(),
            NfcError::Status(0x6700)
        );
    }

    #[test]
    fn an_endless_answer_is_cut_off() {
        let (mut x, _) = Exchange::ctap_msg(&[0x04], false).unwrap();
        let part = Response {
            data: vec![0; 256],
            sw: 0x6100,
        }
        .encode();
        let mut result = Ok(Next::Working(KeepaliveStatus::Processing));
        for _ in 0..300 {
            result = x.receive(&part);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(NfcError::ResponseTooLong));
    }
}
