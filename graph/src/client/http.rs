//! HTTP plumbing shared by every call: URLs and paging, request execution with the token,
//! headers, concurrency limit, retries (a 429 pauses all bulk work) and capped body reading, and
//! turning an answer into a typed result.

use super::{GraphClient, ThrottlePriority};
use crate::adaptive::Signal;
use crate::auth::AccessToken;
use crate::body::{read_capped, BodyError, MAX_GRAPH_RESPONSE_BYTES};
use crate::cloud::check_transport;
use crate::error::{Error, GraphError, Result};
use crate::retry::{is_retryable_status, parse_retry_after, Decision, Idempotency, Outcome};
use crate::wire::{snippet, ErrorEnvelope, Page};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use std::time::SystemTime;
use url::Url;

/// A finished HTTP exchange whose status is final for the retry loop.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) request_id: Option<String>,
    pub(super) client_request_id: String,
    pub(super) body: Vec<u8>,
}

impl GraphClient {
    pub(super) fn url(&self, path: &str, query: Option<&str>) -> Result<Url> {
        let base = self.inner.graph_base.as_str().trim_end_matches('/');
        let mut s = format!("{base}/{}/{path}", self.inner.api.segment());
        if let Some(q) = query {
            s.push('?');
            s.push_str(q);
        }
        Url::parse(&s)
            .map_err(|e| Error::InvalidArgument(format!("cannot build URL for {path}: {e}")))
    }

    /// A nextLink is followed verbatim, but only to our own Graph origin: the bearer token must
    /// never go anywhere else.
    fn next_url(&self, link: &str, what: &'static str) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| Error::Decode {
            what,
            status: 200,
            detail: format!("@odata.nextLink is not a URL: {e}"),
            snippet: link.chars().take(200).collect(),
            request_id: None,
        })?;
        if url.origin() != self.inner.graph_base.origin() {
            return Err(Error::Decode {
                what,
                status: 200,
                detail: "@odata.nextLink points to another host; refusing to send the token there"
                    .into(),
                snippet: link.chars().take(200).collect(),
                request_id: None,
            });
        }
        check_transport(&url)?;
        Ok(url)
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        what: &'static str,
        url: Url,
    ) -> Result<T> {
        let a = self
            .execute(what, Method::GET, url, None, Idempotency::Idempotent)
            .await?;
        if a.status != 200 {
            return Err(graph_error(&a));
        }
        parse_json(what, &a)
    }

    /// All pages of a collection, following `@odata.nextLink` verbatim.
    pub(super) async fn get_all<T: DeserializeOwned>(
        &self,
        what: &'static str,
        first: Url,
    ) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: Page<T> = self.get_json(what, url).await?;
            out.extend(page.value);
            if let Some(link) = page.next_link {
                if !seen.insert(link.clone()) {
                    return Err(Error::Decode {
                        what,
                        status: 200,
                        detail: "@odata.nextLink repeats; stopping to avoid an endless loop".into(),
                        snippet: link.chars().take(200).collect(),
                        request_id: None,
                    });
                }
                next = Some(self.next_url(&link, what)?);
            }
        }
        Ok(out)
    }

    /// Sends with token, fresh `client-request-id`, concurrency limit, retries and one token
    /// refresh on 401. Returns any answer that is final (success or not); errors only for
    /// transport failures and exhausted throttling.
    pub(super) async fn execute(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        idem: Idempotency,
    ) -> Result<Answer> {
        check_transport(&url)?;
        let policy = &self.inner.policy;
        let mut attempts = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let token = self.inner.tokens.token().await?;
            let permit = self.inner.limiter.acquire(self.priority).await?;
            let crid = uuid::Uuid::new_v4().to_string();
            let sent = self
                .request(&method, &url, &token, &crid, body.as_deref(), attempts)?
                .send()
                .await;
            let read = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |name: &str| {
                        resp.headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                    };
                    let request_id = header("request-id");
                    let retry_after = header(RETRY_AFTER.as_str())
                        .and_then(|v| parse_retry_after(&v, SystemTime::now()));
                    read_capped(
                        resp,
                        operation,
                        MAX_GRAPH_RESPONSE_BYTES,
                        request_id.clone(),
                        &crid,
                    )
                    .await
                    .map(|b| (status, request_id, retry_after, b))
                }
                Err(e) => Err(BodyError::Transport(e)),
            };
            let (status, request_id, retry_after, body_bytes) = match read {
                Ok(r) => r,
                Err(BodyError::TooLarge(e)) => {
                    self.inner.limiter.answered(permit, Signal::Unknown);
                    return Err(*e);
                }
                Err(BodyError::Transport(e)) => {
                    self.inner.limiter.answered(permit, Signal::Unknown);
                    let outcome = Outcome::Transport {
                        connect: e.is_connect(),
                    };
                    match policy.decide(attempts, outcome, idem, rand::random()) {
                        Decision::Retry(d) => {
                            tracing::warn!(operation, error = %e, delay_ms = d.as_millis() as u64, "request failed; retrying");
                            tokio::time::sleep(d).await;
                            continue;
                        }
                        Decision::Stop => {
                            return Err(Error::Http {
                                operation,
                                timeout: e.is_timeout(),
                                connect: e.is_connect(),
                                client_request_id: crid,
                                source: e,
                            })
                        }
                    }
                }
            };
            // Decided before the permit goes back, so the pause bulk work waits out is the
            // wait this request will make (a backoff when a 429 names none).
            let decision = is_retryable_status(status).then(|| {
                let outcome = Outcome::Status {
                    status,
                    retry_after,
                };
                policy.decide(attempts, outcome, idem, rand::random())
            });
            // The limit is per app+tenant: announced throttling pauses all bulk work.
            let announced = status == 429 || retry_after.is_some();
            let pause = match decision {
                Some(Decision::Retry(d)) if announced => Some(d),
                _ => retry_after,
            };
            self.inner
                .limiter
                .answered(permit, Signal::from_status(status, pause));
            let answer = Answer {
                status,
                request_id,
                client_request_id: crid,
                body: body_bytes,
            };
            if status == 401 && !refreshed && is_invalid_token(&answer.body) {
                // Expired or revoked token: fetch a new one once; this attempt does not count.
                refreshed = true;
                attempts -= 1;
                self.inner.tokens.invalidate(&token).await;
                tracing::info!(operation, "access token refused; refreshing once");
                continue;
            }
            if let Some(decision) = decision {
                match decision {
                    Decision::Retry(d) => {
                        tracing::warn!(
                            operation,
                            status,
                            request_id = answer.request_id.as_deref().unwrap_or(""),
                            delay_ms = d.as_millis() as u64,
                            "throttled or unavailable; retrying"
                        );
                        // Bulk work waits in the limiter, behind the pause set above.
                        if !(announced && self.priority == ThrottlePriority::Low) {
                            tokio::time::sleep(d).await;
                        }
                        continue;
                    }
                    Decision::Stop if status == 429 || idem == Idempotency::Idempotent => {
                        return Err(Error::Throttled {
                            status,
                            attempts,
                            retry_after,
                            request_id: answer
                                .request_id
                                .or_else(|| envelope_request_id(&answer.body)),
                        })
                    }
                    Decision::Stop => return Ok(answer),
                }
            }
            return Ok(answer);
        }
    }

    fn request(
        &self,
        method: &Method,
        url: &Url,
        token: &AccessToken,
        crid: &str,
        body: Option<&[u8]>,
        attempt: u32,
    ) -> Result<reqwest::RequestBuilder> {
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", token.secret.expose_secret()))
            .map_err(|_| Error::Decode {
                what: "token response",
                status: 200,
                detail: "access token contains characters not allowed in a header".into(),
                snippet: "(withheld: token)".into(),
                request_id: None,
            })?;
        bearer.set_sensitive(true);
        let mut rb = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, bearer)
            .header(ACCEPT, "application/json")
            .header("client-request-id", crid);
        if attempt > 1 {
            rb = rb.header("Retry-Attempt", (attempt - 1).to_string());
        }
        if let Some(priority) = self.priority.header_value() {
            rb = rb.header("x-ms-throttle-priority", priority);
        }
        if let Some(b) = body {
            rb = rb.header(CONTENT_TYPE, "application/json").body(b.to_vec());
        }
        Ok(rb)
    }
}

