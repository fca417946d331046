//! Choosing and opening keys: device specs (`hid`, `hid:PATH`, `udp:HOST:PORT`, `pcsc`,
//! `pcsc:READER`), listing, opening, and reading a key's serial number (YubiKey vendor command
//! or USB string).

use std::fmt;
use std::str::FromStr;

use crate::hid::{HidChannel, HidError, Presence, Timeouts};
#[cfg(feature = "pcsc")]
use crate::nfc::pcsc::{self, PcscChannel};
use crate::transport::hidapi::{self, HidapiTransport};
use crate::transport::udp::UdpTransport;
use crate::transport::ReportTransport;
use crate::{CancelToken, CtapChannel, Error, Result, StatusSink};

/// The forms a device spec may take, for error texts and help.
pub const ACCEPTED_FORMS: &str =
    "`hid` (every FIDO USB key present), `hid:PATH` (one USB key), `udp:HOST:PORT` (a simulator), `pcsc` (every PC/SC reader: NFC readers, smart-card readers) or `pcsc:READER NAME` (one reader)";

/// Which key(s) to use, as given on the command line or in the config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    /// Every FIDO HID key present (`hid`).
    #[default]
    AllHid,
    /// One HID key by platform path (`hid:PATH`).
    HidPath(String),
    /// A simulator or software key over UDP (`udp:HOST:PORT`).
    Udp {
        /// Host name or address.
        host: String,
        /// UDP port.
        port: u16,
    },
    /// Cards on every PC/SC reader (`pcsc`): NFC readers, FIDO2 smart cards.
    Pcsc,
    /// The card on one PC/SC reader (`pcsc:READER NAME`; a prefix of the name will do, since
    /// pcsc-lite appends slot numbers).
    PcscReader(String),
}

/// A device spec that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device {spec:?}: {reason}; use {ACCEPTED_FORMS}")]
pub struct DeviceSpecError {
    /// The text given.
    pub spec: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for DeviceSpec {
    type Err = DeviceSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason| DeviceSpecError {
            spec: s.to_owned(),
            reason,
        };
        let t = s.trim();
        if t.eq_ignore_ascii_case("hid") {
            return Ok(DeviceSpec::AllHid);
        }
        if let Some(path) = strip_prefix_ci(t, "hid:") {
            if path.is_empty() {
                return Err(bad("the path after `hid:` is empty"));
            }
            return Ok(DeviceSpec::HidPath(path.to_owned()));
        }
        if t.eq_ignore_ascii_case("pcsc") {
            return Ok(DeviceSpec::Pcsc);
        }
        if let Some(reader) = strip_prefix_ci(t, "pcsc:") {
            if reader.trim().is_empty() {
                return Err(bad("the reader name after `pcsc:` is empty"));
            }
            return Ok(DeviceSpec::PcscReader(reader.trim().to_owned()));
        }
        if let Some(rest) = strip_prefix_ci(t, "udp:") {
            // rsplit so IPv6 literals in brackets ("[::1]:8111") keep their colons.
            let Some((host, port)) = rest.rsplit_once(':') else {
                return Err(bad("a UDP device needs HOST:PORT"));
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(bad("the UDP host is empty"));
            }
            let port: u16 = port
                .parse()
                .map_err(|_| bad("the UDP port is not a number from 1 to 65535"))?;
            if port == 0 {
                return Err(bad("the UDP port is not a number from 1 to 65535"));
            }
            return Ok(DeviceSpec::Udp {
                host: host.to_owned(),
                port,
            });
        }
        Err(bad("unknown kind of device"))
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn udp_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::AllHid => f.write_str("hid"),
            DeviceSpec::HidPath(p) => write!(f, "hid:{p}"),
            DeviceSpec::Udp { host, port } => write!(f, "udp:{}", udp_addr(host, *port)),
            DeviceSpec::Pcsc => f.write_str("pcsc"),
            DeviceSpec::PcscReader(r) => write!(f, "pcsc:{r}"),
        }
    }
}

impl DeviceSpec {
    /// Whether the spec names PC/SC readers.
    pub fn is_pcsc(&self) -> bool {
        matches!(self, DeviceSpec::Pcsc | DeviceSpec::PcscReader(_))
    }
}

/// Where a listed key is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceAddress {
    /// A HID key at this platform path.
    Hid(String),
    /// A UDP key at `HOST:PORT`.
    Udp(String),
    /// The card on a PC/SC reader, as placed there the `insertion`-th time: a card taken off
    /// and put back is a new sighting.
    Pcsc {
        /// The reader's name.
        reader: String,
        /// The reader's insertion counter when the card was seen.
        insertion: u32,
    },
}

