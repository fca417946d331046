//! authenticatorReset (0x07, CTAP 2.1 §6.6) and authenticatorSelection (0x0B, §6.9).

use super::key::{KeyState, Volatile};
use super::presence;
use super::state::PersistentState;
use super::status::{CmdResult, Status};
use crate::handler::PresenceContext;

impl KeyState {
    /// Factory reset: only within the reset window after power-up, and only after a touch.
    pub(crate) fn reset(&mut self, presence_ctx: &dyn PresenceContext) -> CmdResult<()> {
        if self.volatile.powered_at.elapsed() > self.config.reset_window {
            return Err(Status::NotAllowed);
        }
        presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)?;
        // The signature counter stays monotonic across resets, as on most real keys.
        let sign_count = self.persistent.sign_count;
        self.persistent = PersistentState::fresh(self.config.min_pin_length);
        self.persistent.sign_count = sign_count;
        let powered_at = self.volatile.powered_at;
        self.volatile = Volatile::power_up();
        self.volatile.powered_at = powered_at;
        self.persist()?;
        tracing::info!("soft key: reset to factory state");
        Ok(())
    }

    /// authenticatorSelection: the user touches the key they mean.
    pub(crate) fn selection(&mut self, presence_ctx: &dyn PresenceContext) -> CmdResult<()> {
        presence::collect(&self.touch, self.config.touch_timeout, presence_ctx)
    }
}