fn is_invalid_token(body: &[u8]) -> bool {
    // An empty 401 body is treated as a refused token too (gateways strip bodies).
    body.iter().all(u8::is_ascii_whitespace)
        || serde_json::from_slice::<ErrorEnvelope>(body)
            .map(|e| {
                e.error
                    .code
                    .eq_ignore_ascii_case("InvalidAuthenticationToken")
            })
            .unwrap_or(false)
}

fn envelope_request_id(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<ErrorEnvelope>(body)
        .ok()?
        .error
        .inner_error?
        .find_request_id()
        .map(str::to_owned)
}

pub(super) fn graph_error(a: &Answer) -> Error {
    let (code, message, inner) = match serde_json::from_slice::<ErrorEnvelope>(&a.body) {
        Ok(env) => (env.error.code, env.error.message, env.error.inner_error),
        Err(_) => ("(no JSON error body)".to_owned(), snippet(&a.body), None),
    };
    let request_id = a.request_id.clone().or_else(|| {
        inner
            .as_ref()
            .and_then(|i| i.find_request_id())
            .map(str::to_owned)
    });
    Error::Graph(Box::new(GraphError {
        status: a.status,
        code,
        message: message.chars().take(500).collect(),
        request_id,
        client_request_id: Some(a.client_request_id.clone()),
        date: inner.and_then(|i| i.date),
    }))
}

pub(super) fn parse_json<T: DeserializeOwned>(what: &'static str, a: &Answer) -> Result<T> {
    serde_json::from_slice(&a.body).map_err(|e| Error::Decode {
        what,
        status: a.status,
        detail: e.to_string(),
        snippet: snippet(&a.body),
        request_id: a.request_id.clone(),
    })
}
