//! JSON detection and flattening for profile `v2` (`encoding.md` §9.13): a record that is one
//! JSON object with a message field becomes the message plus typed columns, one per key path.
//!
//! Like [`super::json`], it never panics: anything the spec excludes is "not JSON", and the
//! record then takes the lossless text path.

use std::borrow::Cow;

use super::json::{JsonMember, JsonValue, MESSAGE_KEYS, parse_object};
use super::value::canonical_int64;

/// Parents whose `message` member may hold the message when no top-level one does.
pub const NESTED_MESSAGE_PARENTS: [&str; 3] = ["data", "event", "payload"];

/// Top-level object members that are always boxed, never expanded into paths.
pub const BOXED_NAMES: [&str; 6] = ["attributes", "attrs", "headers", "labels", "metadata", "tags"];

/// A top-level object with this many members at most (and at least one) is expanded.
pub const MAX_EXPANDED_MEMBERS: usize = 16;

/// The first code point of the escape range (`wire.md` §9.6): no message, key or string
/// value of a JSON log may hold one (only reachable through `\u` escapes), because a JSON
/// log is never unescaped.
const ESCAPE_RANGE_START: char = '\u{10FF80}';

/// Whether `s` holds a code point of the escape range. Those are four-byte sequences that
/// start with 0xF4, so most strings are cleared by one byte search.
fn has_escape_range(s: &str) -> bool {
    s.as_bytes().contains(&0xF4) && s.chars().any(|c| c >= ESCAPE_RANGE_START)
}

/// The value of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum V2Leaf<'a> {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number whose text is canonical int64.
    Int(i64),
    /// A number whose text is the rendering of its double.
    Float(f64),
    /// A string (DICT_STRING or STRING, decided by admission).
    Str(Cow<'a, str>),
    /// JSON text sent verbatim: another number, a boxed object or an array.
    Raw(Cow<'a, str>),
}

/// One column: an escaped key path and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct V2Column<'a> {
    /// Segments escaped (`\` → `\\`, `.` → `\.`) and joined by `.`.
    pub path: Cow<'a, str>,
    /// The value.
    pub leaf: V2Leaf<'a>,
}

/// A record detected as a `v2` JSON log.
#[derive(Clone, Debug, PartialEq)]
pub struct V2Json<'a> {
    /// The escaped path of the message field (`msg`, `data.message`, …).
    pub message_path: &'static str,
    /// The message text (non-empty).
    pub message: Cow<'a, str>,
    /// The other values, in path order (members in byte order of their names, §9.13).
    pub columns: Vec<V2Column<'a>>,
}

/// Detects and flattens a `v2` JSON log (§9.13); `None`: the record is text. Beyond the spec's
/// exclusions (not one object, depth over 128, duplicate names, no message field, more than
/// `max_columns` columns), a member name that is empty or any string holding an escape-range
/// code point also makes the record text: an empty dictionary string cannot name a path, and
/// a JSON log's strings are never unescaped. `float_columns`: numbers that are the rendering
/// of their double become FLOAT (the spec's table); otherwise every non-integer number keeps
/// its text (RAW_JSON), which receivers accept alike.
pub fn detect_v2(text: &str, max_columns: usize, float_columns: bool) -> Option<V2Json<'_>> {
    let mut members = parse_object(text)?;
    let (message_path, message, parent) = take_message(&mut members)?;
    if has_escape_range(&message) {
        return None;
    }
    members.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut columns = Vec::with_capacity(members.len());
    for member in members {
        let path = escape_name(member.name)?;
        let is_parent = parent.is_some_and(|p| path == p);
        match member.value {
            JsonValue::Object(mut children)
                if (1..=MAX_EXPANDED_MEMBERS).contains(&children.len()) && !BOXED_NAMES.contains(&&*path) =>
            {
                children.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
                for child in children {
                    let child_path = escape_name(child.name)?;
                    let leaf = leaf(child.value, child.raw_value, float_columns)?;
                    columns.push(V2Column { path: Cow::Owned(format!("{path}.{child_path}")), leaf });
                }
            }
            JsonValue::Object(children) if is_parent => {
                // A boxed parent of the message, written without it (§9.13).
                let members: Vec<&str> = children.iter().map(|c| c.raw_member).collect();
                let raw = format!("{{{}}}", members.join(","));
                columns.push(V2Column { path, leaf: V2Leaf::Raw(Cow::Owned(raw)) });
            }
            value => columns.push(V2Column { path, leaf: leaf(value, member.raw_value, float_columns)? }),
        }
        if columns.len() > max_columns {
            return None;
        }
    }
    Some(V2Json { message_path, message, columns })
}

