//! Client against the device-side CTAPHID server, in process and over UDP, plus raw
//! protocol checks of the server.

mod hid_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ctap::device::{self, DeviceSpec};
use ctap::error::StatusCode;
use ctap::hid::framing::{Message, Packet};
use ctap::hid::server::{self, CAPABILITIES};
use ctap::hid::{
    cmd, packetize, HidChannel, HidError, Presence, Reassembler, Timeouts, BROADCAST_CID,
};
use ctap::transport::memory::{self, MemoryTransport};
use ctap::transport::udp::UdpTransport;
use ctap::transport::ReportTransport;
use ctap::{CancelToken, CtapChannel, Error, KeepaliveStatus, NoStatus};
use hid_support::Echo;

fn exercise(ch: &mut dyn CtapChannel) {
    // Echo at the packet boundaries and the maximum size.
    for len in [1usize, 57, 58, 116, 117, 7609] {
        let mut req = vec![0x01];
        req.extend((1..len).map(|i| i as u8));
        let reply = ch.cbor(&req, &NoStatus, &CancelToken::new()).unwrap();
        assert_eq!(reply[0], 0x00);
        assert_eq!(&reply[1..], &req[1..], "length {len}");
    }
    assert_eq!(
        ch.cbor(&[0x09], &NoStatus, &CancelToken::new()).unwrap(),
        vec![0x01]
    );
    ch.wink().unwrap();
    assert_eq!(ch.vendor(0x42, &[0]).unwrap(), vec![6, 0x02, 4, 1, 2, 3, 4]);
    assert!(matches!(
        ch.vendor(0x43, &[]),
        Err(Error::Hid(HidError::InvalidCommand))
    ));
    assert_eq!(device::yubikey_serial(ch).unwrap(), Some(0x0102_0304));
}

#[test]
fn in_process_round_trips() {
    let echo = Echo::default();
    let mut ch = server::in_process(echo.clone()).unwrap();
    assert_eq!(ch.capabilities().0, CAPABILITIES);
    assert!(ch.capabilities().cbor() && ch.capabilities().wink());
    assert_eq!(ch.ping(b"ping!").unwrap(), b"ping!");
    exercise(&mut ch);
    assert_eq!(echo.winks.load(Ordering::SeqCst), 1);
}

#[test]
fn udp_round_trips_and_descriptor_opens() {
    let handle = server::serve_udp("127.0.0.1:0".parse().unwrap(), Echo::default()).unwrap();
    let spec: DeviceSpec = format!("udp:{}", handle.local_addr()).parse().unwrap();
    let list = device::list(&spec).unwrap();
    assert_eq!(list.len(), 1);
    let mut ch = device::open(&list[0]).unwrap();
    exercise(&mut ch);
    assert_eq!(
        device::read_serial(&list[0], &mut ch).unwrap(),
        Some("16909060".into())
    );
    handle.stop();
}

#[test]
fn udp_server_stops_on_drop() {
    let handle = server::serve_udp("127.0.0.1:0".parse().unwrap(), Echo::default()).unwrap();
    let addr = handle.local_addr();
    drop(handle);
    let mut t = UdpTransport::connect_addr(addr).unwrap();
    let r = packetize(BROADCAST_CID, cmd::INIT, &[1; 8]).unwrap();
    // Nobody answers any more (either silence or "connection refused").
    let _ = t.send(&r[0]);
    assert!(!matches!(t.recv(Duration::from_millis(200)), Ok(Some(_))));
}

