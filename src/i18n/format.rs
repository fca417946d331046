//! Dates and numbers as each language writes them. The catalogues format numbers passed as
//! Fluent numbers with [`number`] too (see [`super::Catalog`]).

use super::Language;

/// A whole number with the language's thousands separator: `100,000` / `100.000`.
pub fn number(language: Language, n: i64) -> String {
    let separator = match language {
        Language::English => ',',
        Language::German => '.',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(d);
    }
    out
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// A day as the language writes it: `6 December 2026` / `6. Dezember 2026`.
pub fn date(language: Language, date: time::Date) -> String {
    let month = usize::from(u8::from(date.month())) - 1;
    match language {
        Language::English => format!("{} {} {}", date.day(), MONTHS_EN[month], date.year()),
        Language::German => format!("{}. {} {}", date.day(), MONTHS_DE[month], date.year()),
    }
}

/// A moment (Unix seconds, shown in UTC) as the language writes it:
/// `6 December 2026, 21:59` / `6. Dezember 2026, 21:59`; `?` when out of range.
pub fn date_time(language: Language, unix_seconds: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix_seconds) else {
        return "?".to_owned();
    };
    format!(
        "{}, {:02}:{:02}",
        date(language, t.date()),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::{English, German};

    #[test]
    fn numbers_are_grouped_by_thousands_with_the_languages_separator() {
        assert_eq!(number(English, 100_000), "100,000");
        assert_eq!(number(German, 100_000), "100.000");
        assert_eq!(number(English, 1_234_567), "1,234,567");
        assert_eq!(number(German, 1000), "1.000");
        assert_eq!(number(English, 999), "999");
        assert_eq!(number(German, 0), "0");
        assert_eq!(number(English, -12_345), "-12,345");
        assert_eq!(number(German, i64::MIN), "-9.223.372.036.854.775.808");
    }

    #[test]
    fn dates_are_written_as_each_language_writes_them() {
        // 2026-12-06 21:59:30 UTC.
        let at = 1_796_594_370;
        assert_eq!(date_time(English, at), "6 December 2026, 21:59");
        assert_eq!(date_time(German, at), "6. Dezember 2026, 21:59");
        // 2027-03-01 08:05 UTC: the umlaut and the zero-padded time.
        let march = 1_803_888_300;
        assert_eq!(date_time(German, march), "1. März 2027, 08:05");
        assert_eq!(date_time(English, march), "1 March 2027, 08:05");
        assert_eq!(date_time(English, i64::MAX), "?");
    }
}
