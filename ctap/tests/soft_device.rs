//! Software key as a device: getInfo, reset window, touch policy (delay, deny, never,
//! cancel, touch changed at runtime), power cycle, vendor serial, state file, and the whole
//! thing behind the in-process CTAPHID server.
#![cfg(feature = "soft")]

mod soft_support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ciborium::value::Value;
use ctap::cbor::{self, int};
use ctap::handler::CtapHandler;
use ctap::pin::PinProtocol::V2;
use ctap::soft::{SoftConfig, TouchPolicy, TEST_AAGUID, YUBIKEY_READ_CONFIG};
use ctap::{CancelToken, CtapChannel, KeepaliveStatus, NoStatus};
use soft_support::*;

#[test]
fn get_info_describes_a_ctap_2_1_key() {
    let key = new_key(SoftConfig {
        min_pin_length: 6,
        ..SoftConfig::default()
    });
    let info = get_info(&key);
    let texts = |v: &Value| -> Vec<String> {
        cbor::expect_array(v, "")
            .unwrap()
            .iter()
            .map(|t| cbor::expect_text(t, "").unwrap().to_owned())
            .collect()
    };
    assert_eq!(texts(get(&info, 1)), ["FIDO_2_0", "FIDO_2_1"]);
    assert_eq!(
        texts(get(&info, 2)),
        ["credProtect", "hmac-secret", "minPinLength"]
    );
    assert_eq!(get(&info, 3), &bytes(&TEST_AAGUID));
    let opts = get(&info, 4);
    for (name, want) in [
        ("rk", true),
        ("up", true),
        ("plat", false),
        ("clientPin", false),
        ("pinUvAuthToken", true),
        ("setMinPINLength", true),
        ("makeCredUvNotRqd", false),
        ("authnrCfg", true),
    ] {
        assert_eq!(
            cbor::map_get_text(opts, name),
            Some(&Value::Bool(want)),
            "option {name}"
        );
    }
    assert_eq!(get(&info, 5), &int(1200));
    assert_eq!(get(&info, 6), &Value::Array(vec![int(2), int(1)]));
    assert_eq!(texts(get(&info, 9)), ["usb"]);
    let algs = cbor::expect_array(get(&info, 0x0A), "").unwrap();
    assert_eq!(cbor::map_get_text(&algs[0], "alg"), Some(&int(-7)));
    assert_eq!(get(&info, 0x0C), &Value::Bool(false));
    assert_eq!(get(&info, 0x0D), &int(6));
    assert!(cbor::map_get_int(&info, 0x0E).is_some(), "firmwareVersion");
    assert_eq!(get(&info, 0x14), &int(25));
    // Keys the brief asks for beyond the basics.
    for k in [7, 8] {
        assert!(cbor::expect_int(get(&info, k), "").unwrap() > 0);
    }
}

#[test]
fn reset_only_in_the_window_after_power_up() {
    let key = new_key(SoftConfig {
        reset_window: Duration::from_millis(300),
        ..SoftConfig::default()
    });
    assert_eq!(set_pin(&key, V2, "123456"), OK);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(call(&key, 0x07, None).0, NOT_ALLOWED);
    assert_eq!(info_option(&key, "clientPin"), Some(true));
    key.power_cycle();
    assert_eq!(call(&key, 0x07, None).0, OK);
    assert_eq!(info_option(&key, "clientPin"), Some(false));
    assert_eq!(pin_retries(&key), (8, false));
}

#[test]
fn reset_needs_a_touch() {
    let key = new_key(SoftConfig {
        touch: TouchPolicy::Deny,
        touch_timeout: Duration::from_millis(200),
        ..SoftConfig::default()
    });
    assert_eq!(set_pin(&key, V2, "123456"), OK);
    assert_eq!(call(&key, 0x07, None).0, OPERATION_DENIED);

    key.touch().set(TouchPolicy::Never);
    let presence = Recorder::default();
    let start = Instant::now();
    assert_eq!(
        call_with(&key, 0x07, None, &presence).0,
        USER_ACTION_TIMEOUT
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(
        presence.saw_up_needed(),
        "the key reported UPNEEDED while waiting"
    );
    assert_eq!(
        info_option(&key, "clientPin"),
        Some(true),
        "nothing was reset"
    );

    key.touch().set(TouchPolicy::Immediate);
    assert_eq!(call(&key, 0x07, None).0, OK);
    assert_eq!(info_option(&key, "clientPin"), Some(false));
}

#[test]
fn a_delayed_touch_reports_up_needed_then_succeeds() {
    let key = new_key(SoftConfig {
        touch: TouchPolicy::Delay(Duration::from_millis(150)),
        ..SoftConfig::default()
    });
    let presence = Recorder::default();
    let start = Instant::now();
    assert_eq!(
        call_with(&key, 0x01, Some(Mc::new(RP, b"u").params()), &presence).0,
        OK
    );
    assert!(start.elapsed() >= Duration::from_millis(150));
    let statuses = presence.statuses.lock().unwrap().clone();
    assert_eq!(
        statuses,
        [KeepaliveStatus::UpNeeded, KeepaliveStatus::Processing]
    );
}

#[test]
fn cancel_while_waiting_for_a_touch() {
    let key = new_key(SoftConfig {
        touch: TouchPolicy::Never,
        ..SoftConfig::default()
    });
    let presence = Arc::new(Recorder::default());
    let canceller = {
        let p = Arc::clone(&presence);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            p.cancelled.store(true, Ordering::SeqCst);
        })
    };
    let start = Instant::now();
    assert_eq!(
        call_with(&key, 0x01, Some(Mc::new(RP, b"u").params()), &*presence).0,
        KEEPALIVE_CANCEL
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "cancel is honoured promptly"
    );
    canceller.join().unwrap();
    assert!(presence.saw_up_needed());
}

