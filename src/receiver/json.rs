//! JSON reconstruction (`wire.md` §9.7 for `v2`, §9.8 for `v1`): escaped key paths, value
//! conversion, nesting limits and object building.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::{Map, Number, Value};

use super::error::{Violation, excerpt};
use super::render::render_float;

/// Splits an escaped path on `.`; `\.` is a literal dot and `\\` a literal backslash. Any
/// other character after `\`, or a trailing `\`, is a violation.
pub(super) fn split_path(escaped: &str) -> Result<Vec<Cow<'_, str>>, Violation> {
    // Most paths have no escape: their segments are borrowed.
    if !escaped.contains('\\') {
        return Ok(escaped.split('.').map(Cow::Borrowed).collect());
    }
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            '.' => segments.push(Cow::Owned(std::mem::take(&mut current))),
            '\\' => match chars.next() {
                Some(e @ ('.' | '\\')) => current.push(e),
                _ => return Err(Violation::InvalidKeyPath { path: excerpt(escaped) }),
            },
            c => current.push(c),
        }
    }
    segments.push(Cow::Owned(current));
    Ok(segments)
}

/// An integer JSON value.
pub(super) fn json_int(v: i64) -> Value {
    Value::Number(Number::from(v))
}

/// A FLOAT as a JSON number whose text is the `f64` `Display` form (§9.4); NaN and infinities
/// are violations.
pub(super) fn json_float(v: f64) -> Result<Value, Violation> {
    if !v.is_finite() {
        return Err(Violation::NonFiniteJsonFloat(v));
    }
    let mut text = String::new();
    render_float(v, &mut text);
    Number::from_str(&text).map(Value::Number).map_err(|_| Violation::NonFiniteJsonFloat(v))
}

/// The deepest nesting of arrays and objects in JSON text (0 for a scalar), found without
/// parsing so that overly deep input is refused before a recursive parser sees it.
pub(super) fn nesting_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Parses a RAW_JSON element, refusing nesting deeper than `max_depth`; returns the value and
/// its depth.
pub(super) fn parse_raw(bytes: &[u8], max_depth: usize) -> Result<(Value, usize), Violation> {
    let depth = nesting_depth(bytes);
    if depth > max_depth {
        return Err(Violation::JsonTooDeep(max_depth));
    }
    let value = serde_json::from_slice(bytes).map_err(|e| Violation::InvalidRawJson(e.to_string()))?;
    Ok((value, depth))
}

/// A node of a `v2` object under construction: an object made for key paths, or a value
/// (scalar, or anything a RAW_JSON column produced).
enum Node {
    Keys(BTreeMap<String, Node>),
    Value { value: Value, raw: bool },
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Keys(members) => {
                Value::Object(members.into_iter().map(|(k, n)| (k, n.into_value())).collect())
            }
            Node::Value { value, .. } => value,
        }
    }
}

/// Builds a `v2` JSON object from key paths in schema order, then places the message.
pub(super) struct ObjectBuilder {
    root: BTreeMap<String, Node>,
    max_depth: usize,
}

impl ObjectBuilder {
    pub(super) fn new(max_depth: usize) -> Self {
        ObjectBuilder { root: BTreeMap::new(), max_depth }
    }

    /// Sets `value` (of nesting `depth`) at the escaped `path`. Creating objects on the way is
    /// allowed; landing on an existing member, or descending into a value, is a violation.
    pub(super) fn set(&mut self, path: &str, value: Value, depth: usize, raw: bool) -> Result<(), Violation> {
        let segments = split_path(path)?;
        if segments.len().saturating_add(depth) > self.max_depth {
            return Err(Violation::JsonTooDeep(self.max_depth));
        }
        let Some((leaf, parents)) = segments.split_last() else {
            return Err(Violation::InvalidKeyPath { path: excerpt(path) });
        };
        let mut members = &mut self.root;
        for segment in parents {
            // An existing parent is found without allocating its name.
            if !members.contains_key(segment.as_ref()) {
                members.insert(segment.to_string(), Node::Keys(BTreeMap::new()));
            }
            let Some(node) = members.get_mut(segment.as_ref()) else {
                return Err(Violation::InvalidKeyPath { path: excerpt(path) });
            };
            members = match node {
                Node::Keys(inner) => inner,
                Node::Value { raw: true, .. } => return Err(Violation::KeyIntoRawJson(excerpt(path))),
                Node::Value { raw: false, .. } => return Err(Violation::KeyCollision(excerpt(path))),
            };
        }
        if members.contains_key(leaf.as_ref()) {
            return Err(Violation::KeyCollision(excerpt(path)));
        }
        members.insert(leaf.to_string(), Node::Value { value, raw });
        Ok(())
    }

    /// The finished object with `message` (a JSON string) at the escaped `path`: missing
    /// objects are created and any object is descended into; a non-object on the way, or an
    /// occupied target, is a violation.
    pub(super) fn finish(self, path: &str, message: String) -> Result<Value, Violation> {
        let segments = split_path(path)?;
        if segments.len() > self.max_depth {
            return Err(Violation::JsonTooDeep(self.max_depth));
        }
        let mut root: Map<String, Value> =
            self.root.into_iter().map(|(k, node)| (k, node.into_value())).collect();
        let blocked = || Violation::MessagePathBlocked(excerpt(path));
        let Some((leaf, parents)) = segments.split_last() else {
            return Err(blocked());
        };
        let mut members = &mut root;
        for segment in parents {
            let value = members.entry(segment.to_string()).or_insert_with(|| Value::Object(Map::new()));
            members = value.as_object_mut().ok_or_else(blocked)?;
        }
        if members.contains_key(leaf.as_ref()) {
            return Err(blocked());
        }
        members.insert(leaf.to_string(), Value::String(message));
        Ok(Value::Object(root))
    }
}

