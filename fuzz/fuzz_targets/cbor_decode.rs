//! Fuzz the strict CTAP2 CBOR decoder (CTAP 2.1 §8): never panic, and anything accepted
//! re-encodes canonically to a value that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = ctap::cbor::from_slice(data) {
        let canon = ctap::cbor::to_canonical_vec(&v);
        let again = ctap::cbor::from_slice(&canon).expect("canonical output decodes");
        assert_eq!(ctap::cbor::to_canonical_vec(&again), canon);
    }
    let _ = ctap::cbor::from_prefix(data);
    let _ = ctap::cbor::map_entries_raw(data);
});
