//! Collecting user presence (CTAP 2.1 §6.1.2 step 11, §6.6): wait for the simulated touch
//! per the [`TouchPolicy`] in force, reporting UPNEEDED and honouring CTAPHID_CANCEL.

use std::time::{Duration, Instant};

use super::config::{TouchHandle, TouchPolicy};
use super::status::{CmdResult, Status};
use crate::handler::PresenceContext;
use crate::KeepaliveStatus;

/// How often the wait re-reads the policy and the cancel flag.
const POLL: Duration = Duration::from_millis(10);

/// Waits for a touch. `Ok(())` once touched; OPERATION_DENIED, USER_ACTION_TIMEOUT or
/// KEEPALIVE_CANCEL otherwise. The policy is re-read while waiting so a test can "touch" late.
pub(crate) fn collect(
    touch: &TouchHandle,
    timeout: Duration,
    presence: &dyn PresenceContext,
) -> CmdResult<()> {
    touch.count_request();
    let start = Instant::now();
    let mut announced = false;
    let outcome = loop {
        let waited = start.elapsed();
        match touch.get() {
            TouchPolicy::Immediate => break Ok(()),
            TouchPolicy::Delay(d) if waited >= d => break Ok(()),
            TouchPolicy::Deny => break Err(Status::OperationDenied),
            TouchPolicy::Delay(_) | TouchPolicy::Never => {}
        }
        if presence.is_cancelled() {
            break Err(Status::KeepaliveCancel);
        }
        if waited >= timeout {
            break Err(Status::UserActionTimeout);
        }
        if !announced {
            presence.set_status(KeepaliveStatus::UpNeeded);
            announced = true;
        }
        std::thread::sleep(POLL);
    };
    if announced {
        presence.set_status(KeepaliveStatus::Processing);
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Ctx {
        cancelled: AtomicBool,
        seen: Mutex<Vec<KeepaliveStatus>>,
    }

    impl PresenceContext for Ctx {
        fn set_status(&self, status: KeepaliveStatus) {
            self.seen.lock().unwrap().push(status);
        }
        fn is_cancelled(&self) -> bool {
            self.cancelled.load(Ordering::SeqCst)
        }
    }

    #[test]
    fn each_policy_gives_its_outcome() {
        let timeout = Duration::from_millis(60);
        let ctx = Ctx::default();
        let touch = TouchHandle::new(TouchPolicy::Immediate);
        assert_eq!(collect(&touch, timeout, &ctx), Ok(()));
        assert!(
            ctx.seen.lock().unwrap().is_empty(),
            "an immediate touch needs no UPNEEDED"
        );
        touch.set(TouchPolicy::Deny);
        assert_eq!(collect(&touch, timeout, &ctx), Err(Status::OperationDenied));
        touch.set(TouchPolicy::Never);
        assert_eq!(
            collect(&touch, timeout, &ctx),
            Err(Status::UserActionTimeout)
        );
        touch.set(TouchPolicy::Delay(Duration::from_millis(30)));
        assert_eq!(collect(&touch, timeout, &ctx), Ok(()));
        ctx.cancelled.store(true, Ordering::SeqCst);
        assert_eq!(collect(&touch, timeout, &ctx), Err(Status::KeepaliveCancel));
        assert_eq!(touch.requests(), 5);
        assert_eq!(ctx.seen.lock().unwrap()[0], KeepaliveStatus::UpNeeded);
    }
}
