//! `devices` and `key …` driven as an operator would, against a software key on UDP.

use std::process::{Command, Output};

use ctap::hid::server::{serve_udp, ServerHandle};
use ctap::soft::{SoftAuthenticator, SoftConfig};

fn soft_key() -> (SoftAuthenticator, ServerHandle, String) {
    let key = SoftAuthenticator::new(SoftConfig {
        serial: 31_415_926,
        ..SoftConfig::default()
    })
    .unwrap();
    let server = serve_udp("127.0.0.1:0".parse().unwrap(), key.clone()).unwrap();
    let spec = format!("udp:{}", server.local_addr());
    (key, server, spec)
}

fn kiosk(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passkey-kiosk"));
    cmd.args(args)
        .env_remove("PASSKEY_KIOSK_PIN")
        .env_remove("PASSKEY_KIOSK_NEW_PIN");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn devices_shows_what_the_key_reports() {
    let (_key, _server, spec) = soft_key();
    let out = kiosk(&["devices", "--device", &spec], &[]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("50617373-6b65-794b-696f-736b536f6674"), "{t}");
    assert!(t.contains("FIDO_2_0, FIDO_2_1"), "{t}");
    assert!(t.contains("31415926"), "{t}");
    assert!(t.contains("PIN                 not set"), "{t}");
}

#[test]
fn pin_lifecycle_through_the_cli_never_echoes_a_pin() {
    let (key, _server, spec) = soft_key();
    let d = ["--device", spec.as_str()];

    let out = kiosk(
        &["key", "set-pin", d[0], d[1]],
        &[("PASSKEY_KIOSK_NEW_PIN", "480213")],
    );
    assert!(out.status.success(), "{}", text(&out));

    let out = kiosk(
        &["key", "min-pin-length", "6", "--force-change", d[0], d[1]],
        &[("PASSKEY_KIOSK_PIN", "480213")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info = text(&kiosk(&["key", "info", d[0], d[1]], &[]));
    assert!(
        info.contains("min PIN length      6") && info.contains("forced PIN change   pending"),
        "{info}"
    );

    // A wrong current PIN is refused with the retries left, and the PIN itself never printed.
    let out = kiosk(
        &["key", "change-pin", d[0], d[1]],
        &[
            ("PASSKEY_KIOSK_PIN", "111111"),
            ("PASSKEY_KIOSK_NEW_PIN", "905127"),
        ],
    );
    let t = text(&out);
    assert!(!out.status.success());
    assert!(
        t.contains("wrong PIN") && t.contains("7 attempts left"),
        "{t}"
    );
    assert!(!t.contains("111111") && !t.contains("905127"), "{t}");
    assert_eq!(key.pin_retries(), 7);

    let out = kiosk(
        &["key", "change-pin", d[0], d[1]],
        &[
            ("PASSKEY_KIOSK_PIN", "480213"),
            ("PASSKEY_KIOSK_NEW_PIN", "905127"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info = text(&kiosk(&["key", "info", d[0], d[1]], &[]));
    assert!(
        info.contains("set, 8 retries left") && info.contains("forced PIN change   no"),
        "{info}"
    );

    // A PIN shorter than the key's new minimum is refused before anything is sent.
    let out = kiosk(
        &["key", "change-pin", d[0], d[1]],
        &[
            ("PASSKEY_KIOSK_PIN", "905127"),
            ("PASSKEY_KIOSK_NEW_PIN", "12345"),
        ],
    );
    assert!(!out.status.success());
    assert_eq!(key.pin_retries(), 8, "nothing reached the key");
}

#[test]
fn reset_needs_confirmation_and_erases_the_pin() {
    let (_key, _server, spec) = soft_key();
    let d = ["--device", spec.as_str()];
    let out = kiosk(
        &["key", "set-pin", d[0], d[1]],
        &[("PASSKEY_KIOSK_NEW_PIN", "480213")],
    );
    assert!(out.status.success());
    // Without a terminal and without --yes, nothing happens.
    let out = kiosk(&["key", "reset", d[0], d[1]], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--yes"));
    let out = kiosk(&["key", "reset", "--yes", d[0], d[1]], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&kiosk(&["key", "info", d[0], d[1]], &[])).contains("PIN                 not set"));
}

#[test]
fn no_key_and_bad_spec_say_what_to_do() {
    let out = kiosk(&["key", "info"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("insert a key"), "{}", text(&out));
    let out = kiosk(&["devices", "--device", "usb:1"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("udp:HOST:PORT"), "{}", text(&out));
}
