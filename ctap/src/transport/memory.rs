//! An in-process transport: two connected ends over std channels.
//!
//! Used to run the software authenticator's CTAPHID server in the same process as the client.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::{Report, ReportTransport};
use crate::{Error, Result};

/// One end of an in-process report pipe.
#[derive(Debug)]
pub struct MemoryTransport {
    tx: Sender<Report>,
    rx: Receiver<Report>,
}

/// A connected pair: `(client end, device end)`. What one sends the other receives.
pub fn pair() -> (MemoryTransport, MemoryTransport) {
    let (to_device, from_client) = mpsc::channel();
    let (to_client, from_device) = mpsc::channel();
    (
        MemoryTransport {
            tx: to_device,
            rx: from_device,
        },
        MemoryTransport {
            tx: to_client,
            rx: from_client,
        },
    )
}

fn closed() -> Error {
    Error::Transport("the in-process key was shut down".into())
}

impl ReportTransport for MemoryTransport {
    fn send(&mut self, report: &Report) -> Result<()> {
        self.tx.send(*report).map_err(|_| closed())
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<Report>> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => Ok(Some(r)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(closed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_is_connected_both_ways_and_reports_close() {
        let (mut a, mut b) = pair();
        let mut r = [0u8; 64];
        r[0] = 7;
        a.send(&r).unwrap();
        assert_eq!(b.recv(Duration::from_millis(100)).unwrap(), Some(r));
        assert_eq!(a.recv(Duration::from_millis(1)).unwrap(), None);
        b.send(&r).unwrap();
        assert_eq!(a.recv(Duration::from_millis(100)).unwrap(), Some(r));
        drop(b);
        assert!(matches!(
            a.recv(Duration::from_millis(1)),
            Err(Error::Transport(_))
        ));
        assert!(matches!(a.send(&r), Err(Error::Transport(_))));
    }
}