impl fmt::Display for DeviceAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceAddress::Hid(p) => write!(f, "hid:{p}"),
            DeviceAddress::Udp(a) => write!(f, "udp:{a}"),
            DeviceAddress::Pcsc { reader, .. } => write!(f, "pcsc:{reader}"),
        }
    }
}

/// One key found by [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDescriptor {
    /// Where it is; pass the descriptor to [`open`].
    pub address: DeviceAddress,
    /// USB vendor id (0 for UDP keys).
    pub vendor_id: u16,
    /// USB product id (0 for UDP keys).
    pub product_id: u16,
    /// USB product string (may be empty).
    pub product: String,
    /// USB manufacturer string (may be empty).
    pub manufacturer: String,
    /// USB serial-number string (often empty on FIDO keys).
    pub serial_number: String,
}

impl DeviceDescriptor {
    /// Whether this is a UDP (simulated) key.
    pub fn is_udp(&self) -> bool {
        matches!(self.address, DeviceAddress::Udp(_))
    }

    /// Whether this is a card on a PC/SC reader (user presence is the tap).
    pub fn is_pcsc(&self) -> bool {
        matches!(self.address, DeviceAddress::Pcsc { .. })
    }
}

fn from_hid(info: hidapi::HidDeviceInfo) -> DeviceDescriptor {
    DeviceDescriptor {
        address: DeviceAddress::Hid(info.path),
        vendor_id: info.vendor_id,
        product_id: info.product_id,
        product: info.product,
        manufacturer: info.manufacturer,
        serial_number: info.serial_number,
    }
}

/// Lists the keys `spec` designates. `hid:PATH` lists that key only if it is present and a
/// FIDO key; a UDP spec yields one descriptor without probing the network.
pub fn list(spec: &DeviceSpec) -> Result<Vec<DeviceDescriptor>> {
    match spec {
        DeviceSpec::AllHid => Ok(hidapi::enumerate()?.into_iter().map(from_hid).collect()),
        DeviceSpec::HidPath(path) => Ok(hidapi::enumerate()?
            .into_iter()
            .filter(|d| &d.path == path)
            .map(from_hid)
            .collect()),
        DeviceSpec::Udp { host, port } => Ok(vec![DeviceDescriptor {
            address: DeviceAddress::Udp(udp_addr(host, *port)),
            vendor_id: 0,
            product_id: 0,
            product: "UDP simulator".into(),
            manufacturer: String::new(),
            serial_number: String::new(),
        }]),
        DeviceSpec::Pcsc | DeviceSpec::PcscReader(_) => list_pcsc(spec),
    }
}

/// The cards on the readers `spec` names.
#[cfg(feature = "pcsc")]
fn list_pcsc(spec: &DeviceSpec) -> Result<Vec<DeviceDescriptor>> {
    Ok(pcsc::readers()?
        .into_iter()
        .filter(|r| match spec {
            DeviceSpec::PcscReader(wanted) => r.name.starts_with(wanted.as_str()),
            _ => true,
        })
        .filter_map(|r| {
            let card = r.card?;
            Some(DeviceDescriptor {
                address: DeviceAddress::Pcsc {
                    reader: r.name,
                    insertion: card.insertion,
                },
                vendor_id: 0,
                product_id: 0,
                product: "FIDO card (PC/SC)".into(),
                manufacturer: String::new(),
                serial_number: String::new(),
            })
        })
        .collect())
}

#[cfg(not(feature = "pcsc"))]
fn list_pcsc(_spec: &DeviceSpec) -> Result<Vec<DeviceDescriptor>> {
    Err(no_pcsc())
}

#[cfg(not(feature = "pcsc"))]
fn no_pcsc() -> Error {
    Error::Unsupported("PC/SC readers in this build (built without the `pcsc` feature)".into())
}

/// A channel to any kind of key.
pub enum AnyChannel {
    /// CTAPHID (USB, UDP).
    Hid(HidChannel<Box<dyn ReportTransport>>),
    /// CTAP over ISO 7816 (PC/SC).
    #[cfg(feature = "pcsc")]
    Pcsc(PcscChannel),
}

impl AnyChannel {
    /// Whether the key is still there and still the same one, asked cheaply (a CTAPHID ping);
    /// a card is present as long as its reader lists it, which the lister knows already.
    pub fn presence(&mut self) -> Presence {
        match self {
            AnyChannel::Hid(ch) => ch.presence(),
            #[cfg(feature = "pcsc")]
            AnyChannel::Pcsc(_) => Presence::Present,
        }
    }

