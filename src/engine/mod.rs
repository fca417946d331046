//! The enrollment workflow shared by the kiosk and the headless commands.

pub mod random_pin;
