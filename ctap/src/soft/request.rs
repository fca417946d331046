//! Reading request parameters (CTAP 2.1 §6: integer-keyed maps) into the status codes a key
//! answers for malformed input: absent → MISSING_PARAMETER, wrong type → CBOR_UNEXPECTED_TYPE.

use ciborium::value::Value;

use super::status::{CmdResult, Status};
use crate::cbor;

/// A decoded request parameter map.
pub(crate) struct Params<'a>(&'a Value);

impl<'a> Params<'a> {
    /// Wraps the request body; anything but a map is CTAP2_ERR_INVALID_CBOR.
    pub(crate) fn new(v: &'a Value) -> CmdResult<Self> {
        match v {
            Value::Map(_) => Ok(Params(v)),
            _ => Err(Status::InvalidCbor),
        }
    }

    pub(crate) fn get(&self, key: i64) -> Option<&'a Value> {
        cbor::map_get_int(self.0, key)
    }

    pub(crate) fn require(&self, key: i64) -> CmdResult<&'a Value> {
        self.get(key).ok_or(Status::MissingParameter)
    }

    pub(crate) fn opt_bytes(&self, key: i64) -> CmdResult<Option<&'a [u8]>> {
        self.get(key).map(as_bytes).transpose()
    }

    pub(crate) fn bytes(&self, key: i64) -> CmdResult<&'a [u8]> {
        as_bytes(self.require(key)?)
    }

    pub(crate) fn uint(&self, key: i64) -> CmdResult<u64> {
        as_uint(self.require(key)?)
    }

    pub(crate) fn opt_text(&self, key: i64) -> CmdResult<Option<&'a str>> {
        self.get(key).map(as_text).transpose()
    }
}

pub(crate) fn as_bytes(v: &Value) -> CmdResult<&[u8]> {
    cbor::expect_bytes(v, "").map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_text(v: &Value) -> CmdResult<&str> {
    cbor::expect_text(v, "").map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_bool(v: &Value) -> CmdResult<bool> {
    cbor::expect_bool(v, "").map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_int(v: &Value) -> CmdResult<i64> {
    cbor::expect_int(v, "").map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_uint(v: &Value) -> CmdResult<u64> {
    u64::try_from(as_int(v)?).map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_map(v: &Value) -> CmdResult<&[(Value, Value)]> {
    cbor::expect_map(v, "").map_err(|_| Status::CborUnexpectedType)
}

pub(crate) fn as_array(v: &Value) -> CmdResult<&[Value]> {
    cbor::expect_array(v, "").map_err(|_| Status::CborUnexpectedType)
}

/// The text-keyed entry `key` of map `v` (rp, user, options, extensions).
pub(crate) fn text_key<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    cbor::map_get_text(v, key)
}
