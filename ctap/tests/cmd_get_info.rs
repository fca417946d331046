//! authenticatorGetInfo decoding (CTAP 2.1 §6.4).

use ctap::commands::get_info::{decode_info, GetInfo};
use ctap::commands::{split_response, Command};
use ctap::error::StatusCode;
use ctap::pin::PinProtocol;
use ctap::Error;

/// getInfo from a production YubiKey 5 NFC (firmware 5.2/5.4), as published in Yubico's
/// .NET SDK tests (Ctap2CborSerializerTests, "gathered from production YubiKey devices").
const YUBIKEY_5_NFC: &str = "AA0183665532465F5632684649444F5F325F306C4649444F5F325F315F50524502826B6372656450726F746563746B686D61632D73656372657403502FC0579F811347EAB116BB5A8DB9202A04A562726BF5627570F564706C6174F469636C69656E7450696EF47563726564656E7469616C4D676D7450726576696577F5051904B006810107080818800982636E6663637573620A82A263616C672664747970656A7075626C69632D6B6579A263616C672764747970656A7075626C69632D6B6579";

#[test]
fn yubikey_5_nfc_get_info() {
    let info = decode_info(&hex::decode(YUBIKEY_5_NFC).unwrap()).unwrap();
    assert_eq!(info.versions, ["U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"]);
    assert!(info.is_ctap21());
    assert_eq!(info.extensions, ["credProtect", "hmac-secret"]);
    assert!(info.has_extension("credProtect") && !info.has_extension("credBlob"));
    assert_eq!(info.aaguid_string(), "2fc0579f-8113-47ea-b116-bb5a8db9202a");
    assert_eq!(info.option("rk"), Some(true));
    assert_eq!(info.option("up"), Some(true));
    assert_eq!(info.option("plat"), Some(false));
    assert_eq!(info.option("clientPin"), Some(false));
    assert_eq!(info.option("credentialMgmtPreview"), Some(true));
    assert_eq!(info.option("pinUvAuthToken"), None);
    assert_eq!(info.max_msg_size, Some(1200));
    assert_eq!(info.pin_uv_auth_protocols, [1]);
    assert_eq!(info.preferred_pin_protocol(), Some(PinProtocol::V1));
    assert_eq!(info.max_credential_count_in_list, Some(8));
    assert_eq!(info.max_credential_id_length, Some(128));
    assert_eq!(info.transports, ["nfc", "usb"]);
    assert_eq!(
        info.algorithms,
        [
            ("public-key".to_string(), -7),
            ("public-key".to_string(), -8)
        ]
    );
    assert_eq!(info.min_pin_length_or_default(), 4);
    assert!(!info.force_pin_change);
}

#[test]
fn ctap21_fields_and_unknown_keys() {
    use ciborium::Value;
    use ctap::cbor::{int, text, to_canonical_vec};
    let v = Value::Map(vec![
        (int(0x01), Value::Array(vec![text("FIDO_2_1")])),
        (int(0x03), Value::Bytes(vec![7; 16])),
        (int(0x06), Value::Array(vec![int(2), int(1)])),
        (int(0x0C), Value::Bool(true)),
        (int(0x0D), int(6)),
        (int(0x0E), int(328_965)),
        (int(0x14), int(25)),
        (int(0x13), Value::Map(vec![(text("FIDO"), int(2))])),
        (int(0x7F), text("future field")),
        (text("vendor"), Value::Null),
    ]);
    let info = decode_info(&to_canonical_vec(&v)).unwrap();
    assert!(info.force_pin_change);
    assert_eq!(info.min_pin_length_or_default(), 6);
    assert_eq!(info.firmware_version, Some(328_965));
    assert_eq!(info.remaining_discoverable_credentials, Some(25));
    assert_eq!(info.preferred_pin_protocol(), Some(PinProtocol::V2));
}

#[test]
fn missing_or_mistyped_required_fields_are_malformed() {
    use ciborium::Value;
    use ctap::cbor::{int, text, to_canonical_vec};
    let no_aaguid = Value::Map(vec![(int(0x01), Value::Array(vec![text("FIDO_2_0")]))]);
    let e = decode_info(&to_canonical_vec(&no_aaguid)).unwrap_err();
    assert!(e.to_string().contains("aaguid"), "{e}");
    let bad_type = Value::Map(vec![
        (int(0x01), text("FIDO_2_0")),
        (int(0x03), Value::Bytes(vec![0; 16])),
    ]);
    assert!(matches!(
        decode_info(&to_canonical_vec(&bad_type)),
        Err(Error::Malformed(_))
    ));
    assert!(decode_info(&[]).is_err());
    assert!(decode_info(&[0x80]).is_err());
}

#[test]
fn request_and_status_handling() {
    assert_eq!(GetInfo.to_request(), [0x04]);
    assert!(matches!(
        split_response(&[0x31]),
        Err(Error::Ctap(StatusCode::PinInvalid))
    ));
    assert!(matches!(split_response(&[]), Err(Error::Malformed(_))));
    assert_eq!(split_response(&[0x00, 0xA0]).unwrap(), [0xA0]);
}
