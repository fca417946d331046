//! CTAP2 canonical CBOR (CTAP 2.1 §8 "Message Encoding"): an encoder that always emits the
//! canonical form and a strict, bounded decoder, both over [`ciborium::Value`].
//!
//! Both directions are written here rather than delegated to ciborium's serde layer because
//! ciborium keeps map entries in insertion order (CTAP2 requires sorted keys) and its decoder
//! has no input-size bound. The decoder never allocates more than the input could hold: every
//! length is checked against the bytes that remain before anything is reserved.

use ciborium::value::{Integer, Value};

use crate::{Error, Result};

/// Deepest nesting of arrays/maps/tags accepted; CTAP messages nest at most ~5 levels.
pub const MAX_DEPTH: usize = 16;

/// Largest message accepted by [`from_slice`]. CTAPHID carries at most 7609 bytes
/// (CTAP 2.1 §11.2.4); other carriers allow more, so leave headroom for maxMsgSize keys.
pub const MAX_INPUT: usize = 64 * 1024;

/// Encodes `v` in CTAP2 canonical form (CTAP 2.1 §8): shortest integer and length
/// encodings, definite lengths only, map keys sorted by major type, then encoded length,
/// then bytewise, recursively for nested maps.
pub fn to_canonical_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode(v, &mut out);
    out
}

fn header(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n <= u64::from(u8::MAX) {
        out.push(m | 24);
        out.push(n as u8);
    } else if n <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else if n <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Integer(i) => {
            let i = i128::from(*i);
            if i >= 0 {
                header(0, i as u64, out);
            } else {
                // CBOR negative integers encode -1 - n.
                header(1, (-1 - i) as u64, out);
            }
        }
        Value::Bytes(b) => {
            header(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            header(3, t.len() as u64, out);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            header(4, items.len() as u64, out);
            for item in items {
                encode(item, out);
            }
        }
        Value::Map(entries) => {
            let mut encoded: Vec<(Vec<u8>, Vec<u8>)> = entries
                .iter()
                .map(|(k, v)| (to_canonical_vec(k), to_canonical_vec(v)))
                .collect();
            encoded.sort_by(|(a, _), (b, _)| canonical_key_order(a, b));
            header(5, encoded.len() as u64, out);
            for (k, v) in encoded {
                out.extend_from_slice(&k);
                out.extend_from_slice(&v);
            }
        }
        Value::Tag(tag, inner) => {
            header(6, *tag, out);
            encode(inner, out);
        }
        Value::Bool(false) => out.push(0xF4),
        Value::Bool(true) => out.push(0xF5),
        Value::Null => out.push(0xF6),
        // CTAP never sends floats; encode losslessly as a double so nothing is silently dropped.
        Value::Float(f) => {
            out.push(0xFB);
            out.extend_from_slice(&f.to_be_bytes());
        }
        // `Value` is non-exhaustive; anything new encodes as null rather than panicking.
        _ => out.push(0xF6),
    }
}

/// CTAP 2.1 §8 canonical key order over encoded keys: lower major type first, then
/// shorter encoding, then bytewise.
fn canonical_key_order(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let major = |k: &[u8]| k.first().map(|b| b >> 5);
    major(a)
        .cmp(&major(b))
        .then(a.len().cmp(&b.len()))
        .then(a.cmp(b))
}

/// Decodes exactly one CBOR item from `bytes`, strictly: definite lengths only, no trailing
/// bytes, no duplicate map keys, valid UTF-8 text, nesting at most [`MAX_DEPTH`], input at
/// most [`MAX_INPUT`] bytes. Key order and integer width are not enforced, since some keys in
/// the field send non-canonical (but unambiguous) replies.
pub fn from_slice(bytes: &[u8]) -> Result<Value> {
    if bytes.len() > MAX_INPUT {
        return Err(Error::Malformed(format!(
            "CBOR message of {} bytes is too large",
            bytes.len()
        )));
    }
    let mut d = Decoder { buf: bytes, pos: 0 };
    let v = d.item(0)?;
    if d.pos != bytes.len() {
        return Err(Error::Malformed(format!(
            "{} trailing bytes after CBOR",
            bytes.len() - d.pos
        )));
    }
    Ok(v)
}

