//! WebAuthn creation options (`fido2Methods/creationOptions`) for a user.

use crate::client::http::Answer;
use crate::client::{ApiVersion, GraphClient};
use crate::creation_options::{parse_creation_options, IssuedOptions};
use crate::error::{Error, Result};
use crate::ids::path_segment;
use crate::retry::Idempotency;
use reqwest::Method;

/// Smallest and largest `challengeTimeoutInMinutes` Graph accepts (5 minutes .. 30 days).
pub const CHALLENGE_TIMEOUT_MINUTES: std::ops::RangeInclusive<u32> = 5..=43200;

impl GraphClient {
    /// WebAuthn creation options for the user, converted, with their challenge's expiry. Beta: `creationOptions(challengeTimeoutInMinutes=N)`
    /// with N in 5..=43200; v1.0: no parameter (Graph fixes 5 minutes; N is still validated).
    pub async fn creation_options(
        &self,
        user: &str,
        challenge_timeout_minutes: u32,
    ) -> Result<IssuedOptions> {
        let user_segment = path_segment("user", user)?;
        if !CHALLENGE_TIMEOUT_MINUTES.contains(&challenge_timeout_minutes) {
            return Err(Error::InvalidArgument(format!(
                "challengeTimeoutInMinutes {challenge_timeout_minutes} is outside 5..=43200 (5 minutes to 30 days)"
            )));
        }
        let func = match self.inner.api {
            ApiVersion::Beta => {
                format!("creationOptions(challengeTimeoutInMinutes={challenge_timeout_minutes})")
            }
            ApiVersion::V1 => "creationOptions".to_owned(),
        };
        let url = self.url(
            &format!("users/{user_segment}/authentication/fido2Methods/{func}"),
            None,
        )?;
        let a = self
            .execute(
                "get creationOptions",
                Method::GET,
                url,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        if a.status != 200 {
            return Err(self.provisioning_error(&a, user));
        }
        parse_creation_options(&a.body, a.status).map_err(|e| with_request_id(e, &a))
    }
}

fn with_request_id(e: Error, a: &Answer) -> Error {
    match e {
        Error::Decode {
            what,
            status,
            detail,
            snippet,
            request_id: None,
        } => Error::Decode {
            what,
            status,
            detail,
            snippet,
            request_id: a.request_id.clone(),
        },
        e => e,
    }
}
