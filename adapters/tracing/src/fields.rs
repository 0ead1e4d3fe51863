//! Field values as tracing hands them over, and the JSON text of one event.
//!
//! The JSON is written by hand rather than through `serde_json::Value` so that numbers keep the
//! exact text the spec types them by (integers in base 10, floats as Rust's `f64` `Display`,
//! `wire.md` §9.4) whatever features `serde_json` is built with, and so that the member order
//! (message first) reads well when a `v1` record travels as text.

use std::fmt;

use tracing_core::field::{Field, Visit};

/// One field's value, typed as it was recorded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldValue {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
}

impl FieldValue {
    fn write_json(&self, out: &mut String) {
        match self {
            FieldValue::Str(text) => write_json_string(out, text),
            FieldValue::Int(value) => push_display(out, value),
            // JSON has no NaN or infinity: they travel as strings rather than be lost.
            FieldValue::Float(value) if !value.is_finite() => write_json_string(out, &value.to_string()),
            FieldValue::Float(value) => push_display(out, value),
            FieldValue::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
        }
    }

    /// The value as message text (a `message` recorded as a number still reads as text).
    fn into_text(self) -> String {
        match self {
            FieldValue::Str(text) => text,
            FieldValue::Int(value) => value.to_string(),
            FieldValue::Float(value) => value.to_string(),
            FieldValue::Bool(value) => value.to_string(),
        }
    }
}

fn push_display(out: &mut String, value: &dyn fmt::Display) {
    use fmt::Write as _;
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// Named values in first-recorded order; recording a name again replaces its value, so the
/// JSON object never has a duplicate member (a `v2` JSON log must not).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Fields {
    entries: Vec<(&'static str, FieldValue)>,
}

impl Fields {
    pub(crate) fn set(&mut self, name: &'static str, value: FieldValue) {
        match self.entries.iter_mut().find(|(existing, _)| *existing == name) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    /// Every entry of `other`, overriding entries of the same name.
    pub(crate) fn merge(&mut self, other: &Fields) {
        for (name, value) in &other.entries {
            self.set(name, value.clone());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn take(&mut self, name: &str) -> Option<FieldValue> {
        let index = self.entries.iter().position(|(existing, _)| *existing == name)?;
        Some(self.entries.remove(index).1)
    }
}

/// Records fields into [`Fields`], skipping the `log.*` fields `tracing-log` adds (their
/// content is already in the event's normalized metadata).
pub(crate) struct FieldVisitor<'a> {
    pub(crate) fields: &'a mut Fields,
    pub(crate) skip_log_fields: bool,
}

impl FieldVisitor<'_> {
    fn put(&mut self, field: &Field, value: FieldValue) {
        if self.skip_log_fields && field.name().starts_with("log.") {
            return;
        }
        self.fields.set(field.name(), value);
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, FieldValue::Float(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, FieldValue::Int(value.into()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, FieldValue::Int(value.into()));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.put(field, FieldValue::Int(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        // Beyond i128 (rare): the exact digits as a string rather than a wrong number.
        let value =
            i128::try_from(value).map(FieldValue::Int).unwrap_or_else(|_| FieldValue::Str(value.to_string()));
        self.put(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, FieldValue::Bool(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, FieldValue::Str(value.to_owned()));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The error and its causes, as `anyhow` prints them with `{:#}`.
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        self.put(field, FieldValue::Str(text));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `message` and `%display` values arrive here; both format as their text.
        self.put(field, FieldValue::Str(format!("{value:?}")));
    }
}

/// The top-level members the layer writes itself; an event field of one of these names is
/// written as `field.<name>` instead, so that no member appears twice.
const RESERVED: [&str; 4] = ["level", "logger", "span", "spans"];

/// What one event contributes to its record's content.
pub(crate) struct EventJson<'a> {
    pub(crate) level: &'static str,
    pub(crate) logger: &'a str,
    pub(crate) fields: Fields,
    /// The names of the spans in scope, root first.
    pub(crate) span_names: Vec<&'static str>,
    /// Their fields, merged root to leaf.
    pub(crate) span_fields: Fields,
}

impl EventJson<'_> {
    /// `{"message":…,"level":…,"logger":…,<event fields>,"span":{…},"spans":[…]}`: the
    /// message is omitted when the event has none (the record then travels as text), `span`
    /// holds the fields of every span in scope merged root to leaf (an inner span's field
    /// overrides an outer one's of the same name), `spans` the span names root to leaf; both
    /// are omitted outside spans.
    pub(crate) fn write(mut self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut member = |out: &mut String, name: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            write_json_string(out, name);
            out.push(':');
        };
        if let Some(message) = self.fields.take("message").map(FieldValue::into_text)
            && !message.is_empty()
        {
            member(out, "message");
            write_json_string(out, &message);
        }
        member(out, "level");
        write_json_string(out, self.level);
        member(out, "logger");
        write_json_string(out, self.logger);
        for (name, value) in &self.fields.entries {
            if RESERVED.contains(name) {
                member(out, &format!("field.{name}"));
            } else {
                member(out, name);
            }
            value.write_json(out);
        }
        if !self.span_fields.is_empty() {
            member(out, "span");
            out.push('{');
            for (i, (name, value)) in self.span_fields.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, name);
                out.push(':');
                value.write_json(out);
            }
            out.push('}');
        }
        if !self.span_names.is_empty() {
            member(out, "spans");
            out.push('[');
            for (i, name) in self.span_names.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, name);
            }
            out.push(']');
        }
        out.push('}');
    }
}

/// A JSON string literal (RFC 8259 §7): quotes, backslashes and control characters escaped.
pub(crate) fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                use fmt::Write as _;
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(event: EventJson<'_>) -> String {
        let mut out = String::new();
        event.write(&mut out);
        out
    }

    #[test]
    fn numbers_stay_numbers_and_reserved_names_are_moved_aside() {
        let mut fields = Fields::default();
        fields.set("message", FieldValue::Str("hi \"there\"\n".into()));
        fields.set("count", FieldValue::Int(-3));
        fields.set("ratio", FieldValue::Float(2.5));
        fields.set("ok", FieldValue::Bool(true));
        fields.set("level", FieldValue::Str("mine".into()));
        fields.set("nan", FieldValue::Float(f64::NAN));
        fields.set("count", FieldValue::Int(4));
        let text = json(EventJson {
            level: "INFO",
            logger: "app",
            fields,
            span_names: Vec::new(),
            span_fields: Fields::default(),
        });
        assert_eq!(
            text,
            r#"{"message":"hi \"there\"\n","level":"INFO","logger":"app","count":4,"ratio":2.5,"ok":true,"field.level":"mine","nan":"NaN"}"#
        );
    }

    #[test]
    fn span_fields_merge_root_to_leaf_and_names_are_listed() {
        let mut outer = Fields::default();
        outer.set("id", FieldValue::Int(1));
        outer.set("user", FieldValue::Str("ann".into()));
        let mut inner = Fields::default();
        inner.set("id", FieldValue::Int(2));
        let mut span_fields = Fields::default();
        span_fields.merge(&outer);
        span_fields.merge(&inner);
        let text = json(EventJson {
            level: "WARN",
            logger: "app::db",
            fields: Fields::default(),
            span_names: vec!["request", "query", "empty"],
            span_fields,
        });
        assert_eq!(
            text,
            r#"{"level":"WARN","logger":"app::db","span":{"id":2,"user":"ann"},"spans":["request","query","empty"]}"#
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let mut out = String::new();
        write_json_string(&mut out, "a\u{1}b\\");
        assert_eq!(out, r#""a\u0001b\\""#);
    }
}
