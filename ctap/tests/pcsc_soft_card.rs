//! CTAP over the real PC/SC stack: the software key as a virtual card in vsmartcard's reader,
//! behind a private pcscd, driven by [`PcscChannel`] through libpcsclite. Nothing is mocked
//! between the client and the card but the radio.
#![cfg(all(feature = "soft", feature = "pcsc"))]

mod pcsc_support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ciborium::value::Value;
use ctap::authenticator::Authenticator;
use ctap::cbor::{int, text};
use ctap::nfc::pcsc::{readers, PcscChannel, ReaderWatch};
use ctap::nfc::vpcd::VirtualCard;
use ctap::soft::{SoftAuthenticator, SoftConfig, TouchPolicy};
use ctap::{CancelToken, CtapChannel, Error, KeepaliveStatus, NoStatus};
use pcsc_support::{wait_for_card, Pcscd};

const SLOT0: &str = "Virtual PCD 00 00";
const SLOT1: &str = "Virtual PCD 00 01";

fn soft_key(serial: u32) -> SoftAuthenticator {
    let key = SoftAuthenticator::new(SoftConfig {
        serial,
        ..SoftConfig::default()
    })
    .unwrap();
    key.touch().set(TouchPolicy::Immediate);
    key
}

/// A makeCredential whose request is longer than one short APDU (a long exclude list) and
/// whose answer is longer than 256 bytes (a packed attestation).
fn long_make_credential() -> Vec<u8> {
    let exclude: Vec<Value> = (0..6u8)
        .map(|i| {
            Value::Map(vec![
                (text("id"), Value::Bytes(vec![i; 64])),
                (text("type"), text("public-key")),
            ])
        })
        .collect();
    let params = Value::Map(vec![
        (int(1), Value::Bytes(vec![7; 32])),
        (
            int(2),
            Value::Map(vec![(text("id"), text("login.microsoft.com"))]),
        ),
        (
            int(3),
            Value::Map(vec![
                (text("id"), Value::Bytes(vec![1; 32])),
                (text("name"), text("ada@contoso.example")),
            ]),
        ),
        (
            int(4),
            Value::Array(vec![Value::Map(vec![
                (text("alg"), int(-7)),
                (text("type"), text("public-key")),
            ])]),
        ),
        (int(5), Value::Array(exclude)),
    ]);
    let mut request = vec![0x01];
    request.extend_from_slice(&ctap::cbor::to_canonical_vec(&params));
    assert!(request.len() > 255, "the request must need chaining");
    request
}

#[test]
fn the_soft_card_answers_through_pcscd_with_extended_and_with_chained_apdus() {
    let _one_daemon = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let names: Vec<String> = readers().unwrap().into_iter().map(|r| r.name).collect();
    assert!(names.iter().any(|n| n == SLOT0), "{names:?}");
    assert!(readers().unwrap().iter().all(|r| r.card.is_none()));

    let card = VirtualCard::insert(&daemon.card_addr(0), soft_key(71_000_001)).unwrap();
    wait_for_card(SLOT0, true);
    let atr = readers()
        .unwrap()
        .into_iter()
        .find(|r| r.name == SLOT0)
        .and_then(|r| r.card)
        .map(|c| c.atr)
        .unwrap();
    assert_eq!(atr, ctap::nfc::vpcd::atr());

    for extended in [true, false] {
        let mut ch = PcscChannel::open_with(SLOT0, extended).unwrap();
        assert_eq!(ch.uses_extended_apdus(), extended);
        let request = long_make_credential();
        let reply = ch.cbor(&request, &NoStatus, &CancelToken::new()).unwrap();
        assert_eq!(reply[0], 0, "makeCredential status");
        assert!(reply.len() > 256, "{} bytes", reply.len());

        let mut key = Authenticator::new(&mut ch);
        let info = key.get_info().unwrap();
        assert!(info.versions.iter().any(|v| v == "FIDO_2_1"));
        assert!(info.aaguid != [0; 16]);
    }

    // The card as the station lists it: serial through the OTP applet, then CTAP again.
    let listed = ctap::device::list(&"pcsc:Virtual PCD 00 00".parse().unwrap()).unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].is_pcsc());
    assert_eq!(listed[0].address.to_string(), format!("pcsc:{SLOT0}"));
    let mut any = ctap::device::open(&listed[0]).unwrap();
    assert_eq!(
        ctap::device::read_serial(&listed[0], &mut any).unwrap(),
        Some("71000001".to_string())
    );
    assert!(Authenticator::new(&mut any).get_info().is_ok());
    drop(any);

    // PIN set and changed over the card; the key counts its retries.
    let mut ch = PcscChannel::open(SLOT0).unwrap();
    let mut key = Authenticator::new(&mut ch);
    key.set_pin("482916").unwrap();
    assert!(matches!(
        key.change_pin("000000", "739251"),
        Err(Error::PinInvalid { .. })
    ));
    key.change_pin("482916", "739251").unwrap();
    assert_eq!(key.pin_retries().unwrap(), 8);
    drop(card);
    wait_for_card(SLOT0, false);
    assert!(PcscChannel::open(SLOT0).is_err());
}

