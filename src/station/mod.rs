//! Station services beside the engine: who operates the station (sign-in, lock, unlock, exit,
//! each audited), the operator passcode, and the checks of the machine at start (file
//! permissions, key and reader access, disk space), shared by the kiosk and `doctor`. No UI here:
//! the kiosk sends commands and renders the events these services answer with.

pub mod file_modes;
pub mod host_checks;
pub mod operator_auth;
pub mod passcode;
pub mod throttle;

pub use operator_auth::{OperatorAuth, OperatorService};
