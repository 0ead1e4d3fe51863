//! §9.11 step 7, the commit: the pattern change, the admissions and the sightings of a
//! [`Plan`] at the fallback level that fits, and the log datum that references them.

use super::plan::{LEVEL_RAW, Plan, Ref};
use super::{Held, Translator};
use crate::Profile;
use crate::Timestamp;
use crate::datum::{
    DictDef, JsonFields, JsonV1, LogContent, LogDatum, PatternDef, StateChange, StringRef, Value,
};
use crate::record::Record;

/// What committing a record gives: its log, its defines (§8.3 order) and what it uses.
pub(super) struct Committed {
    pub log: LogDatum,
    pub defines: Vec<StateChange>,
    pub used: Vec<Held>,
}

impl Translator {
    /// Applies `plan` at fallback `level`; `wire` is the record's escaped text.
    pub(super) fn commit(
        &mut self,
        now: Timestamp,
        record: &Record,
        wire: &str,
        plan: &mut Plan<'_>,
        level: u8,
    ) -> Committed {
        let mut defines = Vec::new();
        // The buffer is the translator's, handed back after count eviction: no allocation.
        let mut used = std::mem::take(&mut self.used_buffer);
        used.clear();
        // The pattern change first: its define precedes the dictionary defines.
        let keeps_pattern = plan.keeps_pattern(level);
        let pattern_id = match plan.pattern.take() {
            Some(prepared) if keeps_pattern => {
                let change = prepared.change();
                let id = self.store.commit_id(prepared, now);
                if change.needs_define()
                    && let Some(define) = plan.pattern_define.take()
                {
                    self.define_pattern(define, change == crate::pattern::Change::Updated, &mut defines);
                }
                used.push(Held::Pattern(id));
                Some(id)
            }
            _ => None,
        };
        if level < LEVEL_RAW
            && let Some(prepared) = plan.deferred.take()
        {
            self.store.commit(prepared, now);
        }
        // Admissions, in order of first use.
        let mut ids = Vec::with_capacity(plan.admissions.len());
        for admission in &plan.admissions {
            let id = admission.needed(level).then(|| {
                if admission.uses.body_dynamic {
                    self.sightings.remove(&admission.value);
                }
                self.admit(admission.value.as_ref(), now, &mut defines)
            });
            ids.push(id);
        }
        let v2 = self.format.profile == Profile::V2;
        let admissions = &plan.admissions;
        let resolve = |r: &Ref<'_>| -> Value {
            match r {
                Ref::Int(value) => Value::Int { value: *value, render_as_string: v2 },
                Ref::Float(f) => Value::Float(*f),
                Ref::Dict(id) => Value::Dict(*id),
                Ref::Admit(i) => match ids.get(*i).copied().flatten() {
                    Some(id) => Value::Dict(id),
                    None => Value::Str(admissions.get(*i).map_or_else(String::new, |a| a.value.to_string())),
                },
                Ref::Inline(s) | Ref::Sighted(s) => Value::Str(s.to_string()),
            }
        };
        let json_v2 = plan
            .json_v2
            .as_ref()
            .filter(|_| level < LEVEL_RAW)
            .map(|j| (j.message, self.commit_json_v2(now, j, resolve, &mut defines, &mut used)));
        let content = match (pattern_id, json_v2) {
            (Some(pattern_id), Some((_, j))) => {
                let values: Vec<Value> = plan.values.iter().map(resolve).collect();
                LogContent::Pattern { pattern_id, values, json: Some(Box::new(JsonFields::V2(j))) }
            }
            (None, Some((message, j))) => {
                LogContent::RawJson { message: message.to_owned(), json: Box::new(j) }
            }
            (Some(pattern_id), None) => {
                let values: Vec<Value> = plan.values.iter().map(resolve).collect();
                let json = plan.json.as_ref().map(|j| {
                    Box::new(JsonFields::V1(JsonV1 {
                        message_key: resolve(&j.message_key),
                        schema_id: match j.schema.as_ref().map(resolve) {
                            Some(Value::Dict(id)) => id,
                            // An inline schema cannot happen: it is dropped with the body.
                            _ => 0,
                        },
                        values: j.context.iter().map(resolve).collect(),
                    }))
                });
                LogContent::Pattern { pattern_id, values, json }
            }
            (None, None) => LogContent::Raw(wire.to_owned()),
        };
        let string_ref = |r: &Option<Ref<'_>>| {
            r.as_ref().map(|r| match resolve(r) {
                Value::Dict(id) => StringRef::Dict(id),
                Value::Str(s) => StringRef::Inline(s),
                // Metadata refs are strings by construction.
                _ => StringRef::Inline(String::new()),
            })
        };
        let (service, status, tags) =
            (string_ref(&plan.service), string_ref(&plan.status), string_ref(&plan.tags));
        // Sightings of the inline candidates sent in the body.
        let body_sent = pattern_id.is_some() || matches!(content, LogContent::RawJson { .. });
        if body_sent && level < LEVEL_RAW {
            for r in plan.body_refs() {
                if let Ref::Sighted(value) = r {
                    self.sightings.sight(value, now);
                }
            }
        }
        if let Some(StringRef::Dict(id)) = &tags
            && let Some(Ref::Admit(_) | Ref::Dict(_)) = &plan.tags
            && self.tag_cache.as_ref().is_none_or(|(_, cached)| cached != id)
            && let Some(entry) = self.dict.get(*id)
        {
            self.tag_cache = Some((entry.value.clone(), *id));
        }
        let referenced = |v: &Value| match v {
            Value::Dict(id) => Some(Held::Dict(*id)),
            _ => None,
        };
        if let LogContent::Pattern { values, json, .. } = &content {
            used.extend(values.iter().filter_map(referenced));
            if let Some(JsonFields::V1(j)) = json.as_deref() {
                used.extend(std::iter::once(&j.message_key).chain(&j.values).filter_map(referenced));
                if j.schema_id != 0 {
                    used.push(Held::Dict(j.schema_id));
                }
            }
        }
        used.extend([&service, &status, &tags].into_iter().flatten().filter_map(|r| match r {
            StringRef::Dict(id) => Some(Held::Dict(*id)),
            StringRef::Inline(_) => None,
        }));
        let log = LogDatum {
            timestamp_ms: record.clamped_timestamp(),
            content,
            status,
            service,
            tags,
            uuid: record.uuid().map(str::to_owned),
        };
        Committed { log, defines, used }
    }

    fn define_pattern(&mut self, define: PatternDef, updated: bool, defines: &mut Vec<StateChange>) {
        let id = define.id;
        let change = StateChange::PatternDefine(define);
        let size = self.format.datum_size(&change);
        let old = self.pattern_sizes.insert(id, size).unwrap_or(0);
        self.pattern_bytes = self.pattern_bytes - old + size;
        if updated {
            self.metrics.count_pattern_updated(size);
        } else {
            self.metrics.count_pattern_added(size);
        }
        defines.push(change);
    }

    fn admit(&mut self, value: &str, now: Timestamp, defines: &mut Vec<StateChange>) -> u64 {
        if let Some(id) = self.dict.id_of(value) {
            return id; // cannot happen: admissions are distinct and not entries yet
        }
        let id = self.dict.next_id();
        let change = StateChange::DictDefine(DictDef { id, value: value.to_owned() });
        let size = self.format.datum_size(&change);
        self.dict.insert(value.to_owned(), now, size);
        self.metrics.count_dict_added(size);
        defines.push(change);
        id
    }
}
