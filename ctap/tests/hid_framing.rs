//! CTAPHID framing (CTAP 2.1 §11.2.4): boundaries, foreign channels, malformed sequences.

use ctap::hid::framing::{Message, MAX_MESSAGE_LEN};
use ctap::hid::{packetize, HidError, Reassembler};
use ctap::transport::Report;
use proptest::prelude::*;

const CID: u32 = 0xCAFE_0001;
const OTHER: u32 = 0xCAFE_0002;

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn feed(r: &mut Reassembler, reports: &[Report]) -> Vec<Message> {
    reports
        .iter()
        .filter_map(|rep| r.push(rep).unwrap())
        .collect()
}

#[test]
fn boundaries_57_59_and_7609() {
    // (payload length, expected number of reports)
    for (len, n) in [
        (0, 1),
        (1, 1),
        (57, 1),
        (58, 2),
        (116, 2),
        (117, 3),
        (7608, 129),
        (7609, 129),
    ] {
        let p = payload(len);
        let reports = packetize(CID, 0x10, &p).unwrap();
        assert_eq!(reports.len(), n, "length {len}");
        // Continuation sequence numbers count 0, 1, 2 ...
        for (i, r) in reports.iter().enumerate().skip(1) {
            assert_eq!(usize::from(r[4]), i - 1);
        }
        let mut r = Reassembler::new(CID);
        let msgs = feed(&mut r, &reports);
        assert_eq!(
            msgs,
            vec![Message {
                cmd: 0x10,
                payload: p
            }],
            "length {len}"
        );
        assert!(!r.is_pending());
    }
    assert_eq!(MAX_MESSAGE_LEN, 57 + 128 * 59);
    assert!(matches!(
        packetize(CID, 0x10, &payload(7610)),
        Err(HidError::MessageTooLong {
            len: 7610,
            max: 7609
        })
    ));
}

#[test]
fn last_packet_padding_is_not_payload() {
    let reports = packetize(CID, 0x10, &payload(60)).unwrap();
    let mut last = reports[1];
    last[10..].fill(0xEE); // garbage after the 3 payload bytes of the last packet
    let mut r = Reassembler::new(CID);
    assert_eq!(r.push(&reports[0]).unwrap(), None);
    assert_eq!(r.push(&last).unwrap().unwrap().payload, payload(60));
}

#[test]
fn interleaved_foreign_channels_are_ignored() {
    let mine = packetize(CID, 0x10, &payload(300)).unwrap();
    let theirs = packetize(OTHER, 0x10, &[0xFF; 300]).unwrap();
    let mut r = Reassembler::new(CID);
    let mut done = Vec::new();
    for (a, b) in mine.iter().zip(theirs.iter()) {
        assert_eq!(r.push(b).unwrap(), None, "foreign report must not count");
        if let Some(m) = r.push(a).unwrap() {
            done.push(m);
        }
    }
    assert_eq!(
        done,
        vec![Message {
            cmd: 0x10,
            payload: payload(300)
        }]
    );
}

#[test]
fn spurious_continuation_is_refused() {
    let reports = packetize(CID, 0x10, &payload(100)).unwrap();
    let mut r = Reassembler::new(CID);
    assert_eq!(
        r.push(&reports[1]),
        Err(HidError::SpuriousContinuation { seq: 0 })
    );
    // A foreign continuation is not ours to judge.
    let foreign = packetize(OTHER, 0x10, &payload(100)).unwrap();
    assert_eq!(r.push(&foreign[1]), Ok(None));
    // And the reassembler still works afterwards.
    assert_eq!(feed(&mut r, &reports).len(), 1);
}

#[test]
fn wrong_sequence_is_refused_and_drops_the_message() {
    let reports = packetize(CID, 0x10, &payload(200)).unwrap();
    let mut r = Reassembler::new(CID);
    r.push(&reports[0]).unwrap();
    assert_eq!(
        r.push(&reports[2]),
        Err(HidError::UnexpectedSequence {
            expected: 0,
            got: 1
        })
    );
    assert!(!r.is_pending());
    // Repeated packet.
    r.push(&reports[0]).unwrap();
    r.push(&reports[1]).unwrap();
    assert_eq!(
        r.push(&reports[1]),
        Err(HidError::UnexpectedSequence {
            expected: 1,
            got: 0
        })
    );
}

#[test]
fn oversize_declared_length_is_refused() {
    let mut rep = [0u8; 64];
    rep[..4].copy_from_slice(&CID.to_be_bytes());
    rep[4] = 0x90;
    rep[5..7].copy_from_slice(&7610u16.to_be_bytes());
    let mut r = Reassembler::new(CID);
    assert_eq!(
        r.push(&rep),
        Err(HidError::MessageTooLong {
            len: 7610,
            max: 7609
        })
    );
    rep[5..7].copy_from_slice(&0xFFFFu16.to_be_bytes());
    assert!(matches!(
        r.push(&rep),
        Err(HidError::MessageTooLong { len: 65535, .. })
    ));
    rep[5..7].copy_from_slice(&7609u16.to_be_bytes());
    assert_eq!(r.push(&rep), Ok(None));
    assert!(r.is_pending());
}

#[test]
fn new_init_packet_restarts_the_message() {
    let first = packetize(CID, 0x10, &payload(100)).unwrap();
    let second = packetize(CID, 0x11, &[7; 3]).unwrap();
    let mut r = Reassembler::new(CID);
    r.push(&first[0]).unwrap();
    assert_eq!(
        r.push(&second[0]).unwrap(),
        Some(Message {
            cmd: 0x11,
            payload: vec![7; 3]
        })
    );
    // The first message's continuation is now spurious.
    assert!(matches!(
        r.push(&first[1]),
        Err(HidError::SpuriousContinuation { .. })
    ));
}

proptest! {
    #[test]
    fn arbitrary_reports_never_panic(reports in proptest::collection::vec(proptest::array::uniform32(any::<u8>()), 0..64),
                                     tails in proptest::collection::vec(proptest::array::uniform32(any::<u8>()), 0..64),
                                     cid_pick in 0u8..3) {
        let mut r = Reassembler::new(CID);
        for (i, head) in reports.iter().enumerate() {
            let mut rep = [0u8; 64];
            rep[..32].copy_from_slice(head);
            if let Some(t) = tails.get(i) { rep[32..].copy_from_slice(t); }
            // Bias towards our channel so the interesting paths run.
            if cid_pick > 0 { rep[..4].copy_from_slice(&CID.to_be_bytes()); }
            if let Ok(Some(m)) = r.push(&rep) {
                prop_assert!(m.payload.len() <= MAX_MESSAGE_LEN);
                prop_assert!(m.cmd < 0x80);
            }
        }
    }

    #[test]
    fn roundtrip_any_payload(p in proptest::collection::vec(any::<u8>(), 0..=MAX_MESSAGE_LEN), command in 0u8..0x80) {
        let reports = packetize(CID, command, &p).unwrap();
        let mut r = Reassembler::new(CID);
        let msgs = feed(&mut r, &reports);
        prop_assert_eq!(msgs, vec![Message { cmd: command, payload: p }]);
    }
}