    /// Timeouts of the CTAPHID driver; a card's reader has its own.
    pub fn set_timeouts(&mut self, timeouts: Timeouts) {
        match self {
            AnyChannel::Hid(ch) => ch.set_timeouts(timeouts),
            #[cfg(feature = "pcsc")]
            AnyChannel::Pcsc(_) => {}
        }
    }

    fn inner(&mut self) -> &mut dyn CtapChannel {
        match self {
            AnyChannel::Hid(ch) => ch,
            #[cfg(feature = "pcsc")]
            AnyChannel::Pcsc(ch) => ch,
        }
    }
}

impl CtapChannel for AnyChannel {
    fn cbor(
        &mut self,
        request: &[u8],
        status: &dyn StatusSink,
        cancel: &CancelToken,
    ) -> Result<Vec<u8>> {
        self.inner().cbor(request, status, cancel)
    }
    fn vendor(&mut self, cmd: u8, data: &[u8]) -> Result<Vec<u8>> {
        self.inner().vendor(cmd, data)
    }
    fn wink(&mut self) -> Result<()> {
        self.inner().wink()
    }
    fn max_msg_size(&self) -> usize {
        match self {
            AnyChannel::Hid(ch) => ch.max_msg_size(),
            #[cfg(feature = "pcsc")]
            AnyChannel::Pcsc(ch) => ch.max_msg_size(),
        }
    }
    fn yubikey_serial(&mut self) -> Result<Option<u32>> {
        self.inner().yubikey_serial()
    }
}

/// Opens a channel to a listed key (CTAPHID_INIT, or SELECT of the card's FIDO applet).
pub fn open(desc: &DeviceDescriptor) -> Result<AnyChannel> {
    open_with(desc, Timeouts::default())
}

/// [`open`] with explicit timeouts (`short` bounds the INIT itself; not used for cards).
pub fn open_with(desc: &DeviceDescriptor, timeouts: Timeouts) -> Result<AnyChannel> {
    let transport: Box<dyn ReportTransport> = match &desc.address {
        DeviceAddress::Hid(path) => Box::new(HidapiTransport::open(path)?),
        DeviceAddress::Udp(addr) => Box::new(UdpTransport::connect(addr)?),
        #[cfg(feature = "pcsc")]
        DeviceAddress::Pcsc { reader, .. } => {
            return Ok(AnyChannel::Pcsc(PcscChannel::open(reader)?))
        }
        #[cfg(not(feature = "pcsc"))]
        DeviceAddress::Pcsc { .. } => return Err(no_pcsc()),
    };
    Ok(AnyChannel::Hid(HidChannel::open_with(transport, timeouts)?))
}

/// Yubico's USB vendor id.
pub const YUBICO_VENDOR_ID: u16 = 0x1050;
/// YubiKey CTAPHID vendor command "read config" (0xC2 on the wire).
pub const YUBIKEY_READ_CONFIG: u8 = 0x42;
/// Config TLV tag holding the serial number (4 bytes, big-endian).
const TAG_SERIAL: u8 = 0x02;
/// Config TLV tag saying another page follows (value 1).
const TAG_MORE_DATA: u8 = 0x10;
/// Pages read at most; real keys have one or two.
const MAX_PAGES: u8 = 16;

/// Parses one YubiKey config page: a length byte, then TLVs (1-byte tag, 1-byte length).
/// Returns the serial if present and whether another page follows.
pub fn parse_yubikey_config(page: &[u8]) -> Result<(Option<u32>, bool)> {
    let malformed = |what: &str| Error::Malformed(format!("YubiKey config: {what}"));
    let (&len, rest) = page.split_first().ok_or_else(|| malformed("empty reply"))?;
    let mut tlvs = rest
        .get(..usize::from(len))
        .ok_or_else(|| malformed("length byte exceeds the reply"))?;
    let mut serial = None;
    let mut more = false;
    while let [tag, l, tail @ ..] = tlvs {
        let value = tail
            .get(..usize::from(*l))
            .ok_or_else(|| malformed("TLV value runs past the end"))?;
        match *tag {
            TAG_SERIAL => {
                let bytes: [u8; 4] = value
                    .try_into()
                    .map_err(|_| malformed("serial number is not 4 bytes"))?;
                serial = Some(u32::from_be_bytes(bytes));
            }
            TAG_MORE_DATA => more = value.first().is_some_and(|&v| v != 0),
            _ => {}
        }
        tlvs = &tail[usize::from(*l)..];
    }
    if !tlvs.is_empty() {
        return Err(malformed("truncated TLV header"));
    }
    Ok((serial, more))
}

