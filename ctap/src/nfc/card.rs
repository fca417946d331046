//! The card side of CTAP over ISO 7816, without I/O: turns the APDUs a reader passes on into
//! what the authenticator must do, and its answers into APDUs (chains reassembled, long
//! answers cut into `61xx` parts). The software key uses it to act as a FIDO card.

use super::apdu::{Command, Response, CLA_CHAINING, SW1_MORE_DATA, SW_OK, SW_STATUS_UPDATE};
use super::{
    FIDO_AID, INS_NFCCTAP_GETRESPONSE, INS_NFCCTAP_MSG, INS_OTP_REQUEST, OTP_AID, OTP_SLOT_SERIAL,
    SELECT_ANSWER,
};
use crate::KeepaliveStatus;

/// ISO 7816-4 status words the card answers.
mod sw {
    pub const WRONG_LENGTH: u16 = 0x6700;
    pub const CONDITIONS_NOT_SATISFIED: u16 = 0x6985;
    pub const FILE_NOT_FOUND: u16 = 0x6A82;
    pub const INS_NOT_SUPPORTED: u16 = 0x6D00;
    pub const CLA_NOT_SUPPORTED: u16 = 0x6E00;
}

/// The most a chained command may accumulate before the card refuses it.
const MAX_CHAIN: usize = 65_535;

/// What the authenticator must do for an APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes back to the reader.
    Reply(Vec<u8>),
    /// A whole CTAP message arrived: run it, then answer with [`CardFraming::reply`] (done) or,
    /// when `may_poll`, [`CardFraming::status_update`] (still working; the reader polls).
    Ctap {
        /// Command byte + CBOR.
        message: Vec<u8>,
        /// The reader polls with NFCCTAP_GETRESPONSE (P1 bit 0x80), so the card need not
        /// hold the answer until it is done.
        may_poll: bool,
    },
    /// The reader polls for the CTAP message in progress (NFCCTAP_GETRESPONSE); answer as for
    /// [`Action::Ctap`]. `cancel`: the reader asks to stop it.
    Poll {
        /// Cancellation requested.
        cancel: bool,
    },
    /// The OTP applet is asked for the serial number (as YubiKeys answer it): answer with
    /// [`CardFraming::reply`] of the 4 bytes, or [`CardFraming::refuse`] when there is none.
    Serial,
}

/// The applet a SELECT chose.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Applet {
    #[default]
    None,
    Fido,
    Otp,
}

/// The card's framing state across APDUs (one per card session; a reset starts a new one).
#[derive(Debug, Default)]
pub struct CardFraming {
    selected: Applet,
    chain: Vec<u8>,
    /// Answer bytes not yet collected with GET RESPONSE.
    pending: Vec<u8>,
    /// Le of the command being answered (0 = as much as fits).
    le: u32,
    extended: bool,
}

impl CardFraming {
    /// A fresh session: nothing selected.
    pub fn new() -> CardFraming {
        CardFraming::default()
    }

    /// Handles one APDU.
    pub fn on_apdu(&mut self, bytes: &[u8]) -> Action {
        let Ok(cmd) = Command::parse(bytes) else {
            return self.fail(sw::WRONG_LENGTH);
        };
        self.extended = bytes.len() > 5 && bytes[4] == 0;
        self.le = cmd.le.unwrap_or(0);
        match (cmd.cla & !CLA_CHAINING, cmd.ins) {
            (0x00, 0xA4) if cmd.p1 == 0x04 => {
                self.chain.clear();
                self.pending.clear();
                self.selected = match cmd.data.as_slice() {
                    d if d == FIDO_AID => Applet::Fido,
                    d if d == OTP_AID => Applet::Otp,
                    _ => Applet::None,
                };
                match self.selected {
                    Applet::Fido => Action::Reply(self.reply(SELECT_ANSWER.to_vec())),
                    Applet::Otp => Action::Reply(self.reply(Vec::new())),
                    Applet::None => self.fail(sw::FILE_NOT_FOUND),
                }
            }
            (0x00, 0xC0) => {
                if self.pending.is_empty() {
                    return self.fail(sw::CONDITIONS_NOT_SATISFIED);
                }
                let rest = std::mem::take(&mut self.pending);
                Action::Reply(self.reply(rest))
            }
            (0x00, INS_OTP_REQUEST) if self.selected == Applet::Otp => {
                if cmd.p1 == OTP_SLOT_SERIAL {
                    Action::Serial
                } else {
                    self.fail(sw::INS_NOT_SUPPORTED)
                }
            }
            _ if self.selected != Applet::Fido => self.fail(sw::CONDITIONS_NOT_SATISFIED),
            (0x80, INS_NFCCTAP_MSG) => {
                if self.chain.len() + cmd.data.len() > MAX_CHAIN {
                    self.chain.clear();
                    return self.fail(sw::WRONG_LENGTH);
                }
                self.chain.extend_from_slice(&cmd.data);
                if cmd.cla & CLA_CHAINING != 0 {
                    return Action::Reply(Response::status(SW_OK).encode());
                }
                Action::Ctap {
                    message: std::mem::take(&mut self.chain),
                    may_poll: cmd.p1 & 0x80 != 0,
                }
            }
            (0x80, INS_NFCCTAP_GETRESPONSE) => Action::Poll {
                cancel: cmd.p1 == 0x11,
            },
            (0x00 | 0x80, _) => self.fail(sw::INS_NOT_SUPPORTED),
            _ => self.fail(sw::CLA_NOT_SUPPORTED),
        }
    }

