//! `passkey-kiosk doctor` through the binary against the fake tenant: one line per check, exit
//! 0 when the station is set up right, and a failed check with its remedy (exit 1) when not.

mod kit;
mod pg_support;

use std::os::unix::fs::PermissionsExt;

use kit::bin::text;
use kit::station::Station;
use kit::tenant::plain_tenant;

fn doctor(st: &Station) -> (bool, String) {
    let out = st.run("doctor", &["--device", &st.device]);
    (out.status.success(), text(&out))
}

#[test]
fn a_station_set_up_right_passes_every_check() {
    let st = Station::new(plain_tenant(2), "");
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, out) = doctor(&st);
    assert!(ok, "{out}");
    for name in [
        "ok   Configuration valid",
        "ok   Secret files readable only by the station's user",
        "ok   Security keys can be opened",
        "ok   Room for the journal",
        "ok   Journal writable",
        "ok   Clock in sync",
        "ok   Sign-in to Entra ID",
        "ok   FIDO2 passkeys enabled",
    ] {
        assert!(out.contains(name), "{name}:\n{out}");
    }
    assert!(out.contains("checks passed"), "{out}");
}

#[test]
fn each_problem_is_a_failed_line_with_its_remedy_and_exit_1() {
    let st = Station::new(plain_tenant(1), "");
    // A config others can read, and a journal folder that does not exist.
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    st.set_config(serde_json::json!({"journalPath": "missing/dir/j.sqlite"}));
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, out) = doctor(&st);
    assert!(!ok, "{out}");
    assert!(
        out.contains("FAIL Secret files readable only by the station's user")
            && out.contains("chmod 600"),
        "{out}"
    );
    assert!(
        out.contains("FAIL Room for the journal") && out.contains("an administrator creates it"),
        "{out}"
    );
    assert!(out.contains("2 of "), "{out}");

    // A client secret the tenant does not know: sign-in fails, with Entra's answer.
    st.set_config(serde_json::json!({"client_secret": "wrong-secret", "journalPath": null}));
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, out) = doctor(&st);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL Sign-in to Entra ID"), "{out}");
}

#[test]
fn a_config_that_does_not_load_is_the_one_failed_line() {
    let st = Station::new(plain_tenant(1), "");
    std::fs::write(&st.config, "{ not json").unwrap();
    let (ok, out) = doctor(&st);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL Configuration valid"), "{out}");
    assert!(out.contains("configs.example.json"), "{out}");
}

#[test]
fn the_shared_journal_is_checked_with_its_connection_schema_and_key() {
    let server = pg_support::PgServer::start();
    let st = Station::new(
        plain_tenant(1),
        &format!(r#","journalUrl":"{}","stationName":"desk-9""#, server.url()),
    );
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let run = |with_key: bool| {
        let mut cmd = st.kiosk();
        cmd.args(["doctor", "--config"])
            .arg(&st.config)
            .args(["--device", &st.device]);
        if with_key {
            cmd.env("PASSKEY_KIOSK_JOURNAL_KEY", key);
        } else {
            cmd.env_remove("PASSKEY_KIOSK_JOURNAL_KEY");
        }
        let out = cmd.output().unwrap();
        (out.status.success(), text(&out))
    };
    // With the deployment's key: connected, schema applied, the key recorded.
    let (ok, out) = run(true);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok   Journal writable: postgresql://") && out.contains("desk-9"),
        "{out}"
    );
    assert!(
        !out.contains(pg_support::STATION_PASSWORD),
        "the password is never shown: {out}"
    );
    // A station without the key is refused by the journal that has one, with the remedy.
    let (ok, out) = run(false);
    assert!(!ok, "{out}");
    assert!(out.contains("FAIL Journal writable"), "{out}");
    assert!(
        out.contains("PASSKEY_KIOSK_JOURNAL_KEY") || out.contains("journalKeyFile"),
        "{out}"
    );
}

#[test]
fn a_delegated_station_checks_the_sign_in_endpoint_for_its_tenant() {
    let st = Station::new(plain_tenant(1), r#","operatorSignIn":"delegated""#);
    st.set_config(serde_json::json!({"client_secret": null}));
    std::fs::set_permissions(&st.config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, out) = doctor(&st);
    assert!(ok, "{out}");
    assert!(
        out.contains("ok   Sign-in to Entra ID") && out.contains("the sign-in endpoint answers"),
        "{out}"
    );

    // A tenant the sign-in endpoint does not know: the failed line says what to correct.
    st.set_config(serde_json::json!({"tenantName": "nobody.example"}));
    let (ok, out) = doctor(&st);
    assert!(!ok, "{out}");
    assert!(
        out.contains("does not know tenant nobody.example") && out.contains("tenantName"),
        "{out}"
    );
}
