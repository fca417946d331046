//! The authenticator side of a channel: what a CTAPHID device server hands requests to.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::KeepaliveStatus;

/// Lets an authenticator working on a request report status and notice CTAPHID_CANCEL.
pub trait PresenceContext {
    /// Sets the status the server sends in keepalives from now on.
    fn set_status(&self, status: KeepaliveStatus);
    /// Whether the client sent CTAPHID_CANCEL for the request in progress.
    fn is_cancelled(&self) -> bool;
}

/// An authenticator: turns request messages into response messages.
pub trait CtapHandler: Send {
    /// Handles one CTAPHID_CBOR message (command byte + CBOR) and returns status byte + CBOR.
    /// May block (waiting for a touch); must poll `presence.is_cancelled()` while it does.
    fn handle_cbor(&mut self, request: &[u8], presence: &dyn PresenceContext) -> Vec<u8>;

    /// Handles a vendor CTAPHID command (`cmd` without the init bit). `None` means the
    /// server answers ERR_INVALID_CMD.
    fn handle_vendor(&mut self, _cmd: u8, _data: &[u8]) -> Option<Vec<u8>> {
        None
    }

    /// CTAPHID_WINK.
    fn wink(&mut self) {}
}

/// Status and cancel flag shared between a device server and the handler's worker thread.
#[derive(Debug, Default)]
pub(crate) struct Presence {
    status: AtomicU8,
    cancelled: AtomicBool,
}

impl PresenceContext for Presence {
    fn set_status(&self, status: KeepaliveStatus) {
        let code = match status {
            KeepaliveStatus::Processing => 1,
            KeepaliveStatus::UpNeeded => 2,
        };
        self.status.store(code, Ordering::SeqCst);
    }
    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// A CBOR request running on a worker thread, so the server keeps answering (keepalives,
/// status updates) and can pass a cancellation on.
#[derive(Debug)]
pub(crate) struct Running {
    presence: Arc<Presence>,
    done: Receiver<Vec<u8>>,
}

/// The worker ended without a reply (the handler panicked).
#[derive(Debug)]
pub(crate) struct WorkerLost;

impl Running {
    /// Starts `request` on `handler` in a worker thread.
    pub(crate) fn start<H: CtapHandler + 'static>(
        handler: &Arc<Mutex<H>>,
        request: Vec<u8>,
    ) -> std::io::Result<Running> {
        let presence = Arc::new(Presence::default());
        presence.set_status(KeepaliveStatus::Processing);
        let (tx, done) = mpsc::channel();
        let handler = Arc::clone(handler);
        let ctx = Arc::clone(&presence);
        thread::Builder::new()
            .name("ctap-worker".into())
            .spawn(move || {
                let mut h = handler.lock().unwrap_or_else(|p| p.into_inner());
                let reply = h.handle_cbor(&request, &*ctx);
                let _ = tx.send(reply);
            })?;
        Ok(Running { presence, done })
    }

    /// The reply, if it comes within `wait` (zero: only if it is there already).
    pub(crate) fn reply_within(&self, wait: Duration) -> Result<Option<Vec<u8>>, WorkerLost> {
        match self.done.recv_timeout(wait) {
            Ok(reply) => Ok(Some(reply)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(WorkerLost),
        }
    }

    /// The status the handler last reported.
    pub(crate) fn status(&self) -> KeepaliveStatus {
        match self.presence.status.load(Ordering::SeqCst) {
            2 => KeepaliveStatus::UpNeeded,
            _ => KeepaliveStatus::Processing,
        }
    }

    /// Asks the handler to stop (it answers KEEPALIVE_CANCEL).
    pub(crate) fn cancel(&self) {
        self.presence.cancelled.store(true, Ordering::SeqCst);
    }
}