#[test]
fn the_touch_policy_can_change_while_a_request_waits() {
    let key = new_key(SoftConfig {
        touch: TouchPolicy::Never,
        ..SoftConfig::default()
    });
    let touch = key.touch();
    let toucher = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        touch.set(TouchPolicy::Immediate);
    });
    assert_eq!(Mc::new(RP, b"u").send(&key).0, OK);
    toucher.join().unwrap();
}

#[test]
fn vendor_command_reads_the_serial() {
    let mut key = new_key(SoftConfig {
        serial: 31_415_926,
        ..SoftConfig::default()
    });
    let out = key.handle_vendor(YUBIKEY_READ_CONFIG, &[0]).unwrap();
    assert_eq!(usize::from(out[0]), out.len() - 1);
    // Walk the TLVs to tag 0x02 (serial).
    let mut tlv = &out[1..];
    let mut serial = None;
    while tlv.len() >= 2 {
        let (t, l) = (tlv[0], usize::from(tlv[1]));
        if t == 0x02 {
            serial = Some(u32::from_be_bytes(tlv[2..2 + l].try_into().unwrap()));
        }
        tlv = &tlv[2 + l..];
    }
    assert_eq!(serial, Some(31_415_926));
    assert!(key.handle_vendor(0x50, &[]).is_none());
}

#[test]
fn state_file_keeps_pin_policy_and_credentials_across_restarts() {
    let path = std::env::temp_dir().join(format!(
        "soft-key-{}-{:?}.json",
        std::process::id(),
        std::time::SystemTime::now()
    ));
    let config = SoftConfig {
        state_file: Some(path.clone()),
        ..SoftConfig::default()
    };
    {
        let key = new_key(config.clone());
        assert_eq!(set_pin(&key, V2, "123456"), OK);
        assert_eq!(
            token(&key, V2, "000000", Some(MC), Some(RP)),
            Err(PIN_INVALID)
        );
        let t = token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
        let mut req = Mc::new(RP, b"u").with_token(V2, &t);
        req.rk = true;
        assert_eq!(req.send(&key).0, OK);
        assert_eq!(
            token(&key, V2, "000000", Some(MC), Some(RP)),
            Err(PIN_INVALID)
        );
    }
    let key = new_key(config);
    assert_eq!(info_option(&key, "clientPin"), Some(true));
    assert_eq!(
        pin_retries(&key),
        (7, false),
        "spent retries survive a restart"
    );
    assert_eq!(key.resident_credentials().len(), 1);
    token(&key, V2, "123456", Some(MC), Some(RP)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("123456"), "the PIN itself is never stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the state file is private to its owner"
        );
    }
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn served_over_in_process_ctaphid_with_keepalive_and_cancel() {
    let key = new_key(SoftConfig {
        serial: 7,
        touch: TouchPolicy::Delay(Duration::from_millis(250)),
        ..SoftConfig::default()
    });
    let mut channel = ctap::hid::server::in_process(key.clone()).unwrap();
    // getInfo through CTAPHID_CBOR.
    let reply = channel
        .cbor(&[0x04], &NoStatus, &CancelToken::new())
        .unwrap();
    assert_eq!(reply[0], OK);
    let info = cbor::from_slice(&reply[1..]).unwrap();
    assert_eq!(get(&info, 3), &bytes(&TEST_AAGUID));
    // makeCredential waits for the touch; the client sees UPNEEDED keepalives.
    let seen = Mutex::new(Vec::new());
    let sink = |s: KeepaliveStatus| seen.lock().unwrap().push(s);
    let mut req = vec![0x01];
    req.extend_from_slice(&cbor::to_canonical_vec(&Mc::new(RP, b"u").params()));
    let reply = channel.cbor(&req, &sink, &CancelToken::new()).unwrap();
    assert_eq!(reply[0], OK);
    assert!(seen.lock().unwrap().contains(&KeepaliveStatus::UpNeeded));
    // Cancel from the client side while the key waits.
    key.touch().set(TouchPolicy::Never);
    let cancel = CancelToken::new();
    let c = cancel.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        c.cancel();
    });
    let result = channel.cbor(&req, &NoStatus, &cancel);
    t.join().unwrap();
    match result {
        Ok(reply) => assert_eq!(reply, vec![KEEPALIVE_CANCEL]),
        Err(ctap::Error::Ctap(code)) => {
            assert_eq!(code, ctap::error::StatusCode::KeepaliveCancel)
        }
        Err(e) => panic!("unexpected error {e}"),
    }
    // Vendor command over CTAPHID.
    let serial_page = channel.vendor(YUBIKEY_READ_CONFIG, &[0]).unwrap();
    assert!(serial_page.windows(6).any(|w| w == [0x02, 4, 0, 0, 0, 7]));
}

#[test]
fn requests_over_max_msg_size_are_refused() {
    let key = new_key(SoftConfig::default());
    let mut req = vec![0x01];
    req.extend_from_slice(&cbor::to_canonical_vec(&bytes(&[0u8; 1300])));
    assert_eq!(key.process(&req, &Recorder::default()), vec![0x39]);
}
