//! Ids put into Graph URL paths. An id comes from the configuration, an input file or a Graph
//! answer; whatever its source it must stay one path segment of the URL it is put in. Percent-
//! encoding alone is not enough: `.` and `..` are unreserved and would be resolved as dot
//! segments (`users/../me`), and servers decode `%2F` back to `/`. So an id that would change
//! the URL is refused before any URL is built, and the rest is percent-encoded.

use crate::error::{Error, Result};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is escaped in path segments and query values.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a query value or a path segment that is not an id.
pub(crate) fn encode(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Checks an id (`what`: "user", "group id", "method id") and returns it as one encoded path
/// segment; the only way an id gets into a Graph path.
pub fn path_segment(what: &'static str, id: &str) -> Result<String> {
    check_id(what, id)?;
    Ok(encode(id))
}

/// Refuses an id that is empty, is `.` or `..`, or holds `/`, `\`, `?`, `#`, `%`, whitespace or a
/// control character: each would change the URL or be read differently by a server.
pub fn check_id(what: &'static str, id: &str) -> Result<()> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id == "." || id == ".." {
        Some("it is a dot segment")
    } else if id.contains(['/', '\\']) {
        Some("it contains a path separator")
    } else if id.contains(['?', '#']) {
        Some("it contains a query or fragment delimiter")
    } else if id.contains('%') {
        Some("it contains a percent escape")
    } else if id.contains(|c: char| c.is_whitespace() || c.is_control()) {
        Some("it contains whitespace or a control character")
    } else {
        None
    };
    match reason {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidId {
            what,
            id: id.chars().take(100).collect(),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(id: &str) -> &'static str {
        match check_id("user", id) {
            Err(Error::InvalidId { reason, .. }) => reason,
            other => panic!("{id:?} should be refused, got {other:?}"),
        }
    }

    #[test]
    fn object_ids_upns_and_method_ids_pass() {
        for id in [
            "6f1c2a4e-9d3b-4a8e-b1f0-2c7d5e9a0b13",
            "alice@contoso.onmicrosoft.com",
            "o'brien.jr@contoso.com",
            "...",
            ".hidden",
            "a..b",
            "Z2VuZXJhdGVkLWNyZWRlbnRpYWwtaWQtZm9yLXRlc3Rz_-0",
            "j\u{f6}rg@contoso.com",
        ] {
            assert!(check_id("user", id).is_ok(), "{id:?}");
        }
        assert_eq!(
            path_segment("user", "o'brien@contoso.com").expect("ok"),
            "o%27brien%40contoso.com"
        );
    }

    #[test]
    fn ids_that_would_change_the_url_are_refused() {
        assert_eq!(refused(""), "it is empty");
        assert_eq!(refused("."), "it is a dot segment");
        assert_eq!(refused(".."), "it is a dot segment");
        for id in ["../../me", "a/b", "/", "..\\me", "x\\y"] {
            assert_eq!(refused(id), "it contains a path separator", "{id:?}");
        }
        for id in ["me?$select=id", "a#b"] {
            assert_eq!(refused(id), "it contains a query or fragment delimiter");
        }
        for id in ["%2e%2e", "a%2Fb", "%"] {
            assert_eq!(refused(id), "it contains a percent escape");
        }
        for id in [
            " ", "a b", "a\tb", "a\nb", "a\u{0}b", "a\u{7f}", "a\u{a0}b", "a\u{85}",
        ] {
            assert_eq!(
                refused(id),
                "it contains whitespace or a control character",
                "{id:?}"
            );
        }
    }

    #[test]
    fn the_error_names_the_id_kind_and_quotes_the_id_escaped() {
        let e = path_segment("method id", "../x\u{1b}[2J").expect_err("refused");
        let t = e.to_string();
        assert!(t.starts_with("refused method id \"../x\\u{1b}[2J\""), "{t}");
        assert!(matches!(
            e,
            Error::InvalidId {
                what: "method id",
                ..
            }
        ));
        let long = "a/".repeat(500);
        match check_id("group id", &long) {
            Err(Error::InvalidId { id, .. }) => assert_eq!(id.chars().count(), 100),
            other => panic!("{other:?}"),
        }
    }
}
