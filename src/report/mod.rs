//! The proof of concept's CSV files, read and written in its exact formats.

pub mod keys_registered;
pub mod users_to_register;
