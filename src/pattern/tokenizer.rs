//! The single-pass tokenizer of `encoding.md` §9.3.
//!
//! Tokens are slices of the input: every byte belongs to exactly one token, and the tokens
//! concatenated in order give the input back exactly (§9.2). Nothing is normalised or dropped.

use std::fmt;

/// The type of a token, numbered as the reference agent's enum (`encoding.md` §9.3).
///
/// `Unknown`, `Authority`, `PathWithQueryAndFragment`, `RegularName`, `KeyValueSequence` and
/// `CollapsedToken` exist only to keep the numbering; this tokenizer never produces them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum TokenType {
    /// 0, never produced.
    Unknown = 0,
    /// 1: anything no other rule matches.
    Word = 1,
    /// 2: starts with a digit; only digits, `.`, `-`, `/`, `:`.
    Numeric = 2,
    /// 3: a maximal run of whitespace.
    Whitespace = 3,
    /// 4: one character that starts no compound token.
    SpecialChar = 4,
    /// 5: `a.b.c.d` with groups 0–255, optional `:port`.
    Ipv4 = 5,
    /// 6: hex digits, `:` and `.` only, with at least two `:`.
    Ipv6 = 6,
    /// 7: exactly one `@`, something before it, a `.` after it.
    Email = 7,
    /// 8: `scheme://rest`.
    Uri = 8,
    /// 9: starts with `/`.
    AbsolutePath = 9,
    /// 10, never produced.
    Authority = 10,
    /// 11, never produced.
    PathWithQueryAndFragment = 11,
    /// 12, never produced.
    RegularName = 12,
    /// 13: an upper-case HTTP method name.
    HttpMethod = 13,
    /// 14: three digits, 100–599.
    HttpStatus = 14,
    /// 15: a severity name, any case.
    SeverityLevel = 15,
    /// 16: `d/m/yyyy` (1–2 digit day and month) or `yyyy/mm/dd`.
    Date = 16,
    /// 17: `yyyy-mm-dd`.
    LocalDate = 17,
    /// 18: `hh:mm`, or `hh:mm:ss` with optional fraction.
    LocalTime = 18,
    /// 19: `yyyy-mm-ddThh:mm:ss` with optional fraction.
    LocalDateTime = 19,
    /// 20: a local date-time followed by `Z` or a `±hh:mm` offset.
    OffsetDateTime = 20,
    /// 21, never produced: `key=value` is split at `=` instead.
    KeyValueSequence = 21,
    /// 22, never produced.
    CollapsedToken = 22,
}

impl TokenType {
    /// The reference enum's number of this type.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// The type's name as it appears in signatures (§9.4), e.g. `IPv4`, `URI`, `HTTPMethod`.
    pub const fn name(self) -> &'static str {
        match self {
            TokenType::Unknown => "Unknown",
            TokenType::Word => "Word",
            TokenType::Numeric => "Numeric",
            TokenType::Whitespace => "Whitespace",
            TokenType::SpecialChar => "SpecialChar",
            TokenType::Ipv4 => "IPv4",
            TokenType::Ipv6 => "IPv6",
            TokenType::Email => "Email",
            TokenType::Uri => "URI",
            TokenType::AbsolutePath => "AbsolutePath",
            TokenType::Authority => "Authority",
            TokenType::PathWithQueryAndFragment => "PathWithQueryAndFragment",
            TokenType::RegularName => "RegularName",
            TokenType::HttpMethod => "HTTPMethod",
            TokenType::HttpStatus => "HTTPStatus",
            TokenType::SeverityLevel => "SeverityLevel",
            TokenType::Date => "Date",
            TokenType::LocalDate => "LocalDate",
            TokenType::LocalTime => "LocalTime",
            TokenType::LocalDateTime => "LocalDateTime",
            TokenType::OffsetDateTime => "OffsetDateTime",
            TokenType::KeyValueSequence => "KeyValueSequence",
            TokenType::CollapsedToken => "CollapsedToken",
        }
    }

    /// Whether a pattern position of this type may become a wildcard by an ordinary merge
    /// (§9.3: whitespace and special characters never do).
    pub const fn is_wildcard_candidate(self) -> bool {
        !matches!(self, TokenType::Whitespace | TokenType::SpecialChar)
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One token: its type and its exact text, a slice of the tokenized input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token's type.
    pub kind: TokenType,
    /// The token's exact characters.
    pub text: &'a str,
}

/// Tokenizes `text` into a new vector. See [`tokenize_into`] to reuse a buffer.
pub fn tokenize(text: &str) -> Vec<Token<'_>> {
    // Log tokens average about three bytes. A capacity for four-byte tokens keeps a typical
    // line's buffer small (cheaper to allocate; measured with callgrind on the Loghub files),
    // at the cost of one regrowth for token-dense lines.
    let mut tokens = Vec::with_capacity(text.len() / 4 + 8);
    tokenize_into(text, &mut tokens);
    tokens
}

