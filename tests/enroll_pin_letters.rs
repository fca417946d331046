//! Headless `enroll` with PIN letters, through the binary against the fake tenant and software
//! keys: one PDF per person (0600, in a 0700 folder), read back with `pdftotext`; the PIN in
//! the letter is the one the key took, and it is nowhere else (not in keysRegistered.csv, not
//! on the terminal). A letter that cannot be written leaves the PIN in the CSV, as without
//! letters, and fails the run saying so.

mod kit;

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ctap::soft::SoftAuthenticator;
use kit::keys::{pin_opens, soft_key};
use kit::pdf::{assert_has, pin_in_letter, text_of_file};
use kit::station::Station;
use kit::tenant::plain_tenant;
use passkey_kiosk::i18n::format::date;
use passkey_kiosk::i18n::Language::German;
use passkey_kiosk::letters::file_name;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Runs `enroll` with `args`, plugging a fresh key in whenever one is asked for; returns the
/// exit status, the output and the keys by serial.
fn enroll(
    st: &Station,
    args: &[&str],
    first_serial: u32,
) -> (
    std::process::ExitStatus,
    String,
    HashMap<String, SoftAuthenticator>,
) {
    let mut keys = HashMap::new();
    let (status, out) = st.enroll(args, &[], |line| {
        if line.contains("insert a new key for") {
            let serial = first_serial + keys.len() as u32;
            let key = soft_key(serial);
            keys.insert(serial.to_string(), key.clone());
            st.slot.insert(Some(key));
        }
    });
    (status, out, keys)
}

#[test]
fn each_letter_holds_its_persons_pin_and_nothing_else_does() {
    let st = Station::new(plain_tenant(3), r#","useRandomPIN":true"#);
    st.prefetch();
    let queue = st.queue();
    let dir = st.dir.path().join("out").join("letters");
    let (status, out, keys) = enroll(&st, &["--pin-letters", dir.to_str().unwrap()], 61_000_000);
    assert!(status.success(), "{out}");
    assert!(out.contains("summary: 3 enrolled"), "{out}");
    assert_eq!(
        mode(&dir),
        0o700,
        "a new letters folder is the station's alone"
    );

    let rows = st.csv_rows();
    assert_eq!(rows.len(), 3);
    let mut letters = std::fs::read_dir(&dir).unwrap().count();
    for row in &rows {
        let (upn, serial, csv_pin) = (&row[0], &row[2], &row[3]);
        assert_eq!(csv_pin, "", "the PIN is only in the letter: {row:?}");
        let person = queue.iter().find(|q| &q.upn == upn).unwrap();
        let path = dir.join(file_name(upn, Some(serial)));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        assert!(
            out.contains(&format!("PIN letter {}", path.display())),
            "{out}"
        );
        let text = text_of_file(&path);
        assert_has(
            &text,
            &[
                person.display_name.as_str(),
                upn,
                serial.as_str(),
                "Change your PIN",
            ],
        );
        let pin = pin_in_letter(&text).unwrap_or_else(|| panic!("no PIN in:\n{text}"));
        assert!(pin.len() >= 6);
        assert!(
            pin_opens(&keys[serial], &pin),
            "the letter's PIN is the key's"
        );
        assert!(
            !out.contains(&pin),
            "the PIN is not on the terminal:\n{out}"
        );
        assert!(!std::fs::read_to_string(&st.out).unwrap().contains(&pin));
        letters -= 1;
    }
    assert_eq!(letters, 0, "one letter per person, nothing else");
}

#[test]
fn a_german_letter_beside_the_journal_for_a_name_beyond_ascii() {
    let st = Station::new(
        plain_tenant(30),
        r#","useRandomPIN":true,"pinDelivery":"letter","letter":{"paper":"Letter","sender":"Contoso IT-Service, Raum 4.12"}"#,
    );
    st.prefetch();
    let person = st
        .queue()
        .into_iter()
        .find(|q| !q.display_name.is_ascii())
        .expect("the fake tenant names someone Müller, Björn, Åkesson…");
    let before = time::OffsetDateTime::now_utc().date();
    let (status, out, keys) = enroll(
        &st,
        &["--user", &person.upn, "--letter-language", "de"],
        62_000_000,
    );
    let after = time::OffsetDateTime::now_utc().date();
    assert!(status.success(), "{out}");
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][3], "", "pinDelivery letter: no PIN in the CSV");
    let serial = &rows[0][2];
    // The default folder: `letters` beside the journal.
    let path = st
        .dir
        .path()
        .join("letters")
        .join(file_name(&person.upn, Some(serial)));
    let text = text_of_file(&path);
    assert!(
        text.contains(&format!("Guten Tag {},", person.display_name)),
        "{text}"
    );
    assert!(
        text.contains(&date(German, before)) || text.contains(&date(German, after)),
        "{text}"
    );
    assert_has(
        &text,
        &[
            "Ihr Sicherheitsschlüssel",
            "PIN ändern",
            "Hier falten",
            "Contoso IT-Service, Raum 4.12",
            person.upn.as_str(),
        ],
    );
    let pin = pin_in_letter(&text).unwrap();
    assert!(pin_opens(&keys[serial], &pin));
}

#[test]
fn a_letter_that_cannot_be_written_leaves_the_pin_in_the_csv_and_fails_the_run() {
    let st = Station::new(plain_tenant(1), r#","useRandomPIN":true"#);
    st.prefetch();
    // A file where the folder should be: no letter can be created in it.
    let blocked = st.dir.path().join("letters-here");
    std::fs::write(&blocked, "not a folder").unwrap();
    let dir = blocked.join("letters");
    let (status, out, keys) = enroll(&st, &["--pin-letters", dir.to_str().unwrap()], 63_000_000);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("could not be written") && out.contains("its PIN is in"),
        "{out}"
    );
    assert!(out.contains("keysRegistered.csv"), "{out}");
    let rows = st.csv_rows();
    assert_eq!(rows.len(), 1);
    let (serial, pin) = (&rows[0][2], &rows[0][3]);
    assert!(
        pin_opens(&keys[serial], pin),
        "the PIN is kept where it is kept without letters"
    );
    assert!(!out.contains(pin.as_str()), "{out}");
}

#[test]
fn letters_and_a_pin_column_in_the_csv_contradict_each_other() {
    let st = Station::new(
        plain_tenant(1),
        r#","useRandomPIN":true,"pinsInKeysRegisteredCsv":true"#,
    );
    let (status, out, _) = enroll(&st, &["--pin-letters", "letters"], 64_000_000);
    assert!(!status.success(), "{out}");
    assert!(
        out.contains("pinsInKeysRegisteredCsv") && out.contains("--pin-letters"),
        "{out}"
    );
    let (status, out, _) = enroll(&st, &["--letter-language", "fr"], 64_000_000);
    assert!(!status.success());
    assert!(out.contains("\"fr\"") && out.contains("\"de\""), "{out}");
}
