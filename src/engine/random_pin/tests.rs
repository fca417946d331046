//! The generator against an independent, plain statement of the rules (string operations and
//! the `time` crate's calendar): every 6-digit PIN classified alike, thousands of generated
//! PINs over random key limits obeying every rule, and the draws uniform over the allowed set.

use std::collections::BTreeSet;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// The rules as the docs state them, written without the generator's code. Returns the names
/// of the rules `pin` breaks.
fn oracle(pin: &str, complexity_policy: bool) -> Vec<&'static str> {
    let n = pin.len();
    let d: Vec<i32> = pin.bytes().map(|b| i32::from(b - b'0')).collect();
    let num = |r: std::ops::Range<usize>| pin[r].parse::<i32>().unwrap();
    let mut broken = Vec::new();
    if (0..n - 2).any(|i| d[i + 1] - d[i] == d[i + 2] - d[i + 1] && (d[i + 1] - d[i]).abs() <= 1) {
        broken.push("run");
    }
    if pin.chars().rev().collect::<String>() == pin {
        broken.push("palindrome");
    }
    if pin.chars().collect::<BTreeSet<_>>().len() < 3 {
        broken.push("few digits");
    }
    if (0..=n - 4).any(|i| (1900..=2099).contains(&num(i..i + 4))) {
        broken.push("year");
    }
    let date = |day: i32, month: i32, yy: i32| {
        let Ok(month) = time::Month::try_from(month as u8) else {
            return false;
        };
        [1900, 2000].iter().any(|c| {
            u8::try_from(day)
                .is_ok_and(|day| time::Date::from_calendar_date(c + yy, month, day).is_ok())
        })
    };
    if (0..=n - 6).any(|i| {
        let (a, b, c) = (num(i..i + 2), num(i + 2..i + 4), num(i + 4..i + 6));
        date(a, b, c) || date(b, a, c) || date(c, b, a)
    }) {
        broken.push("date");
    }
    if (1..n).any(|p| n.is_multiple_of(p) && pin == pin[..p].repeat(n / p)) {
        broken.push("repeated block");
    }
    if DENY_LIST.iter().any(|bad| pin.starts_with(bad)) {
        broken.push("common");
    }
    if complexity_policy && ('0'..='9').any(|c| pin.matches(c).count() * 2 > n) {
        broken.push("dominant");
    }
    broken
}

fn six(rules_with_policy: bool) -> PinRules {
    PinRules::new(6, 4, 4, None, rules_with_policy).unwrap()
}

/// Every 6-digit PIN `rules` allow, as numbers, ascending.
fn allowed_six(rules: &PinRules) -> Vec<u32> {
    (0..1_000_000u32)
        .filter(|n| {
            let digits: [u8; 6] = std::array::from_fn(|i| (n / 10u32.pow(5 - i as u32) % 10) as u8);
            rules.broken_rule_of_digits(&digits).is_none()
        })
        .collect()
}

#[test]
fn examples_of_each_rule() {
    let r = six(true);
    for (pin, rule) in [
        ("480123", Rule::Run),
        ("487654", Rule::Run),
        ("485550", Rule::Run),
        ("483384", Rule::Palindrome),
        ("484884", Rule::FewDigits),
        ("481984", Rule::Year),
        ("482031", Rule::Year),
        ("311299", Rule::Date),
        ("122548", Rule::Date),
        ("480229", Rule::Date),
        ("147147", Rule::RepeatedBlock),
        ("159753", Rule::Common),
        ("909949", Rule::Dominant),
    ] {
        assert_eq!(r.broken_rule(pin), Some(rule), "{pin}");
    }
    // 29 February: only in years that can be leap years.
    assert_eq!(r.broken_rule("482902"), None);
    for pin in ["486813", "905127", "316642", "743085"] {
        assert!(r.allows(pin), "{pin}");
    }
    assert!(!r.allows("48681"), "too short");
    assert!(!r.allows("48681a"), "not a digit");
    // The policy rule only for keys that announce a policy.
    assert_eq!(six(false).broken_rule("909949"), None);
}

