//! The profile-neutral datum model the translator emits (spec `encoding.md` §4, §8).
//!
//! A [`Datum`] says *what* a batch carries; [`crate::wire`] turns a batch of them into the
//! profile's proto sequence, delta-encoded. Ids here are always absolute: delta encoding is a
//! wire concern, scoped to one batch.

/// A pattern definition: `template` with wildcard values inserted at `pos_list` (byte offsets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternDef {
    /// Pattern id (≥ 1).
    pub id: u64,
    /// Constant text with the wildcard values left out.
    pub template: String,
    /// For each wildcard, in order, its byte offset in `template` (non-decreasing).
    pub pos_list: Vec<u32>,
}

/// A dictionary entry: `id` stands for `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictDef {
    /// Dictionary id (≥ 1 in `v1`, ≥ 2 in `v2`).
    pub id: u64,
    /// The string.
    pub value: String,
}

/// A `v2` JSON schema definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaDef {
    /// Schema id (≥ 2).
    pub id: u64,
    /// Dict ids of the escaped key paths, in column order.
    pub keys: Vec<u64>,
    /// Dict id of the escaped path of the message field.
    pub message_key_id: u64,
    /// One `JsonValueKind` byte per key.
    pub value_kinds: Vec<u8>,
}

/// A define or delete: what the snapshot state applies when its batch is acked (§8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateChange {
    /// Insert or replace a pattern.
    PatternDefine(PatternDef),
    /// Remove a pattern.
    PatternDelete(u64),
    /// Insert or replace a dictionary entry.
    DictDefine(DictDef),
    /// Remove a dictionary entry.
    DictDelete(u64),
    /// Insert or replace a `v2` schema.
    SchemaDefine(SchemaDef),
    /// Remove a `v2` schema.
    SchemaDelete(u64),
}

impl StateChange {
    /// Whether this is a delete (never sent in `v2`, optional in `v1`, §8.1).
    pub const fn is_delete(&self) -> bool {
        matches!(
            self,
            StateChange::PatternDelete(_) | StateChange::DictDelete(_) | StateChange::SchemaDelete(_)
        )
    }

    /// The growth of a receiver's state when this datum is sent and deletes are not
    /// (`transport.md` §16 rule 5): dictionary entry `len + 32`, pattern `len + 4 × offsets + 32`,
    /// schema `8 × keys + len(kinds) + 32`; deletes count 0.
    pub fn receiver_state_bytes(&self) -> u64 {
        match self {
            StateChange::DictDefine(d) => d.value.len() as u64 + 32,
            StateChange::PatternDefine(p) => p.template.len() as u64 + 4 * p.pos_list.len() as u64 + 32,
            StateChange::SchemaDefine(s) => 8 * s.keys.len() as u64 + s.value_kinds.len() as u64 + 32,
            _ => 0,
        }
    }
}

/// A string-valued log field: a dictionary id, or the string itself (inline, §9.9 fallback).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum StringRef {
    /// A live dictionary entry.
    Dict(u64),
    /// The string sent inline (`v1` only for status and tags).
    Inline(String),
}

/// One typed value (a wildcard value or a `v1` JSON context value).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer; `render_as_string` is the `v2` flag (no effect in text).
    Int {
        /// The integer.
        value: i64,
        /// `v2` `render_as_string`.
        render_as_string: bool,
    },
    /// A double.
    Float(f64),
    /// An inline string.
    Str(String),
    /// A dictionary id.
    Dict(u64),
    /// A boolean (`v2` only).
    Bool(bool),
    /// JSON text inserted verbatim (`v2` only).
    RawJson(String),
}

/// `v1` JSON fields of a structured log (`wire.md` §5, `encoding.md` §9.14).
#[derive(Clone, Debug, PartialEq)]
pub struct JsonV1 {
    /// The top-level key that held the message (normally a dict id).
    pub message_key: Value,
    /// Dict id of the comma-joined sorted key list (0 = no other keys).
    pub schema_id: u64,
    /// One value per key, in key order.
    pub values: Vec<Value>,
}

/// `v2` JSON fields of a log (`wire.md` §6, `encoding.md` §9.13): the schema and its columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JsonV2 {
    /// Schema id (≥ 2).
    pub schema_id: u64,
    /// INT column.
    pub ints: Vec<i64>,
    /// FLOAT column.
    pub floats: Vec<f64>,
    /// DICT_STRING column.
    pub dicts: Vec<u64>,
    /// RAW_JSON column.
    pub raws: TextColumn,
    /// STRING column.
    pub strings: TextColumn,
    /// BOOL column, bit-packed (bit `i mod 8` of byte `i / 8`).
    pub bools: Vec<u8>,
}

