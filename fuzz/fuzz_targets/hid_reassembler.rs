//! Fuzzes CTAPHID reassembly (CTAP 2.1 §11.2.4) and the YubiKey config parser: any byte
//! stream, cut into 64-byte reports, must never panic, never yield a message longer than
//! the CTAPHID limit, and a message must have exactly its declared length.
#![no_main]

use ctap::hid::framing::{Packet, MAX_MESSAGE_LEN};
use ctap::hid::Reassembler;
use ctap::transport::{Report, REPORT_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first report's channel is the one listened to, so the input controls whether
    // later reports are ours or foreign.
    let Some(first) = data.get(..4) else { return };
    let cid = u32::from_be_bytes([first[0], first[1], first[2], first[3]]);
    let mut reasm = Reassembler::new(cid);
    let mut declared = None;
    for chunk in data.chunks(REPORT_LEN) {
        let mut report: Report = [0; REPORT_LEN];
        report[..chunk.len()].copy_from_slice(chunk);
        if let Packet::Init { cid: c, len, .. } = Packet::parse(&report) {
            if c == cid {
                declared = Some(usize::from(len));
            }
        }
        if let Ok(Some(msg)) = reasm.push(&report) {
            assert!(msg.payload.len() <= MAX_MESSAGE_LEN);
            assert_eq!(Some(msg.payload.len()), declared);
            assert!(msg.cmd < 0x80);
        }
    }
    let _ = ctap::device::parse_yubikey_config(data);
});
