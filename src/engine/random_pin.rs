//! Random PINs for new keys: OS CSPRNG digits, never a trivial or deny-listed value.

use rand::rngs::OsRng;
use rand::Rng;
use zeroize::Zeroizing;

/// PINs people guess first (the proof of concept's list, plus years and keypad patterns are
/// caught by the rules in [`is_trivial`]).
const DENY_LIST: &[&str] = &[
    "123456", "123123", "654321", "123321", "112233", "121212", "520520", "123654", "159753",
    "111222", "147258", "258369", "147852", "963852", "741852", "789456", "456789",
];

/// Shortest random PIN we issue.
pub const MIN_LENGTH: usize = 6;
/// Longest random PIN we issue (keys take up to 63 bytes; people have to type it).
pub const MAX_LENGTH: usize = 12;

/// A fresh random PIN of `length` digits (clamped to 6..=12).
pub fn generate(length: usize) -> Zeroizing<String> {
    let length = length.clamp(MIN_LENGTH, MAX_LENGTH);
    loop {
        let mut pin = Zeroizing::new(String::with_capacity(length));
        for _ in 0..length {
            pin.push(char::from(b'0' + OsRng.gen_range(0..10u8)));
        }
        if !is_trivial(&pin) {
            return pin;
        }
    }
}

/// All one digit, a run up or down (012345, 987654), a repeated short block (121212,
/// 123123), a deny-listed value, or one that starts with a deny-listed value.
pub fn is_trivial(pin: &str) -> bool {
    let d: Vec<i16> = pin
        .bytes()
        .map(|b| i16::from(b) - i16::from(b'0'))
        .collect();
    if d.len() < 2 {
        return true;
    }
    let steps: Vec<i16> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    let constant_step = steps.iter().all(|s| *s == steps[0]) && matches!(steps[0], 0 | 1 | 9);
    let repeated_block =
        (1..=d.len() / 2).any(|p| d.len().is_multiple_of(p) && d.chunks(p).all(|c| c == &d[..p]));
    constant_step || repeated_block || DENY_LIST.iter().any(|bad| pin.starts_with(bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_pins_are_recognised() {
        for pin in [
            "000000",
            "111111",
            "123456",
            "234567",
            "890123",
            "987654",
            "121212",
            "123123",
            "159753",
            "1234567890",
            "12121212",
        ] {
            assert!(is_trivial(pin), "{pin}");
        }
        for pin in ["480213", "905127", "316640", "27183142"] {
            assert!(!is_trivial(pin), "{pin}");
        }
    }

    #[test]
    fn generated_pins_are_digits_of_the_asked_length_and_vary() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let pin = generate(6);
            assert_eq!(pin.len(), 6);
            assert!(pin.bytes().all(|b| b.is_ascii_digit()));
            assert!(!is_trivial(&pin));
            seen.insert(pin.to_string());
        }
        assert!(
            seen.len() > 190,
            "200 draws from 10^6 should almost never collide"
        );
        assert_eq!(generate(8).len(), 8);
        assert_eq!(generate(2).len(), MIN_LENGTH);
    }
}
