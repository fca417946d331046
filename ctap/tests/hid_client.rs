//! The CTAPHID client against a scripted report device.

mod hid_support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ctap::error::StatusCode;
use ctap::hid::{cmd, packetize, HidChannel, HidError, Timeouts, BROADCAST_CID};
use ctap::{CancelToken, CtapChannel, Error, KeepaliveStatus, NoStatus};
use hid_support::{Scripted, CID};
use proptest::prelude::*;

fn open() -> (HidChannel<Scripted>, Scripted) {
    let dev = Scripted::new();
    let ch = HidChannel::open(dev.clone()).unwrap();
    (ch, dev)
}

fn cbor(ch: &mut HidChannel<Scripted>, req: &[u8]) -> ctap::Result<Vec<u8>> {
    ch.cbor(req, &NoStatus, &CancelToken::new())
}

#[test]
fn init_allocates_channel_and_keeps_capabilities() {
    let dev = Scripted::new();
    dev.state().foreign_init_first = true; // a reply to someone else's nonce comes first
    let ch = HidChannel::open(dev.clone()).unwrap();
    assert_eq!(ch.cid(), CID);
    assert_eq!(ch.protocol_version(), 2);
    assert_eq!(ch.device_version(), (5, 4, 3));
    assert!(ch.capabilities().wink() && ch.capabilities().cbor() && !ch.capabilities().nmsg());
    assert_eq!(dev.sent_commands(), vec![(BROADCAST_CID, cmd::INIT)]);
    assert_eq!(ch.max_msg_size(), 7609);
}

