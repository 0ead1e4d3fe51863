//! Lossless text (spec `wire.md` §9.6, `encoding.md` §9.2).
//!
//! Proto `string` fields must be valid UTF-8, but log bytes need not be. Every byte that does
//! not start a well-formed UTF-8 sequence, and every byte of a code point in
//! U+10FF80..=U+10FFFF, is sent as the code point U+10FF00 + byte. The mapping is exact for
//! every byte string.

use std::borrow::Cow;

const ESCAPE_BASE: u32 = 0x10FF00;
const ESCAPE_FIRST: u32 = 0x10FF80;

fn is_escape_range(c: char) -> bool {
    (c as u32) >= ESCAPE_FIRST
}

/// Whether valid UTF-8 `s` holds an escape-range code point. Those are encoded
/// `F4 8F BE xx` or `F4 8F BF xx`, so text without the byte `F4` (nearly all) is decided by
/// one byte search instead of decoding every character.
fn has_escape_range(s: &str) -> bool {
    s.as_bytes().contains(&0xF4) && s.chars().any(is_escape_range)
}

fn push_escaped_byte(out: &mut String, b: u8) {
    // b >= 0x80, so the code point is in U+10FF80..=U+10FFFF: always a valid char.
    out.push(char::from_u32(ESCAPE_BASE + u32::from(b)).unwrap_or(char::REPLACEMENT_CHARACTER));
}

/// The wire text of `bytes`; borrowed when the bytes are valid UTF-8 free of the escape range.
pub fn escape(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(bytes)
        && !has_escape_range(s)
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if is_escape_range(c) {
                let mut buf = [0u8; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    push_escaped_byte(&mut out, b);
                }
            } else {
                out.push(c);
            }
        }
        // An invalid sequence's bytes after the first are continuation bytes, which cannot
        // start a valid sequence, so escaping each byte equals the one-byte-at-a-time rule.
        for &b in chunk.invalid() {
            push_escaped_byte(&mut out, b);
        }
    }
    Cow::Owned(out)
}

/// The original bytes of a wire text; borrowed when it holds no escape code point.
pub fn unescape(text: &str) -> Cow<'_, [u8]> {
    if !has_escape_range(text) {
        return Cow::Borrowed(text.as_bytes());
    }
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        if is_escape_range(c) {
            out.push((c as u32 - ESCAPE_BASE) as u8);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_utf8_is_unchanged_and_borrowed() {
        assert!(matches!(escape("héllo\tworld".as_bytes()), Cow::Borrowed(_)));
        assert!(matches!(unescape("héllo"), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_bytes_and_the_escape_range_itself_round_trip() {
        let tricky = [b"a\xffb\xc3".to_vec(), "\u{10FF80}\u{10FFFF}x".as_bytes().to_vec(), vec![0xe2, 0x82]];
        for bytes in tricky {
            let wire = escape(&bytes);
            assert_ne!(wire.as_bytes(), &bytes[..]);
            assert_eq!(unescape(&wire), &bytes[..]);
        }
    }

    #[test]
    fn the_escape_range_check_sees_both_ends_of_the_range() {
        assert!(has_escape_range("a\u{10FF80}") && has_escape_range("\u{10FFFF}b"));
        assert!(!has_escape_range("a\u{10FF7F}\u{100000}é") && !has_escape_range(""));
    }

    proptest! {
        // Invariant: unescape(escape(b)) == b for every byte string.
        #[test]
        fn escape_then_unescape_is_identity(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(unescape(&escape(&bytes)).into_owned(), bytes);
        }
    }
}
