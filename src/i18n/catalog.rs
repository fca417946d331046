//! The message catalogues: one Fluent bundle per language, built once from the `.ftl` files
//! under `locales/` (compiled in), and [`Texts`], a language bound to them for the UI.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

use super::{format, Language};

/// A value for a message's variable (`"text".into()`, `count.into()`): numbers are written
/// with the language's thousands separator and select plural forms.
pub type Arg<'a> = FluentValue<'a>;

/// The catalogue files, one per area of the UI, in every language.
const FILES: &[(Language, &str, &str)] = &[
    (
        Language::English,
        "en/common.ftl",
        include_str!("../../locales/en/common.ftl"),
    ),
    (
        Language::English,
        "en/wizard.ftl",
        include_str!("../../locales/en/wizard.ftl"),
    ),
    (
        Language::English,
        "en/operator.ftl",
        include_str!("../../locales/en/operator.ftl"),
    ),
    (
        Language::English,
        "en/remedy.ftl",
        include_str!("../../locales/en/remedy.ftl"),
    ),
    (
        Language::English,
        "en/letter.ftl",
        include_str!("../../locales/en/letter.ftl"),
    ),
    (
        Language::German,
        "de/common.ftl",
        include_str!("../../locales/de/common.ftl"),
    ),
    (
        Language::German,
        "de/wizard.ftl",
        include_str!("../../locales/de/wizard.ftl"),
    ),
    (
        Language::German,
        "de/operator.ftl",
        include_str!("../../locales/de/operator.ftl"),
    ),
    (
        Language::German,
        "de/remedy.ftl",
        include_str!("../../locales/de/remedy.ftl"),
    ),
    (
        Language::German,
        "de/letter.ftl",
        include_str!("../../locales/de/letter.ftl"),
    ),
];

/// Every language's messages, parsed once.
pub struct Catalog {
    /// In the order of [`Language::ALL`].
    bundles: Vec<FluentBundle<FluentResource>>,
    /// What went wrong building them (a syntax error, an id given twice); the unit tests
    /// require it empty, a station logs it and shows what it could read.
    problems: Vec<String>,
}

impl Catalog {
    /// Parses the built-in catalogues.
    pub fn new() -> Catalog {
        let mut problems = Vec::new();
        let bundles = Language::ALL
            .iter()
            .map(|&language| {
                let locale = language.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![locale]);
                // egui would draw Unicode's isolation marks around every variable as boxes.
                bundle.set_use_isolating(false);
                bundle.set_formatter(Some(match language {
                    Language::English => |v, _| grouped(Language::English, v),
                    Language::German => |v, _| grouped(Language::German, v),
                }));
                for (_, file, source) in FILES.iter().filter(|(l, _, _)| *l == language) {
                    let resource = match FluentResource::try_new((*source).to_owned()) {
                        Ok(r) => r,
                        Err((r, errors)) => {
                            problems.extend(errors.iter().map(|e| format!("{file}: {e}")));
                            r
                        }
                    };
                    if let Err(errors) = bundle.add_resource(resource) {
                        problems.extend(errors.iter().map(|e| format!("{file}: {e}")));
                    }
                }
                bundle
            })
            .collect();
        for problem in &problems {
            tracing::error!("message catalogue: {problem}");
        }
        Catalog { bundles, problems }
    }

    /// The catalogue of this process, parsed on first use.
    pub fn shared() -> Arc<Catalog> {
        static SHARED: OnceLock<Arc<Catalog>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(Catalog::new())).clone()
    }

    /// What went wrong building the catalogues (empty when all is well).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    fn bundle(&self, language: Language) -> Option<&FluentBundle<FluentResource>> {
        let index = Language::ALL.iter().position(|l| *l == language)?;
        self.bundles.get(index)
    }

    /// Message `id` in `language`, else in English, else the id itself (so a missing text
    /// shows where it is missing instead of nothing).
    pub fn text(&self, language: Language, id: &str, args: Option<&FluentArgs>) -> String {
        for language in [language, Language::English] {
            let Some(bundle) = self.bundle(language) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!("message {id} ({}): {errors:?}", language.code());
            }
            return text.into_owned();
        }
        tracing::warn!("no message {id}");
        id.to_owned()
    }
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::new()
    }
}

