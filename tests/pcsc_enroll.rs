//! Enrollment through the real PC/SC stack: a private pcscd with vsmartcard's virtual reader,
//! the software key as a card in it, and the station's own binary (`devices`, `enroll
//! --device pcsc`) against the fake tenant.
#![cfg(feature = "pcsc")]

mod kit;
#[path = "../ctap/tests/pcsc_support/mod.rs"]
mod pcsc_support;

use ctap::nfc::vpcd::VirtualCard;
use kit::keys::{pin_opens, soft_key};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::engine::api::{Command, Event, Remedy};
use passkey_kiosk::store::Journal;
use pcsc_support::{wait_for_card, Pcscd};

const READER: &str = "Virtual PCD 00 00";

/// A station whose keys are the cards on the virtual reader.
fn station(daemon: &Pcscd) -> Station {
    let mut st = Station::new(
        plain_tenant(2),
        r#","useRandomPIN":true,"useCTAP21Features":true"#,
    );
    st.device = format!("pcsc:{READER}");
    daemon.export_socket();
    st
}

#[test]
fn devices_lists_the_reader_and_its_card() {
    let _one = pcsc_support::lock();
    let daemon = Pcscd::start();
    let st = station(&daemon);
    let devices = |spec: &str| {
        let out = st
            .kiosk()
            .args(["devices", "--device", spec])
            .env("PCSCLITE_CSOCK_NAME", daemon.socket())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let empty = devices("pcsc");
    assert!(
        empty.contains(&format!("pcsc:{READER}  no card")),
        "{empty}"
    );

    let _card = VirtualCard::insert(&daemon.card_addr(0), soft_key(73_000_001)).unwrap();
    wait_for_card(READER, true);
    // The default listing shows USB keys, the readers, and the card's details.
    let listed = devices("hid");
    assert!(
        listed.contains(&format!("pcsc:{READER}  a card (below)")),
        "{listed}"
    );
    assert!(
        listed.contains("73000001"),
        "the serial from the OTP applet: {listed}"
    );
}

#[test]
fn enroll_over_pcsc_issues_the_card_and_registers_it() {
    let _one = pcsc_support::lock();
    let daemon = Pcscd::start();
    let st = station(&daemon);
    st.prefetch();
    let queue = Journal::open(&st.journal).unwrap().queue().unwrap();
    let key = soft_key(73_000_002);
    let _card = VirtualCard::insert(&daemon.card_addr(0), key.clone()).unwrap();
    wait_for_card(READER, true);

    let socket = daemon.socket();
    let (status, out) = st.enroll(
        &["--user", &queue[0].upn],
        &[("PCSCLITE_CSOCK_NAME", socket.to_str().unwrap())],
        |_| {},
    );
    assert!(status.success(), "{out}");
    assert_eq!(st.tenant.registrations(&queue[0].user_id).len(), 1);
    assert_eq!(key.resident_credentials().len(), 1);
    let rows = st.csv_rows();
    let row = rows
        .iter()
        .find(|r| r.contains(&queue[0].upn))
        .expect("a row");
    assert!(row.contains(&"73000002".to_string()), "{row:?}");
    let pin = row
        .iter()
        .find(|c| c.len() >= 6 && c.chars().all(|ch| ch.is_ascii_digit()) && *c != "73000002")
        .expect("the PIN column");
    assert!(pin_opens(&key, pin), "the recorded PIN opens the card");
}

#[test]
fn the_engine_sees_a_card_arrive_and_a_card_refusing_a_reset_is_sent_to_usb() {
    let _one = pcsc_support::lock();
    let daemon = Pcscd::start();
    let st = station(&daemon);
    st.prefetch();
    let engine = st.engine("desk");
    // A card that accepts no reset over NFC, as many do.
    let key = ctap::soft::SoftAuthenticator::new(ctap::soft::SoftConfig {
        serial: 73_000_003,
        reset_window: std::time::Duration::ZERO,
        ..ctap::soft::SoftConfig::default()
    })
    .unwrap();
    let _card = VirtualCard::insert(&daemon.card_addr(0), key.clone()).unwrap();
    let inserted = loop {
        match engine
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the engine saw the card")
        {
            Event::KeyInserted(summary) => break summary,
            _ => continue,
        }
    };
    assert!(inserted.card, "{inserted:?}");
    assert_eq!(inserted.serial.as_deref(), Some("73000003"));
    assert_eq!(inserted.address, format!("pcsc:{READER}"));

    engine.send(Command::ResetKey);
    let problem = loop {
        match engine
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("an answer to the reset")
        {
            Event::Problem(p) => break p,
            Event::KeyReset => panic!("the card was reset"),
            _ => continue,
        }
    };
    assert_eq!(problem.remedy, Remedy::ResetOverUsb, "{problem:?}");
    assert!(!problem.retry_possible);
    assert!(problem.remedy.ui().contains("USB"));
}

#[test]
fn two_cards_on_two_readers_are_issued_to_two_people_as_separate_jobs() {
    let _one = pcsc_support::lock();
    let daemon = Pcscd::start();
    let mut st = station(&daemon);
    // Both readers: the station takes a card on either.
    st.device = "pcsc".into();
    st.prefetch();
    let queue = st.queue();
    let first = soft_key(73_000_011);
    let second = soft_key(73_000_012);
    let _a = VirtualCard::insert(&daemon.card_addr(0), first.clone()).unwrap();
    let _b = VirtualCard::insert(&daemon.card_addr(1), second.clone()).unwrap();
    wait_for_card(READER, true);
    wait_for_card("Virtual PCD 00 01", true);

    let engine = st.engine("desk");
    let mut issued = Vec::new();
    for person in &queue[..2] {
        engine.send(Command::Enroll {
            user_id: person.user_id.clone(),
        });
        let done = loop {
            match engine
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("an answer")
            {
                Event::Finished { issued, .. } => break issued,
                Event::Failed { error, .. } => panic!("{error:?}"),
                _ => continue,
            }
        };
        assert_eq!(done.upn, person.upn);
        issued.push(done.serial.clone().expect("each card's serial"));
    }
    issued.sort();
    assert_eq!(issued, ["73000011", "73000012"], "one card each");
    assert_eq!(first.resident_credentials().len(), 1);
    assert_eq!(second.resident_credentials().len(), 1);
    for person in &queue[..2] {
        assert_eq!(st.tenant.registrations(&person.user_id).len(), 1);
    }
}

#[test]
fn readers_that_appear_after_the_station_started_are_picked_up() {
    let _one = pcsc_support::lock();
    // The station starts with no PC/SC service at all (no reader, no pcscd)...
    pcsc_support::export_socket();
    let mut st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.device = "pcsc".into();
    let engine = st.engine("desk");
    std::thread::sleep(std::time::Duration::from_millis(800));
    // ...then pcscd comes up with its readers and a card is placed on one.
    let daemon = Pcscd::start();
    daemon.export_socket();
    let _card = VirtualCard::insert(&daemon.card_addr(1), soft_key(73_000_021)).unwrap();
    let seen = loop {
        match engine
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the card was seen")
        {
            Event::KeyInserted(summary) => break summary,
            _ => continue,
        }
    };
    assert!(seen.card);
    assert_eq!(seen.address, "pcsc:Virtual PCD 00 01");
}
