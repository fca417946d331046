//! The name a registered key gets in Entra ID (`keyDisplayName`): a template with `{model}`,
//! `{serial}`, `{date}` and `{upn}`, rendered per key and person and checked against Graph's
//! limit before anything is written to the key, so a name never comes out cut.

use graph::wire::MAX_DISPLAY_NAME_CHARS;

/// The proof of concept's naming.
pub const DEFAULT_TEMPLATE: &str = "Serial: {serial} {date}";

const PLACEHOLDERS: [&str; 4] = ["model", "serial", "date", "upn"];

/// A checked `keyDisplayName` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyNameTemplate(Vec<Part>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Model,
    Serial,
    Date,
    Upn,
}

/// What a name is made of.
#[derive(Debug, Clone, Copy)]
pub struct KeyNameFields<'a> {
    /// The key's model.
    pub model: &'a str,
    /// Its serial number, when it reports one.
    pub serial: Option<&'a str>,
    /// The person's UPN.
    pub upn: &'a str,
    /// Today, as YYYY-MM-DD.
    pub date: time::Date,
}

impl Default for KeyNameTemplate {
    fn default() -> Self {
        KeyNameTemplate::parse(DEFAULT_TEMPLATE).unwrap_or(KeyNameTemplate(Vec::new()))
    }
}

impl KeyNameTemplate {
    /// Parses a template; the error says what to write instead.
    pub fn parse(text: &str) -> Result<KeyNameTemplate, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("a `}` without its `{`".into());
            }
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "a `{` without its `}`".to_string())?;
            parts.push(match &after[..close] {
                "model" => Part::Model,
                "serial" => Part::Serial,
                "date" => Part::Date,
                "upn" => Part::Upn,
                other => {
                    return Err(format!(
                        "unknown placeholder {{{other}}}; use {}",
                        PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                    ))
                }
            });
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        let template = KeyNameTemplate(parts);
        if template.0.is_empty() || template.fixed_len() > MAX_DISPLAY_NAME_CHARS {
            return Err(format!(
                "the text around the placeholders must leave room in Graph's {MAX_DISPLAY_NAME_CHARS} characters"
            ));
        }
        Ok(template)
    }

    /// The name for one key and person. The default template names a key without a serial
    /// by its model, as the proof of concept did.
    pub fn render(&self, f: &KeyNameFields<'_>) -> String {
        if f.serial.is_none() && *self == KeyNameTemplate::default() {
            return format!("{} {}", f.model, f.date);
        }
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Model => out.push_str(f.model),
                Part::Serial => out.push_str(f.serial.unwrap_or("no serial")),
                Part::Date => out.push_str(&f.date.to_string()),
                Part::Upn => out.push_str(f.upn),
            }
        }
        out.trim().to_owned()
    }

    /// The rendered name, or why it cannot be used (too long for Graph), naming the fix.
    pub fn name_for(&self, f: &KeyNameFields<'_>) -> Result<String, String> {
        let name = self.render(f);
        let chars = name.chars().count();
        if chars > MAX_DISPLAY_NAME_CHARS {
            return Err(format!(
                "the key's name in Entra ID would be \"{name}\", {chars} characters; Graph takes at \
                 most {MAX_DISPLAY_NAME_CHARS}: shorten keyDisplayName in the configuration"
            ));
        }
        Ok(name)
    }

    fn fixed_len(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.chars().count(),
                Part::Date => 10,
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(serial: Option<&'a str>, upn: &'a str) -> KeyNameFields<'a> {
        KeyNameFields {
            model: "YubiKey 5 NFC",
            serial,
            upn,
            date: time::macros::date!(2026 - 12 - 06),
        }
    }

    #[test]
    fn the_default_is_the_proof_of_concepts_name() {
        let t = KeyNameTemplate::default();
        assert_eq!(
            t.render(&fields(Some("12345678"), "a@x")),
            "Serial: 12345678 2026-12-06"
        );
        assert_eq!(t.render(&fields(None, "a@x")), "YubiKey 5 NFC 2026-12-06");
    }

    #[test]
    fn placeholders_render_and_long_names_are_refused_with_the_fix() {
        let t = KeyNameTemplate::parse("{model} #{serial}").unwrap();
        assert_eq!(
            t.name_for(&fields(Some("42"), "a@x")).unwrap(),
            "YubiKey 5 NFC #42"
        );
        let upn = KeyNameTemplate::parse("{upn} {date}").unwrap();
        assert_eq!(
            upn.name_for(&fields(None, "ada@contoso.com")).unwrap(),
            "ada@contoso.com 2026-12-06"
        );
        let err = upn
            .name_for(&fields(None, "ada.lovelace@engineering.contoso.com"))
            .unwrap_err();
        assert!(err.contains("shorten keyDisplayName"), "{err}");
        assert!(err.contains("at most 30"), "{err}");
    }

    #[test]
    fn bad_templates_say_what_to_write() {
        for (bad, says) in [
            ("{name} key", "unknown placeholder {name}"),
            ("Key {serial", "without its `}`"),
            ("Key } {serial}", "without its `{`"),
            ("", "must leave room"),
            (
                "A very long fixed prefix for keys {serial}",
                "must leave room",
            ),
        ] {
            let err = KeyNameTemplate::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
