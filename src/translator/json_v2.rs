//! `v2` JSON logs (spec `encoding.md` §9.13, §9.11 step 4): the plan of a detected object —
//! its message (pattern or `raw_log`), key paths admitted at once, string values typed by
//! dynamic admission — and, at the fallback level that fits, its schema and columns.

use std::borrow::Cow;

use super::plan::{Admission, Column, JsonV2Plan, LEVEL_RAW, Plan, Ref, Slot};
use super::schemas::write_identity;
use super::{Held, Translator};
use crate::Timestamp;
use crate::datum::{JsonV2, SchemaDef, StateChange, Value};
use crate::pattern::{V2Json, V2Leaf};
use crate::proto::v2::JsonValueKind;

/// The `value_kinds` byte of a kind (the generated enum holds `wire.md` §6's numbers).
const fn kind(kind: JsonValueKind) -> u8 {
    kind as u8
}

/// Whether `r` is sent as a dictionary id at fallback `level`.
fn is_entry(r: &Ref<'_>, admissions: &[Admission<'_>], level: u8) -> bool {
    match r {
        Ref::Dict(_) => true,
        Ref::Admit(i) => admissions.get(*i).is_some_and(|a| a.needed(level)),
        _ => false,
    }
}

fn column_kind(value: &Column<'_>, admissions: &[Admission<'_>], level: u8) -> u8 {
    match value {
        Column::Null => kind(JsonValueKind::Null),
        Column::Bool(_) => kind(JsonValueKind::Bool),
        Column::Int(_) => kind(JsonValueKind::Int),
        Column::Float(_) => kind(JsonValueKind::Float),
        Column::Raw(_) => kind(JsonValueKind::RawJson),
        Column::Str(r) if is_entry(r, admissions, level) => kind(JsonValueKind::DictString),
        Column::Str(_) => kind(JsonValueKind::String),
    }
}

