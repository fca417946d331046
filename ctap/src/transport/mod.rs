//! Report transports: move one 64-byte CTAPHID report at a time.
//!
//! - [`hidapi`]: real keys over USB HID (the only module that touches the `hidapi` crate).
//! - [`udp`]: one report per datagram (the SoloKeys simulator convention).
//! - [`memory`]: an in-process connected pair, for the software authenticator.

pub mod hidapi;
pub mod memory;
pub mod udp;

use std::time::Duration;

use crate::Result;

/// Size of a CTAPHID report for full-speed USB keys (CTAP 2.1 §11.2.4).
///
/// A module constant rather than an associated one so `dyn ReportTransport` stays possible.
pub const REPORT_LEN: usize = 64;

/// One HID report, without the report-ID byte.
pub type Report = [u8; REPORT_LEN];

/// Moves whole 64-byte reports to and from one device (or, on the device side, its host).
pub trait ReportTransport: Send {
    /// Sends one report.
    fn send(&mut self, report: &Report) -> Result<()>;
    /// Waits up to `timeout` for one report; `Ok(None)` when none came in time.
    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>>;
}

impl<T: ReportTransport + ?Sized> ReportTransport for Box<T> {
    fn send(&mut self, report: &Report) -> Result<()> {
        (**self).send(report)
    }
    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        (**self).recv(timeout)
    }
}

impl<T: ReportTransport + ?Sized> ReportTransport for &mut T {
    fn send(&mut self, report: &Report) -> Result<()> {
        (**self).send(report)
    }
    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        (**self).recv(timeout)
    }
}
