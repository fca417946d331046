//! The letter's words in the person's language, from the Fluent catalogues
//! `locales/{en,de}/letter.ftl` (built into the binary, so an installed station needs no
//! locale files). One small loader, kept apart so it can give way to the app's own catalogues.

use fluent_bundle::{FluentArgs, FluentBundle, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

use super::LetterError;

/// The languages a letter can be written in, with their catalogue.
const CATALOGUES: [(&str, &str); 2] = [
    ("en", include_str!("../../locales/en/letter.ftl")),
    ("de", include_str!("../../locales/de/letter.ftl")),
];

/// The languages a letter can be written in.
pub fn languages() -> impl Iterator<Item = &'static str> {
    CATALOGUES.iter().map(|(lang, _)| *lang)
}

/// One language's messages.
pub struct Wording {
    bundle: FluentBundle<FluentResource>,
}

impl Wording {
    /// The catalogue of `language` (`en`, `de`).
    pub fn load(language: &str) -> Result<Self, LetterError> {
        let (lang, source) = CATALOGUES
            .iter()
            .find(|(lang, _)| lang.eq_ignore_ascii_case(language.trim()))
            .ok_or_else(|| LetterError::Language(language.to_owned()))?;
        let id: LanguageIdentifier = lang
            .parse()
            .map_err(|_| LetterError::Language(language.to_owned()))?;
        let resource = FluentResource::try_new((*source).to_owned()).map_err(|(_, errors)| {
            LetterError::Catalogue(format!("locales/{lang}/letter.ftl: {errors:?}"))
        })?;
        let mut bundle = FluentBundle::new(vec![id]);
        // No Unicode isolation marks around names: the PDF would carry them as text.
        bundle.set_use_isolating(false);
        bundle.add_resource(resource).map_err(|errors| {
            LetterError::Catalogue(format!("locales/{lang}/letter.ftl: {errors:?}"))
        })?;
        Ok(Wording { bundle })
    }

    /// Message `id` with `args` (names to values).
    pub fn text(&self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            // A catalogue without the message: the id shows, and the unit tests catch it.
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }

    /// A message without arguments.
    pub fn plain(&self, id: &str) -> String {
        self.text(id, &[])
    }

    /// `date` as the language writes it in a letter ("6 December 2026", "6. Dezember 2026").
    pub fn date(&self, date: time::Date) -> String {
        self.text(
            "letter-on-date",
            &[
                ("day", FluentValue::from(date.day())),
                ("month", FluentValue::from(u8::from(date.month()))),
                ("year", FluentValue::from(date.year())),
            ],
        )
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
    fn every_message_exists_in_every_language() {
        let ids: Vec<String> = CATALOGUES[0]
            .1
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .filter(|id| id.starts_with("letter-"))
            .collect();
        assert!(ids.len() > 15, "{ids:?}");
        for lang in languages() {
            let w = Wording::load(lang).unwrap();
            for id in &ids {
                assert!(w.bundle.get_message(id).is_some(), "{lang} lacks {id}");
            }
        }
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