/// A column of strings kept in one buffer (one allocation for the column, not one per value:
/// a JSON log carries several).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextColumn {
    text: String,
    ends: Vec<u32>,
}

impl TextColumn {
    /// An empty column with room for `values` values of `bytes` bytes in all.
    pub fn with_capacity(values: usize, bytes: usize) -> Self {
        TextColumn { text: String::with_capacity(bytes), ends: Vec::with_capacity(values) }
    }

    /// Appends `value`. A column holds at most 4 GiB of text; a batch is far smaller.
    pub fn push(&mut self, value: &str) {
        self.text.push_str(value);
        self.ends.push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, end)| self.text.get(start as usize..*end as usize).unwrap_or_default())
    }
}

impl<'a> FromIterator<&'a str> for TextColumn {
    fn from_iter<I: IntoIterator<Item = &'a str>>(values: I) -> Self {
        let mut column = TextColumn::default();
        for value in values {
            column.push(value);
        }
        column
    }
}

/// The JSON part of a pattern log, per profile.
#[derive(Clone, Debug, PartialEq)]
pub enum JsonFields {
    /// `v1` `StructuredLog` JSON fields.
    V1(JsonV1),
    /// `v2` `Log` JSON fields.
    V2(JsonV2),
}

/// What a log's body is made of.
#[derive(Clone, Debug, PartialEq)]
pub enum LogContent {
    /// The escaped text itself (`v1` `raw`, `v2` `raw_log`; non-empty in `v2`).
    Raw(String),
    /// A `v2` JSON log whose message goes as `raw_log` (no pattern, not escaped: a JSON log is
    /// never unescaped, `wire.md` §9.7).
    RawJson {
        /// The message text (non-empty).
        message: String,
        /// The schema and its columns.
        json: Box<JsonV2>,
    },
    /// A pattern plus its wildcard values, optionally a JSON log.
    Pattern {
        /// The pattern (absolute id; delta encoding may omit it on the wire).
        pattern_id: u64,
        /// One value per wildcard, in order.
        values: Vec<Value>,
        /// Present for a JSON log (boxed: most logs are text, and a smaller datum is cheaper
        /// to move and to keep in a batch).
        json: Option<Box<JsonFields>>,
    },
}

/// One log datum, with absolute ids and timestamp.
#[derive(Clone, Debug, PartialEq)]
pub struct LogDatum {
    /// Clamped `timestamp_ms` (§2).
    pub timestamp_ms: i64,
    /// The body.
    pub content: LogContent,
    /// Status, `None` when absent.
    pub status: Option<StringRef>,
    /// Service (`v2` only; in `v1` it is inside the tag string).
    pub service: Option<StringRef>,
    /// The tag string, `None` when it is empty.
    pub tags: Option<StringRef>,
    /// Dual-send uuid.
    pub uuid: Option<String>,
}

/// One element of a batch: a definition, a deletion or a log (§4).
// Most datums of a batch are logs: boxing them would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Datum {
    /// A define or delete.
    State(StateChange),
    /// A log.
    Log(LogDatum),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_column_gives_back_its_values_in_order_empty_ones_included() {
        let column: TextColumn = ["", "ab", "", "ünï"].into_iter().collect();
        assert_eq!((column.len(), column.is_empty()), (4, false));
        assert_eq!(column.iter().collect::<Vec<_>>(), ["", "ab", "", "ünï"]);
        assert_eq!(TextColumn::default().iter().count(), 0);
    }

    #[test]
    fn receiver_state_bytes_follow_the_receiver_formula() {
        let p =
            StateChange::PatternDefine(PatternDef { id: 1, template: "ab cd".into(), pos_list: vec![2, 5] });
        assert_eq!(p.receiver_state_bytes(), 5 + 8 + 32);
        let d = StateChange::DictDefine(DictDef { id: 1, value: "info".into() });
        assert_eq!(d.receiver_state_bytes(), 36);
        let s = StateChange::SchemaDefine(SchemaDef {
            id: 2,
            keys: vec![3, 4],
            message_key_id: 5,
            value_kinds: vec![3, 6],
        });
        assert_eq!(s.receiver_state_bytes(), 16 + 2 + 32);
        assert_eq!(StateChange::DictDelete(1).receiver_state_bytes(), 0);
    }
}
