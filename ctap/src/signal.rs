//! How a request that waits on the key talks to its caller: status out, cancellation in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What a key reports while it works on a request (CTAPHID KEEPALIVE, CTAP 2.1 §11.2.9.1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepaliveStatus {
    /// The key is busy (STATUS_PROCESSING, 1).
    Processing,
    /// The key waits for a touch (STATUS_UPNEEDED, 2): the UI shows "touch your key".
    UpNeeded,
}

/// Receives status while a request waits. Implementations must not block.
pub trait StatusSink: Sync {
    /// Called on each keepalive whose status differs from the previous one.
    fn status(&self, status: KeepaliveStatus);
}

/// A [`StatusSink`] that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoStatus;

impl StatusSink for NoStatus {
    fn status(&self, _status: KeepaliveStatus) {}
}

impl<F: Fn(KeepaliveStatus) + Sync> StatusSink for F {
    fn status(&self, status: KeepaliveStatus) {
        self(status)
    }
}

/// Cancels a waiting request from another thread. Cloning shares the flag.
///
/// The waiting driver checks it between report reads and then sends CTAPHID_CANCEL.
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A fresh, not-cancelled token.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks the request to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    /// Whether [`cancel`](Self::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    /// Clears the flag so the token can be reused for the next request.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst)
    }
}