/// Whole numbers with the language's thousands separator; anything else as Fluent writes it.
fn grouped(language: Language, value: &FluentValue) -> Option<String> {
    match value {
        FluentValue::Number(n)
            if n.value.fract() == 0.0
                && n.value.abs() < 1e15
                && n.options.use_grouping
                && n.options.minimum_fraction_digits.is_none() =>
        {
            Some(format::number(language, n.value as i64))
        }
        _ => None,
    }
}

/// The catalogue in one language: what the UI holds to word a screen.
#[derive(Clone)]
pub struct Texts {
    catalog: Arc<Catalog>,
    language: Language,
}

impl Texts {
    /// `language`'s texts from `catalog`.
    pub fn new(catalog: Arc<Catalog>, language: Language) -> Texts {
        Texts { catalog, language }
    }

    /// The language the texts are in.
    pub fn language(&self) -> Language {
        self.language
    }

    /// Message `id` (English when this language lacks it).
    pub fn text(&self, id: &str) -> String {
        self.catalog.text(self.language, id, None)
    }

    /// Message `id` with its variables: `&[("name", name.into()), ("count", n.into())]`.
    pub fn text_with(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent = FluentArgs::with_capacity(args.len());
        for (name, value) in args {
            fluent.set(Cow::Borrowed(*name), value.clone());
        }
        self.catalog.text(self.language, id, Some(&fluent))
    }

    /// A number with the language's thousands separator.
    pub fn number(&self, n: i64) -> String {
        format::number(self.language, n)
    }

    /// A moment (Unix seconds, UTC) as the language writes it.
    pub fn date_time(&self, unix_seconds: i64) -> String {
        format::date_time(self.language, unix_seconds)
    }
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Texts({})", self.language.code())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use fluent_syntax::ast;

    use super::*;

    /// Every message of `language`: its id and the variables it uses.
    fn messages(language: Language) -> BTreeMap<String, BTreeSet<String>> {
        let mut all = BTreeMap::new();
        for (_, file, source) in FILES.iter().filter(|(l, _, _)| *l == language) {
            let resource = FluentResource::try_new((*source).to_owned())
                .unwrap_or_else(|(_, e)| panic!("{file}: {e:?}"));
            for entry in resource.entries() {
                if let ast::Entry::Message(m) = entry {
                    let mut vars = BTreeSet::new();
                    if let Some(p) = &m.value {
                        pattern_vars(p, &mut vars);
                    }
                    let id = m.id.name.to_owned();
                    assert!(all.insert(id.clone(), vars).is_none(), "{file}: {id} twice");
                }
            }
        }
        all
    }