#[test]
fn every_six_digit_pin_is_judged_as_the_docs_say() {
    let (with, without) = (six(true), six(false));
    let mut allowed = [0usize; 2];
    for n in 0..1_000_000u32 {
        let pin = format!("{n:06}");
        let broken = oracle(&pin, true);
        let without_policy = broken.iter().all(|r| *r == "dominant");
        assert_eq!(with.allows(&pin), broken.is_empty(), "{pin}: {broken:?}");
        assert_eq!(without.allows(&pin), without_policy, "{pin}: {broken:?}");
        allowed[0] += usize::from(broken.is_empty());
        allowed[1] += usize::from(without_policy);
    }
    // Most PINs stay allowed: rejection sampling ends quickly, and guessing stays hard.
    assert!(
        allowed[0] > 600_000 && allowed[1] > allowed[0],
        "{allowed:?}"
    );
}

#[test]
fn length_honours_the_key_and_the_configuration() {
    assert_eq!(PinRules::new(6, 4, 6, None, false).unwrap().length(), 6);
    assert_eq!(PinRules::new(6, 8, 6, None, false).unwrap().length(), 8);
    assert_eq!(PinRules::new(6, 4, 10, None, false).unwrap().length(), 10);
    assert_eq!(PinRules::new(12, 4, 6, Some(8), false).unwrap().length(), 8);
    assert_eq!(
        PinRules::new(2, 4, 4, None, false).unwrap().length(),
        MIN_LENGTH
    );
    assert_eq!(PinRules::new(12, 40, 6, None, false).unwrap().length(), 40);
    assert_eq!(
        PinRules::new(12, 4, 6, Some(200), false).unwrap().length(),
        12
    );
    let e = PinRules::new(6, 10, 6, Some(8), false).unwrap_err();
    assert_eq!(e, LengthError { min: 10, max: 8 });
    assert!(e.to_string().contains("at most 8"), "{e}");
    assert!(PinRules::new(6, 4, 6, Some(5), false).is_err());
}

#[test]
fn every_length_a_key_may_ask_for_can_be_generated() {
    let mut rng = StdRng::seed_from_u64(7);
    for len in MIN_LENGTH..=CTAP_MAX_LENGTH {
        for policy in [false, true] {
            let rules = PinRules::new(len, 4, 4, None, policy).unwrap();
            let pin = rules.generate_with(&mut rng);
            assert_eq!(pin.len(), len);
            assert_eq!(oracle(&pin, policy), Vec::<&str>::new(), "{len}");
        }
    }
}

