//! Registering an attestation (`POST fido2Methods`), and recognising the outcome of a POST whose
//! answer was lost before anything is posted again.

use crate::client::http::{graph_error, parse_json};
use crate::client::GraphClient;
use crate::error::{Error, Result};
use crate::ids::path_segment;
use crate::retry::Idempotency;
use crate::wire::{Fido2Method, RegisterRequest};
use reqwest::Method;

/// Result of [`GraphClient::register_fido2_method_safely`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The method as Graph has it.
    pub method: Fido2Method,
    /// True when the POST's answer was lost and the method was found by listing.
    pub recovered: bool,
    /// POSTs sent (1 or 2).
    pub posts: u32,
    /// Graph's request-id of the answer that returned the method (the POST's; `None` when the
    /// method was found by listing).
    pub request_id: Option<String>,
}

impl GraphClient {
    /// POSTs the attestation once. Not idempotent: after a timeout, reset or 5xx the outcome is
    /// unknown and `Error::RegistrationOutcomeUnknown` is returned — never a blind re-post. 429 and
    /// 401 (token refresh) are retried: those requests were not processed.
    pub async fn register_fido2_method(
        &self,
        user: &str,
        req: &RegisterRequest,
    ) -> Result<Fido2Method> {
        self.post_fido2_method(user, req).await.map(|(m, _)| m)
    }

