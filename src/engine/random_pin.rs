//! Random PINs for new keys: OS CSPRNG digits, drawn uniformly from the PINs that fit the
//! key's limits and obey the station's rules (rejection sampling: draw, check, draw again).
//!
//! Length: `randomPinLength` digits, raised to the key's minPINLength and to the configured
//! `minimumPinLength`, lowered to the key's maxPINLength (CTAP 2.2), never below 6.
//! A PIN is refused ([`Rule`]) when it has
//! - a run of three ascending, descending or equal digits (`123`, `987`, `555`);
//! - the same digits backwards (a palindrome: `123321`);
//! - fewer than three different digits (`121122`);
//! - a year from 1900 to 2099 anywhere (`2024`);
//! - a date anywhere, as DDMMYY, MMDDYY or YYMMDD (`311299`);
//! - one shorter block repeated (`147147`), or a start people pick first (`159753`);
//! - for a key announcing a PIN complexity policy, one digit in more than half the places
//!   (Token2 PIN+ refuses `990000`-like PINs that the rules above let through).
//!
//! The rules apply to generated PINs only: a PIN the operator types is the person's choice,
//! and only the key's own policy judges it.

use rand::rngs::OsRng;
use rand::{CryptoRng, Rng, RngCore};
use zeroize::Zeroizing;

use crate::config::Config;

/// PINs people pick first (the proof of concept's list); a PIN starting with one is refused.
const DENY_LIST: &[&str] = &[
    "123456", "123123", "654321", "123321", "112233", "121212", "520520", "123654", "159753",
    "111222", "147258", "258369", "147852", "963852", "741852", "789456", "456789",
];

/// Shortest random PIN we issue.
pub const MIN_LENGTH: usize = 6;
/// Longest random PIN the configuration may ask for (people have to type it); a key whose
/// minimum is longer still gets a PIN it accepts.
pub const MAX_LENGTH: usize = 12;
/// How many random PINs a key may refuse under its own PIN policy (PIN_POLICY_VIOLATION,
/// which costs no attempt) before the job gives up: the first and three replacements.
pub const MAX_OFFERED: usize = 4;
/// The longest PIN any key takes: 63 bytes (CTAP 2.1 §6.5.5.5), one byte per digit.
const CTAP_MAX_LENGTH: usize = 63;

/// A rule a generated PIN must not break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Three ascending, descending or equal digits in a row.
    Run,
    /// Reads the same backwards.
    Palindrome,
    /// Fewer than three different digits.
    FewDigits,
    /// A year from 1900 to 2099.
    Year,
    /// A date as DDMMYY, MMDDYY or YYMMDD.
    Date,
    /// One shorter block repeated.
    RepeatedBlock,
    /// Starts with a PIN people pick first.
    Common,
    /// One digit in more than half the places (keys with a complexity policy only).
    Dominant,
}

/// The station's random PIN length does not fit the key's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this key takes PINs of at most {max} characters, but a random PIN for it needs at least {min} \
     (the key's and the configured minimum PIN length, and never fewer than 6 digits)"
)]
pub struct LengthError {
    /// The shortest PIN the station may generate for this key.
    pub min: usize,
    /// The longest PIN the key takes.
    pub max: usize,
}

/// What a generated PIN must obey for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinRules {
    length: usize,
    complexity_policy: bool,
}

impl PinRules {
    /// `wanted` digits, raised to the key's minimum (`key_min`, getInfo minPINLength) and the
    /// configured minimum, lowered to the key's maximum (`key_max`, getInfo maxPINLength),
    /// never below [`MIN_LENGTH`]; `complexity_policy`: the key announces pinComplexityPolicy.
    pub fn new(
        wanted: usize,
        key_min: u32,
        configured_min: u32,
        key_max: Option<u32>,
        complexity_policy: bool,
    ) -> Result<Self, LengthError> {
        let as_len = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        let min = MIN_LENGTH.max(as_len(key_min)).max(as_len(configured_min));
        let max = key_max.map_or(CTAP_MAX_LENGTH, as_len).min(CTAP_MAX_LENGTH);
        if min > max {
            return Err(LengthError { min, max });
        }
        Ok(Self {
            length: wanted.clamp(min, max),
            complexity_policy,
        })
    }