#[test]
fn presence_tells_a_key_still_in_from_a_replaced_and_a_gone_one() {
    let handle = server::serve_udp("127.0.0.1:0".parse().unwrap(), Echo::default()).unwrap();
    let addr = handle.local_addr();
    let spec: DeviceSpec = format!("udp:{addr}").parse().unwrap();
    let desc = device::list(&spec).unwrap().remove(0);
    let short = Timeouts {
        short: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let mut ch = device::open_with(&desc, short).unwrap();
    assert_eq!(ch.presence(), Presence::Present);
    assert_eq!(ch.presence(), Presence::Present);

    // Another device at the same place (a restarted simulator) does not know the channel.
    drop(handle);
    let again = server::serve_udp(addr, Echo::default()).unwrap();
    assert_eq!(ch.presence(), Presence::Replaced);

    drop(again);
    assert_eq!(ch.presence(), Presence::Gone);
}

#[test]
fn touch_prompt_then_cancel_from_another_thread() {
    let mut ch = server::in_process(Echo::default()).unwrap();
    let cancel = CancelToken::new();
    let (tx, rx) = mpsc::channel();
    let sink = move |s: KeepaliveStatus| {
        let _ = tx.send(s);
    };
    let remote = cancel.clone();
    let canceller = thread::spawn(move || {
        // Wait for "touch your key", then press Cancel.
        let s = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(s, KeepaliveStatus::UpNeeded);
        remote.cancel();
    });
    let started = Instant::now();
    let r = ch.cbor(&[0x02], &sink, &cancel);
    canceller.join().unwrap();
    match r {
        Err(Error::Ctap(code)) => assert_eq!(code, StatusCode::KeepaliveCancel),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // The channel is usable afterwards.
    cancel.reset();
    assert_eq!(ch.cbor(&[0x01, 7], &NoStatus, &cancel).unwrap(), vec![0, 7]);
}

#[test]
fn touch_completes_the_request() {
    let echo = Echo::default();
    let mut ch = server::in_process(echo.clone()).unwrap();
    let toucher = thread::spawn(move || {
        thread::sleep(Duration::from_millis(250));
        echo.touch();
    });
    let saw_up = AtomicBool::new(false);
    let sink = |s: KeepaliveStatus| {
        if s == KeepaliveStatus::UpNeeded {
            saw_up.store(true, Ordering::SeqCst);
        }
    };
    assert_eq!(
        ch.cbor(&[0x02], &sink, &CancelToken::new()).unwrap(),
        vec![0, 0xAA]
    );
    toucher.join().unwrap();
    assert!(saw_up.load(Ordering::SeqCst), "UPNEEDED keepalive reported");
}

#[test]
fn a_presence_check_from_another_socket_does_not_divert_a_running_request() {
    let echo = Echo::default();
    let handle = server::serve_udp("127.0.0.1:0".parse().unwrap(), echo.clone()).unwrap();
    let spec: DeviceSpec = format!("udp:{}", handle.local_addr()).parse().unwrap();
    let desc = device::list(&spec).unwrap().remove(0);
    let mut job = device::open(&desc).unwrap();
    let mut watcher = device::open(&desc).unwrap();
    let (tx, rx) = mpsc::channel();
    let sink = move |s: KeepaliveStatus| {
        let _ = tx.send(s);
    };
    let checker = thread::spawn(move || {
        // While the job's request waits for a touch, another socket checks the key is there.
        let s = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(s, KeepaliveStatus::UpNeeded);
        assert_eq!(watcher.presence(), Presence::Present);
        echo.touch();
    });
    let reply = job.cbor(&[0x02], &sink, &CancelToken::new());
    checker.join().unwrap();
    assert_eq!(reply.unwrap(), vec![0, 0xAA]);
}

#[test]
fn client_retries_channel_busy_until_the_key_is_free() {
    let mut raw = Raw::new();
    let a = raw.init();
    // Another program starts a message on channel A and stalls: the server is busy receiving
    // it until its transaction timeout (1 s) and answers everyone else CHANNEL_BUSY meanwhile.
    let reports = packetize(a, cmd::PING, &[5; 100]).unwrap();
    raw.t.send(&reports[0]).unwrap();
    let mut b = HidChannel::open(&mut raw.t).unwrap();
    let started = Instant::now();
    assert_eq!(b.ping(b"b").unwrap(), b"b");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "B must have been refused first"
    );
}

/// A raw client on the device end of a memory pair with a running server.
struct Raw {
    t: MemoryTransport,
    stop: Arc<AtomicBool>,
    server: Option<thread::JoinHandle<()>>,
}

impl Raw {
    fn new() -> Self {
        let (client, dev) = memory::pair();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let server = thread::spawn(move || {
            let _ = server::run(dev, Echo::default(), &flag);
        });
        Raw {
            t: client,
            stop,
            server: Some(server),
        }
    }
    fn send(&mut self, cid: u32, command: u8, payload: &[u8]) {
        for r in packetize(cid, command, payload).unwrap() {
            self.t.send(&r).unwrap();
        }
    }
    fn read(&mut self, cid: u32) -> Message {
        let mut re = Reassembler::new(cid);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if let Some(r) = self.t.recv(Duration::from_millis(50)).unwrap() {
                if let Some(m) = re.push(&r).unwrap() {
                    return m;
                }
            }
        }
        panic!("no reply on {cid:08X}");
    }
    fn init(&mut self) -> u32 {
        self.send(BROADCAST_CID, cmd::INIT, &[9; 8]);
        let m = self.read(BROADCAST_CID);
        assert_eq!(m.cmd, cmd::INIT);
        assert_eq!(&m.payload[..8], &[9; 8]);
        assert_eq!(m.payload.len(), 17);
        assert_eq!(m.payload[12], 2);
        u32::from_be_bytes([m.payload[8], m.payload[9], m.payload[10], m.payload[11]])
    }
    fn expect_error(&mut self, cid: u32, code: u8) {
        let m = self.read(cid);
        assert_eq!((m.cmd, m.payload), (cmd::ERROR, vec![code]));
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(s) = self.server.take() {
            let _ = s.join();
        }
    }
}

#[test]
fn server_allocates_distinct_channels() {
    let mut raw = Raw::new();
    let a = raw.init();
    let b = raw.init();
    assert_ne!(a, b);
    assert!(a != 0 && a != BROADCAST_CID && b != 0 && b != BROADCAST_CID);
    // INIT on an allocated channel resynchronizes it and keeps the id.
    raw.send(a, cmd::INIT, &[9; 8]);
    let m = raw.read(a);
    assert_eq!(
        u32::from_be_bytes([m.payload[8], m.payload[9], m.payload[10], m.payload[11]]),
        a
    );
}

