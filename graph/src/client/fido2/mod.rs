//! The user's FIDO2 methods: list, delete and recognise ours; creation options, registration and
//! the tenant's method policy live in the submodules.

use super::http::{graph_error, Answer};
use super::GraphClient;
use crate::error::{Error, Result};
use crate::ids::path_segment;
use crate::retry::Idempotency;
use crate::wire::{method_id_matches_credential, Fido2Method};
use reqwest::Method;

mod creation_options;
pub mod policy;
mod registration;

pub use creation_options::CHALLENGE_TIMEOUT_MINUTES;
pub use registration::Registration;

/// What `delete_fido2_method` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// 204: deleted now.
    Deleted,
    /// 404: there was nothing to delete (already gone, or the user does not exist).
    AlreadyGone,
}

impl GraphClient {
    /// The user's registered FIDO2 methods (`user` = object id, preferred, or UPN).
    pub async fn list_fido2_methods(&self, user: &str) -> Result<Vec<Fido2Method>> {
        let url = self.url(
            &format!(
                "users/{}/authentication/fido2Methods",
                path_segment("user", user)?
            ),
            None,
        )?;
        self.get_all("list fido2Methods", url).await
    }

    /// Deletes one method. 204 → `Deleted`; 404 → `AlreadyGone`.
    pub async fn delete_fido2_method(&self, user: &str, method_id: &str) -> Result<DeleteOutcome> {
        let url = self.url(
            &format!(
                "users/{}/authentication/fido2Methods/{}",
                path_segment("user", user)?,
                path_segment("method id", method_id)?
            ),
            None,
        )?;
        let a = self
            .execute(
                "delete fido2Method",
                Method::DELETE,
                url,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        match a.status {
            200 | 204 => Ok(DeleteOutcome::Deleted),
            404 => Ok(DeleteOutcome::AlreadyGone),
            _ => Err(graph_error(&a)),
        }
    }

    /// Our method among the user's, recognised by id = base64url(credId)+padDigit or base64url(credId).
    pub async fn find_registered_method(
        &self,
        user: &str,
        credential_id: &[u8],
    ) -> Result<Option<Fido2Method>> {
        Ok(self
            .list_fido2_methods(user)
            .await?
            .into_iter()
            .find(|m| method_id_matches_credential(&m.id, credential_id)))
    }

    /// A refused creationOptions/registration. With a delegated token, 405 means the operator
    /// targeted their own account (self-service provisioning is not supported).
    fn provisioning_error(&self, a: &Answer, user: &str) -> Error {
        match graph_error(a) {
            Error::Graph(g) if g.status == 405 && self.is_delegated() => Error::SelfProvisioning {
                user: user.to_owned(),
                graph: g,
            },
            e => e,
        }
    }
}
