//! ISO/IEC 7816-4 command and response APDUs, encoded and parsed without I/O.
//!
//! Short APDUs carry up to 255 data bytes (Le 1..=256); extended ones up to 65,535 (Le up to
//! 65,536), flagged by a zero byte where a short Lc (or Le) would be.

use super::NfcError;

/// The largest data field of a short command APDU.
pub const SHORT_MAX_DATA: usize = 255;
/// The largest data field of an extended command APDU.
pub const EXTENDED_MAX_DATA: usize = 65_535;

/// One command APDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Class byte (0x80 for the CTAP proprietary commands, `| 0x10` while chaining).
    pub cla: u8,
    /// Instruction.
    pub ins: u8,
    /// Parameter 1.
    pub p1: u8,
    /// Parameter 2.
    pub p2: u8,
    /// Command data (Lc is its length).
    pub data: Vec<u8>,
    /// Expected response length: `None` for no Le, `Some(0)` for "as much as you have" (short
    /// 256, extended 65,536).
    pub le: Option<u32>,
}

/// Whether the CLA byte says more of a chain follows (ISO 7816-4 §5.4.1, bit 5).
pub const CLA_CHAINING: u8 = 0x10;

impl Command {
    /// A command with no data.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Command {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Vec::new(),
            le: None,
        }
    }

    /// Adds a data field.
    #[must_use]
    pub fn with_data(mut self, data: Vec<u8>) -> Command {
        self.data = data;
        self
    }

    /// Adds Le ("as much as you have" when 0).
    #[must_use]
    pub fn with_le(mut self, le: u32) -> Command {
        self.le = Some(le);
        self
    }

    /// Encodes the APDU, in extended form when asked or when the data or Le need it.
    pub fn encode(&self, extended: bool) -> Result<Vec<u8>, NfcError> {
        let long_le = self.le.is_some_and(|le| le > 256);
        let extended = extended || self.data.len() > SHORT_MAX_DATA || long_le;
        if self.data.len() > EXTENDED_MAX_DATA || self.le.is_some_and(|le| le > 65_536) {
            return Err(NfcError::TooLong {
                len: self.data.len(),
            });
        }
        let mut out = Vec::with_capacity(self.data.len() + 9);
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        // Lengths fit: checked above. 256 (short) and 65,536 (extended) are encoded as 0.
        if extended {
            if !self.data.is_empty() {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                if self.data.is_empty() {
                    out.push(0);
                }
                out.extend_from_slice(&((le % 65_536) as u16).to_be_bytes());
            }
        } else {
            if !self.data.is_empty() {
                out.push(self.data.len() as u8);
                out.extend_from_slice(&self.data);
            }
            if let Some(le) = self.le {
                out.push((le % 256) as u8);
            }
        }
        Ok(out)
    }

    /// Parses a command APDU (the four ISO 7816-4 cases, short or extended).
    pub fn parse(bytes: &[u8]) -> Result<Command, NfcError> {
        let bad = |why: &'static str| NfcError::MalformedCommand(why);
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(bad("shorter than a header"));
        };
        let mut cmd = Command::new(*cla, *ins, *p1, *p2);
        match body {
            // Case 1.
            [] => {}
            // Case 2 short.
            [le] => cmd.le = Some(u32::from(*le)),
            // Extended: a zero byte then two length bytes.
            [0, hi, lo, rest @ ..] => {
                let n = usize::from(u16::from_be_bytes([*hi, *lo]));
                if rest.is_empty() {
                    // Case 2 extended: the two bytes are Le.
                    cmd.le = Some(u32::from(u16::from_be_bytes([*hi, *lo])));
                } else {
                    if n == 0 {
                        return Err(bad("extended Lc of zero"));
                    }
                    let (data, tail) = rest.split_at_checked(n).ok_or(bad("Lc past the end"))?;
                    cmd.data = data.to_vec();
                    cmd.le = match tail {
                        [] => None,
                        [hi, lo] => Some(u32::from(u16::from_be_bytes([*hi, *lo]))),
                        _ => return Err(bad("bytes after an extended Le")),
                    };
                }
            }
            // Case 3 or 4 short.
            [lc, rest @ ..] => {
                let n = usize::from(*lc);
                if n == 0 {
                    return Err(bad("short Lc of zero"));
                }
                let (data, tail) = rest.split_at_checked(n).ok_or(bad("Lc past the end"))?;
                cmd.data = data.to_vec();
                cmd.le = match tail {
                    [] => None,
                    [le] => Some(u32::from(*le)),
                    _ => return Err(bad("bytes after Le")),
                };
            }
        }
        Ok(cmd)
    }
}

