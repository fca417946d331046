//! The enrollment workflow shared by the kiosk and the headless commands.
//!
//! [`api`] is the whole interface: commands in, events out. [`Engine::start`] runs it: one
//! loop thread ([`core`]), a job thread per key ([`job`]), Graph calls on a tokio runtime,
//! write-ahead commits to the journal, recovery of what a crash left ([`recovery`]).

pub mod api;
pub mod audit;
pub mod core;
pub mod crash;
pub mod errors;
pub mod job;
mod journal_watch;
pub mod key_name;
pub mod key_source;
pub mod options;
pub mod policy_check;
pub mod prefetch;
pub mod print_letter;
pub mod queue_refresh;
pub mod queue_view;
pub mod random_pin;
pub mod recovery;
pub mod registration_check;
pub mod remedy;
pub mod steps;

pub use self::core::{Emitter, Engine, EngineHandle, EngineSetup};
pub use key_source::KeySource;