    fn pattern_vars(pattern: &ast::Pattern<&str>, vars: &mut BTreeSet<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                expression_vars(expression, vars);
            }
        }
    }

    fn expression_vars(expression: &ast::Expression<&str>, vars: &mut BTreeSet<String>) {
        match expression {
            ast::Expression::Inline(inline) => inline_vars(inline, vars),
            ast::Expression::Select { selector, variants } => {
                inline_vars(selector, vars);
                for v in variants {
                    pattern_vars(&v.value, vars);
                }
            }
        }
    }

    fn inline_vars(inline: &ast::InlineExpression<&str>, vars: &mut BTreeSet<String>) {
        match inline {
            ast::InlineExpression::VariableReference { id } => {
                vars.insert(id.name.to_owned());
            }
            ast::InlineExpression::Placeable { expression } => expression_vars(expression, vars),
            _ => {}
        }
    }

    #[test]
    fn the_catalogues_parse_without_a_problem() {
        let catalog = Catalog::new();
        assert_eq!(catalog.problems(), &[] as &[String]);
    }

    #[test]
    fn every_language_has_every_message_with_the_same_variables() {
        let english = messages(Language::English);
        assert!(
            english.len() > 100,
            "only {} English messages",
            english.len()
        );
        for language in Language::ALL {
            let other = messages(language);
            let missing: Vec<_> = english
                .keys()
                .filter(|id| !other.contains_key(*id))
                .collect();
            let extra: Vec<_> = other
                .keys()
                .filter(|id| !english.contains_key(*id))
                .collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", language.code());
            assert!(
                extra.is_empty(),
                "{} has unknown {extra:?}",
                language.code()
            );
            for (id, vars) in &english {
                assert_eq!(
                    other.get(id),
                    Some(vars),
                    "{}: {id} uses other variables than in English",
                    language.code()
                );
            }
        }
    }

    /// The ids the UI names in `text("…")` / `text_with("…", …)` calls.
    fn ids_named_in(dir: &std::path::Path, ids: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                ids_named_in(&path, ids);
                continue;
            }
            let source = std::fs::read_to_string(&path).unwrap();
            for call in [".text(", ".text_with("] {
                for (at, _) in source.match_indices(call) {
                    let rest = source[at + call.len()..].trim_start();
                    let Some(rest) = rest.strip_prefix('"') else {
                        continue; // an id computed elsewhere
                    };
                    if let Some(end) = rest.find('"') {
                        ids.insert(rest[..end].to_owned());
                    }
                }
            }
        }
    }

    #[test]
    fn every_message_the_ui_asks_for_exists() {
        let english = messages(Language::English);
        let mut ids = BTreeSet::new();
        ids_named_in(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui"),
            &mut ids,
        );
        assert!(ids.len() > 100, "only {} ids found", ids.len());
        let unknown: Vec<_> = ids.iter().filter(|id| !english.contains_key(*id)).collect();
        assert!(unknown.is_empty(), "no such message: {unknown:?}");
    }

    #[test]
    fn german_falls_back_to_english_and_an_unknown_id_shows_itself() {
        let catalog = Catalog::new();
        let de = Texts::new(Arc::new(Catalog::new()), Language::German);
        assert_eq!(de.text("done-reveal"), "PIN anzeigen");
        assert_eq!(de.text("no-such-message"), "no-such-message");
        // A message only English has is shown in English rather than not at all.
        let empty_german = FluentBundle::new_concurrent(vec!["de".parse().unwrap()]);
        let fallback = Catalog {
            bundles: vec![catalog.bundles.into_iter().next().unwrap(), empty_german],
            problems: vec![],
        };
        let de = Texts::new(Arc::new(fallback), Language::German);
        assert_eq!(de.text("done-reveal"), "Reveal PIN");
    }

    #[test]
    fn variables_are_filled_in_without_isolation_marks_and_numbers_are_grouped() {
        let catalog = Catalog::shared();
        let en = Texts::new(catalog.clone(), Language::English);
        let de = Texts::new(catalog, Language::German);
        let name = [("name", "Ada Lovelace".into())];
        assert_eq!(
            en.text_with("done-issued-to", &name),
            "Key issued to Ada Lovelace"
        );
        assert_eq!(
            de.text_with("done-issued-to", &name),
            "Schlüssel ausgegeben an Ada Lovelace"
        );
        let counts = |t: &Texts| {
            t.text_with(
                "queue-counts",
                &[
                    ("shown", 12.into()),
                    ("total", 100_000.into()),
                    ("ready", 99_000.into()),
                    ("waiting", 0.into()),
                    ("enrolled", 1000.into()),
                    ("failed", 0.into()),
                ],
            )
        };
        assert_eq!(
            counts(&en),
            "12 shown of 100,000 · 99,000 ready · 0 waiting · 1,000 enrolled · 0 failed"
        );
        assert_eq!(
            counts(&de),
            "12 von 100.000 angezeigt · 99.000 bereit · 0 wartend · 1.000 ausgestattet · 0 fehlgeschlagen"
        );
        // German selects the plural form by the number.
        let retries = |n: u8| de.text_with("pin-retries-left", &[("retries", n.into())]);
        assert_eq!(retries(1), "Noch 1 Versuch, bevor der Schlüssel sperrt");
        assert_eq!(retries(3), "Noch 3 Versuche, bevor der Schlüssel sperrt");
    }
}