/// A `v1` JSON object: `{key_i: value_i, …, message_key: message}`; a duplicate key is a
/// violation (§9.8).
pub(super) fn v1_object(
    members: impl IntoIterator<Item = (String, Value)>,
    message_key: String,
    message: String,
) -> Result<Value, Violation> {
    let mut object = Map::new();
    for (key, value) in members.into_iter().chain([(message_key, Value::String(message))]) {
        if object.contains_key(&key) {
            return Err(Violation::DuplicateJsonKey(excerpt(&key)));
        }
        object.insert(key, value);
    }
    Ok(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoted_input_in_messages_is_cut_short() {
        let long = "k".repeat(1000);
        let mut b = ObjectBuilder::new(8);
        b.set(&long, json!(1), 0, false).unwrap();
        let message = b.set(&long, json!(1), 0, false).unwrap_err().to_string();
        assert!(message.len() < 120, "{message}");
        assert_eq!(excerpt("é".repeat(65).as_str()), format!("{}…", "é".repeat(64)));
    }

    #[test]
    fn paths_split_on_unescaped_dots_only() {
        assert_eq!(split_path("http.method").unwrap(), ["http", "method"]);
        assert_eq!(split_path(r"a\.b").unwrap(), ["a.b"]);
        assert_eq!(split_path(r"c\\d").unwrap(), [r"c\d"]);
        assert_eq!(split_path(r"x\\.y").unwrap(), [r"x\", "y"]);
        assert_eq!(split_path("").unwrap(), [""]);
        assert!(split_path(r"a\b").is_err());
        assert!(split_path("a\\").is_err());
    }

    #[test]
    fn floats_keep_display_text_and_non_finite_is_refused() {
        assert_eq!(json_float(1e21).unwrap().to_string(), "1000000000000000000000");
        assert_eq!(json_float(12.5).unwrap().to_string(), "12.5");
        assert!(json_float(f64::NAN).is_err());
        assert!(json_float(f64::NEG_INFINITY).is_err());
    }

    #[test]
    fn nesting_depth_ignores_brackets_inside_strings() {
        assert_eq!(nesting_depth(b"1"), 0);
        assert_eq!(nesting_depth(br#"{"a":[1,{"b":"[[[\"{"}]}"#), 3);
        assert!(parse_raw(b"[[[1]]]", 2).is_err());
        assert_eq!(parse_raw(b"[[[1]]]", 3).unwrap().1, 3);
        assert!(parse_raw(b"{", 3).is_err());
    }

    #[test]
    fn keys_nest_collisions_and_descending_into_raw_json_are_violations() {
        let mut b = ObjectBuilder::new(8);
        b.set("http.method", json!("GET"), 0, false).unwrap();
        b.set("http.status", json!(200), 0, false).unwrap();
        b.set("data", json!({"x": 1}), 1, true).unwrap();
        assert_eq!(
            b.set("http.method", json!(1), 0, false),
            Err(Violation::KeyCollision("http.method".into()))
        );
        assert_eq!(
            b.set("http.method.x", json!(1), 0, false),
            Err(Violation::KeyCollision("http.method.x".into()))
        );
        assert_eq!(b.set("data.y", json!(1), 0, false), Err(Violation::KeyIntoRawJson("data.y".into())));
        assert_eq!(b.set("http", json!(1), 0, false), Err(Violation::KeyCollision("http".into())));
        let object = b.finish("data.message", "hi".into()).unwrap();
        assert_eq!(
            object,
            json!({"http": {"method": "GET", "status": 200}, "data": {"x": 1, "message": "hi"}})
        );
    }

    #[test]
    fn message_placement_creates_missing_objects_and_refuses_occupied_targets() {
        let mut b = ObjectBuilder::new(8);
        b.set("a", json!(1), 0, false).unwrap();
        assert_eq!(b.finish("m.n", "x".into()).unwrap(), json!({"a": 1, "m": {"n": "x"}}));
        let mut b = ObjectBuilder::new(8);
        b.set("a", json!(1), 0, false).unwrap();
        assert!(b.finish("a", "x".into()).is_err());
        let mut b = ObjectBuilder::new(8);
        b.set("a", json!(1), 0, false).unwrap();
        assert!(b.finish("a.b", "x".into()).is_err());
    }

    #[test]
    fn depth_counts_path_segments_plus_value_nesting() {
        let mut b = ObjectBuilder::new(3);
        b.set("a.b", json!({"c": 1}), 1, true).unwrap();
        assert_eq!(b.set("x.y", json!([[1]]), 2, true), Err(Violation::JsonTooDeep(3)));
        assert_eq!(b.set("p.q.r.s", json!(1), 0, false), Err(Violation::JsonTooDeep(3)));
        assert_eq!(ObjectBuilder::new(3).finish("a.b.c.d", "m".into()), Err(Violation::JsonTooDeep(3)));
    }

    #[test]
    fn v1_objects_refuse_duplicate_keys_including_the_message_key() {
        let ok = v1_object([("port".into(), json!(8443))], "msg".into(), "hi".into()).unwrap();
        assert_eq!(ok, json!({"port": 8443, "msg": "hi"}));
        let dup = v1_object([("msg".into(), json!(1))], "msg".into(), "hi".into());
        assert_eq!(dup, Err(Violation::DuplicateJsonKey("msg".into())));
    }
}
