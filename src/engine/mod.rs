//! The enrollment workflow shared by the kiosk and the headless commands.
//!
//! [`api`] is the whole interface: commands in, events out.

pub mod api;
pub mod random_pin;
