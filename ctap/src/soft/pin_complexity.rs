//! A PIN complexity policy a software key can enforce, as keys announcing CTAP 2.2
//! `pinComplexityPolicy` do: setPIN and changePIN refuse a PIN it rejects with
//! CTAP2_ERR_PIN_POLICY_VIOLATION (no retry is spent on it).

use std::fmt;
use std::sync::Arc;

/// Which new PINs a key with a complexity policy accepts.
#[derive(Clone)]
pub struct PinComplexity {
    name: &'static str,
    accepts: Arc<dyn Fn(&str) -> bool + Send + Sync>,
    url: Option<String>,
}

impl PinComplexity {
    /// The rules Token2 publishes for its PIN+ keys. Numeric PINs: not one ascending or
    /// descending run (123456, 654321), not one repeated digit (111111), not a palindrome
    /// (321123), no digit in more than half the places (111123, 990000). Other PINs: at
    /// least 10 characters, from at least two of upper case, lower case, digits and others.
    pub fn pin_plus() -> Self {
        Self::custom("PIN+", pin_plus_accepts).with_url("https://www.token2.com/pin-plus")
    }

    /// A policy of the caller's: `accepts` says whether a new PIN is allowed.
    pub fn custom(
        name: &'static str,
        accepts: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            accepts: Arc::new(accepts),
            url: None,
        }
    }

    /// The same policy, described at `url` (getInfo pinComplexityPolicyURL, 0x1C).
    pub fn with_url(mut self, url: &str) -> Self {
        self.url = Some(url.to_owned());
        self
    }

    /// Whether the key takes `pin` as a new PIN.
    pub fn accepts(&self, pin: &str) -> bool {
        (self.accepts)(pin)
    }

    /// Where the policy is described, if anywhere.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

impl fmt::Debug for PinComplexity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinComplexity")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn pin_plus_accepts(pin: &str) -> bool {
    if !pin.bytes().all(|b| b.is_ascii_digit()) {
        let classes = [
            pin.chars().any(|c| c.is_ascii_uppercase()),
            pin.chars().any(|c| c.is_ascii_lowercase()),
            pin.chars().any(|c| c.is_ascii_digit()),
            pin.chars().any(|c| !c.is_ascii_alphanumeric()),
        ];
        return pin.chars().count() >= 10 && classes.iter().filter(|c| **c).count() >= 2;
    }
    let d: Vec<i16> = pin.bytes().map(|b| i16::from(b - b'0')).collect();
    let one_run = d.windows(2).all(|w| w[1] - w[0] == d[1] - d[0]) && (d[1] - d[0]).abs() <= 1;
    let palindrome = d.iter().eq(d.iter().rev());
    let most = (0..10)
        .map(|digit| d.iter().filter(|x| **x == digit).count())
        .max()
        .unwrap_or(0);
    d.len() >= 2 && !one_run && !palindrome && most * 2 <= d.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_plus_refuses_what_token2_lists() {
        let p = PinComplexity::pin_plus();
        for bad in [
            "123456",
            "654321",
            "111111",
            "321123",
            "69233296",
            "111123",
            "990000",
            "pass1234",
            "abcdefghij",
        ] {
            assert!(!p.accepts(bad), "{bad}");
        }
        for good in ["480213", "905127", "112233", "Passw0rd!x", "correct-horse"] {
            assert!(p.accepts(good), "{good}");
        }
        assert_eq!(p.url(), Some("https://www.token2.com/pin-plus"));
    }

    #[test]
    fn a_custom_policy_is_the_callers_rule() {
        let p = PinComplexity::custom("no sevens", |pin| !pin.contains('7'));
        assert!(p.accepts("480213") && !p.accepts("480217"));
        assert!(format!("{p:?}").contains("no sevens"));
    }
}