    /// The rules for a key, from its getInfo and the station's configuration.
    pub fn for_key(
        config: &Config,
        info: &ctap::commands::get_info::Info,
    ) -> Result<Self, LengthError> {
        Self::new(
            config.random_pin_length,
            info.min_pin_length_or_default(),
            config.minimum_pin_length,
            info.max_pin_length,
            info.enforces_pin_complexity(),
        )
    }

    /// Digits of the PINs these rules generate.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Whether the key announced a PIN complexity policy.
    pub fn complexity_policy(&self) -> bool {
        self.complexity_policy
    }

    /// The first rule the digits of `pin` break, if any (length and non-digits are checked by
    /// [`PinRules::allows`]).
    pub fn broken_rule(&self, pin: &str) -> Option<Rule> {
        let digits: Zeroizing<Vec<u8>> =
            Zeroizing::new(pin.bytes().map(|b| b.wrapping_sub(b'0')).collect());
        self.broken_rule_of_digits(&digits)
    }

    /// Whether `pin` is `length` digits and breaks no rule.
    pub fn allows(&self, pin: &str) -> bool {
        pin.len() == self.length
            && pin.bytes().all(|b| b.is_ascii_digit())
            && self.broken_rule(pin).is_none()
    }

    /// A fresh random PIN from the OS CSPRNG.
    pub fn generate(&self) -> Zeroizing<String> {
        self.generate_with(&mut OsRng)
    }

    /// A random PIN from `rng`: uniform digits, drawn again until no rule is broken, so every
    /// allowed PIN is equally likely.
    pub fn generate_with<R: RngCore + CryptoRng + ?Sized>(&self, rng: &mut R) -> Zeroizing<String> {
        let mut digits = Zeroizing::new(vec![0u8; self.length]);
        loop {
            for d in digits.iter_mut() {
                *d = rng.gen_range(0..10u8);
            }
            if self.broken_rule_of_digits(&digits).is_none() {
                return Zeroizing::new(digits.iter().map(|d| char::from(b'0' + d)).collect());
            }
        }
    }

    fn broken_rule_of_digits(&self, d: &[u8]) -> Option<Rule> {
        let counts = d.iter().fold([0usize; 10], |mut c, &x| {
            if let Some(n) = c.get_mut(usize::from(x)) {
                *n += 1;
            }
            c
        });
        let step = |a: u8, b: u8| i16::from(b) - i16::from(a);
        let two = |w: &[u8]| w[0] * 10 + w[1];
        if d.windows(3).any(|w| {
            let s = step(w[0], w[1]);
            s == step(w[1], w[2]) && s.abs() <= 1
        }) {
            Some(Rule::Run)
        } else if d.iter().eq(d.iter().rev()) {
            Some(Rule::Palindrome)
        } else if counts.iter().filter(|n| **n > 0).count() < 3 {
            Some(Rule::FewDigits)
        } else if d.windows(4).any(|w| matches!(two(&w[..2]), 19 | 20)) {
            Some(Rule::Year)
        } else if d.windows(6).any(|w| {
            let (a, b, c) = (two(&w[..2]), two(&w[2..4]), two(&w[4..]));
            is_date(a, b, c) || is_date(b, a, c) || is_date(c, b, a)
        }) {
            Some(Rule::Date)
        } else if (1..=d.len() / 2)
            .any(|p| d.len().is_multiple_of(p) && d.chunks(p).all(|c| c == &d[..p]))
        {
            Some(Rule::RepeatedBlock)
        } else if DENY_LIST
            .iter()
            .any(|bad| d.iter().map(|x| b'0' + x).take(bad.len()).eq(bad.bytes()))
        {
            Some(Rule::Common)
        } else if self.complexity_policy && counts.iter().any(|n| n * 2 > d.len()) {
            Some(Rule::Dominant)
        } else {
            None
        }
    }
}

/// Whether day `day` of month `month` exists in some year ending in `yy` (29 February only
/// when that year is a leap year in 1900–2099).
fn is_date(day: u8, month: u8, yy: u8) -> bool {
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if yy.is_multiple_of(4) => 29,
        2 => 28,
        _ => 0,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests;
