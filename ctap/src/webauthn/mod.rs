//! From Microsoft Graph's WebAuthn creation options to a CTAP2 makeCredential and back to
//! the attestation Graph expects (WebAuthn L2 §5.1.3 "create", done by us as the client).

pub mod client_data;
pub mod credential_id;
pub mod options;
pub mod registration;

pub use client_data::client_data_json;
pub use credential_id::decode_credential_id;
pub use options::{CreationOptions, PreparedRegistration};
pub use registration::Registration;