impl Translator {
    /// §9.11 step 4 for a `v2` JSON log: the message's pattern (when patterns are on and it
    /// takes one; else it goes as `raw_log`), then the message path, the key paths and the
    /// string values, admitted in that order.
    pub(super) fn plan_json_v2<'a>(&self, json: &'a V2Json<'a>, plan: &mut Plan<'a>) {
        if self.config.patterns.enabled {
            self.plan_text(&json.message, plan);
        }
        let message_path = self.admit_path(json.message_path, plan);
        let mut columns = Vec::with_capacity(json.columns.len());
        for column in &json.columns {
            columns.push((self.admit_path(&column.path, plan), Column::Null));
        }
        plan.json_v2 = Some(JsonV2Plan { message: &json.message, message_path, columns });
        for (i, column) in json.columns.iter().enumerate() {
            let value = match &column.leaf {
                V2Leaf::Null => Column::Null,
                V2Leaf::Bool(b) => Column::Bool(*b),
                V2Leaf::Int(n) => Column::Int(*n),
                V2Leaf::Float(f) => Column::Float(*f),
                V2Leaf::Raw(text) => Column::Raw(text),
                // Typed one by one: earlier sightings in this record count (`type_dynamic`).
                V2Leaf::Str(s) if self.config.json_dictionary_strings => {
                    Column::Str(self.type_dynamic(Cow::Borrowed(s.as_ref()), plan))
                }
                V2Leaf::Str(s) => Column::Str(Ref::Inline(Cow::Borrowed(s.as_ref()))),
            };
            if let Some(slot) = plan.json_v2.as_mut().and_then(|j| j.columns.get_mut(i)) {
                slot.1 = value;
            }
        }
    }

    /// A key path or the message path: admitted at once (§9.8), never empty (§9.13 detection).
    fn admit_path<'a>(&self, path: &'a str, plan: &mut Plan<'a>) -> Ref<'a> {
        self.admit_fixed(path, plan, Slot::Body).unwrap_or(Ref::Inline(Cow::Borrowed(path)))
    }

    /// The live schema `json` uses at `level`, if any: none when a path is still to be
    /// admitted (no live schema can use an entry that does not exist yet).
    fn schema_at(&self, json: &JsonV2Plan<'_>, admissions: &[Admission<'_>], level: u8) -> Option<u64> {
        let id = |r: &Ref<'_>| match r {
            Ref::Dict(id) => Some(*id),
            _ => None,
        };
        let message_key_id = id(&json.message_path)?;
        if !json.columns.iter().all(|(path, _)| matches!(path, Ref::Dict(_))) {
            return None;
        }
        let columns = json
            .columns
            .iter()
            .map(|(path, value)| (id(path).unwrap_or_default(), column_kind(value, admissions, level)));
        let mut identity = Vec::with_capacity(json.columns.len() + 1);
        write_identity(message_key_id, columns, &mut identity);
        self.schemas.id_of(&identity)
    }

    /// The state growth of the plan's schema at `level`: its define's size when it is new,
    /// with the ids its new path entries would get (`predicted`, per admission).
    pub(super) fn schema_growth(&self, plan: &Plan<'_>, level: u8, predicted: &[Option<u64>]) -> i64 {
        let Some(json) = plan.json_v2.as_ref().filter(|_| level < LEVEL_RAW) else { return 0 };
        if self.schema_at(json, &plan.admissions, level).is_some() {
            return 0;
        }
        let id_of = |r: &Ref<'_>| match r {
            Ref::Dict(id) => *id,
            Ref::Admit(i) => predicted.get(*i).copied().flatten().unwrap_or(0),
            _ => 0,
        };
        let def = SchemaDef {
            id: self.schemas.next_id(),
            keys: json.columns.iter().map(|(path, _)| id_of(path)).collect(),
            message_key_id: id_of(&json.message_path),
            value_kinds: json.columns.iter().map(|(_, v)| column_kind(v, &plan.admissions, level)).collect(),
        };
        self.format.datum_size(&StateChange::SchemaDefine(def)) as i64
    }

    /// The live schema the plan would use at `level` (for the eviction exclusions).
    pub(super) fn used_schema(&self, plan: &Plan<'_>, level: u8) -> Option<u64> {
        let json = plan.json_v2.as_ref().filter(|_| level < LEVEL_RAW)?;
        self.schema_at(json, &plan.admissions, level)
    }

    /// Commits the JSON part at a level below [`LEVEL_RAW`], once its entries are: the schema
    /// (defined when new, after the entries, §8.3) and the columns. `resolve` gives each
    /// reference's committed value, which decides the string columns' kinds.
    pub(super) fn commit_json_v2(
        &mut self,
        now: Timestamp,
        json: &JsonV2Plan<'_>,
        resolve: impl Fn(&Ref<'_>) -> Value,
        defines: &mut Vec<StateChange>,
        used: &mut Vec<Held>,
    ) -> JsonV2 {
        let mut columns = json.sized_columns();
        let mut bools = 0usize;
        let mut kinds = Vec::with_capacity(json.columns.len());
        for (_, value) in &json.columns {
            let kind = match value {
                Column::Null => kind(JsonValueKind::Null),
                Column::Bool(b) => {
                    if bools.is_multiple_of(8) {
                        columns.bools.push(0);
                    }
                    if *b && let Some(byte) = columns.bools.last_mut() {
                        *byte |= 1 << (bools % 8);
                    }
                    bools += 1;
                    kind(JsonValueKind::Bool)
                }
                Column::Int(n) => {
                    columns.ints.push(*n);
                    kind(JsonValueKind::Int)
                }
                Column::Float(f) => {
                    columns.floats.push(*f);
                    kind(JsonValueKind::Float)
                }
                Column::Raw(text) => {
                    columns.raws.push(text);
                    kind(JsonValueKind::RawJson)
                }
                // Inline strings are copied once, into the column.
                Column::Str(Ref::Inline(s) | Ref::Sighted(s)) => {
                    columns.strings.push(s);
                    kind(JsonValueKind::String)
                }
                Column::Str(r) => match resolve(r) {
                    Value::Dict(id) => {
                        columns.dicts.push(id);
                        used.push(Held::Dict(id));
                        kind(JsonValueKind::DictString)
                    }
                    Value::Str(s) => {
                        columns.strings.push(&s);
                        kind(JsonValueKind::String)
                    }
                    // String references resolve to strings by construction.
                    _ => {
                        columns.strings.push("");
                        kind(JsonValueKind::String)
                    }
                },
            };
            kinds.push(kind);
        }
        let id_of = |r: &Ref<'_>| match resolve(r) {
            Value::Dict(id) => id,
            // A path is an entry at every level below raw (admitted with the body).
            _ => 0,
        };
        let keys: Vec<u64> = json.columns.iter().map(|(path, _)| id_of(path)).collect();
        let message_key_id = id_of(&json.message_path);
        used.extend(keys.iter().chain([&message_key_id]).map(|id| Held::Dict(*id)));
        let mut identity = std::mem::take(&mut self.identity_buffer);
        write_identity(message_key_id, keys.iter().copied().zip(kinds.iter().copied()), &mut identity);
        let schema_id = match self.schemas.id_of(&identity) {
            Some(id) => {
                self.schemas.touch(id, now);
                id
            }
            None => {
                let def = SchemaDef { id: self.schemas.next_id(), keys, message_key_id, value_kinds: kinds };
                let id = def.id;
                let change = StateChange::SchemaDefine(def.clone());
                let size = self.format.datum_size(&change);
                self.schemas.insert(identity.clone(), def, now, size);
                self.metrics.count_schema_added();
                defines.push(change);
                id
            }
        };
        self.identity_buffer = identity;
        used.push(Held::Schema(schema_id));
        columns.schema_id = schema_id;
        columns
    }
}

#[cfg(test)]
mod tests;