#[test]
fn server_rejects_unknown_channels_and_bad_lengths() {
    let mut raw = Raw::new();
    raw.send(0x0BAD_0BAD, cmd::PING, b"x");
    raw.expect_error(0x0BAD_0BAD, 0x0B);
    raw.send(BROADCAST_CID, cmd::PING, b"x");
    raw.expect_error(BROADCAST_CID, 0x0B);
    raw.send(BROADCAST_CID, cmd::INIT, &[1; 7]);
    raw.expect_error(BROADCAST_CID, 0x03);
    let cid = raw.init();
    let mut rep = packetize(cid, cmd::CBOR, &[1]).unwrap()[0];
    rep[5..7].copy_from_slice(&7610u16.to_be_bytes());
    raw.t.send(&rep).unwrap();
    raw.expect_error(cid, 0x03);
    raw.send(cid, cmd::CBOR, &[]);
    raw.expect_error(cid, 0x03);
    raw.send(cid, 0x05, &[]); // not a command
    raw.expect_error(cid, 0x01);
    raw.send(cid, cmd::LOCK, &[1]);
    raw.expect_error(cid, 0x01);
}

#[test]
fn server_rejects_wrong_sequence_and_ignores_stray_continuations() {
    let mut raw = Raw::new();
    let cid = raw.init();
    let reports = packetize(cid, cmd::PING, &[5; 200]).unwrap();
    // Stray continuation first: ignored, no reply.
    raw.t.send(&reports[1]).unwrap();
    raw.t.send(&reports[0]).unwrap();
    raw.t.send(&reports[2]).unwrap(); // skips seq 0
    raw.expect_error(cid, 0x04);
    // The channel still works.
    raw.send(cid, cmd::PING, &[5; 200]);
    assert_eq!(raw.read(cid).payload, vec![5; 200]);
}

#[test]
fn server_times_out_half_sent_messages_and_busies_others() {
    let mut raw = Raw::new();
    let a = raw.init();
    let b = raw.init();
    let reports = packetize(a, cmd::PING, &[5; 100]).unwrap();
    raw.t.send(&reports[0]).unwrap();
    // While A's message is incomplete, B is busy.
    raw.send(b, cmd::PING, b"b");
    raw.expect_error(b, 0x06);
    let started = Instant::now();
    raw.expect_error(a, 0x05);
    assert!(started.elapsed() >= Duration::from_millis(500));
    raw.send(b, cmd::PING, b"b");
    assert_eq!(raw.read(b).payload, b"b");
}

#[test]
fn server_sends_keepalives_and_honours_cancel() {
    let mut raw = Raw::new();
    let cid = raw.init();
    raw.send(cid, cmd::CBOR, &[0x02]);
    // Keepalives with UPNEEDED arrive about every 100 ms.
    let mut keepalives = 0;
    let until = Instant::now() + Duration::from_millis(450);
    while Instant::now() < until {
        if let Some(r) = raw.t.recv(Duration::from_millis(20)).unwrap() {
            match Packet::parse(&r) {
                Packet::Init { cmd: c, data, .. } if c == cmd::KEEPALIVE => {
                    assert_eq!(data[0], 2);
                    keepalives += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert!((2..=6).contains(&keepalives), "{keepalives} keepalives");
    // Another channel is busy meanwhile.
    let other = raw.init();
    raw.send(other, cmd::PING, b"x");
    let mut re = Reassembler::new(other);
    let m = loop {
        let r = raw.t.recv(Duration::from_secs(2)).unwrap().unwrap();
        if let Some(m) = re.push(&r).unwrap() {
            break m;
        }
    };
    assert_eq!((m.cmd, m.payload), (cmd::ERROR, vec![0x06]));
    raw.send(cid, cmd::CANCEL, &[]);
    let reply = loop {
        let m = raw.read(cid);
        if m.cmd != cmd::KEEPALIVE {
            break m;
        }
    };
    assert_eq!((reply.cmd, reply.payload), (cmd::CBOR, vec![0x2D]));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
    #[test]
    fn arbitrary_reports_never_kill_the_server(
        reports in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 64), 0..20),
        ours in proptest::collection::vec(proptest::prelude::any::<bool>(), 20),
    ) {
        let mut raw = Raw::new();
        let cid = raw.init();
        for (i, r) in reports.iter().enumerate() {
            let mut rep = [0u8; 64];
            rep.copy_from_slice(r);
            if ours[i] {
                rep[..4].copy_from_slice(&cid.to_be_bytes());
            }
            raw.t.send(&rep).unwrap();
        }
        // Still alive and answering INIT (which works even while busy).
        let ch = HidChannel::open(&mut raw.t).unwrap();
        proptest::prop_assert!(ch.cid() != cid);
        let finished = raw.server.as_ref().is_some_and(|s| s.is_finished());
        proptest::prop_assert!(!finished);
    }
}
