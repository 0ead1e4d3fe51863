//! The definitions a stream holds (`wire.md` §9.1) and their size (`transport.md` §16 rule 5).

use std::sync::Arc;

use super::error::Violation;
use crate::hashing::{SeededMap, seeded};

/// Counted per dictionary entry, pattern and schema on top of its contents.
const ENTRY_OVERHEAD: u64 = 32;

/// A pattern: its template and the insertion offsets (validated: non-decreasing, on character
/// boundaries, within the template).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pattern {
    pub(super) template: String,
    pub(super) pos_list: Vec<u32>,
}

impl Pattern {
    fn size(&self) -> u64 {
        self.template.len() as u64 + 4 * self.pos_list.len() as u64 + ENTRY_OVERHEAD
    }
}

/// How a schema column is filled (`wire.md` §6, `JsonValueKind` 1..=7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ValueKind {
    Null,
    Bool,
    Int,
    Float,
    DictString,
    String,
    RawJson,
}

impl ValueKind {
    /// The kind of a `value_kinds` byte; 0 (INVALID) and values above 7 have none.
    pub(super) fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            1 => ValueKind::Null,
            2 => ValueKind::Bool,
            3 => ValueKind::Int,
            4 => ValueKind::Float,
            5 => ValueKind::DictString,
            6 => ValueKind::String,
            7 => ValueKind::RawJson,
            _ => return None,
        })
    }
}

/// A `v2` JSON schema, with the dictionary strings captured when it was defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Schema {
    /// Escaped key paths, in column order (shared with the dictionary: a schema that names
    /// a large entry many times holds it once).
    pub(super) keys: Vec<Arc<str>>,
    /// Escaped path of the message field.
    pub(super) message_key: Arc<str>,
    pub(super) kinds: Vec<ValueKind>,
}

impl Schema {
    fn size(&self) -> u64 {
        8 * self.keys.len() as u64 + self.kinds.len() as u64 + ENTRY_OVERHEAD
    }
}

/// Dictionary, patterns and schemas of one stream, with their counted size.
///
/// Keyed by ids the client picks, so hashed with a seed (`ReceiverConfig::hash_seed`), not
/// std's `RandomState`, which would draw OS randomness in the sans-IO core.
pub(super) struct Tables {
    dict: SeededMap<u64, Arc<str>>,
    patterns: SeededMap<u64, Pattern>,
    schemas: SeededMap<u64, Schema>,
    bytes: u64,
}

/// Sizes only: the contents are log data, possibly large and sensitive.
impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tables")
            .field("dict_entries", &self.dict.len())
            .field("patterns", &self.patterns.len())
            .field("schemas", &self.schemas.len())
            .field("bytes", &self.bytes)
            .finish()
    }
}

impl Tables {
    /// Empty tables hashed with `seed`.
    pub(super) fn new(seed: u64) -> Self {
        Tables {
            dict: SeededMap::with_hasher(seeded(seed)),
            patterns: SeededMap::with_hasher(seeded(seed)),
            schemas: SeededMap::with_hasher(seeded(seed)),
            bytes: 0,
        }
    }

    /// The counted size of everything held.
    pub(super) fn bytes(&self) -> u64 {
        self.bytes
    }

    fn replace_size(&mut self, old: Option<u64>, new: u64) {
        self.bytes = self.bytes.saturating_sub(old.unwrap_or(0)).saturating_add(new);
    }

    pub(super) fn define_dict(&mut self, id: u64, value: String) {
        let new = value.len() as u64 + ENTRY_OVERHEAD;
        let old = self.dict.insert(id, value.into()).map(|v| v.len() as u64 + ENTRY_OVERHEAD);
        self.replace_size(old, new);
    }

    pub(super) fn delete_dict(&mut self, id: u64) -> Result<(), Violation> {
        let old = self.dict.remove(&id).ok_or(Violation::UnknownDictId(id))?;
        self.replace_size(Some(old.len() as u64 + ENTRY_OVERHEAD), 0);
        Ok(())
    }

    pub(super) fn dict(&self, id: u64) -> Result<&str, Violation> {
        self.dict.get(&id).map(|v| &**v).ok_or(Violation::UnknownDictId(id))
    }

    /// The entry itself, to keep as it is now.
    pub(super) fn dict_shared(&self, id: u64) -> Result<Arc<str>, Violation> {
        self.dict.get(&id).cloned().ok_or(Violation::UnknownDictId(id))
    }

    pub(super) fn define_pattern(&mut self, id: u64, pattern: Pattern) {
        let new = pattern.size();
        let old = self.patterns.insert(id, pattern).map(|p| p.size());
        self.replace_size(old, new);
    }

    pub(super) fn delete_pattern(&mut self, id: u64) -> Result<(), Violation> {
        let old = self.patterns.remove(&id).ok_or(Violation::UnknownPatternId(id))?;
        self.replace_size(Some(old.size()), 0);
        Ok(())
    }

    pub(super) fn pattern(&self, id: u64) -> Result<&Pattern, Violation> {
        self.patterns.get(&id).ok_or(Violation::UnknownPatternId(id))
    }

    pub(super) fn define_schema(&mut self, id: u64, schema: Schema) {
        let new = schema.size();
        let old = self.schemas.insert(id, schema).map(|s| s.size());
        self.replace_size(old, new);
    }

    pub(super) fn delete_schema(&mut self, id: u64) -> Result<(), Violation> {
        let old = self.schemas.remove(&id).ok_or(Violation::UnknownSchemaId(id))?;
        self.replace_size(Some(old.size()), 0);
        Ok(())
    }

    pub(super) fn schema(&self, id: u64) -> Result<&Schema, Violation> {
        self.schemas.get(&id).ok_or(Violation::UnknownSchemaId(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_follows_the_counting_rule_through_replace_and_delete() {
        let mut t = Tables::new(7);
        t.define_dict(2, "abcd".into());
        assert_eq!(t.bytes(), 4 + 32);
        t.define_dict(2, "ab".into());
        assert_eq!(t.bytes(), 2 + 32);
        t.define_pattern(1, Pattern { template: "hello ".into(), pos_list: vec![6, 6] });
        assert_eq!(t.bytes(), 34 + 6 + 8 + 32);
        let kinds = vec![ValueKind::Int, ValueKind::Bool];
        let keys = vec![Arc::from("a"), Arc::from("b")];
        t.define_schema(2, Schema { keys, message_key: Arc::from("m"), kinds });
        assert_eq!(t.bytes(), 34 + 46 + 16 + 2 + 32);
        t.delete_schema(2).unwrap();
        t.delete_pattern(1).unwrap();
        t.delete_dict(2).unwrap();
        assert_eq!(t.bytes(), 0);
        assert_eq!(t.delete_dict(2), Err(Violation::UnknownDictId(2)));
        assert_eq!(t.dict(9), Err(Violation::UnknownDictId(9)));
        t.define_dict(3, "secret log text".into());
        assert!(!format!("{t:?}").contains("secret"), "Debug shows sizes, not contents");
    }
}
