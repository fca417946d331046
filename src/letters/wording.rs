//! The letter's words in the person's language: the `letter-` messages of the app's Fluent
//! catalogues (`locales/{en,de}/letter.ftl`, built into the binary, so an installed station
//! needs no locale files).

use fluent_bundle::FluentValue;

use super::LetterError;
use crate::i18n::{Catalog, Language, Texts};

/// The languages a letter can be written in.
pub fn languages() -> impl Iterator<Item = &'static str> {
    Language::ALL.into_iter().map(Language::code)
}

/// One language's messages.
pub struct Wording {
    texts: Texts,
}

impl Wording {
    /// The wording of `language` (`en`, `de`).
    pub fn load(language: &str) -> Result<Self, LetterError> {
        let language =
            Language::from_code(language).ok_or_else(|| LetterError::Language(language.into()))?;
        Ok(Wording::new(language))
    }

    /// The wording of `language`.
    pub fn new(language: Language) -> Self {
        Wording {
            texts: Texts::new(Catalog::shared(), language),
        }
    }

    /// Message `id` with `args` (names to values).
    pub fn text(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        self.texts.text_with(id, args)
    }

    /// A message without arguments.
    pub fn plain(&self, id: &str) -> String {
        self.texts.text(id)
    }

    /// `date` as the language writes it in a letter ("6 December 2026", "6. Dezember 2026").
    pub fn date(&self, date: time::Date) -> String {
        crate::i18n::format::date(self.texts.language(), date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_follow_the_language() {
        let en = Wording::load("en").unwrap();
        let de = Wording::load("de").unwrap();
        assert_eq!(en.date(date!(2026 - 12 - 06)), "6 December 2026");
        assert_eq!(de.date(date!(2026 - 12 - 06)), "6. Dezember 2026");
        assert_eq!(de.date(date!(2027 - 03 - 31)), "31. März 2027");
        assert_eq!(en.date(date!(2027 - 01 - 01)), "1 January 2027");
    }

    #[test]
    fn names_are_inserted_without_isolation_marks() {
        let de = Wording::load("de").unwrap();
        let text = de.text("letter-greeting", &[("name", "Jürgen Groß".into())]);
        assert_eq!(text, "Guten Tag Jürgen Groß,");
    }

    #[test]
    fn an_unknown_language_says_which_are_known() {
        let err = Wording::load("fr").err().unwrap().to_string();
        assert!(
            err.contains("\"fr\"") && err.contains("en") && err.contains("de"),
            "{err}"
        );
    }
}
