//! `--help` reads like a manual page: what the program is, the files an installed station
//! uses, its environment and exit status; `-h` stays one screen.

mod kit;

use kit::bin::kiosk;

fn help(args: &[&str]) -> String {
    let out = kiosk().args(args).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_long_help_is_a_manual_page_and_the_short_one_a_summary() {
    let long = help(&["--help"]);
    for section in ["FILES", "ENVIRONMENT", "EXIT STATUS", "SEE ALSO"] {
        assert!(long.contains(section), "{section}:\n{long}");
    }
    for named in [
        "/etc/passkey-kiosk/configs.json",
        "/var/lib/passkey-kiosk/",
        "PASSKEY_KIOSK_JOURNAL_URL",
        "PASSKEY_KIOSK_JOURNAL_KEY",
        "PASSKEY_KIOSK_CLIENT_SECRET",
        "HTTPS_PROXY",
        "release-claim",
        "doctor",
    ] {
        assert!(long.contains(named), "{named}:\n{long}");
    }
    let short = help(&["-h"]);
    assert!(!short.contains("ENVIRONMENT"), "{short}");
    assert!(short.lines().count() < long.lines().count() / 2);

    let release = help(&["release-claim", "--help"]);
    assert!(
        release.contains("--from") && release.contains("--reason") && release.contains("--yes"),
        "{release}"
    );
}
