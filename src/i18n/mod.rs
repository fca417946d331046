//! The languages the kiosk speaks: [`Language`], the message catalogues ([`Catalog`], Project
//! Fluent files under `locales/`, built into the binary) and the formatting of dates and
//! numbers ([`format`]).
//!
//! The UI asks a [`Texts`] (a language bound to the shared catalogue) for every word it shows:
//! `texts.text("id")` or `texts.text_with("id", &[("name", name.into())])`. The catalogues are
//! parsed once per process; a lookup is a hash-map hit and a short format, cheap enough for
//! every frame.

mod catalog;
pub mod format;

pub use catalog::{Arg, Catalog, Texts};

/// A language of the kiosk's catalogues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English (the catalogues' reference: every message exists in it).
    #[default]
    English,
    /// German.
    German,
}

impl Language {
    /// Every language, in the order the language switch shows them.
    pub const ALL: [Language; 2] = [Language::English, Language::German];

    /// The code of the `language` config key (ISO 639-1).
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
        }
    }

    /// The language's name in itself, as the language switch shows it.
    pub fn name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::German => "Deutsch",
        }
    }

    /// The language of `code` (case and surrounding spaces ignored).
    pub fn from_code(code: &str) -> Option<Language> {
        let code = code.trim();
        Language::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The supported codes, for error messages: `"en" (English), "de" (Deutsch)`.
    pub fn supported() -> String {
        Language::ALL
            .iter()
            .map(|l| format!("\"{}\" ({})", l.code(), l.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for l in Language::ALL {
            assert_eq!(Language::from_code(l.code()), Some(l));
        }
        assert_eq!(Language::from_code(" DE "), Some(Language::German));
        assert_eq!(Language::from_code("fr"), None);
        assert_eq!(Language::from_code(""), None);
        assert_eq!(Language::supported(), "\"en\" (English), \"de\" (Deutsch)");
    }
}