#[test]
fn thousands_of_os_random_pins_obey_every_rule_and_vary() {
    for policy in [false, true] {
        let rules = six(policy);
        let mut seen = BTreeSet::new();
        for _ in 0..5_000 {
            let pin = rules.generate();
            assert!(pin.bytes().all(|b| b.is_ascii_digit()) && pin.len() == 6);
            assert_eq!(oracle(&pin, policy), Vec::<&str>::new(), "{}", pin.as_str());
            seen.insert(pin.to_string());
        }
        // 5000 draws from ~650 000 PINs: about 19 collisions expected.
        assert!(seen.len() > 4_900, "{}", seen.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any key limits and configuration: the length is the one documented, and 100 PINs
    /// drawn for them obey every rule.
    #[test]
    fn generated_pins_obey_every_rule_under_any_limits(
        wanted in 6usize..=12,
        key_min in 4u32..=20,
        configured_min in 4u32..=16,
        key_max in proptest::option::of(4u32..=70),
        policy: bool,
        seed: u64,
    ) {
        let floor = (key_min.max(configured_min) as usize).max(6);
        let cap = key_max.map_or(63, |m| (m as usize).min(63));
        match PinRules::new(wanted, key_min, configured_min, key_max, policy) {
            Err(e) => prop_assert!(floor > cap, "{e}"),
            Ok(rules) => {
                prop_assert!(floor <= cap);
                prop_assert_eq!(rules.length(), wanted.max(floor).min(cap));
                let mut rng = StdRng::seed_from_u64(seed);
                for _ in 0..100 {
                    let pin = rules.generate_with(&mut rng);
                    prop_assert_eq!(pin.len(), rules.length());
                    prop_assert!(pin.bytes().all(|b| b.is_ascii_digit()));
                    prop_assert_eq!(oracle(&pin, policy), Vec::<&str>::new(), "{}", pin.as_str());
                }
            }
        }
    }
}

/// Pearson's chi-square statistic of `observed` against `expected` counts.
fn chi_square(observed: &[f64], expected: &[f64]) -> f64 {
    observed
        .iter()
        .zip(expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum()
}

/// Draws `n` PINs with `draw` and tests them against the uniform distribution over `allowed`
/// (sorted): per position, the digit counts against the allowed set's own digit frequencies
/// (9 degrees of freedom each); and the PINs' ranks in the set, in 100 equal buckets (99).
/// Returns the largest position statistic and the bucket statistic.
fn uniformity(allowed: &[u32], n: usize, mut draw: impl FnMut() -> u32) -> (f64, f64) {
    let mut expected = [[0f64; 10]; 6];
    for pin in allowed {
        for (pos, e) in expected.iter_mut().enumerate() {
            e[(pin / 10u32.pow(5 - pos as u32) % 10) as usize] += 1.0;
        }
    }
    let scale = n as f64 / allowed.len() as f64;
    let mut seen = [[0f64; 10]; 6];
    let mut buckets = [0f64; 100];
    for _ in 0..n {
        let pin = draw();
        let rank = allowed.binary_search(&pin).expect("an allowed PIN");
        buckets[rank * 100 / allowed.len()] += 1.0;
        for (pos, s) in seen.iter_mut().enumerate() {
            s[(pin / 10u32.pow(5 - pos as u32) % 10) as usize] += 1.0;
        }
    }
    let worst = (0..6)
        .map(|pos| {
            let e: Vec<f64> = expected[pos].iter().map(|c| c * scale).collect();
            // Digits no allowed PIN has in this place must never be drawn there.
            for (o, e) in seen[pos].iter().zip(&e) {
                assert!(*e > 0.0 || *o == 0.0, "a digit no allowed PIN has here");
            }
            let (o, e): (Vec<f64>, Vec<f64>) =
                seen[pos].iter().zip(&e).filter(|(_, e)| **e > 0.0).unzip();
            chi_square(&o, &e)
        })
        .fold(0.0, f64::max);
    let bucket_expected: Vec<f64> = (0..100)
        .map(|b| {
            let lo = (b * allowed.len()).div_ceil(100);
            let hi = ((b + 1) * allowed.len()).div_ceil(100);
            (hi - lo) as f64 * scale
        })
        .collect();
    (worst, chi_square(&buckets, &bucket_expected))
}

/// chi-square quantiles at p = 0.9999: 9 degrees of freedom 33.7, 99 about 151.
const POSITION_LIMIT: f64 = 33.7;
const BUCKET_LIMIT: f64 = 151.0;

#[test]
fn draws_are_uniform_over_the_allowed_pins() {
    for policy in [false, true] {
        let rules = six(policy);
        let allowed = allowed_six(&rules);
        let mut rng = StdRng::seed_from_u64(if policy { 2 } else { 1 });
        let (position, buckets) = uniformity(&allowed, 60_000, || {
            rules.generate_with(&mut rng).parse().unwrap()
        });
        assert!(
            position < POSITION_LIMIT,
            "digit/position chi-square {position}"
        );
        assert!(buckets < BUCKET_LIMIT, "rank bucket chi-square {buckets}");
    }
}

#[test]
fn the_uniformity_check_catches_a_biased_generator() {
    let rules = six(false);
    let allowed = allowed_six(&rules);
    let mut is_allowed = vec![false; 1_000_000];
    for n in &allowed {
        is_allowed[*n as usize] = true;
    }
    // "Fix up" a refused draw by counting up to the next allowed PIN: every PIN right after
    // a stretch of refused ones (after the years 19xx and 20xx, say) comes up far too often.
    let mut rng = StdRng::seed_from_u64(3);
    let (_, buckets) = uniformity(&allowed, 60_000, || {
        let mut n = rng.gen_range(0..1_000_000u32);
        while !is_allowed[n as usize] {
            n = (n + 1) % 1_000_000;
        }
        n
    });
    assert!(buckets > BUCKET_LIMIT, "bias not detected: {buckets}");
}
