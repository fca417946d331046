//! `devices` and `key …` driven as an operator would, against a software key on UDP; every
//! change to a key is audited in the config's journal.

mod kit;

use std::path::PathBuf;
use std::process::Output;

use ctap::hid::server::{serve_udp, ServerHandle};
use ctap::soft::SoftAuthenticator;
use kit::bin::{run, text};
use kit::keys::soft_key;

/// A fresh software key served on UDP, and its `--device` spec. Served at once on a port of
/// its own, not through a `Slot`: a slot frees its port until a key goes in, and the many
/// runs of the binary here could take that port for their own sockets meanwhile.
fn key_on_udp() -> (SoftAuthenticator, ServerHandle, String) {
    let key = soft_key(31_415_926);
    let server = serve_udp("127.0.0.1:0".parse().unwrap(), key.clone()).unwrap();
    let spec = format!("udp:{}", server.local_addr());
    (key, server, spec)
}

/// A config (no tenant is contacted by `key`) whose journal, next to it, gets the audit log.
struct Desk {
    _dir: tempfile::TempDir,
    config: String,
    journal: PathBuf,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("configs.json");
        std::fs::write(
            &config,
            r#"{"tenantName":"contoso.onmicrosoft.com","client_id":"app","client_secret":"s",
            "usersInScopeGroup":"Passkey pilot"}"#,
        )
        .unwrap();
        Desk {
            journal: dir.path().join("passkey-kiosk.journal.sqlite"),
            config: config.to_str().unwrap().to_owned(),
            _dir: dir,
        }
    }

    /// `passkey-kiosk key ARGS --device SPEC --config CONFIG` with `env`.
    fn key(&self, spec: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut all = vec!["key"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--device", spec, "--config", &self.config]);
        run(&all, env)
    }

    fn audit_log(&self) -> Vec<passkey_kiosk::store::AuditEntry> {
        passkey_kiosk::store::Journal::open(&self.journal)
            .unwrap()
            .audit_log()
            .unwrap()
    }
}

#[test]
fn devices_shows_what_the_key_reports() {
    let (_key, _server, spec) = key_on_udp();
    let out = run(&["devices", "--device", &spec], &[]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("50617373-6b65-794b-696f-736b536f6674"), "{t}");
    assert!(t.contains("FIDO_2_0, FIDO_2_1"), "{t}");
    assert!(t.contains("31415926"), "{t}");
    assert!(t.contains("PIN                 not set"), "{t}");
}

#[test]
fn pin_lifecycle_through_the_cli_never_echoes_a_pin() {
    let (key, _server, spec) = key_on_udp();
    let desk = Desk::new();

    let out = desk.key(&spec, &["set-pin"], &[("PASSKEY_KIOSK_NEW_PIN", "480213")]);
    assert!(out.status.success(), "{}", text(&out));

    let out = desk.key(
        &spec,
        &["min-pin-length", "6", "--force-change"],
        &[("PASSKEY_KIOSK_PIN", "480213")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info = text(&desk.key(&spec, &["info"], &[]));
    assert!(
        info.contains("min PIN length      6") && info.contains("forced PIN change   pending"),
        "{info}"
    );

    // A wrong current PIN is refused with the retries left, and the PIN itself never printed.
    let out = desk.key(
        &spec,
        &["change-pin"],
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

    let out = desk.key(
        &spec,
        &["change-pin"],
        &[
            ("PASSKEY_KIOSK_PIN", "480213"),
            ("PASSKEY_KIOSK_NEW_PIN", "905127"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let info = text(&desk.key(&spec, &["info"], &[]));
    assert!(
        info.contains("set, 8 retries left") && info.contains("forced PIN change   no"),
        "{info}"
    );

    // A PIN shorter than the key's new minimum is refused before anything is sent.
    let out = desk.key(
        &spec,
        &["change-pin"],
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
    let (_key, _server, spec) = key_on_udp();
    let desk = Desk::new();
    let out = desk.key(&spec, &["set-pin"], &[("PASSKEY_KIOSK_NEW_PIN", "480213")]);
    assert!(out.status.success());
    // Without a terminal and without --yes, nothing happens.
    let out = desk.key(&spec, &["reset"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--yes"));
    let out = desk.key(&spec, &["reset", "--yes"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&desk.key(&spec, &["info"], &[])).contains("PIN                 not set"));
}

#[test]
fn no_key_and_bad_spec_say_what_to_do() {
    let out = run(&["key", "info"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("insert a key"), "{}", text(&out));
    let out = run(&["devices", "--device", "usb:1"], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("udp:HOST:PORT"), "{}", text(&out));
}

#[test]
fn every_change_to_a_key_is_audited_with_its_operator() {
    let (_key, _server, spec) = key_on_udp();
    let desk = Desk::new();
    let out = desk.key(
        &spec,
        &["set-pin", "--operator", "Desk 9"],
        &[("PASSKEY_KIOSK_NEW_PIN", "480213")],
    );
    assert!(out.status.success(), "{}", text(&out));
    // Without --operator: the OS user. A refused change is audited too.
    let out = desk.key(
        &spec,
        &["change-pin"],
        &[
            ("USER", "desk-os-user"),
            ("PASSKEY_KIOSK_PIN", "111111"),
            ("PASSKEY_KIOSK_NEW_PIN", "905127"),
        ],
    );
    assert!(!out.status.success());
    let out = desk.key(
        &spec,
        &["min-pin-length", "8", "--operator", "Desk 9"],
        &[("PASSKEY_KIOSK_PIN", "480213")],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(desk.key(&spec, &["info"], &[]).status.success());
    let out = desk.key(&spec, &["reset", "--yes", "--operator", "Desk 9"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&desk.key(&spec, &["info"], &[])).contains("PIN                 not set"));

    let log = desk.audit_log();
    let seen: Vec<(&str, &str, bool)> = log
        .iter()
        .map(|a| (a.action.as_str(), a.operator.as_str(), a.result == "ok"))
        .collect();
    assert_eq!(
        seen,
        [
            ("key-set-pin", "Desk 9", true),
            ("key-change-pin", "desk-os-user", false),
            ("key-min-pin-length", "Desk 9", true),
            ("key-reset", "Desk 9", true),
        ],
        "{log:#?}"
    );
    assert!(log[1].result.contains("wrong PIN"), "{log:#?}");
    assert!(log
        .iter()
        .all(|a| a.subject.as_deref().is_some_and(|s| s.contains("31415926"))));
    let all = format!("{log:?}");
    assert!(!all.contains("480213") && !all.contains("111111") && !all.contains("905127"));
}

#[test]
fn a_key_change_whose_audit_fails_exits_non_zero_saying_the_key_changed() {
    let (_key, _server, spec) = key_on_udp();
    let desk = Desk::new();
    kit::journal::disable_audit(&desk.journal);
    let out = desk.key(&spec, &["set-pin"], &[("PASSKEY_KIOSK_NEW_PIN", "480213")]);
    let t = text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(
        t.contains("WAS changed")
            && t.contains("key-set-pin")
            && t.contains("audit disabled by test"),
        "{t}"
    );
    let info = text(&desk.key(&spec, &["info"], &[]));
    assert!(
        info.contains("set, 8 retries left"),
        "the PIN was set: {info}"
    );
}
