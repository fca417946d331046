//! CTAP2 authenticator API commands (CTAP 2.1 §6), one file per command.
//!
//! Each request type implements [`Command`]: its command byte, its CBOR parameters and the
//! decoder of its response. Encoding and decoding are pure functions of bytes; only
//! [`transact`] touches a [`CtapChannel`].

pub mod client_pin;
pub mod config;
pub mod credential_management;
pub mod get_assertion;
pub mod get_info;
pub mod make_credential;
pub mod reset;

use ciborium::Value;

use crate::cbor::to_canonical_vec;
use crate::error::StatusCode;
use crate::{CancelToken, CtapChannel, Error, Result, StatusSink};

/// A CTAP2 request tied to its response type (as webauthn-rs does).
pub trait Command {
    /// The authenticator API command byte (CTAP 2.1 §6).
    const CMD: u8;
    /// What a successful reply decodes to.
    type Response;
    /// The request parameters (a CBOR map), or `None` for commands without any.
    fn params(&self) -> Option<Value>;
    /// Decodes the reply body (the CBOR after the status byte; may be empty).
    fn decode(body: &[u8]) -> Result<Self::Response>;

    /// The request message: command byte followed by canonical CBOR parameters.
    fn to_request(&self) -> Vec<u8> {
        let mut out = vec![Self::CMD];
        if let Some(p) = self.params() {
            out.extend_from_slice(&to_canonical_vec(&p));
        }
        out
    }
}

/// Splits a response message into its status and body; a non-zero status becomes
/// `Error::Ctap` (CTAP 2.1 §8.2).
pub fn split_response(response: &[u8]) -> Result<&[u8]> {
    match response.split_first() {
        None => Err(Error::Malformed("empty response".into())),
        Some((0, body)) => Ok(body),
        Some((&code, _)) => Err(Error::Ctap(StatusCode::from(code))),
    }
}

/// Sends `cmd` over `channel` and decodes its reply.
pub fn transact<C: Command + ?Sized>(
    channel: &mut dyn CtapChannel,
    cmd: &C,
    status: &dyn StatusSink,
    cancel: &CancelToken,
) -> Result<C::Response> {
    let response = channel.cbor(&cmd.to_request(), status, cancel)?;
    C::decode(split_response(&response)?)
}

/// Decodes a reply body that must be a CBOR map (an empty body is refused).
pub(crate) fn decode_map(body: &[u8], what: &str) -> Result<Value> {
    if body.is_empty() {
        return Err(Error::Malformed(format!("{what}: empty reply")));
    }
    let v = crate::cbor::from_slice(body)?;
    match v {
        Value::Map(_) => Ok(v),
        _ => Err(Error::Malformed(format!("{what}: reply is not a map"))),
    }
}

/// Decodes a reply that carries no data: empty, or (leniently) an empty map.
pub(crate) fn decode_empty(body: &[u8]) -> Result<()> {
    if body.is_empty() {
        return Ok(());
    }
    match crate::cbor::from_slice(body)? {
        Value::Map(m) if m.is_empty() => Ok(()),
        _ => Err(Error::Malformed("unexpected data in an empty reply".into())),
    }
}