#[test]
fn init_without_answer_times_out() {
    let dev = Scripted::new();
    dev.state().init_cid = None;
    let t = Timeouts {
        short: Duration::from_millis(150),
        ..Timeouts::default()
    };
    let started = Instant::now();
    assert!(matches!(HidChannel::open_with(dev, t), Err(Error::Timeout)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn init_refuses_broadcast_cid() {
    let dev = Scripted::new();
    dev.state().init_cid = Some(BROADCAST_CID);
    assert!(matches!(
        HidChannel::open(dev),
        Err(Error::Hid(HidError::InvalidChannel))
    ));
}

#[test]
fn cbor_request_goes_out_framed_and_reply_comes_back() {
    let (mut ch, dev) = open();
    let req = vec![0x01; 100]; // two packets
    dev.push_msg(CID, cmd::CBOR, &[0x00, 0xA0]);
    assert_eq!(cbor(&mut ch, &req).unwrap(), vec![0x00, 0xA0]);
    let sent = dev.state().sent.clone();
    assert_eq!(sent.len(), 3); // INIT + 2 packets
    assert_eq!(&sent[1][..7], &[0x11, 0x22, 0x33, 0x44, 0x90, 0x00, 100]);
    assert_eq!(&sent[2][..5], &[0x11, 0x22, 0x33, 0x44, 0x00]);
}

#[test]
fn keepalives_then_response_report_status_changes_once() {
    let (mut ch, dev) = open();
    for s in [1u8, 1, 2, 2, 2] {
        dev.push_msg(CID, cmd::KEEPALIVE, &[s]);
    }
    dev.push_msg(CID, cmd::CBOR, &[0x00]);
    let seen = Mutex::new(Vec::new());
    let sink = |s: KeepaliveStatus| seen.lock().unwrap().push(s);
    assert_eq!(
        ch.cbor(&[0x04], &sink, &CancelToken::new()).unwrap(),
        vec![0x00]
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![KeepaliveStatus::Processing, KeepaliveStatus::UpNeeded]
    );
}

#[test]
fn replies_on_other_channels_and_stray_continuations_are_ignored() {
    let (mut ch, dev) = open();
    dev.push_msg(0x5555_5555, cmd::CBOR, &[0x01; 80]);
    dev.push_msg(0x5555_5555, cmd::ERROR, &[0x06]);
    // A continuation left over from an abandoned reply on our channel.
    let stray = packetize(CID, cmd::CBOR, &[9; 80]).unwrap()[1];
    dev.push_raw(stray);
    dev.push_msg(CID, cmd::CBOR, &[0x00, 0x42]);
    assert_eq!(cbor(&mut ch, &[0x04]).unwrap(), vec![0x00, 0x42]);
}

#[test]
fn wrong_sequence_in_reply_is_an_error() {
    let (mut ch, dev) = open();
    let reply = packetize(CID, cmd::CBOR, &[0x00; 200]).unwrap();
    dev.push_raw(reply[0]);
    dev.push_raw(reply[2]);
    assert!(matches!(
        cbor(&mut ch, &[0x04]),
        Err(Error::Hid(HidError::UnexpectedSequence {
            expected: 0,
            got: 1
        }))
    ));
}

#[test]
fn error_packets_map_to_named_errors() {
    for (code, want) in [
        (0x01, HidError::InvalidCommand),
        (0x02, HidError::InvalidParameter),
        (0x03, HidError::InvalidLength),
        (0x04, HidError::InvalidSequence),
        (0x05, HidError::MessageTimeout),
        (0x0A, HidError::LockRequired),
        (0x0B, HidError::InvalidChannel),
        (0x7F, HidError::Other),
        (0x33, HidError::Unknown(0x33)),
    ] {
        let (mut ch, dev) = open();
        dev.push_msg(CID, cmd::ERROR, &[code]);
        match cbor(&mut ch, &[0x04]) {
            Err(Error::Hid(e)) => {
                assert_eq!(e, want);
                assert!(!e.to_string().is_empty());
            }
            other => panic!("code {code:#x}: {other:?}"),
        }
    }
}

#[test]
fn channel_busy_is_retried_with_backoff() {
    let (mut ch, dev) = open();
    dev.reply_to_next(packetize(CID, cmd::ERROR, &[0x06]).unwrap());
    dev.reply_to_next(packetize(CID, cmd::ERROR, &[0x06]).unwrap());
    dev.reply_to_next(packetize(CID, cmd::CBOR, &[0x00, 0x01]).unwrap());
    let started = Instant::now();
    assert_eq!(cbor(&mut ch, &[0x04]).unwrap(), vec![0x00, 0x01]);
    // 10 ms + 20 ms of back-off.
    assert!(started.elapsed() >= Duration::from_millis(30));
    let cbor_sent = dev
        .sent_commands()
        .iter()
        .filter(|(_, c)| *c == cmd::CBOR)
        .count();
    assert_eq!(cbor_sent, 3);
}

#[test]
fn channel_busy_gives_up_eventually() {
    let (mut ch, dev) = open();
    for _ in 0..100 {
        dev.reply_to_next(packetize(CID, cmd::ERROR, &[0x06]).unwrap());
    }
    let started = Instant::now();
    assert!(matches!(
        cbor(&mut ch, &[0x04]),
        Err(Error::Hid(HidError::ChannelBusy))
    ));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn silence_times_out_per_request() {
    let (mut ch, _dev) = open();
    ch.set_timeout(Duration::from_millis(100));
    let started = Instant::now();
    assert!(matches!(cbor(&mut ch, &[0x04]), Err(Error::Timeout)));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn keepalives_do_not_extend_past_the_cap() {
    let (mut ch, dev) = open();
    ch.set_timeouts(Timeouts {
        cbor: Duration::from_millis(100),
        cbor_cap: Duration::from_millis(300),
        short: Duration::from_secs(1),
    });
    // A keepalive every 10 ms for a second: far longer than the 300 ms cap.
    dev.state().pace = Duration::from_millis(10);
    for _ in 0..100 {
        dev.push_msg(CID, cmd::KEEPALIVE, &[2]);
    }
    let started = Instant::now();
    assert!(matches!(cbor(&mut ch, &[0x04]), Err(Error::Timeout)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[test]
fn cancel_sends_ctaphid_cancel_and_returns_keepalive_cancel() {
    let (mut ch, dev) = open();
    dev.push_msg(CID, cmd::KEEPALIVE, &[2]);
    dev.state().on_cancel = packetize(CID, cmd::CBOR, &[0x2D]).unwrap();
    let cancel = CancelToken::new();
    cancel.cancel();
    match ch.cbor(&[0x01], &NoStatus, &cancel) {
        Err(Error::Ctap(code)) => assert_eq!(code, StatusCode::from(0x2D)),
        other => panic!("{other:?}"),
    }
    let cancels = dev
        .sent_commands()
        .iter()
        .filter(|(_, c)| *c == cmd::CANCEL)
        .count();
    assert_eq!(cancels, 1, "CANCEL goes out exactly once");
}

#[test]
fn cancel_without_answer_is_bounded() {
    let (mut ch, _dev) = open();
    let cancel = CancelToken::new();
    cancel.cancel();
    let started = Instant::now();
    assert!(matches!(
        ch.cbor(&[0x01], &NoStatus, &cancel),
        Err(Error::Ctap(_))
    ));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn ping_wink_and_vendor() {
    let (mut ch, dev) = open();
    dev.reply_to_next(packetize(CID, cmd::PING, b"hello").unwrap());
    assert_eq!(ch.ping(b"hello").unwrap(), b"hello");
    dev.reply_to_next(packetize(CID, cmd::WINK, &[]).unwrap());
    ch.wink().unwrap();
    dev.reply_to_next(packetize(CID, 0x42, &[1, 2]).unwrap());
    assert_eq!(ch.vendor(0x42, &[0]).unwrap(), vec![1, 2]);
    dev.reply_to_next(packetize(CID, cmd::ERROR, &[0x01]).unwrap());
    assert!(matches!(
        ch.vendor(0x42, &[0]),
        Err(Error::Hid(HidError::InvalidCommand))
    ));
    let sent = dev.state().sent.clone();
    let vendor_inits: Vec<u8> = sent.iter().map(|r| r[4]).filter(|b| *b == 0xC2).collect();
    assert_eq!(vendor_inits.len(), 2, "vendor command goes out as 0xC2");
    // A reply with the wrong command is refused.
    dev.reply_to_next(packetize(CID, cmd::CBOR, &[0]).unwrap());
    assert!(matches!(
        ch.ping(b"x"),
        Err(Error::Hid(HidError::UnexpectedCommand {
            expected: 0x01,
            got: 0x10
        }))
    ));
}

#[test]
fn requests_over_the_limit_are_refused_before_sending() {
    let (mut ch, dev) = open();
    assert!(matches!(
        cbor(&mut ch, &vec![0; 7610]),
        Err(Error::Hid(HidError::MessageTooLong { len: 7610, .. }))
    ));
    ch.set_max_msg_size(1024);
    assert_eq!(ch.max_msg_size(), 1024);
    assert!(matches!(cbor(&mut ch, &vec![0; 1025]), Err(Error::Hid(_))));
    assert_eq!(dev.state().sent.len(), 1, "only INIT went out");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn arbitrary_key_traffic_never_panics_the_client(
        reports in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 64), 0..40),
        ours in proptest::collection::vec(any::<bool>(), 40),
    ) {
        let (mut ch, dev) = open();
        ch.set_timeouts(Timeouts { cbor: Duration::from_millis(20), cbor_cap: Duration::from_millis(50), short: Duration::from_millis(20) });
        for (i, r) in reports.iter().enumerate() {
            let mut rep = [0u8; 64];
            rep.copy_from_slice(r);
            if ours[i] { rep[..4].copy_from_slice(&CID.to_be_bytes()); }
            dev.push_raw(rep);
        }
        // Any outcome but a panic is fine.
        let _ = cbor(&mut ch, &[0x04]);
        let _ = ch.ping(b"p");
    }
}
