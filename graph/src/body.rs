//! Reading response bodies with a size cap. Every answer from the token endpoints and from Graph
//! is read through [`read_capped`]: an announced length over the cap is refused before a byte of
//! the body is read, and the body is otherwise read chunk by chunk and dropped as soon as it
//! passes the cap, so a huge or endless answer (a wrong base URL, a misbehaving proxy, a hostile
//! server) never fills the station's memory.

use crate::error::Error;

/// Largest answer accepted from the identity platform's token and device-code endpoints. Real
/// answers are a few KiB (access, refresh and ID tokens of a few KiB each, or an OAuth error).
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 64 * 1024;

/// Largest answer accepted from Microsoft Graph. The biggest real one is a page of 999 group
/// members (about 300 KiB) or a user's FIDO2 methods with their attestation certificates; 4 MiB
/// leaves room for growth without letting one answer take the station's memory.
pub const MAX_GRAPH_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The connection failed while reading (a transport error, retried like one).
    Transport(reqwest::Error),
    /// The body is larger than the cap: [`Error::ResponseTooLarge`], final.
    TooLarge(Box<Error>),
}

/// Reads `resp`'s body, at most `limit` bytes. `operation` names the request in the error,
/// `request_id` is the answer's request id header, if it had one, and `client_request_id` ours.
pub(crate) async fn read_capped(
    mut resp: reqwest::Response,
    operation: &'static str,
    limit: usize,
    request_id: Option<String>,
    client_request_id: &str,
) -> Result<Vec<u8>, BodyError> {
    let too_large = |resp: &reqwest::Response, announced: Option<u64>| {
        let url = resp.url();
        BodyError::TooLarge(Box::new(Error::ResponseTooLarge {
            operation,
            // Without the query: the endpoint, not the request's parameters.
            endpoint: format!("{}{}", url.origin().ascii_serialization(), url.path()),
            status: resp.status().as_u16(),
            limit,
            announced,
            request_id: request_id.clone(),
            client_request_id: client_request_id.to_owned(),
        }))
    };
    let announced = resp.content_length();
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(too_large(&resp, announced));
    }
    let mut body = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large(&resp, announced));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
