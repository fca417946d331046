//! WebAuthn creation options to a CTAP2 makeCredential and back to the attestation a relying
//! party expects (WebAuthn L2 §5.1.3 "create", done by us as the client).

pub mod base64url;
pub mod client_data;
pub mod options;
pub mod registration;

pub use crate::commands::make_credential::{CredProtect, RelyingParty, User};
pub use client_data::client_data_json;
pub use options::{
    Attestation, CreationOptions, Extensions, PreparedRegistration, ResidentKey, UserVerification,
    DEFAULT_ALGORITHMS,
};
pub use registration::Registration;