/// A YubiKey's serial number, however its transport carries it (see
/// [`CtapChannel::yubikey_serial`]).
pub fn yubikey_serial(ch: &mut dyn CtapChannel) -> Result<Option<u32>> {
    ch.yubikey_serial()
}

/// Reads a YubiKey's serial number with the vendor "read config" command, page by page.
/// `Ok(None)` when the key does not know the command or has no serial in its config.
pub fn yubikey_config_serial<C: CtapChannel + ?Sized>(ch: &mut C) -> Result<Option<u32>> {
    let mut found = None;
    for page in 0..MAX_PAGES {
        let reply = match ch.vendor(YUBIKEY_READ_CONFIG, &[page]) {
            Ok(r) => r,
            Err(Error::Hid(HidError::InvalidCommand)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let (serial, more) = parse_yubikey_config(&reply)?;
        found = found.or(serial);
        if !more {
            break;
        }
    }
    Ok(found)
}

/// The key's serial number for the records: the YubiKey serial for Yubico, UDP keys (the
/// simulator may emulate one) and cards (the OTP applet), otherwise the USB serial string
/// when not empty.
pub fn read_serial(desc: &DeviceDescriptor, ch: &mut dyn CtapChannel) -> Result<Option<String>> {
    if desc.vendor_id == YUBICO_VENDOR_ID || desc.is_udp() || desc.is_pcsc() {
        if let Some(serial) = ch.yubikey_serial()? {
            return Ok(Some(serial.to_string()));
        }
    }
    let usb = desc.serial_number.trim();
    Ok((!usb.is_empty()).then(|| usb.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_print() {
        assert_eq!("hid".parse(), Ok(DeviceSpec::AllHid));
        assert_eq!(" HID ".parse(), Ok(DeviceSpec::AllHid));
        assert_eq!(
            "hid:/dev/hidraw3".parse(),
            Ok(DeviceSpec::HidPath("/dev/hidraw3".into()))
        );
        assert_eq!(
            "hid:\\\\?\\hid#vid_1050&pid_0407:x".parse(),
            Ok(DeviceSpec::HidPath("\\\\?\\hid#vid_1050&pid_0407:x".into()))
        );
        let udp: DeviceSpec = "udp:localhost:8111".parse().unwrap();
        assert_eq!(
            udp,
            DeviceSpec::Udp {
                host: "localhost".into(),
                port: 8111
            }
        );
        assert_eq!(udp.to_string(), "udp:localhost:8111");
        let v6: DeviceSpec = "udp:[::1]:8111".parse().unwrap();
        assert_eq!(v6.to_string(), "udp:[::1]:8111");
        assert_eq!("PCSC".parse(), Ok(DeviceSpec::Pcsc));
        let reader: DeviceSpec = "pcsc:ACS ACR122U PICC Interface ".parse().unwrap();
        assert_eq!(
            reader,
            DeviceSpec::PcscReader("ACS ACR122U PICC Interface".into())
        );
        assert_eq!(reader.to_string(), "pcsc:ACS ACR122U PICC Interface");
        assert!(reader.is_pcsc() && !DeviceSpec::AllHid.is_pcsc());
    }

    #[test]
    fn bad_specs_name_the_spec_and_the_forms() {
        for bad in [
            "",
            "usb",
            "hid:",
            "udp:localhost",
            "udp::8111",
            "udp:h:0",
            "udp:h:70000",
            "udp:h:x",
            "pcsc: ",
        ] {
            let e = bad.parse::<DeviceSpec>().unwrap_err();
            let text = e.to_string();
            assert!(text.contains(&format!("{bad:?}")), "{text}");
            assert!(
                text.contains("udp:HOST:PORT") && text.contains("hid:PATH"),
                "{text}"
            );
        }
    }

    #[test]
    fn udp_list_does_not_probe() {
        let spec: DeviceSpec = "udp:127.0.0.1:9".parse().unwrap();
        let l = list(&spec).unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].address, DeviceAddress::Udp("127.0.0.1:9".into()));
        assert!(l[0].is_udp());
    }

    #[test]
    fn hid_list_is_ok() {
        assert!(list(&DeviceSpec::AllHid).is_ok());
        assert!(list(&DeviceSpec::HidPath("/dev/nope".into()))
            .unwrap()
            .is_empty());
    }
}