/// One response APDU: data followed by the status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: u16,
}

/// Success.
pub const SW_OK: u16 = 0x9000;
/// CTAP over NFC: still working, a status byte follows in the data (CTAP 2.1 §11.3.5).
pub const SW_STATUS_UPDATE: u16 = 0x9100;
/// SW1 of "more data: GET RESPONSE with Le = SW2".
pub const SW1_MORE_DATA: u8 = 0x61;

impl Response {
    /// Splits raw response bytes into data and status word.
    pub fn parse(bytes: &[u8]) -> Result<Response, NfcError> {
        let split = bytes
            .len()
            .checked_sub(2)
            .ok_or(NfcError::MalformedResponse)?;
        let (data, sw) = bytes.split_at(split);
        Ok(Response {
            data: data.to_vec(),
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    /// Data followed by the status word.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.to_be_bytes());
        out
    }

    /// A bare status word.
    pub fn status(sw: u16) -> Response {
        Response {
            data: Vec::new(),
            sw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn select_of_the_fido_applet_matches_the_spec_bytes() {
        let select = super::super::select_fido();
        assert_eq!(
            hex::encode(select.encode(false).unwrap()),
            "00a4040008a0000006472f000100"
        );
    }

    #[test]
    fn extended_encoding_of_data_and_le() {
        let cmd = Command::new(0x80, 0x10, 0x80, 0x00)
            .with_data(vec![0x04])
            .with_le(0);
        assert_eq!(
            hex::encode(cmd.encode(true).unwrap()),
            "80108000000001040000"
        );
        assert_eq!(hex::encode(cmd.encode(false).unwrap()), "80108000010400");
        // 300 bytes do not fit a short APDU: extended regardless of the preference.
        let big = Command::new(0x80, 0x10, 0, 0).with_data(vec![7; 300]);
        let encoded = big.encode(false).unwrap();
        assert_eq!(&encoded[4..7], &[0, 0x01, 0x2C]);
        assert_eq!(encoded.len(), 7 + 300);
    }

    #[test]
    fn malformed_commands_are_refused() {
        for bytes in [
            &[0x00, 0xA4][..],
            &[0, 0xA4, 4, 0, 5, 1, 2],
            &[0, 0xA4, 4, 0, 0, 0, 2, 1],
        ] {
            assert!(Command::parse(bytes).is_err(), "{bytes:02x?}");
        }
        assert!(Response::parse(&[0x90]).is_err());
    }

    fn command() -> impl Strategy<Value = Command> {
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            proptest::collection::vec(any::<u8>(), 0..600),
            proptest::option::of(0u32..=256),
        )
            .prop_map(|(cla, ins, p1, p2, data, le)| Command {
                cla,
                ins,
                p1,
                p2,
                data,
                le,
            })
    }

    proptest! {
        #[test]
        fn every_command_round_trips_in_both_forms(cmd in command(), extended in any::<bool>()) {
            let bytes = cmd.encode(extended).unwrap();
            let short = !extended && cmd.data.len() <= SHORT_MAX_DATA;
            let mut expected = cmd.clone();
            // A short Le of 256 travels as 0, which means the same ("up to 256").
            if short && cmd.le == Some(256) {
                expected.le = Some(0);
            }
            prop_assert_eq!(Command::parse(&bytes).unwrap(), expected);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = Command::parse(&bytes);
            let _ = Response::parse(&bytes);
        }
    }
}
