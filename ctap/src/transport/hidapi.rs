//! Real security keys over USB HID through the `hidapi` crate (the only module that uses it).
//!
//! FIDO keys are found by their HID usage page 0xF1D0, usage 0x01 (CTAP 2.1 §11.2.8.1).
//! hidapi's `HidApi` context is not meant to be shared between threads, so enumeration goes
//! through one process-wide mutex.

use std::ffi::CString;
use std::sync::Mutex;
use std::time::Duration;

use hidapi::{HidApi, HidDevice};

use super::{Report, ReportTransport, REPORT_LEN};
use crate::{Error, Result};

/// FIDO Alliance HID usage page (CTAP 2.1 §11.2.8.1).
pub const FIDO_USAGE_PAGE: u16 = 0xF1D0;
/// CTAPHID usage within the FIDO page.
pub const FIDO_USAGE_CTAPHID: u16 = 0x01;

/// One enumerated FIDO HID interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HidDeviceInfo {
    /// Platform device path (e.g. `/dev/hidraw3`), what [`HidapiTransport::open`] takes.
    pub path: String,
    /// USB vendor id.
    pub vendor_id: u16,
    /// USB product id.
    pub product_id: u16,
    /// USB product string, empty when the key has none.
    pub product: String,
    /// USB manufacturer string, empty when the key has none.
    pub manufacturer: String,
    /// USB serial-number string, empty when the key has none.
    pub serial_number: String,
}

// A plain Mutex rather than OnceLock<Mutex<HidApi>>: creating the context can fail (e.g. no
// udev), and OnceLock::get_or_try_init is unstable, so the context is created lazily under
// the lock and a failed attempt is retried next time.
static HIDAPI: Mutex<Option<HidApi>> = Mutex::new(None);

fn hid_error(what: &str, e: hidapi::HidError) -> Error {
    Error::Transport(format!("{what}: {e}"))
}

/// Runs `f` with the process-wide hidapi context, creating it on first use.
fn with_api<R>(f: impl FnOnce(&mut HidApi) -> Result<R>) -> Result<R> {
    // A panic in another thread while it held the lock leaves the context usable.
    let mut guard = HIDAPI
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let api = match guard.as_mut() {
        Some(api) => api,
        None => {
            guard.insert(HidApi::new().map_err(|e| hid_error("cannot start USB HID access", e))?)
        }
    };
    f(api)
}

/// Lists the FIDO HID keys present now (empty on a machine without USB HID).
pub fn enumerate() -> Result<Vec<HidDeviceInfo>> {
    with_api(|api| {
        api.refresh_devices()
            .map_err(|e| hid_error("cannot list USB HID devices", e))?;
        let mut found: Vec<HidDeviceInfo> = Vec::new();
        for d in api.device_list() {
            if d.usage_page() != FIDO_USAGE_PAGE || d.usage() != FIDO_USAGE_CTAPHID {
                continue;
            }
            let path = d.path().to_string_lossy().into_owned();
            // Some platforms list one interface several times; keep the first.
            if found.iter().any(|f| f.path == path) {
                continue;
            }
            found.push(HidDeviceInfo {
                path,
                vendor_id: d.vendor_id(),
                product_id: d.product_id(),
                product: d.product_string().unwrap_or_default().to_owned(),
                manufacturer: d.manufacturer_string().unwrap_or_default().to_owned(),
                serial_number: d.serial_number().unwrap_or_default().to_owned(),
            });
        }
        Ok(found)
    })
}

/// An open FIDO HID key.
pub struct HidapiTransport {
    device: HidDevice,
    path: String,
}

impl std::fmt::Debug for HidapiTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidapiTransport")
            .field("path", &self.path)
            .finish()
    }
}

impl HidapiTransport {
    /// Opens the key at `path` (as listed by [`enumerate`]).
    pub fn open(path: &str) -> Result<Self> {
        let c_path = CString::new(path)
            .map_err(|_| Error::Transport(format!("invalid HID device path {path:?}")))?;
        let device = with_api(|api| {
            api.open_path(&c_path)
                .map_err(|e| Error::Transport(open_failure_text(path, &e)))
        })?;
        Ok(Self {
            device,
            path: path.to_owned(),
        })
    }

    /// The device path this transport was opened with.
    pub fn path(&self) -> &str {
        &self.path
    }
}

#[cfg(windows)]
fn open_failure_text(path: &str, e: &hidapi::HidError) -> String {
    // Since Windows 10 1903 only elevated processes may open FIDO HID devices directly;
    // everyone else must go through webauthn.dll, which cannot set PINs for us.
    format!(
        "cannot open the key {path}: {e}. On Windows, raw FIDO HID access needs an elevated \
         process: run Passkey Kiosk as administrator"
    )
}

#[cfg(not(windows))]
fn open_failure_text(path: &str, e: &hidapi::HidError) -> String {
    format!("cannot open the key {path}: {e} (check the udev rules / permissions for hidraw)")
}

impl ReportTransport for HidapiTransport {
    fn send(&mut self, report: &Report) -> Result<()> {
        // hidapi convention on every platform: byte 0 is the report id, 0 for keys that use
        // unnumbered reports, so 65 bytes go out.
        let mut buf = [0u8; REPORT_LEN + 1];
        buf[1..].copy_from_slice(report);
        let n = self
            .device
            .write(&buf)
            .map_err(|e| hid_error("cannot write to the key", e))?;
        if n < REPORT_LEN {
            return Err(Error::Transport(format!(
                "the key accepted only {n} of 65 bytes"
            )));
        }
        Ok(())
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        let mut buf = [0u8; REPORT_LEN];
        // hidapi takes milliseconds as i32, where -1 means forever; clamp instead.
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let n = self
            .device
            .read_timeout(&mut buf, ms)
            .map_err(|e| hid_error("cannot read from the key (was it removed?)", e))?;
        // Shorter reads leave zero padding, which is what the key sent as unused bytes.
        Ok((n > 0).then_some(buf))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enumeration_succeeds() {
        // On the build machine (no USB/hidraw) this is empty; with keys plugged in, each
        // interface must be listed once with a path.
        let keys = enumerate().unwrap();
        for (i, k) in keys.iter().enumerate() {
            assert!(!k.path.is_empty());
            assert!(
                keys[i + 1..].iter().all(|o| o.path != k.path),
                "duplicate {k:?}"
            );
        }
        // A second call reuses the shared context.
        assert_eq!(enumerate().unwrap().len(), keys.len());
    }

    #[test]
    fn opening_a_missing_path_is_a_transport_error() {
        match HidapiTransport::open("/dev/hidraw-does-not-exist") {
            Err(Error::Transport(text)) => {
                assert!(text.contains("hidraw-does-not-exist"), "{text}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            HidapiTransport::open("a\0b"),
            Err(Error::Transport(_))
        ));
    }
}
