//! A text buffer for secrets (passcodes, PINs) typed into egui fields.
//!
//! Its bytes live in one allocation reserved up front, so typing never reallocates (a growing
//! `String` leaves copies of the prefix typed so far in freed memory); inserts beyond the
//! capacity are refused; the buffer is zeroized when cleared and when dropped; `Debug` prints
//! `***`. egui's own copies (the undo history of a `TextEdit`) are kept away by
//! [`super::widgets::secret_field`].

use std::any::TypeId;
use std::fmt;
use std::ops::Range;

use egui::text::CharIndex;
use egui::TextBuffer;
use zeroize::{Zeroize, Zeroizing};

/// Room for an operator passcode (bytes of UTF-8).
pub const PASSCODE_CAPACITY: usize = 256;

/// A fixed-capacity, zeroizing text buffer.
pub struct SecretBuffer {
    text: Zeroizing<String>,
    capacity: usize,
}

impl SecretBuffer {
    /// An empty buffer that holds at most `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        SecretBuffer {
            text: Zeroizing::new(String::with_capacity(capacity)),
            capacity,
        }
    }

    /// The secret typed.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// Whether nothing is typed.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Characters typed.
    pub fn len_chars(&self) -> usize {
        self.text.chars().count()
    }

    /// Appends what fits (the PIN pad's digit buttons); returns whether all of it did.
    pub fn push_str(&mut self, s: &str) -> bool {
        let n = s.chars().count();
        TextBuffer::insert_text(self, s, CharIndex(self.len_chars())) == n
    }

    /// Removes the last character (the PIN pad's Delete).
    pub fn pop(&mut self) {
        let n = self.len_chars();
        if n > 0 {
            self.delete_char_range(CharIndex(n - 1)..CharIndex(n));
        }
    }

    /// Zeroizes the bytes and empties the buffer, keeping its allocation.
    pub fn wipe(&mut self) {
        self.text.zeroize();
    }

    /// Moves the secret out (zeroized wrapper) and leaves the buffer empty and wiped.
    pub fn take_secret(&mut self) -> Zeroizing<String> {
        let out = Zeroizing::new(self.text.as_str().to_owned());
        self.wipe();
        out
    }
}

impl fmt::Debug for SecretBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBuffer(***)")
    }
}

impl TextBuffer for SecretBuffer {
    fn is_mutable(&self) -> bool {
        true
    }

    fn as_str(&self) -> &str {
        &self.text
    }

    fn insert_text(&mut self, text: &str, char_index: CharIndex) -> usize {
        let room = self.capacity.saturating_sub(self.text.len());
        // Whole characters only, and never past the reserved room (no reallocation).
        let fits = text
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .take_while(|end| *end <= room)
            .last()
            .unwrap_or(0);
        let byte = self.byte_index_from_char_index(char_index).0;
        self.text.insert_str(byte, &text[..fits]);
        text[..fits].chars().count()
    }

    fn delete_char_range(&mut self, char_range: Range<CharIndex>) {
        let start = self.byte_index_from_char_index(char_range.start).0;
        let end = self.byte_index_from_char_index(char_range.end).0;
        // Shifts the tail left inside the same allocation; `wipe` and drop zero all of it.
        self.text.replace_range(start..end, "");
    }

    fn clear(&mut self) {
        self.wipe();
    }

    fn take(&mut self) -> String {
        // egui's `take` returns a plain String; the kiosk never calls it, and a secret must not
        // leave as one.
        self.wipe();
        String::new()
    }

    fn type_id(&self) -> TypeId {
        TypeId::of::<Self>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_never_reallocates_and_inserts_past_capacity_are_refused() {
        let mut b = SecretBuffer::with_capacity(8);
        let start = b.as_str().as_ptr();
        assert_eq!(b.insert_text("1234", CharIndex(0)), 4);
        assert_eq!(b.insert_text("ab", CharIndex(2)), 2);
        assert_eq!(b.expose(), "12ab34");
        assert_eq!(b.insert_text("xyz", CharIndex(6)), 2, "only what fits");
        assert_eq!(b.expose(), "12ab34xy");
        assert!(!b.push_str("9"));
        assert_eq!(b.as_str().as_ptr(), start, "same allocation");
        b.delete_char_range(CharIndex(2)..CharIndex(4));
        assert_eq!(b.expose(), "1234xy");
        b.pop();
        assert_eq!(b.expose(), "1234x");
        // A multi-byte character is never split.
        let mut b = SecretBuffer::with_capacity(3);
        assert_eq!(b.insert_text("aé€", CharIndex(0)), 2);
        assert_eq!(b.expose(), "aé");
    }

    #[test]
    fn debug_prints_stars_and_take_wipes() {
        let mut b = SecretBuffer::with_capacity(16);
        b.push_str("2468 open");
        assert_eq!(format!("{b:?}"), "SecretBuffer(***)");
        let secret = b.take_secret();
        assert_eq!(secret.as_str(), "2468 open");
        assert!(b.is_empty());
        assert_eq!(TextBuffer::take(&mut b), "");
    }
}