/// Decodes one CBOR item from the start of `bytes` (same rules as [`from_slice`]) and
/// returns it with the number of bytes it took; used where CBOR is embedded in a byte
/// layout, such as the credential public key inside authenticator data.
pub fn from_prefix(bytes: &[u8]) -> Result<(Value, usize)> {
    if bytes.len() > MAX_INPUT {
        return Err(Error::Malformed(format!(
            "CBOR message of {} bytes is too large",
            bytes.len()
        )));
    }
    let mut d = Decoder { buf: bytes, pos: 0 };
    let v = d.item(0)?;
    Ok((v, d.pos))
}

/// Decodes a top-level CBOR map and returns each key with the raw encoded bytes of its
/// value, so a field (such as attStmt) can be passed on byte for byte.
pub fn map_entries_raw(bytes: &[u8]) -> Result<Vec<(Value, &[u8])>> {
    if bytes.len() > MAX_INPUT {
        return Err(Error::Malformed(format!(
            "CBOR message of {} bytes is too large",
            bytes.len()
        )));
    }
    let mut d = Decoder { buf: bytes, pos: 0 };
    let initial = d.byte()?;
    if initial >> 5 != 5 {
        return Err(malformed("expected a map"));
    }
    let n = d.length(initial & 0x1F, 2)?;
    let mut out: Vec<(Value, &[u8])> = Vec::with_capacity(n);
    let mut seen = KeySet::default();
    for _ in 0..n {
        let k = d.item(1)?;
        seen.insert(&k)?;
        let start = d.pos;
        d.item(1)?;
        out.push((k, &bytes[start..d.pos]));
    }
    if d.pos != bytes.len() {
        return Err(Error::Malformed(format!(
            "{} trailing bytes after CBOR",
            bytes.len() - d.pos
        )));
    }
    Ok(out)
}

/// Keys seen in one map, by canonical encoding: O(log n) duplicate checks, so a hostile
/// map with thousands of keys cannot make decoding quadratic.
#[derive(Default)]
struct KeySet(std::collections::BTreeSet<Vec<u8>>);

impl KeySet {
    fn insert(&mut self, key: &Value) -> Result<()> {
        if self.0.insert(to_canonical_vec(key)) {
            Ok(())
        } else {
            Err(malformed("duplicate map key"))
        }
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn malformed(what: &str) -> Error {
    Error::Malformed(format!("invalid CBOR: {what}"))
}

impl<'a> Decoder<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(malformed("truncated"));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    /// Reads the argument of an initial byte (RFC 8949 §3).
    fn argument(&mut self, info: u8) -> Result<u64> {
        Ok(match info {
            0..=23 => u64::from(info),
            24 => u64::from(self.byte()?),
            25 => {
                let b = self.take(2)?;
                u64::from(u16::from_be_bytes([b[0], b[1]]))
            }
            26 => {
                let b = self.take(4)?;
                u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            27 => {
                let b = self.take(8)?;
                u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
            }
            31 => return Err(malformed("indefinite length is not allowed in CTAP2")),
            _ => return Err(malformed("reserved additional information")),
        })
    }

    /// A length that must fit in what remains (each element takes at least `min_each` bytes),
    /// so a forged header can never make us reserve memory the input cannot back.
    fn length(&mut self, info: u8, min_each: usize) -> Result<usize> {
        let n = self.argument(info)?;
        let n = usize::try_from(n).map_err(|_| malformed("length too large"))?;
        if n.saturating_mul(min_each) > self.remaining() {
            return Err(malformed("length exceeds message"));
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            return Err(malformed("nested too deeply"));
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1F);
        Ok(match major {
            0 => Value::Integer(Integer::from(self.argument(info)?)),
            1 => {
                let n = self.argument(info)?;
                let i = Integer::try_from(-1 - i128::from(n))
                    .map_err(|_| malformed("integer out of range"))?;
                Value::Integer(i)
            }
            2 => {
                let n = self.length(info, 1)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.length(info, 1)?;
                let s = std::str::from_utf8(self.take(n)?)
                    .map_err(|_| malformed("text is not UTF-8"))?;
                Value::Text(s.to_owned())
            }
            4 => {
                let n = self.length(info, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let n = self.length(info, 2)?;
                let mut entries: Vec<(Value, Value)> = Vec::with_capacity(n);
                let mut seen = KeySet::default();
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    seen.insert(&k)?;
                    let v = self.item(depth + 1)?;
                    entries.push((k, v));
                }
                Value::Map(entries)
            }
            6 => {
                let tag = self.argument(info)?;
                Value::Tag(tag, Box::new(self.item(depth + 1)?))
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                // Floats, undefined and other simple values have no place in CTAP2.
                _ => return Err(malformed("unsupported simple value or float")),
            },
        })
    }
}

/// Builds an integer key/value.
pub fn int(i: i64) -> Value {
    Value::Integer(Integer::from(i))
}

/// Builds a text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The value under integer key `key` in map `v` (None when `v` is not a map or lacks it).
pub fn map_get_int(v: &Value, key: i64) -> Option<&Value> {
    match v {
        Value::Map(entries) => entries.iter().find_map(|(k, val)| match k {
            Value::Integer(i) if i128::from(*i) == i128::from(key) => Some(val),
            _ => None,
        }),
        _ => None,
    }
}

/// The value under text key `key` in map `v`.
pub fn map_get_text<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    match v {
        Value::Map(entries) => entries.iter().find_map(|(k, val)| match k {
            Value::Text(t) if t == key => Some(val),
            _ => None,
        }),
        _ => None,
    }
}

/// `v` as a map's entries, or `Error::Malformed` naming `field`.
pub fn expect_map<'v>(v: &'v Value, field: &str) -> Result<&'v [(Value, Value)]> {
    match v {
        Value::Map(m) => Ok(m),
        _ => Err(Error::Malformed(format!("{field}: expected a map"))),
    }
}

