//! PIN letters: the random PIN of a new key on paper, for `"pinDelivery": "letter"`.
//!
//! A letter names the person, their account and the key's serial, carries the PIN in a
//! fold-over panel at the foot of the page, and says how to change it. It is rendered to PDF
//! bytes (`layout`) in the person's language (`wording`), then either written to a file
//! readable by the station's user alone (headless `enroll`) or piped to the print command
//! (the kiosk's *Print letter*: no file ever holds the PIN).

mod layout;
mod print;
mod wording;

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

pub use print::print;
pub use wording::{languages, Wording};

/// `letter.paper`: the sheet the letter is laid out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Paper {
    /// ISO A4, 210 x 297 mm (the default).
    #[default]
    A4,
    /// US Letter, 8.5 x 11 in.
    Letter,
}

impl Paper {
    /// Width and height in millimetres.
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            Paper::A4 => (210.0, 297.0),
            Paper::Letter => (215.9, 279.4),
        }
    }
}

/// The `letter` object of the config: how letters look and where they are printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterSettings {
    /// `paper`: A4 (default) or Letter.
    pub paper: Paper,
    /// `sender`: who sends the letter (a line at its top, and whom to ask); none: omitted.
    pub sender: Option<String>,
    /// `logo`: a PNG at the top left (checked readable when the config is loaded).
    pub logo: Option<PathBuf>,
    /// `printCommand`: the program and its arguments; the PDF goes to its standard input
    /// (default `["lp"]`, CUPS's default printer).
    pub print_command: Vec<String>,
}

impl Default for LetterSettings {
    fn default() -> Self {
        LetterSettings {
            paper: Paper::A4,
            sender: None,
            logo: None,
            print_command: vec!["lp".to_owned()],
        }
    }
}

/// What one letter says about its person and key.
pub struct LetterFields<'a> {
    /// The person's display name.
    pub display_name: &'a str,
    /// Their UPN.
    pub upn: &'a str,
    /// The key's serial number, when it reports one.
    pub serial: Option<&'a str>,
    /// The random PIN set on the key.
    pub pin: &'a str,
    /// The letter's date.
    pub date: time::Date,
}

/// Why a letter could not be made, written or printed. Never holds the PIN.
#[derive(Debug, thiserror::Error)]
pub enum LetterError {
    /// No catalogue for the language asked for.
    #[error("no PIN letter wording for language \"{0}\": use one of {known}", known = crate::i18n::Language::supported())]
    Language(String),
    /// The logo could not be read or is not a PNG.
    #[error("the letter's logo {path}: {reason}; fix \"letter\".\"logo\" in the config")]
    Logo {
        /// The configured file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The bundled font could not be parsed (never expected: it is built in).
    #[error("the letter's font could not be read")]
    Font,
    /// The letter file could not be written.
    #[error("writing the PIN letter {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The print command could not be started or failed.
    #[error("printing the PIN letter with {command:?}: {reason}; check \"letter\".\"printCommand\" in the config and the printer")]
    Print {
        /// The command as configured.
        command: String,
        /// What went wrong (exit status and the command's own message).
        reason: String,
    },
}

/// Renders one letter as PDF bytes (which hold the PIN, so they are wiped when dropped).
pub fn render(
    fields: &LetterFields<'_>,
    settings: &LetterSettings,
    language: &str,
) -> Result<Zeroizing<Vec<u8>>, LetterError> {
    let wording = Wording::load(language)?;
    let logo = match &settings.logo {
        Some(path) => Some(read_logo(path)?),
        None => None,
    };
    layout::render(fields, settings, logo.as_deref(), &wording)
}

/// Reads the logo and checks it is a PNG (its signature; the decoder checks the rest).
pub fn read_logo(path: &Path) -> Result<Vec<u8>, LetterError> {
    const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let bytes = std::fs::read(path).map_err(|e| LetterError::Logo {
        path: path.to_owned(),
        reason: format!("cannot be read ({e})"),
    })?;
    if !bytes.starts_with(PNG_SIGNATURE) {
        return Err(LetterError::Logo {
            path: path.to_owned(),
            reason: "is not a PNG image".into(),
        });
    }
    Ok(bytes)
}

/// The letter's file name: UPN and serial, letters, digits, `.`, `-` and `_` only (anything
/// else becomes `_`), so a name cannot reach outside the letters folder.
pub fn file_name(upn: &str, serial: Option<&str>) -> String {
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let upn = safe(upn).trim_start_matches('.').to_owned();
    let upn = if upn.is_empty() { "letter".into() } else { upn };
    match serial.filter(|s| !s.is_empty()) {
        Some(serial) => format!("{upn}_{}.pdf", safe(serial)),
        None => format!("{upn}.pdf"),
    }
}

/// Renders and writes one letter into `dir` (created if missing), readable by the station's
/// user alone. Returns the file written.
pub fn write(
    dir: &Path,
    fields: &LetterFields<'_>,
    settings: &LetterSettings,
    language: &str,
) -> Result<PathBuf, LetterError> {
    let pdf = render(fields, settings, language)?;
    let path = dir.join(file_name(fields.upn, fields.serial));
    let written = (|| {
        create_private_dir(dir)?;
        crate::owner_only::write_bytes(&path, &pdf)
    })();
    written.map_err(|source| LetterError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Creates `dir` (and its parents) when missing; a new folder is the station user's alone.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Today's date for a letter (UTC: the day a letter is printed is all it shows).
pub fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_to_safe_characters() {
        assert_eq!(
            file_name("ana.lopez@contoso.com", Some("12345678")),
            "ana.lopez_contoso.com_12345678.pdf"
        );
        assert_eq!(file_name("../../etc/passwd", None), "_.._etc_passwd.pdf");
        assert_eq!(file_name("zoë@x", Some("a/b c")), "zo__x_a_b_c.pdf");
        assert_eq!(file_name("..", Some("")), "letter.pdf");
    }

    #[test]
    fn a_logo_that_is_no_png_is_refused_saying_what_to_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logo.png");
        std::fs::write(&path, b"GIF89a").unwrap();
        let err = read_logo(&path).unwrap_err().to_string();
        assert!(
            err.contains("not a PNG") && err.contains("\"logo\""),
            "{err}"
        );
        let err = read_logo(&dir.path().join("missing.png"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be read"), "{err}");
    }
}
