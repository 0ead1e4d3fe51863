//! JSON detection for profile `v1` (`encoding.md` §9.14), on a small scanner that checks the
//! RFC 8259 grammar, the nesting depth and duplicate member names (§9.13 steps 1–2).
//!
//! The scanner never panics: malformed input is simply "not JSON", and the record then takes
//! the lossless text path.

use std::borrow::Cow;

use super::value::canonical_int64;

/// The deepest nesting a JSON record may have (the top-level object is depth 1).
pub const MAX_JSON_DEPTH: usize = 128;

/// The top-level members that may hold the message, in order of preference.
pub const MESSAGE_KEYS: [&str; 4] = ["message", "msg", "log", "text"];

/// A parsed JSON value; strings are unescaped, numbers keep their literal text.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonValue<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string, unescaped (borrowed when it has no escapes).
    String(Cow<'a, str>),
    /// An array: its elements.
    Array(Vec<JsonValue<'a>>),
    /// An object: its members in input order.
    Object(Vec<JsonMember<'a>>),
}

/// One member of a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonMember<'a> {
    /// The member name, unescaped.
    pub name: Cow<'a, str>,
    /// The value.
    pub value: JsonValue<'a>,
    /// The value's original text, exactly as in the input.
    pub raw_value: &'a str,
    /// The member's original text from the name's opening quote to the value's end (name,
    /// `:`, value, as in the input), for writing a boxed object without one member (§9.13).
    pub raw_member: &'a str,
}

/// Parses `text` when it is exactly one JSON object: after leading ASCII whitespace a `{`,
/// the object (RFC 8259), then only JSON whitespace; nesting depth at most
/// [`MAX_JSON_DEPTH`]; no duplicate member name in any object. Returns its members.
pub fn parse_object(text: &str) -> Option<Vec<JsonMember<'_>>> {
    let start = text.len() - text.trim_start_matches(|c: char| c.is_ascii_whitespace()).len();
    if text.as_bytes().get(start) != Some(&b'{') {
        return None;
    }
    let mut parser = Parser { text, pos: start };
    let value = parser.value(1)?;
    parser.skip_whitespace();
    if parser.pos != text.len() {
        return None;
    }
    match value {
        JsonValue::Object(members) => Some(members),
        _ => None,
    }
}

/// A `v1` context value (§9.14).
#[derive(Clone, Debug, PartialEq)]
pub enum V1Value<'a> {
    /// A number whose text is canonical int64 (`int_value`).
    Int(i64),
    /// A number whose text is the rendering of its double (`float_value`).
    Float(f64),
    /// A string (`dict_index` or `string_value` after dynamic admission).
    String(Cow<'a, str>),
}

/// A record detected as a `v1` JSON log.
#[derive(Clone, Debug, PartialEq)]
pub struct V1Json<'a> {
    /// The message member's name: one of [`MESSAGE_KEYS`].
    pub message_key: &'static str,
    /// The message text (non-empty), which takes the pattern path.
    pub message: Cow<'a, str>,
    /// The other members, sorted by name in byte order.
    pub context: Vec<(Cow<'a, str>, V1Value<'a>)>,
}

impl V1Json<'_> {
    /// The schema string: the context member names joined by `,` (empty with no context).
    pub fn schema(&self) -> String {
        let names: Vec<&str> = self.context.iter().map(|(name, _)| name.as_ref()).collect();
        names.join(",")
    }
}

/// Detects a `v1` JSON log (§9.14): exactly one object as in [`parse_object`]; a message
/// member (the first of [`MESSAGE_KEYS`] whose value is a non-empty string); every other
/// member a string or a number that is canonical int64 or the rendering of its double; no
/// member name containing `,`. `None`: the record is text.
pub fn detect_v1(text: &str) -> Option<V1Json<'_>> {
    let members = parse_object(text)?;
    let message_key = MESSAGE_KEYS.into_iter().find(|key| {
        members.iter().any(|m| m.name == *key && matches!(&m.value, JsonValue::String(s) if !s.is_empty()))
    })?;
    let mut message = None;
    let mut context = Vec::with_capacity(members.len().saturating_sub(1));
    for member in members {
        if member.name == message_key {
            if let JsonValue::String(s) = member.value {
                message = Some(s);
            }
            continue;
        }
        if member.name.contains(',') {
            return None;
        }
        let value = match member.value {
            JsonValue::String(s) => V1Value::String(s),
            JsonValue::Number(n) => v1_number(n)?,
            _ => return None,
        };
        context.push((member.name, value));
    }
    context.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Some(V1Json { message_key, message: message?, context })
}