/// Tokenizes `text`, replacing the contents of `tokens` (whose allocation is reused).
pub fn tokenize_into<'a>(text: &'a str, tokens: &mut Vec<Token<'a>>) {
    tokens.clear();
    let mut pos = 0;
    while pos < text.len() {
        let (shape, end) = token_at(text, pos);
        let slice = &text[pos..end];
        tokens.push(Token { kind: shape_type(shape, slice), text: slice });
        pos = end;
    }
}

/// What kind of token starts somewhere, before a compound token is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A run of whitespace.
    Whitespace,
    /// A compound token: its type needs [`classify`].
    Compound,
    /// One special character.
    Special,
}

/// The shape and end of the token starting at byte `pos` (a character boundary inside
/// `text`). The tokenizer is this, repeated: a token's extent depends only on the text from
/// its start on, so a matcher can step through a text token by token without building the
/// token vector (the pattern store's fast path).
#[inline]
pub(crate) fn token_at(text: &str, pos: usize) -> (Shape, usize) {
    let bytes = text.as_bytes();
    let (class, len) = class_at(text, pos);
    match class {
        CharClass::Whitespace => {
            // Whitespace characters are all ASCII, so byte steps are character steps.
            let mut end = pos + 1;
            while end < bytes.len() && is_ascii_ws(bytes[end]) {
                end += 1;
            }
            (Shape::Whitespace, end)
        }
        CharClass::AlphaNumeric => (Shape::Compound, compound_end(text, pos + len)),
        CharClass::Join if bytes[pos] == b'/' && next_is_alphanumeric(text, pos + 1) => {
            (Shape::Compound, compound_end(text, pos + 1))
        }
        CharClass::Join | CharClass::Other => (Shape::Special, pos + len),
    }
}

/// The type of a token of `shape` whose text is `slice`.
#[inline]
pub(crate) fn shape_type(shape: Shape, slice: &str) -> TokenType {
    match shape {
        Shape::Whitespace => TokenType::Whitespace,
        Shape::Compound => classify(slice),
        Shape::Special => TokenType::SpecialChar,
    }
}

/// Whether byte `b` can be part of an alphanumeric run (ASCII letters, digits, `_`, and any
/// non-ASCII byte, as most non-ASCII characters are letters).
pub(crate) const fn is_word_byte(b: u8) -> bool {
    b >= 0x80 || matches!(ASCII_CLASSES[b as usize], CharClass::AlphaNumeric)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CharClass {
    Whitespace,
    AlphaNumeric,
    Join,
    Other,
}

const fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

const fn is_join(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'/' | b':' | b'@' | b'+')
}

/// The class of every ASCII byte: the tokenizer's inner loop does one table load per byte.
const ASCII_CLASSES: [CharClass; 128] = {
    let mut table = [CharClass::Other; 128];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        table[i] = if b.is_ascii_alphanumeric() || b == b'_' {
            CharClass::AlphaNumeric
        } else if is_ascii_ws(b) {
            CharClass::Whitespace
        } else if is_join(b) {
            CharClass::Join
        } else {
            CharClass::Other
        };
        i += 1;
    }
    table
};

/// The class of the character starting at byte `pos` (a character boundary) and its length.
#[inline]
fn class_at(text: &str, pos: usize) -> (CharClass, usize) {
    match ASCII_CLASSES.get(usize::from(text.as_bytes()[pos])) {
        Some(&class) => (class, 1),
        None => non_ascii_class_at(text, pos),
    }
}

/// [`class_at`] for a character outside ASCII (kept out of line: rare in logs).
#[cold]
fn non_ascii_class_at(text: &str, pos: usize) -> (CharClass, usize) {
    match text[pos..].chars().next() {
        Some(c) if c.is_alphabetic() || c.is_numeric() => (CharClass::AlphaNumeric, c.len_utf8()),
        Some(c) => (CharClass::Other, c.len_utf8()),
        // Unreachable for a boundary inside the text; a 1-byte step keeps the loop finite.
        None => (CharClass::Other, 1),
    }
}

fn next_is_alphanumeric(text: &str, pos: usize) -> bool {
    pos < text.len() && class_at(text, pos).0 == CharClass::AlphaNumeric
}

/// The end of the compound token whose scan continues at `pos`: AN characters, and JOIN
/// characters followed by an AN character or `/`.
fn compound_end(text: &str, mut pos: usize) -> usize {
    while let Some(len) = compound_step(text, pos) {
        pos += len;
    }
    pos
}

