//! PIN letters rendered by the library and read back with `pdftotext`: every field, the
//! PIN below the fold, names with letters beyond ASCII, English and German dates, the logo
//! and both paper sizes.

mod kit;

use kit::pdf::{assert_has, pin_in_letter, text_of};
use passkey_kiosk::letters::{render, LetterFields, LetterSettings, Paper};
use time::macros::date;

fn fields<'a>(name: &'a str, upn: &'a str, pin: &'a str) -> LetterFields<'a> {
    LetterFields {
        display_name: name,
        upn,
        serial: Some("31415926"),
        pin,
        date: date!(2026 - 12 - 06),
    }
}

/// A 2x1 PNG (red, blue): IHDR 2x1 RGB 8-bit, one IDAT, IEND.
fn tiny_png() -> Vec<u8> {
    let hex = "89504e470d0a1a0a0000000d49484452000000020000000108020000007b40e8dd0000000d49444154789c63f8cf0004ff01070001ffe2239e590000000049454e44ae426082";
    hex::decode(hex).unwrap()
}

#[test]
fn an_english_letter_has_every_field_and_the_pin_below_the_fold() {
    let settings = LetterSettings {
        sender: Some("Contoso IT, Room 4.12".into()),
        ..LetterSettings::default()
    };
    let pdf = render(
        &fields("Zoë Żółć-Łukasiewicz", "zoe.zolc@contoso.example", "480213"),
        &settings,
        "en",
    )
    .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Zoë Żółć-Łukasiewicz",
            "zoe.zolc@contoso.example",
            "31415926",
            "6 December 2026",
            "Contoso IT, Room 4.12",
            "Change your PIN",
            "Fold here",
        ],
    );
    assert_eq!(pin_in_letter(&text).as_deref(), Some("480213"), "{text}");
    // The PIN comes after the fold line, nowhere else.
    let fold = text.find("Fold here").unwrap();
    assert_eq!(text.matches("480213").count(), 1);
    assert!(text.find("480213").unwrap() > fold);
}

#[test]
fn a_german_letter_has_german_words_and_date() {
    let pdf = render(
        &fields("Jürgen Groß", "juergen.gross@contoso.example", "917364"),
        &LetterSettings::default(),
        "de",
    )
    .unwrap();
    let text = text_of(&pdf);
    assert_has(
        &text,
        &[
            "Guten Tag Jürgen Groß,",
            "6. Dezember 2026",
            "PIN ändern",
            "Seriennummer",
            "Hier falten",
            "Ihr IT-Service-Desk",
        ],
    );
    assert_eq!(pin_in_letter(&text).as_deref(), Some("917364"), "{text}");
}

#[test]
fn paper_size_and_logo_follow_the_settings() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    std::fs::write(&logo, tiny_png()).unwrap();
    for (paper, size) in [
        (Paper::A4, "595.276 x 841.89"),
        (Paper::Letter, "612 x 792"),
    ] {
        let settings = LetterSettings {
            paper,
            logo: Some(logo.clone()),
            ..LetterSettings::default()
        };
        let pdf = render(&fields("Ana", "ana@x.example", "123987"), &settings, "en").unwrap();
        let path = dir.path().join("letter.pdf");
        std::fs::write(&path, &pdf[..]).unwrap();
        let info = std::process::Command::new("pdfinfo")
            .arg(&path)
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains(size), "{paper:?}: {info}");
        let images = std::process::Command::new("pdfimages")
            .arg("-list")
            .arg(&path)
            .output()
            .unwrap();
        let images = String::from_utf8_lossy(&images.stdout);
        assert_eq!(images.lines().count(), 3, "one image (the logo):\n{images}");
    }
}
