//! Fuzzes the ISO 7816 answer reassembly of CTAP over NFC (CTAP 2.1 §11.3) and the card
//! side's APDU parsing: any sequence of answers (each prefixed by a length byte) must never
//! panic, never make the platform side collect more than a CTAP answer can hold, and the card
//! side must take any APDU.
#![no_main]

use ctap::nfc::card::CardFraming;
use ctap::nfc::exchange::MAX_RESPONSE_LEN;
use ctap::nfc::{Exchange, Next};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, mut rest)) = data.split_first() else { return };
    let extended = flags & 1 != 0;
    let message = vec![0x04; usize::from(flags >> 1) * 4];
    let Ok((mut exchange, _)) = Exchange::ctap_msg(&message, extended) else { return };
    let mut card = CardFraming::new();
    while let Some((&len, tail)) = rest.split_first() {
        let (answer, tail) = tail.split_at(usize::from(len).min(tail.len()));
        rest = tail;
        let _ = card.on_apdu(answer);
        match exchange.receive(answer) {
            Ok(Next::Done(full)) => {
                assert!(full.len() <= MAX_RESPONSE_LEN);
                return;
            }
            Ok(Next::Working(_)) => {
                let _ = exchange.poll(flags & 2 != 0);
            }
            Ok(Next::Send(_)) => {}
            Err(_) => return,
        }
    }
});