/// The length of the character at `pos` when a compound token's scan goes on over it;
/// `None` where the token ends.
#[inline]
fn compound_step(text: &str, pos: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let &b = bytes.get(pos)?;
    // ASCII letters, digits and `_` are the bulk of a compound token.
    if b.is_ascii_alphanumeric() || b == b'_' {
        return Some(1);
    }
    match class_at(text, pos) {
        (CharClass::AlphaNumeric, len) => Some(len),
        (CharClass::Join, _)
            if pos + 1 < bytes.len() && (bytes[pos + 1] == b'/' || next_is_alphanumeric(text, pos + 1)) =>
        {
            Some(1)
        }
        _ => None,
    }
}

/// Whether the token starting at `start` ends exactly at `end`, when `text[start..end]` is
/// the text of a token the tokenizer produced from some text: `token_at(text, start).1 ==
/// end`, mostly decided from the bytes around `end`. Inside such a token the scan reads
/// the same bytes as where it came from, so only its end can differ: after whitespace, more
/// whitespace; after a compound token ending in an ASCII letter or digit, whatever the scan
/// goes on over. (A single ASCII special character other than `/` always ends at once.)
#[inline]
pub(crate) fn token_ends_at(text: &str, start: usize, end: usize) -> bool {
    let bytes = text.as_bytes();
    let (first, last) = (bytes[start], bytes[end - 1]);
    match ASCII_CLASSES.get(usize::from(first)) {
        Some(CharClass::Whitespace) => bytes.get(end).is_none_or(|&b| !is_ascii_ws(b)),
        Some(CharClass::AlphaNumeric) if last.is_ascii_alphanumeric() || last == b'_' => {
            compound_step(text, end).is_none()
        }
        Some(CharClass::Join | CharClass::Other) if first != b'/' => end == start + 1,
        _ => token_at(text, start).1 == end,
    }
}

/// The type of a compound token: the first rule of §9.3 that matches.
pub fn classify(token: &str) -> TokenType {
    let b = token.as_bytes();
    // Fast path for the most common tokens, plain words: starting with a letter and without
    // `:` or `@`, only rules 11, 12 and 15 can match (rules 1–6, 10, 13 and 14 need a leading
    // digit or `/`, rule 7 two `:`, rule 8 `://`, rule 9 an `@`).
    if b.first().is_some_and(u8::is_ascii_alphabetic) && !b.iter().any(|&c| c == b':' || c == b'@') {
        return word_type(token);
    }
    // Fast path for plain numbers: with digits only, rules 1–13 all need a letter or one of
    // `-`, `/`, `:`, `.`, `@`, so only rule 14 (three digits, 100–599) or 15 can match.
    if b.iter().all(u8::is_ascii_digit) && !b.is_empty() {
        return if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) {
            TokenType::HttpStatus
        } else {
            TokenType::Numeric
        };
    }
    classify_by_rules(token)
}

/// Rules 1–15 in order, without the fast path.
fn classify_by_rules(token: &str) -> TokenType {
    let b = token.as_bytes();
    if let Some(rest) = local_date_time_rest(b) {
        if rest.is_empty() {
            return TokenType::LocalDateTime;
        }
        if is_zone(rest) {
            return TokenType::OffsetDateTime;
        }
    }
    if is_local_date(b) {
        return TokenType::LocalDate;
    }
    if is_slash_date(b) {
        return TokenType::Date;
    }
    if is_local_time(b) {
        return TokenType::LocalTime;
    }
    if is_ipv4(b) {
        return TokenType::Ipv4;
    }
    if is_ipv6(b) {
        return TokenType::Ipv6;
    }
    if is_uri(b) {
        return TokenType::Uri;
    }
    if is_email(b) {
        return TokenType::Email;
    }
    if b.first() == Some(&b'/') {
        return TokenType::AbsolutePath;
    }
    if matches!(token, "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE")
    {
        return TokenType::HttpMethod;
    }
    if is_severity(b) {
        return TokenType::SeverityLevel;
    }
    if b.len() == 3 && b.iter().all(u8::is_ascii_digit) && (b'1'..=b'5').contains(&b[0]) {
        return TokenType::HttpStatus;
    }
    if b.first().is_some_and(u8::is_ascii_digit)
        && b.iter().all(|&c| c.is_ascii_digit() || matches!(c, b'.' | b'-' | b'/' | b':'))
    {
        return TokenType::Numeric;
    }
    TokenType::Word
}

/// Rules 11, 12 and 15: an HTTP method, a severity name, or a word.
fn word_type(token: &str) -> TokenType {
    if matches!(token, "GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE")
    {
        TokenType::HttpMethod
    } else if is_severity(token.as_bytes()) {
        TokenType::SeverityLevel
    } else {
        TokenType::Word
    }
}

