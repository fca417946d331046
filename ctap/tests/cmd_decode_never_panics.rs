//! Property tests: the CBOR decoder and every response decoder return errors, never panic,
//! on arbitrary bytes (what a broken or hostile key could send).

use ctap::cbor::{from_prefix, from_slice, map_entries_raw, to_canonical_vec};
use ctap::commands::client_pin::decode_client_pin_response;
use ctap::commands::credential_management::CredentialManagementRequest;
use ctap::commands::get_assertion::decode_get_assertion_response;
use ctap::commands::get_info::decode_info;
use ctap::commands::make_credential::{decode_make_credential_response, AuthData};
use ctap::commands::split_response;
use proptest::prelude::*;

fn all_decoders(bytes: &[u8]) {
    let _ = from_slice(bytes);
    let _ = from_prefix(bytes);
    let _ = map_entries_raw(bytes);
    let _ = decode_info(bytes);
    let _ = decode_client_pin_response(bytes);
    let _ = decode_make_credential_response(bytes);
    let _ = decode_get_assertion_response(bytes);
    let _ = <CredentialManagementRequest as ctap::commands::Command>::decode(bytes);
    let _ = AuthData::parse(bytes);
    let _ = split_response(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        all_decoders(&bytes);
    }

    /// Bytes that start like a CTAP map reach deeper into the decoders.
    #[test]
    fn map_prefixed_bytes(head in 0xA0u8..0xB8, tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = vec![head];
        bytes.extend(tail);
        all_decoders(&bytes);
    }

    /// Anything that decodes re-encodes canonically to something that decodes to the same value.
    #[test]
    fn decode_encode_decode_is_stable(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(v) = from_slice(&bytes) {
            let again = from_slice(&to_canonical_vec(&v)).unwrap();
            prop_assert_eq!(to_canonical_vec(&again), to_canonical_vec(&v));
        }
    }
}