#[test]
fn a_touch_wait_reports_up_needed_and_cancel_reaches_the_card() {
    let _one_daemon = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let key = soft_key(71_000_002);
    let touch = key.touch();
    let _card = VirtualCard::insert(&daemon.card_addr(0), key).unwrap();
    wait_for_card(SLOT0, true);
    let mut ch = PcscChannel::open(SLOT0).unwrap();

    // A reset needs a touch the card never gets: the station sees "touch needed" through the
    // 9100 status updates, then the operator cancels.
    touch.set(TouchPolicy::Never);
    let seen = Mutex::new(Vec::new());
    let status = |s: KeepaliveStatus| seen.lock().unwrap().push(s);
    let cancel = CancelToken::new();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            cancel.cancel();
        })
    };
    let started = Instant::now();
    let result = Authenticator::new(&mut ch).reset(&status, &cancel);
    canceller.join().unwrap();
    assert!(
        matches!(result, Err(Error::Ctap(s)) if s == ctap::error::StatusCode::KeepaliveCancel),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(seen.lock().unwrap().contains(&KeepaliveStatus::UpNeeded));
}

#[test]
fn two_cards_on_two_readers_are_two_independent_keys() {
    let _one_daemon = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let _a = VirtualCard::insert(&daemon.card_addr(0), soft_key(71_000_003)).unwrap();
    let _b = VirtualCard::insert(&daemon.card_addr(1), soft_key(71_000_004)).unwrap();
    wait_for_card(SLOT0, true);
    wait_for_card(SLOT1, true);
    let threads: Vec<_> = [(SLOT0, "111222"), (SLOT1, "333444")]
        .into_iter()
        .map(|(reader, pin)| {
            std::thread::spawn(move || {
                let mut ch = PcscChannel::open(reader).unwrap();
                let mut key = Authenticator::new(&mut ch);
                key.set_pin(pin).unwrap();
                key.token(
                    pin,
                    ctap::commands::client_pin::Permissions::MAKE_CREDENTIAL,
                    Some("login.microsoft.com"),
                )
                .map(|_| ())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    // Each card kept its own PIN.
    let mut ch = PcscChannel::open(SLOT1).unwrap();
    assert!(matches!(
        Authenticator::new(&mut ch).change_pin("111222", "555666"),
        Err(Error::PinInvalid { .. })
    ));
}

#[test]
fn a_reader_without_a_card_and_an_unknown_reader_are_clear_errors() {
    let _one_daemon = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let empty = PcscChannel::open(SLOT0).unwrap_err().to_string();
    assert!(empty.contains(SLOT0), "{empty}");
    let unknown = PcscChannel::open("No Such Reader").unwrap_err().to_string();
    assert!(unknown.contains("No Such Reader"), "{unknown}");
}

#[test]
fn the_reader_watch_blocks_until_a_card_comes_or_goes() {
    let _one_daemon = pcsc_support::lock();
    let daemon = Pcscd::start();
    daemon.export_socket();
    let mut watch = ReaderWatch::new().unwrap().expect("pcscd is running");
    assert!(watch.readers().iter().all(|r| r.card.is_none()));
    // Nothing happens: the wait times out without a change.
    assert!(!watch.wait(Duration::from_millis(300)).unwrap());

    let addr = daemon.card_addr(1);
    let inserter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        VirtualCard::insert(&addr, soft_key(71_000_005)).unwrap()
    });
    let started = Instant::now();
    let mut card_seen = None;
    while started.elapsed() < Duration::from_secs(10) && card_seen.is_none() {
        watch.wait(Duration::from_secs(10)).unwrap();
        card_seen = watch
            .readers()
            .into_iter()
            .find(|r| r.name == SLOT1)
            .and_then(|r| r.card);
    }
    let first = card_seen.expect("the watch saw the card arrive");
    let card = inserter.join().unwrap();

    drop(card);
    let started = Instant::now();
    while watch.readers().iter().any(|r| r.card.is_some()) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the removal was not seen"
        );
        watch.wait(Duration::from_secs(10)).unwrap();
    }
    let _again = VirtualCard::insert(&daemon.card_addr(1), soft_key(71_000_005)).unwrap();
    let started = Instant::now();
    let second = loop {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the re-tap was not seen"
        );
        watch.wait(Duration::from_secs(10)).unwrap();
        if let Some(c) = watch
            .readers()
            .into_iter()
            .find(|r| r.name == SLOT1)
            .and_then(|r| r.card)
        {
            break c;
        }
    };
    assert_ne!(
        first.insertion, second.insertion,
        "a card put back is a new sighting"
    );
}