    /// The answer to the command being served, cut to its Le; the rest waits for GET RESPONSE.
    pub fn reply(&mut self, mut data: Vec<u8>) -> Vec<u8> {
        let most = match (self.le, self.extended) {
            (0, false) => 256,
            (0, true) => 65_536,
            (le, _) => le as usize,
        };
        if data.len() <= most {
            return Response { data, sw: SW_OK }.encode();
        }
        self.pending = data.split_off(most);
        // xx: the bytes left, 00 standing for 256 or more.
        let more = u16::from(SW1_MORE_DATA) << 8 | (self.pending.len().min(256) % 256) as u16;
        // The next GET RESPONSE asks with a short Le.
        self.extended = false;
        Response { data, sw: more }.encode()
    }

    /// "Still working" (`9100` with the status byte).
    pub fn status_update(&self, status: KeepaliveStatus) -> Vec<u8> {
        let byte = match status {
            KeepaliveStatus::Processing => 1,
            KeepaliveStatus::UpNeeded => 2,
        };
        Response {
            data: vec![byte],
            sw: SW_STATUS_UPDATE,
        }
        .encode()
    }

    /// "Not found" for a request the card cannot answer (e.g. no serial).
    pub fn refuse(&self) -> Vec<u8> {
        Response::status(sw::FILE_NOT_FOUND).encode()
    }

    fn fail(&self, sw: u16) -> Action {
        Action::Reply(Response::status(sw).encode())
    }
}

#[cfg(test)]
mod tests {
    use super::super::exchange::{Exchange, Next};
    use super::*;
    use proptest::prelude::*;

    fn select(card: &mut CardFraming) {
        let select = super::super::select_fido();
        let Action::Reply(answer) = card.on_apdu(&select.encode(false).unwrap()) else {
            panic!()
        };
        assert_eq!(answer, [SELECT_ANSWER, &[0x90, 0x00]].concat());
    }

    #[test]
    fn the_otp_applet_is_asked_for_the_serial_and_refuses_the_rest() {
        let mut card = CardFraming::new();
        let select_otp = super::super::select(&OTP_AID).encode(false).unwrap();
        assert_eq!(card.on_apdu(&select_otp), Action::Reply(vec![0x90, 0x00]));
        let serial = super::super::otp_serial_request().encode(false).unwrap();
        assert_eq!(card.on_apdu(&serial), Action::Serial);
        assert_eq!(card.reply(vec![4, 59, 5, 1]), vec![4, 59, 5, 1, 0x90, 0x00]);
        // CTAP goes to the FIDO applet only.
        let (_, msg) = Exchange::ctap_msg(&[0x04], false).unwrap();
        assert_eq!(card.on_apdu(&msg), Action::Reply(vec![0x69, 0x85]));
    }

    #[test]
    fn nothing_but_select_before_the_applet_is_selected() {
        let mut card = CardFraming::new();
        let (_, msg) = Exchange::ctap_msg(&[0x04], false).unwrap();
        assert_eq!(card.on_apdu(&msg), Action::Reply(vec![0x69, 0x85]));
        let other_aid = Command::new(0, 0xA4, 4, 0).with_data(vec![0xA0, 0, 0, 3, 8]);
        assert_eq!(
            card.on_apdu(&other_aid.encode(false).unwrap()),
            Action::Reply(vec![0x6A, 0x82])
        );
    }

    /// Drives a platform [`Exchange`] against a card whose authenticator echoes the request
    /// reversed, after `busy` status updates.
    fn round_trip(message: &[u8], extended: bool, busy: usize) -> Vec<u8> {
        let mut card = CardFraming::new();
        select(&mut card);
        let (mut x, mut apdu) = Exchange::ctap_msg(message, extended).unwrap();
        let mut polls_left = busy;
        let mut answer_of_ctap = None;
        loop {
            let reply = match card.on_apdu(&apdu) {
                Action::Reply(r) => r,
                Action::Ctap {
                    message: request,
                    may_poll,
                } => {
                    assert!(may_poll);
                    answer_of_ctap = Some(request.iter().rev().copied().collect::<Vec<u8>>());
                    if polls_left > 0 {
                        card.status_update(KeepaliveStatus::UpNeeded)
                    } else {
                        card.reply(answer_of_ctap.clone().unwrap())
                    }
                }
                Action::Serial => unreachable!("only the OTP applet answers the serial"),
                Action::Poll { cancel } => {
                    assert!(!cancel);
                    polls_left -= 1;
                    if polls_left > 0 {
                        card.status_update(KeepaliveStatus::Processing)
                    } else {
                        card.reply(answer_of_ctap.clone().unwrap())
                    }
                }
            };
            match x.receive(&reply).unwrap() {
                Next::Send(next) => apdu = next,
                Next::Working(_) => apdu = x.poll(false).unwrap(),
                Next::Done(answer) => return answer,
            }
        }
    }

    #[test]
    fn a_message_that_needs_a_touch_is_polled_until_done() {
        let answer = round_trip(&[1, 2, 3], false, 3);
        assert_eq!(answer, vec![3, 2, 1]);
    }

    proptest! {
        #[test]
        fn every_message_arrives_whole_both_ways(
            message in proptest::collection::vec(any::<u8>(), 1..3000),
            extended in any::<bool>(),
            busy in 0usize..3,
        ) {
            let answer = round_trip(&message, extended, busy);
            let expected: Vec<u8> = message.iter().rev().copied().collect();
            prop_assert_eq!(answer, expected);
        }

        #[test]
        fn arbitrary_apdus_never_panic_the_card(
            apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..20),
        ) {
            let mut card = CardFraming::new();
            select(&mut card);
            for apdu in apdus {
                let _ = card.on_apdu(&apdu);
            }
        }
    }
}
