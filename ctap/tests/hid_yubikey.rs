//! YubiKey serial over the vendor "read config" command (0xC2): paging and TLV parsing.

use std::collections::VecDeque;

use ctap::device::{self, DeviceAddress, DeviceDescriptor};
use ctap::hid::HidError;
use ctap::{CancelToken, CtapChannel, Error, StatusSink};

/// Answers vendor commands from a list and records the requests.
struct FakeKey {
    replies: VecDeque<ctap::Result<Vec<u8>>>,
    requests: Vec<(u8, Vec<u8>)>,
}

impl FakeKey {
    fn new(replies: Vec<ctap::Result<Vec<u8>>>) -> Self {
        Self {
            replies: replies.into(),
            requests: Vec::new(),
        }
    }
}

impl CtapChannel for FakeKey {
    fn cbor(&mut self, _: &[u8], _: &dyn StatusSink, _: &CancelToken) -> ctap::Result<Vec<u8>> {
        Err(Error::Hid(HidError::InvalidCommand))
    }
    fn vendor(&mut self, cmd: u8, data: &[u8]) -> ctap::Result<Vec<u8>> {
        self.requests.push((cmd, data.to_vec()));
        self.replies.pop_front().unwrap_or(Err(Error::Timeout))
    }
    fn wink(&mut self) -> ctap::Result<()> {
        Ok(())
    }
    fn max_msg_size(&self) -> usize {
        7609
    }
}

fn yubikey(serial: &str) -> DeviceDescriptor {
    DeviceDescriptor {
        address: DeviceAddress::Hid("/dev/hidraw0".into()),
        vendor_id: 0x1050,
        product_id: 0x0407,
        product: "YubiKey OTP+FIDO+CCID".into(),
        manufacturer: "Yubico".into(),
        serial_number: serial.into(),
    }
}

#[test]
fn single_page() {
    // Length 13: usb-supported (0x01, 2 bytes), serial (0x02, 4 bytes), form factor (0x04, 1).
    let page = vec![
        13, 0x01, 2, 0x02, 0x3F, 0x02, 4, 0x01, 0x23, 0x45, 0x67, 0x04, 1, 0x01,
    ];
    let mut key = FakeKey::new(vec![Ok(page)]);
    assert_eq!(device::yubikey_serial(&mut key).unwrap(), Some(0x0123_4567));
    assert_eq!(key.requests, vec![(0x42, vec![0])]);
}

#[test]
fn two_pages() {
    let first = vec![6, 0x04, 1, 0x01, 0x10, 1, 0x01]; // form factor, "more data" = 1
    let second = vec![6, 0x02, 4, 0x00, 0xBC, 0x61, 0x4E, 0, 0, 0]; // serial 12345678, padded
    let mut key = FakeKey::new(vec![Ok(first), Ok(second)]);
    assert_eq!(device::yubikey_serial(&mut key).unwrap(), Some(12_345_678));
    assert_eq!(key.requests, vec![(0x42, vec![0]), (0x42, vec![1])]);
}

#[test]
fn no_serial_in_config() {
    let mut key = FakeKey::new(vec![Ok(vec![3, 0x04, 1, 0x01])]);
    assert_eq!(device::yubikey_serial(&mut key).unwrap(), None);
}

#[test]
fn unknown_command_means_no_yubikey_serial() {
    let mut key = FakeKey::new(vec![Err(Error::Hid(HidError::InvalidCommand))]);
    assert_eq!(device::yubikey_serial(&mut key).unwrap(), None);
    // read_serial then falls back to the USB serial string.
    let mut key = FakeKey::new(vec![Err(Error::Hid(HidError::InvalidCommand))]);
    assert_eq!(
        device::read_serial(&yubikey("ABC123"), &mut key).unwrap(),
        Some("ABC123".into())
    );
}

#[test]
fn other_errors_propagate() {
    let mut key = FakeKey::new(vec![Err(Error::Timeout)]);
    assert!(matches!(
        device::yubikey_serial(&mut key),
        Err(Error::Timeout)
    ));
}

#[test]
fn malformed_pages_are_typed_errors() {
    for page in [
        vec![],                    // no length byte
        vec![10, 0x02, 4, 1, 2],   // length byte past the end of the reply
        vec![4, 0x02, 4, 1, 2],    // TLV value past the declared length
        vec![4, 0x02, 3, 1, 2, 3], // serial of 3 bytes
        vec![1, 0x02],             // lone tag byte
    ] {
        let mut key = FakeKey::new(vec![Ok(page.clone())]);
        match device::yubikey_serial(&mut key) {
            Err(Error::Malformed(text)) => assert!(text.contains("YubiKey"), "{text}"),
            other => panic!("{page:?}: {other:?}"),
        }
    }
}

#[test]
fn bytes_after_the_declared_length_are_padding() {
    let page = vec![6, 0x02, 4, 0, 0, 0, 7, 0xFF, 0xFF];
    assert_eq!(
        device::parse_yubikey_config(&page).unwrap(),
        (Some(7), false)
    );
}

#[test]
fn endless_more_data_is_bounded() {
    let replies = (0..100).map(|_| Ok(vec![3, 0x10, 1, 0x01])).collect();
    let mut key = FakeKey::new(replies);
    assert_eq!(device::yubikey_serial(&mut key).unwrap(), None);
    assert!(key.requests.len() <= 16);
}

#[test]
fn read_serial_prefers_yubikey_serial_and_skips_vendor_for_others() {
    let page = vec![6, 0x02, 4, 0, 0, 0x30, 0x39];
    let mut key = FakeKey::new(vec![Ok(page)]);
    assert_eq!(
        device::read_serial(&yubikey("X"), &mut key).unwrap(),
        Some("12345".into())
    );

    let mut other = yubikey("  ");
    other.vendor_id = 0x096E;
    let mut key = FakeKey::new(vec![]);
    assert_eq!(device::read_serial(&other, &mut key).unwrap(), None);
    assert!(
        key.requests.is_empty(),
        "no vendor command to non-Yubico keys"
    );
    other.serial_number = "F1D0-0001".into();
    assert_eq!(
        device::read_serial(&other, &mut key).unwrap(),
        Some("F1D0-0001".into())
    );
}

#[test]
fn parser_never_panics_on_any_short_input() {
    for len in 0..=6u8 {
        for fill in [0u8, 0x02, 0x10, 0xFF] {
            let mut page = vec![len];
            page.extend(std::iter::repeat_n(fill, usize::from(len)));
            let _ = device::parse_yubikey_config(&page);
        }
    }
}