/// `v` as an array, or `Error::Malformed` naming `field`.
pub fn expect_array<'v>(v: &'v Value, field: &str) -> Result<&'v [Value]> {
    match v {
        Value::Array(a) => Ok(a),
        _ => Err(Error::Malformed(format!("{field}: expected an array"))),
    }
}

/// `v` as a byte string, or `Error::Malformed` naming `field`.
pub fn expect_bytes<'v>(v: &'v Value, field: &str) -> Result<&'v [u8]> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(Error::Malformed(format!("{field}: expected a byte string"))),
    }
}

/// `v` as an integer that fits in i64, or `Error::Malformed` naming `field`.
pub fn expect_int(v: &Value, field: &str) -> Result<i64> {
    match v {
        Value::Integer(i) => i64::try_from(i128::from(*i))
            .map_err(|_| Error::Malformed(format!("{field}: integer out of range"))),
        _ => Err(Error::Malformed(format!("{field}: expected an integer"))),
    }
}

/// `v` as a non-negative integer that fits in u32, or `Error::Malformed` naming `field`.
pub fn expect_u32(v: &Value, field: &str) -> Result<u32> {
    let i = expect_int(v, field)?;
    u32::try_from(i).map_err(|_| Error::Malformed(format!("{field}: integer out of range")))
}

/// `v` as text, or `Error::Malformed` naming `field`.
pub fn expect_text<'v>(v: &'v Value, field: &str) -> Result<&'v str> {
    match v {
        Value::Text(t) => Ok(t),
        _ => Err(Error::Malformed(format!("{field}: expected text"))),
    }
}

/// `v` as a boolean, or `Error::Malformed` naming `field`.
pub fn expect_bool(v: &Value, field: &str) -> Result<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(Error::Malformed(format!("{field}: expected a boolean"))),
    }
}