/// Removes the message member (§9.13 step 3): the first top-level message key with a non-empty
/// string, else the first nested one, whose parent is dropped when left empty. Returns the
/// message path, the message and the name of a parent that is still there.
fn take_message<'a>(
    members: &mut Vec<JsonMember<'a>>,
) -> Option<(&'static str, Cow<'a, str>, Option<&'static str>)> {
    let non_empty = |m: &JsonMember<'_>| matches!(&m.value, JsonValue::String(s) if !s.is_empty());
    for key in MESSAGE_KEYS {
        if let Some(i) = members.iter().position(|m| m.name == key && non_empty(m)) {
            let JsonValue::String(message) = members.remove(i).value else { return None };
            return Some((key, message, None));
        }
    }
    for (parent, path) in
        NESTED_MESSAGE_PARENTS.into_iter().zip(["data.message", "event.message", "payload.message"])
    {
        let Some(i) = members.iter().position(|m| m.name == parent) else { continue };
        let JsonValue::Object(children) = &mut members[i].value else { continue };
        let Some(j) = children.iter().position(|c| c.name == "message" && non_empty(c)) else { continue };
        let JsonValue::String(message) = children.remove(j).value else { return None };
        if children.is_empty() {
            members.remove(i);
            return Some((path, message, None));
        }
        return Some((path, message, Some(parent)));
    }
    None
}

/// A member name as a path segment; `None` for an empty name or one holding an escape-range
/// code point.
fn escape_name(name: Cow<'_, str>) -> Option<Cow<'_, str>> {
    if name.is_empty() || has_escape_range(&name) {
        return None;
    }
    if !name.bytes().any(|b| b == b'.' || b == b'\\') {
        return Some(name);
    }
    let mut out = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        if c == '.' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    Some(Cow::Owned(out))
}

/// The column value of a scalar, or of a value boxed as its original text.
fn leaf<'a>(value: JsonValue<'a>, raw: &'a str, float_columns: bool) -> Option<V2Leaf<'a>> {
    Some(match value {
        JsonValue::Null => V2Leaf::Null,
        JsonValue::Bool(b) => V2Leaf::Bool(b),
        JsonValue::Number(n) => number(n, float_columns),
        JsonValue::String(s) => {
            if has_escape_range(&s) {
                return None;
            }
            V2Leaf::Str(s)
        }
        JsonValue::Array(_) | JsonValue::Object(_) => V2Leaf::Raw(Cow::Borrowed(raw)),
    })
}

/// INT when canonical int64, FLOAT (with `float_columns`) when the text is its double's
/// rendering (`wire.md` §9.4), else the text itself.
fn number(text: &str, float_columns: bool) -> V2Leaf<'_> {
    if let Some(int) = canonical_int64(text) {
        return V2Leaf::Int(int);
    }
    if !float_columns {
        return V2Leaf::Raw(Cow::Borrowed(text));
    }
    match text.parse::<f64>() {
        Ok(f) if f.is_finite() && f.to_string() == text => V2Leaf::Float(f),
        _ => V2Leaf::Raw(Cow::Borrowed(text)),
    }
}

#[cfg(test)]
mod tests;
