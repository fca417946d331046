//! The YubiKey vendor CTAPHID command 0x42 (on the wire 0xC2, "read config"), enough for a
//! host to read the serial number the way it does from a YubiKey 5.
//!
//! Request: the page number (one byte, 0; older hosts send nothing). Response: one length
//! byte, then TLVs (tag, length, value): 0x01 USB capabilities supported, 0x02 serial
//! (u32 big-endian), 0x03 USB capabilities enabled, 0x04 form factor, 0x05 firmware version.

use super::config::SoftConfig;

/// The YubiKey "read config" vendor command, without the init bit.
pub const YUBIKEY_READ_CONFIG: u8 = 0x42;

mod tag {
    pub const USB_SUPPORTED: u8 = 0x01;
    pub const SERIAL: u8 = 0x02;
    pub const USB_ENABLED: u8 = 0x03;
    pub const FORM_FACTOR: u8 = 0x04;
    pub const VERSION: u8 = 0x05;
}

/// USB capability bits: U2F (0x0002) and FIDO2 (0x0200).
const CAPABILITIES: [u8; 2] = [0x02, 0x02];
/// Form factor: USB-A keychain.
const FORM_FACTOR_USB_A_KEYCHAIN: u8 = 0x01;

/// Answers a vendor command, or `None` (ERR_INVALID_CMD) for commands and pages it lacks.
pub(crate) fn handle(config: &SoftConfig, cmd: u8, data: &[u8]) -> Option<Vec<u8>> {
    if !config.report_serial
        || cmd != YUBIKEY_READ_CONFIG
        || data.iter().any(|&page| page != 0)
        || data.len() > 1
    {
        return None;
    }
    let mut tlv = Vec::new();
    let mut push = |t: u8, v: &[u8]| {
        tlv.push(t);
        tlv.push(v.len() as u8);
        tlv.extend_from_slice(v);
    };
    push(tag::USB_SUPPORTED, &CAPABILITIES);
    push(tag::SERIAL, &config.serial.to_be_bytes());
    push(tag::USB_ENABLED, &CAPABILITIES);
    push(tag::FORM_FACTOR, &[FORM_FACTOR_USB_A_KEYCHAIN]);
    push(tag::VERSION, &config.yubikey_version);
    let mut out = Vec::with_capacity(tlv.len() + 1);
    out.push(tlv.len() as u8);
    out.extend_from_slice(&tlv);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_zero_carries_the_serial() {
        let cfg = SoftConfig {
            serial: 0x0102_0304,
            ..SoftConfig::default()
        };
        let out = handle(&cfg, YUBIKEY_READ_CONFIG, &[0]).unwrap();
        assert_eq!(usize::from(out[0]), out.len() - 1);
        let i = out.windows(2).position(|w| w == [tag::SERIAL, 4]).unwrap();
        assert_eq!(&out[i + 2..i + 6], &[1, 2, 3, 4]);
        assert!(handle(&cfg, YUBIKEY_READ_CONFIG, &[]).is_some());
        assert!(handle(&cfg, YUBIKEY_READ_CONFIG, &[1]).is_none());
        assert!(handle(&cfg, 0x41, &[0]).is_none());
    }

    #[test]
    fn a_key_that_reports_no_serial_has_no_vendor_command() {
        let cfg = SoftConfig {
            report_serial: false,
            ..SoftConfig::default()
        };
        assert!(handle(&cfg, YUBIKEY_READ_CONFIG, &[0]).is_none());
        assert!(handle(&cfg, YUBIKEY_READ_CONFIG, &[]).is_none());
    }
}