/// The value under integer `key`, required: `Error::Malformed` naming `field` when absent.
pub fn require_int_key<'v>(v: &'v Value, key: i64, field: &str) -> Result<&'v Value> {
    map_get_int(v, key).ok_or_else(|| Error::Malformed(format!("{field} (0x{key:02X}) is missing")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_orders_ints_before_text_and_short_before_long() {
        // CTAP 2.1 §8 canonical example order: 10, 100, -1, "z", "aa", [100], [-1], false.
        // (Arrays and false as keys are excluded: CTAP keys are ints or text.)
        let v = Value::Map(vec![
            (text("aa"), int(5)),
            (text("z"), int(4)),
            (int(-1), int(3)),
            (int(100), int(2)),
            (int(10), int(1)),
        ]);
        let bytes = to_canonical_vec(&v);
        assert_eq!(hex::encode(bytes), "a50a011864022003617a0462616105");
    }

    #[test]
    fn canonical_major_type_precedes_length() {
        // 24 encodes in 2 bytes (18 18) and -1 in 1 (20); CTAP2 puts the unsigned key first.
        let v = Value::Map(vec![(int(-1), int(0)), (int(24), int(0))]);
        assert_eq!(hex::encode(to_canonical_vec(&v)), "a21818002000");
    }

    #[test]
    fn canonical_sorts_nested_maps_and_uses_shortest_ints() {
        let inner = Value::Map(vec![(text("b"), int(65536)), (text("a"), int(-500))]);
        let v = Value::Map(vec![
            (int(2), inner),
            (int(1), Value::Array(vec![int(23), int(24)])),
        ]);
        assert_eq!(
            hex::encode(to_canonical_vec(&v)),
            "a2018217181802a261613901f361621a00010000"
        );
    }

    #[test]
    fn decode_round_trips_canonical() {
        let v = Value::Map(vec![
            (int(1), Value::Bytes(vec![1, 2, 3])),
            (
                int(2),
                Value::Array(vec![Value::Bool(true), Value::Null, text("x")]),
            ),
            (int(-3), int(i64::MIN)),
        ]);
        let bytes = to_canonical_vec(&v);
        let back = from_slice(&bytes).unwrap();
        assert_eq!(to_canonical_vec(&back), bytes);
    }

    #[test]
    fn decode_rejects_trailing_indefinite_duplicates_and_depth() {
        assert!(from_slice(&[0x01, 0x02]).is_err());
        assert!(from_slice(&[0x5F, 0x41, 0x00, 0xFF]).is_err());
        assert!(from_slice(&[0xA2, 0x01, 0x01, 0x01, 0x02]).is_err());
        assert!(from_slice(&[0xF9, 0x3C, 0x00]).is_err());
        let deep: Vec<u8> = std::iter::repeat_n(0x81, 40).chain([0x00]).collect();
        assert!(from_slice(&deep).is_err());
        let ok: Vec<u8> = std::iter::repeat_n(0x81, MAX_DEPTH).chain([0x00]).collect();
        assert!(from_slice(&ok).is_ok());
    }

    #[test]
    fn decode_huge_length_header_fails_without_allocating() {
        // Byte string / array / map claiming 2^64-1 elements with no content.
        for head in [0x5Bu8, 0x9B, 0xBB] {
            let mut b = vec![head];
            b.extend_from_slice(&[0xFF; 8]);
            assert!(from_slice(&b).is_err());
        }
        assert!(from_slice(&vec![0u8; MAX_INPUT + 1]).is_err());
    }

    #[test]
    fn large_maps_decode_in_linear_log_time_and_duplicates_fail() {
        let n = 12_000u32;
        let mut b = vec![0xBA];
        b.extend_from_slice(&n.to_be_bytes());
        for i in 0..n {
            b.extend(to_canonical_vec(&int(i64::from(i))));
            b.push(0xF6);
        }
        let start = std::time::Instant::now();
        assert!(from_slice(&b).is_ok());
        assert!(map_entries_raw(&b).is_ok());
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        assert!(map_entries_raw(&[0xA2, 0x01, 0x01, 0x01, 0x02]).is_err());
    }

    #[test]
    fn helpers_name_the_field() {
        let v = Value::Map(vec![(int(1), text("x"))]);
        let err = expect_bytes(map_get_int(&v, 1).unwrap(), "aaguid").unwrap_err();
        assert!(err.to_string().contains("aaguid"));
        assert!(map_get_int(&v, 2).is_none());
        assert!(require_int_key(&v, 2, "authData")
            .unwrap_err()
            .to_string()
            .contains("authData"));
    }
}
