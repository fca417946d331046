//! Passkey Kiosk as a library, so tests build the app without `main`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod cli;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod engine;
pub mod i18n;
pub mod keys;
pub mod letters;
pub mod logging;
pub mod owner_only;
pub mod report;
pub mod station;
pub mod store;
pub mod tenant;
pub mod ui;
