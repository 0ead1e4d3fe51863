//! Wildcard value typing helpers (`encoding.md` §9.7, §9.8).

/// The shortest dynamic string that may become a dictionary entry, in bytes (§9.8).
pub const MIN_DYNAMIC_CANDIDATE_BYTES: usize = 2;
/// The longest dynamic string that may become a dictionary entry, in bytes (§9.8).
pub const MAX_DYNAMIC_CANDIDATE_BYTES: usize = 128;

/// Parses `s` when it is canonical int64 text (§9.7): an optional `-`, then digits with no
/// leading zero (except `0` itself), within the `i64` range, and not `-0`. No `+`, no spaces.
///
/// Exactly the strings for which this returns `Some(v)` render back to themselves as
/// `v.to_string()`, so a receiver rebuilds the same text from `int_value`.
pub fn canonical_int64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let bytes = digits.as_bytes();
    let canonical = match bytes {
        [] => false,
        [b'0'] => digits.len() == s.len(), // `0` yes, `-0` no
        [first, ..] => *first != b'0' && bytes.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    // `i64::from_str` accepts exactly these strings once the shape is checked, and rejects
    // out-of-range values.
    s.parse().ok()
}

/// A wildcard value, typed as §9.7 says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WildcardValue<'a> {
    /// Canonical int64 text: sent as `int_value` (`v2`: with `render_as_string = true`).
    Int(i64),
    /// Anything else: a dynamic string, sent as `dict_index` or `string_value` after
    /// admission (§9.8).
    Text(&'a str),
}

/// Types one wildcard value (§9.7). Floats and booleans are never typed.
pub fn type_wildcard(value: &str) -> WildcardValue<'_> {
    match canonical_int64(value) {
        Some(int) => WildcardValue::Int(int),
        None => WildcardValue::Text(value),
    }
}

/// Strings with at least this many ASCII digits are identifiers, counters or times: they
/// rarely come back often enough to pay for a dictionary entry.
pub const DIGIT_HEAVY_DIGITS: usize = 6;

/// Whether a dynamic string (a wildcard value or a JSON string value) may be counted for
/// dictionary admission (§9.8): 2 to 128 bytes, not UUID-like, not date-like, and (this
/// project's addition) not digit-heavy. Strings that are not candidates are always sent
/// inline.
pub fn is_dynamic_candidate(s: &str) -> bool {
    (MIN_DYNAMIC_CANDIDATE_BYTES..=MAX_DYNAMIC_CANDIDATE_BYTES).contains(&s.len())
        && !is_uuid_like(s)
        && !is_date_like(s)
        && !is_digit_heavy(s)
}

/// At least [`DIGIT_HEAVY_DIGITS`] ASCII digits (`blk_-1608999687919862906`, `12:59:44`).
pub fn is_digit_heavy(s: &str) -> bool {
    // Stops at the sixth digit instead of counting them all.
    s.bytes().filter(u8::is_ascii_digit).nth(DIGIT_HEAVY_DIGITS - 1).is_some()
}

/// 36 characters of hex digits with `-` at positions 8, 13, 18 and 23, or 32 hex digits.
pub fn is_uuid_like(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b
            .iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }),
        _ => false,
    }
}

/// `YYYY-MM-DD` alone or followed by `T`, a space or `_` (and anything after it).
pub fn is_date_like(s: &str) -> bool {
    let b = s.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let date = b.len() >= 10
        && (0..4).all(digit)
        && b[4] == b'-'
        && digit(5)
        && digit(6)
        && b[7] == b'-'
        && digit(8)
        && digit(9);
    date && matches!(b.get(10), None | Some(b'T' | b' ' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonical_int64_accepts_only_canonical_text() {
        assert_eq!(canonical_int64("0"), Some(0));
        assert_eq!(canonical_int64("42"), Some(42));
        assert_eq!(canonical_int64("-42"), Some(-42));
        assert_eq!(canonical_int64("9223372036854775807"), Some(i64::MAX));
        assert_eq!(canonical_int64("-9223372036854775808"), Some(i64::MIN));
        for rejected in [
            "",
            "-",
            "-0",
            "00",
            "007",
            "+1",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "9223372036854775808",
            "-9223372036854775809",
            "--1",
            "١",
        ] {
            assert_eq!(canonical_int64(rejected), None, "{rejected:?}");
        }
    }

    #[test]
    fn wildcard_values_are_ints_only_when_canonical() {
        assert_eq!(type_wildcard("42"), WildcardValue::Int(42));
        assert_eq!(type_wildcard("042"), WildcardValue::Text("042"));
        assert_eq!(type_wildcard("1.5"), WildcardValue::Text("1.5"));
        assert_eq!(type_wildcard("true"), WildcardValue::Text("true"));
    }

    #[test]
    fn dynamic_candidates_exclude_short_long_uuid_and_date_strings() {
        assert!(is_dynamic_candidate("ab"));
        assert!(is_dynamic_candidate(&"x".repeat(128)));
        assert!(!is_dynamic_candidate("a"));
        assert!(!is_dynamic_candidate(&"x".repeat(129)));
        assert!(!is_dynamic_candidate("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_dynamic_candidate("123E4567E89B12D3A456426614174000"));
        assert!(!is_uuid_like("123e4567-e89b-12d3-a456_426614174000"));
        assert!(!is_dynamic_candidate("2024-01-02"));
        assert!(!is_dynamic_candidate("2024-01-02T10:00"));
        assert!(!is_dynamic_candidate("2024-01-02 10:00"));
        assert!(!is_dynamic_candidate("2024-01-02_x"));
        assert!(!is_dynamic_candidate("2024-01-02x"), "digit-heavy");
        assert!(!is_date_like("2024-1-02"));
        assert!(!is_dynamic_candidate("blk_-1608999687919862906"));
        assert!(!is_dynamic_candidate("12:59:44"));
        assert!(is_dynamic_candidate("12:59"));
        assert!(is_dynamic_candidate("session-12345"));
        // Byte length, not characters: two bytes of one character qualify.
        assert!(is_dynamic_candidate("é"));
    }

    proptest! {
        /// Invariant: `canonical_int64(s) == Some(v)` exactly when `v.to_string() == s`, so a
        /// typed value always renders back to the original text.
        #[test]
        fn canonical_int64_round_trips_through_display(v in any::<i64>(), s in "-?[0-9]{0,20}") {
            prop_assert_eq!(canonical_int64(&v.to_string()), Some(v));
            match canonical_int64(&s) {
                Some(parsed) => prop_assert_eq!(parsed.to_string(), s),
                None => prop_assert!(s.parse::<i64>().map_or(true, |p| p.to_string() != s)),
            }
        }
    }
}
