//! Fuzz the authenticatorGetInfo response decoder (CTAP 2.1 §6.4).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = ctap::commands::get_info::decode_info(data) {
        let _ = info.aaguid_string();
        let _ = info.preferred_pin_protocol();
    }
    let _ = ctap::commands::client_pin::decode_client_pin_response(data);
});
