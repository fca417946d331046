//! Microsoft Graph and identity-platform client for FIDO2 provisioning on behalf of users.
//!
//! [`GraphClient`] signs in app-only ([`Credentials`]: secret or certificate) or with a signed-in
//! operator's rights (device code, [`device_code`]), resolves the
//! provisioning group, lists its user members, fetches WebAuthn creation options, registers the
//! attestation and lists/deletes FIDO2 methods, following `shared/graph-spec/CONTRACT.md`.
//! Retries honour Retry-After; the registration POST is never blindly repeated.
//!
//! ```no_run
//! # async fn demo(request: graph::RegisterRequest) -> graph::Result<()> {
//! use graph::{Cloud, Credentials, GraphClient, GraphConfig};
//! let config = GraphConfig::new(
//!     Cloud::Global,
//!     "contoso.onmicrosoft.com",
//!     "11111111-2222-3333-4444-555555555555",
//!     Credentials::secret("secret value"),
//! );
//! let client = GraphClient::new(config)?; // clone it freely: clones share token and limits
//! let group = client.find_group_by_name("FIDO2").await?;
//! let members = client.members(&group.id, true).await?; // users + skipped (guests, devices...)
//! for user in &members.users {
//!     let issued = client.creation_options(&user.id, 60).await?;
//!     // makeCredential with issued.options (ctap::webauthn::CreationOptions) ...
//!     let expires = issued.expires_at;
//!     let still_valid = move || expires.is_some_and(|t| t > std::time::SystemTime::now());
//!     let done = client.register_fido2_method_safely(&user.id, &request, still_valid).await?;
//!     println!("{} -> {}", user.id, done.method.id);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]
#![warn(missing_docs)]

pub mod adaptive;
pub mod auth;
pub mod body;
pub mod client;
pub mod cloud;
pub mod creation_options;
pub mod device_code;
pub mod error;
pub mod ids;
pub mod retry;
pub mod secret;
pub mod wire;

#[cfg(feature = "fake")]
pub mod fake;

pub use adaptive::Concurrency;
pub use auth::{Credentials, RsaKey};
pub use client::policy::{
    Fido2Policy, KeyRestrictions, KeyVerdict, PasskeyProfile, PolicyTarget, ALL_USERS,
};
pub use client::{
    ApiVersion, DeleteOutcome, GraphClient, GraphConfig, Registration, ThrottlePriority, Timeouts,
};
pub use cloud::Cloud;
pub use creation_options::{IssuedOptions, OptionsError};
pub use device_code::{DeviceAuthorization, DeviceFlowFailure, SignedInAccount};
pub use error::{
    AuthError, Error, GraphError, GroupCandidate, Result, CHALLENGE_EXPIRED, CHALLENGE_UNKNOWN,
    CHALLENGE_USED,
};
pub use retry::RetryPolicy;
pub use secret::SecretString;
pub use wire::{Fido2Method, Group, Members, RegisterRequest, SkipReason, SkippedMember, User};
