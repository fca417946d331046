//! The test kit every integration test and the engine bench share: each helper once, in a
//! module whose name says what it holds. A test binary uses only part of it, hence the one
//! `dead_code` allowance here.
#![allow(dead_code)]

pub mod bin;
pub mod config;
#[cfg(feature = "demo")]
pub mod demo;
pub mod desk;
pub mod events;
pub mod journal;
pub mod keys;
pub mod pdf;
pub mod slot;
pub mod station;
pub mod tenant;
#[cfg(feature = "demo")]
pub mod ui;
