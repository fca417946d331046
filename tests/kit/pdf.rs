//! Reading a PDF back as the person would: its text through `pdftotext` (poppler-utils).

use std::path::Path;
use std::process::Command;

/// The text of the PDF at `path`, laid out as on the page (`pdftotext -layout`).
pub fn text_of_file(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian package poppler-utils) must be installed");
    assert!(
        out.status.success(),
        "pdftotext {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("pdftotext writes UTF-8")
}

/// The text of PDF `bytes`.
pub fn text_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("letter.pdf");
    std::fs::write(&path, bytes).unwrap();
    text_of_file(&path)
}

/// The PIN printed in a letter's PIN panel: the one line of the letter that is digits alone.
pub fn pin_in_letter(text: &str) -> Option<String> {
    let mut digits = text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 4 && l.chars().all(|c| c.is_ascii_digit()));
    let pin = digits.next()?;
    digits.next().is_none().then(|| pin.to_owned())
}

/// Asserts that the letter's `text` has each of `expected`.
pub fn assert_has(text: &str, expected: &[&str]) {
    for e in expected {
        assert!(text.contains(e), "{e:?} missing in:\n{text}");
    }
}