    /// [`GraphClient::register_fido2_method`], with the answer's request-id.
    async fn post_fido2_method(
        &self,
        user: &str,
        req: &RegisterRequest,
    ) -> Result<(Fido2Method, Option<String>)> {
        let user_segment = path_segment("user", user)?;
        if req.credential_id.is_empty()
            || req.client_data_json.is_empty()
            || req.attestation_object.is_empty()
        {
            return Err(Error::InvalidArgument(
                "credential id, clientDataJSON and attestation object must not be empty".into(),
            ));
        }
        let url = self.url(
            &format!("users/{user_segment}/authentication/fido2Methods"),
            None,
        )?;
        let body = serde_json::to_vec(&req.to_body())
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let res = self
            .execute(
                "register fido2Method",
                Method::POST,
                url,
                Some(body),
                Idempotency::NonIdempotent,
            )
            .await;
        let a = match res {
            Ok(a) => a,
            Err(Error::Http {
                connect: false,
                timeout,
                client_request_id,
                source,
                ..
            }) => {
                return Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: format!(
                        "{}: {source}",
                        if timeout {
                            "no answer before the timeout"
                        } else {
                            "connection lost after sending"
                        }
                    ),
                    client_request_id,
                    request_id: None,
                })
            }
            // An answer too large to read: if it said created (or a server error), the method
            // may be stored, so it is looked up before anything is posted again.
            Err(Error::ResponseTooLarge {
                operation,
                endpoint,
                status,
                limit,
                announced,
                request_id,
                client_request_id,
            }) if !(300..500).contains(&status) => {
                let cause = Error::ResponseTooLarge {
                    operation,
                    endpoint,
                    status,
                    limit,
                    announced,
                    request_id: request_id.clone(),
                    client_request_id: client_request_id.clone(),
                };
                return Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: cause.to_string(),
                    client_request_id,
                    request_id,
                });
            }
            Err(e) => return Err(e),
        };
        match a.status {
            200 | 201 => parse_json::<Fido2Method>("registered fido2Method", &a)
                .map(|m| (m, a.request_id.clone())),
            s if s >= 500 => Err(Error::RegistrationOutcomeUnknown {
                user: user.to_owned(),
                cause: format!("Graph answered HTTP {s}: {}", graph_error(&a)),
                client_request_id: a.client_request_id.clone(),
                request_id: a.request_id.clone(),
            }),
            _ => Err(self.provisioning_error(&a, user)),
        }
    }

    /// Registers, and after an ambiguous failure recognises the outcome before anything else:
    /// waits `recheck_delay`, lists the user's methods and returns ours if it is there. Only if it
    /// is not, and `challenge_still_valid()` says so, posts the same body once more. (The challenge
    /// is single-use: re-posting after a stored-but-unanswered POST would only fail as duplicate or
    /// consumed, which is why recognition comes first.)
    pub async fn register_fido2_method_safely(
        &self,
        user: &str,
        req: &RegisterRequest,
        challenge_still_valid: impl FnOnce() -> bool,
    ) -> Result<Registration> {
        let first = match self.post_fido2_method(user, req).await {
            Ok((method, request_id)) => {
                return Ok(Registration {
                    method,
                    recovered: false,
                    posts: 1,
                    request_id,
                });
            }
            Err(e @ Error::RegistrationOutcomeUnknown { .. }) => e,
            Err(e) => return Err(e),
        };
        tracing::warn!(error = %first, "registration outcome unknown; looking the method up");
        self.settle_unclear(user, req, first, 1, challenge_still_valid)
            .await
    }

    /// Posts again a body whose earlier POST had an unclear outcome (an interrupted run) and
    /// that the caller looked up without finding it. The list may lag behind the write, so a
    /// refusal (the challenge already used, a duplicate) is checked by listing again before it
    /// is returned; when the list cannot be read, the outcome stays unknown.
    pub async fn register_fido2_method_again(
        &self,
        user: &str,
        req: &RegisterRequest,
    ) -> Result<Registration> {
        match self.post_fido2_method(user, req).await {
            Ok((method, request_id)) => Ok(Registration {
                method,
                recovered: false,
                posts: 1,
                request_id,
            }),
            Err(e @ Error::RegistrationOutcomeUnknown { .. }) => {
                self.settle_unclear(user, req, e, 1, || false).await
            }
            Err(refused) => match self.recheck(user, &req.credential_id).await {
                Ok(Some(method)) => Ok(Registration {
                    method,
                    recovered: true,
                    posts: 1,
                    request_id: None,
                }),
                Ok(None) => Err(refused),
                Err(lookup) => Err(Error::RegistrationOutcomeUnknown {
                    user: user.to_owned(),
                    cause: format!(
                        "an earlier POST's outcome was unclear, posting again was refused ({refused}) and the look-up that followed failed: {lookup}"
                    ),
                    client_request_id: String::new(),
                    request_id: refused.request_id().map(str::to_owned),
                }),
            },
        }
    }

    /// After a POST whose outcome is unknown (`first`): our method if the list shows it,
    /// else one more POST while the challenge is valid. Every way this can fail stays
    /// `RegistrationOutcomeUnknown` (Graph may hold the method though the list does not show
    /// it yet): a caller that took it for a refusal would create a second passkey.
    async fn settle_unclear(
        &self,
        user: &str,
        req: &RegisterRequest,
        first: Error,
        posts: u32,
        challenge_still_valid: impl FnOnce() -> bool,
    ) -> Result<Registration> {
        let found = |method| Registration {
            method,
            recovered: true,
            posts,
            request_id: None,
        };
        match self.recheck(user, &req.credential_id).await {
            Ok(Some(method)) => return Ok(found(method)),
            Ok(None) => {}
            Err(lookup) => {
                return Err(still_unknown(
                    first,
                    "the look-up that followed failed",
                    &lookup,
                ))
            }
        }
        if !challenge_still_valid() {
            return Err(first);
        }
        match self.post_fido2_method(user, req).await {
            Ok((method, request_id)) => Ok(Registration {
                method,
                recovered: false,
                posts: posts + 1,
                request_id,
            }),
            Err(second) => {
                // A second ambiguous failure, or a "challenge already used" 400 because the
                // first POST landed late: look once more before giving up.
                let posts = posts + 1;
                match self.recheck(user, &req.credential_id).await {
                    Ok(Some(method)) => Ok(Registration {
                        method,
                        recovered: true,
                        posts,
                        request_id: None,
                    }),
                    Ok(None) => Err(still_unknown(
                        first,
                        "posting again failed and the list does not show the method yet",
                        &second,
                    )),
                    Err(lookup) => Err(still_unknown(
                        first,
                        "posting again and the look-up after it failed",
                        &lookup,
                    )),
                }
            }
        }
    }

    async fn recheck(&self, user: &str, credential_id: &[u8]) -> Result<Option<Fido2Method>> {
        tokio::time::sleep(self.inner.policy.recheck_delay).await;
        self.find_registered_method(user, credential_id).await
    }
}

/// `first` (an unknown registration outcome) with what was learnt since added to its cause:
/// briefly (the operator reads it), the full `since` goes to the log.
fn still_unknown(first: Error, what: &str, since: &Error) -> Error {
    tracing::warn!(error = %since, "{what}");
    let note = match since.request_id() {
        Some(rid) => format!("{what} (request-id {rid})"),
        None => what.to_owned(),
    };
    match first {
        Error::RegistrationOutcomeUnknown {
            user,
            cause,
            client_request_id,
            request_id,
        } => Error::RegistrationOutcomeUnknown {
            user,
            cause: format!("{cause}; {note}"),
            client_request_id,
            request_id,
        },
        other => other,
    }
}