/// A JSON number as a `v1` value: canonical int64 first, then a double whose rendering (Rust
/// `Display`, `wire.md` §9.4) is exactly the text.
fn v1_number(text: &str) -> Option<V1Value<'static>> {
    if let Some(int) = canonical_int64(text) {
        return Some(V1Value::Int(int));
    }
    let float: f64 = text.parse().ok()?;
    (float.is_finite() && float.to_string() == text).then_some(V1Value::Float(float))
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_whitespace();
        (self.peek() == Some(byte)).then(|| self.pos += 1)
    }

    /// A value at nesting depth `depth` (objects and arrays count).
    fn value(&mut self, depth: usize) -> Option<JsonValue<'a>> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' => {
                if depth > MAX_JSON_DEPTH {
                    return None;
                }
                self.pos += 1;
                self.object(depth)
            }
            b'[' => {
                if depth > MAX_JSON_DEPTH {
                    return None;
                }
                self.pos += 1;
                self.array(depth)
            }
            b'"' => self.string().map(JsonValue::String),
            b't' => self.literal("true", JsonValue::Bool(true)),
            b'f' => self.literal("false", JsonValue::Bool(false)),
            b'n' => self.literal("null", JsonValue::Null),
            _ => self.number().map(JsonValue::Number),
        }
    }

    fn literal(&mut self, word: &str, value: JsonValue<'a>) -> Option<JsonValue<'a>> {
        self.text[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            value
        })
    }

    fn object(&mut self, depth: usize) -> Option<JsonValue<'a>> {
        // Most log objects have at most 11 members, and 11 members (under 1 KiB) stay in the
        // allocator's fast per-thread cache; measured faster than 8 or 16.
        let mut members = Vec::with_capacity(11);
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Some(JsonValue::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return None;
            }
            let member_start = self.pos;
            let name = self.string()?;
            self.eat(b':')?;
            self.skip_whitespace();
            let value_start = self.pos;
            let value = self.value(depth + 1)?;
            let raw_value = &self.text[value_start..self.pos];
            let raw_member = &self.text[member_start..self.pos];
            members.push(JsonMember { name, value, raw_value, raw_member });
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    break;
                }
                _ => return None,
            }
        }
        unique_names(&members).then_some(JsonValue::Object(members))
    }

    fn array(&mut self, depth: usize) -> Option<JsonValue<'a>> {
        let mut elements = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Some(JsonValue::Array(elements));
        }
        loop {
            elements.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(JsonValue::Array(elements));
                }
                _ => return None,
            }
        }
    }

    /// A string starting at the opening quote; unescaped.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let bytes = self.text.as_bytes();
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escape before the closing quote.
        self.pos = start + plain_run(bytes.get(start..)?);
        match *bytes.get(self.pos)? {
            b'"' => {
                self.pos += 1;
                return Some(Cow::Borrowed(&self.text[start..self.pos - 1]));
            }
            b'\\' => {}
            _ => return None,
        }
        let mut out = String::from(&self.text[start..self.pos]);
        loop {
            let b = *bytes.get(self.pos)?;
            match b {
                b'"' => {
                    self.pos += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let escape = *bytes.get(self.pos + 1)?;
                    self.pos += 2;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => {
                    // Copy up to the next quote, backslash or control character at once.
                    let run = bytes[self.pos..].iter().position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
                    out.push_str(&self.text[self.pos..self.pos + run]);
                    self.pos += run;
                }
            }
        }
    }

    /// The code point of `XXXX` after `\u` (and of a following `\uXXXX` low surrogate).
    /// A lone surrogate cannot be a Rust string: not JSON for this project.
    fn unicode_escape(&mut self) -> Option<char> {
        let high = self.hex4()?;
        if !(0xD800..0xDC00).contains(&high) {
            return char::from_u32(high);
        }
        if !self.text[self.pos..].starts_with("\\u") {
            return None;
        }
        self.pos += 2;
        let low = self.hex4()?;
        if !(0xDC00..0xE000).contains(&low) {
            return None;
        }
        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<&'a str> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let digits = |pos: &mut usize| {
            let from = *pos;
            while bytes.get(*pos).is_some_and(u8::is_ascii_digit) {
                *pos += 1;
            }
            *pos - from
        };
        let mut pos = self.pos;
        if bytes.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match bytes.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => {
                digits(&mut pos);
            }
            _ => return None,
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            if digits(&mut pos) == 0 {
                return None;
            }
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            if digits(&mut pos) == 0 {
                return None;
            }
        }
        self.pos = pos;
        Some(&self.text[start..pos])
    }
}

/// The length of the prefix of `bytes` without `"`, `\` or a control character, eight bytes
/// at a time: a string's bytes are scanned once, and most have no escape.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit of each byte that is zero (exact for the lowest such byte, which is all we use).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let Ok(array) = <[u8; 8]>::try_from(chunk) else { break };
        let w = u64::from_le_bytes(array);
        let found = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if found != 0 {
            return offset + (found.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    let tail = chunks.remainder();
    offset + tail.iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).unwrap_or(tail.len())
}

/// Whether no two members share a name: pairwise for small objects (no allocation, most
/// names differ in length), by sorting beyond.
fn unique_names(members: &[JsonMember<'_>]) -> bool {
    if members.len() <= 16 {
        return members.iter().enumerate().all(|(i, a)| members[..i].iter().all(|b| a.name != b.name));
    }
    let mut names: Vec<&str> = members.iter().map(|m| m.name.as_ref()).collect();
    names.sort_unstable();
    names.windows(2).all(|w| w[0] != w[1])
}

#[cfg(test)]
mod tests;