fn digits(b: &[u8], n: usize) -> bool {
    b.len() >= n && b[..n].iter().all(u8::is_ascii_digit)
}

/// `b` begins with `n` digits followed by `sep`.
fn digits_then(b: &[u8], n: usize, sep: u8) -> bool {
    digits(b, n) && b.get(n) == Some(&sep)
}

fn is_local_date(b: &[u8]) -> bool {
    b.len() == 10 && digits_then(b, 4, b'-') && digits_then(&b[5..], 2, b'-') && digits(&b[8..], 2)
}

/// After `YYYY-MM-DDThh:mm:ss` and an optional `.digits`: the rest of the token.
fn local_date_time_rest(b: &[u8]) -> Option<&[u8]> {
    if b.len() < 19 || !is_local_date(&b[..10]) || b[10] != b'T' {
        return None;
    }
    let t = &b[11..];
    if !(digits_then(t, 2, b':') && digits_then(&t[3..], 2, b':') && digits(&t[6..], 2)) {
        return None;
    }
    Some(skip_fraction(&b[19..]))
}

/// Skips `.` + at least one digit when present.
fn skip_fraction(b: &[u8]) -> &[u8] {
    if b.first() == Some(&b'.') {
        let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            return &b[1 + n..];
        }
    }
    b
}

fn is_zone(b: &[u8]) -> bool {
    b == b"Z"
        || (b.len() == 6
            && matches!(b[0], b'+' | b'-')
            && digits_then(&b[1..], 2, b':')
            && digits(&b[4..], 2))
}

fn is_slash_date(b: &[u8]) -> bool {
    if b.len() == 10 && digits_then(b, 4, b'/') && digits_then(&b[5..], 2, b'/') && digits(&b[8..], 2) {
        return true;
    }
    let mut parts = b.split(|&c| c == b'/');
    let (Some(d), Some(m), Some(y), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let all_digits = |p: &[u8]| p.iter().all(u8::is_ascii_digit);
    (1..=2).contains(&d.len())
        && (1..=2).contains(&m.len())
        && y.len() == 4
        && all_digits(d)
        && all_digits(m)
        && all_digits(y)
}

fn is_local_time(b: &[u8]) -> bool {
    if b.len() == 5 {
        return digits_then(b, 2, b':') && digits(&b[3..], 2);
    }
    b.len() >= 8
        && digits_then(b, 2, b':')
        && digits_then(&b[3..], 2, b':')
        && digits(&b[6..], 2)
        && skip_fraction(&b[8..]).is_empty()
}

fn is_ipv4(b: &[u8]) -> bool {
    let (addr, port) = match b.iter().position(|&c| c == b':') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    if let Some(port) = port
        && !((1..=5).contains(&port.len()) && port.iter().all(u8::is_ascii_digit))
    {
        return false;
    }
    let mut groups = 0;
    for group in addr.split(|&c| c == b'.') {
        groups += 1;
        if groups > 4 || !(1..=3).contains(&group.len()) || !group.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let value = group.iter().fold(0u32, |v, &c| v * 10 + u32::from(c - b'0'));
        if value > 255 {
            return false;
        }
    }
    groups == 4
}

fn is_ipv6(b: &[u8]) -> bool {
    b.iter().all(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        && b.iter().filter(|&&c| c == b':').count() >= 2
}

fn is_uri(b: &[u8]) -> bool {
    if !b.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let scheme_len =
        b.iter().take_while(|&&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')).count();
    b[scheme_len..].starts_with(b"://") && b.len() > scheme_len + 3
}

fn is_email(b: &[u8]) -> bool {
    let mut ats = b.iter().enumerate().filter(|&(_, &c)| c == b'@');
    match (ats.next(), ats.next()) {
        (Some((i, _)), None) => i > 0 && b[i + 1..].contains(&b'.'),
        _ => false,
    }
}

fn is_severity(b: &[u8]) -> bool {
    // The severity names grouped by length, so that a token is compared with few of them.
    let levels: &[&[u8]] = match b.len() {
        3 => &[b"ERR"],
        4 => &[b"INFO", b"WARN", b"CRIT"],
        5 => &[b"TRACE", b"DEBUG", b"ERROR", b"FATAL", b"ALERT", b"EMERG", b"PANIC"],
        6 => &[b"NOTICE"],
        7 => &[b"WARNING"],
        8 => &[b"CRITICAL"],
        9 => &[b"EMERGENCY"],
        _ => &[],
    };
    levels.iter().any(|level| level.eq_ignore_ascii_case(b))
}

#[cfg(test)]
mod tests;
