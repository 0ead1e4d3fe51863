//! Routing (spec `encoding.md` §9.1) and the decisions of §9.11 steps 2, 4 and 5: which body a
//! record gets, how its wildcard and JSON context values are typed (§9.7, §9.8), and which
//! strings it would admit. Nothing here changes the translator; [`Plan`] is committed by
//! `Translator::translate` once the state bound allows it (§9.9).

use std::borrow::Cow;

use super::{Held, Translator};
use crate::Profile;
use crate::datum::{DictDef, JsonV2, PatternDef, StateChange, TextColumn};
use crate::pattern::{
    Change, Prepared, V1Json, V1Value, V2Json, WildcardValue, detect_v2, is_dynamic_candidate, type_wildcard,
};
use crate::record::Record;

/// The first code point of the escape range (`wire.md` §9.6): patterns and dictionary strings
/// never hold one (§9.2).
const ESCAPE_RANGE_START: char = '\u{10FF80}';

/// Fallback steps of §9.9, tried in order until the record's growth fits.
pub(super) const LEVEL_ALL: u8 = 0;
/// Step 1: dynamic strings the record would admit go inline.
pub(super) const LEVEL_DYNAMIC_INLINE: u8 = 1;
/// Step 2: the record goes as a raw text log (no pattern change, no JSON entries).
pub(super) const LEVEL_RAW: u8 = 2;
/// Step 3 (`v1`): the tag string and status go inline too.
pub(super) const LEVEL_ALL_INLINE: u8 = 3;

/// How one value or metadata string will be sent.
#[derive(Clone, Debug)]
pub(super) enum Ref<'a> {
    /// Canonical int64 (`int_value`).
    Int(i64),
    /// A `v1` JSON number that is the rendering of its double.
    Float(f64),
    /// A live dictionary entry.
    Dict(u64),
    /// The string this record admits (index into [`Plan::admissions`]); inline if the fallback
    /// drops the admission.
    Admit(usize),
    /// Inline, not a dynamic candidate.
    Inline(Cow<'a, str>),
    /// Inline, a dynamic candidate: its sighting is counted when committed (§9.8).
    Sighted(Cow<'a, str>),
}

/// Who uses an admitted string: decides at which fallback step it is dropped.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Uses {
    /// Service, status or tag string (dropped only at step 3, `v1`).
    pub meta: bool,
    /// Message key or schema string of a JSON log (dropped with the body at step 2).
    pub body_fixed: bool,
    /// A wildcard or JSON string value (dropped at step 1).
    pub body_dynamic: bool,
}

/// A string the record would add to the dictionary.
#[derive(Clone, Debug)]
pub(super) struct Admission<'a> {
    pub value: Cow<'a, str>,
    pub uses: Uses,
}

impl Admission<'_> {
    /// Whether the entry is still made at fallback `level`.
    pub fn needed(&self, level: u8) -> bool {
        (self.uses.meta && level < LEVEL_ALL_INLINE)
            || (self.uses.body_fixed && level < LEVEL_RAW)
            || (self.uses.body_dynamic && level < LEVEL_DYNAMIC_INLINE)
    }
}

/// The `v1` JSON part of a pattern log.
#[derive(Clone, Debug)]
pub(super) struct JsonPlan<'a> {
    pub message_key: Ref<'a>,
    /// `None`: no other members (schema id 0).
    pub schema: Option<Ref<'a>>,
    pub context: Vec<Ref<'a>>,
}

/// A record detected as a JSON log of the translator's profile.
pub(super) enum DetectedJson<'a> {
    /// `v1` (§9.14).
    V1(V1Json<'a>),
    /// `v2` (§9.13).
    V2(V2Json<'a>),
}

/// Everything one record would send, decided but not committed.
pub(super) struct Plan<'a> {
    /// The pattern path's match; `None` = a raw text log.
    pub pattern: Option<Prepared<'a>>,
    /// A raw log whose shape waits for its pattern: its sketch learns from it when committed.
    pub deferred: Option<Prepared<'a>>,
    /// The state growth of the pattern's new or updated define (may be negative).
    pub pattern_growth: i64,
    /// The define a new or updated pattern sends.
    pub pattern_define: Option<PatternDef>,
    /// The body cannot be raw (`v2` empty content, §9.1).
    pub must_keep_pattern: bool,
    pub values: Vec<Ref<'a>>,
    pub json: Option<JsonPlan<'a>>,
    pub json_v2: Option<JsonV2Plan<'a>>,
    pub service: Option<Ref<'a>>,
    pub status: Option<Ref<'a>>,
    pub tags: Option<Ref<'a>>,
    pub admissions: Vec<Admission<'a>>,
}

impl Plan<'_> {
    /// Whether the body goes through its pattern at fallback `level`.
    pub fn keeps_pattern(&self, level: u8) -> bool {
        self.pattern.is_some() && (level < LEVEL_RAW || self.must_keep_pattern)
    }

    /// Every value reference of the body (wildcards, then JSON).
    pub fn body_refs(&self) -> impl Iterator<Item = &Ref<'_>> {
        let json = self
            .json
            .iter()
            .flat_map(|j| std::iter::once(&j.message_key).chain(j.schema.as_ref()).chain(j.context.iter()));
        let json_v2 = self.json_v2.iter().flat_map(JsonV2Plan::refs);
        self.values.iter().chain(json).chain(json_v2)
    }

    /// The service, status and tag-string references.
    pub fn meta_refs(&self) -> impl Iterator<Item = &Ref<'_>> {
        [&self.service, &self.status, &self.tags].into_iter().flatten()
    }
}

/// The `v2` JSON part of a plan.
#[derive(Clone, Debug)]
pub(super) struct JsonV2Plan<'a> {
    /// The message, for `raw_log` when it takes no pattern.
    pub message: &'a str,
    /// The message path's entry.
    pub message_path: Ref<'a>,
    /// Per column: the key path's entry and the value.
    pub columns: Vec<(Ref<'a>, Column<'a>)>,
}

/// One column's value as planned.
#[derive(Clone, Debug)]
pub(super) enum Column<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Raw(&'a str),
    /// A string: DICT_STRING when its reference is an entry at the level, else STRING.
    Str(Ref<'a>),
}

impl<'a> JsonV2Plan<'a> {
    /// Empty columns with room for every value, so that filling them allocates once each.
    pub(super) fn sized_columns(&self) -> JsonV2 {
        let (mut ints, mut floats, mut dicts, mut bools) = (0, 0, 0, 0usize);
        let (mut raws, mut raw_bytes, mut strings, mut string_bytes) = (0, 0, 0, 0);
        for (_, value) in &self.columns {
            match value {
                Column::Null => {}
                Column::Bool(_) => bools += 1,
                Column::Int(_) => ints += 1,
                Column::Float(_) => floats += 1,
                Column::Raw(text) => {
                    raws += 1;
                    raw_bytes += text.len();
                }
                Column::Str(Ref::Inline(s) | Ref::Sighted(s)) => {
                    strings += 1;
                    string_bytes += s.len();
                }
                Column::Str(_) => dicts += 1,
            }
        }
        JsonV2 {
            schema_id: 0,
            ints: Vec::with_capacity(ints),
            floats: Vec::with_capacity(floats),
            dicts: Vec::with_capacity(dicts),
            raws: TextColumn::with_capacity(raws, raw_bytes),
            strings: TextColumn::with_capacity(strings, string_bytes),
            bools: Vec::with_capacity(bools.div_ceil(8)),
        }
    }

    /// Every reference: the message path, then per column its path and string value.
    pub fn refs(&self) -> impl Iterator<Item = &Ref<'a>> {
        let columns = self.columns.iter().flat_map(|(path, value)| {
            let value = match value {
                Column::Str(r) => Some(r),
                _ => None,
            };
            std::iter::once(path).chain(value)
        });
        std::iter::once(&self.message_path).chain(columns)
    }
}

impl Translator {
    /// §9.1 routing and §9.11 steps 2, 4 and 5 for `record`, whose escaped text is `wire`
    /// and `v1` JSON detection result `json`. `cached_tags` is the tag cache's entry when
    /// the record's tag string is the cached one (then `tag_string` is not built).
    pub(super) fn plan<'a>(
        &self,
        record: &'a Record,
        wire: &'a str,
        json: Option<&'a DetectedJson<'a>>,
        tag_string: &'a str,
        cached_tags: Option<u64>,
    ) -> Plan<'a> {
        let profile = self.format.profile;
        let mut plan = Plan {
            pattern: None,
            deferred: None,
            pattern_growth: 0,
            pattern_define: None,
            must_keep_pattern: false,
            values: Vec::new(),
            json: None,
            json_v2: None,
            service: None,
            status: None,
            tags: None,
            admissions: Vec::new(),
        };
        let escaped = wire.as_bytes() != &record.content[..];
        if profile == Profile::V2 && record.content.is_empty() {
            // `v2` cannot carry an empty raw log: the empty pattern, raw mode included.
            plan.must_keep_pattern = self.plan_text("", &mut plan);
        } else if let Some(DetectedJson::V2(json)) = json {
            // In raw mode too: the message then goes as `raw_log` (detection already left out
            // escaped content and `json_as_raw`).
            self.plan_json_v2(json, &mut plan);
        } else if !escaped && self.config.patterns.enabled && !self.json_goes_raw(wire) {
            match json {
                Some(DetectedJson::V1(json)) => {
                    self.plan_json(json, &mut plan);
                }
                _ => {
                    self.plan_text(wire, &mut plan);
                }
            }
        }
        if profile == Profile::V2 {
            plan.service = self.admit_fixed(record.service().unwrap_or_default(), &mut plan, Slot::Meta);
        }
        plan.status = self.admit_fixed(record.status().unwrap_or_default(), &mut plan, Slot::Meta);
        plan.tags = match cached_tags {
            Some(id) => Some(Ref::Dict(id)),
            None => self.admit_fixed(tag_string, &mut plan, Slot::Meta),
        };
        plan
    }

    /// §9.1 step 3: `json_as_raw` sends JSON-looking records as raw text.
    fn json_goes_raw(&self, wire: &str) -> bool {
        self.config.patterns.json_as_raw
            && wire.trim_start_matches(|c: char| c.is_ascii_whitespace()).starts_with('{')
    }

    /// §9.1 step 4: JSON detection, `v1` (§9.14) or `v2` (§9.13); `None` for text,
    /// `json_as_raw` and, in `v1`, raw mode (a `v1` JSON log needs a pattern; a `v2` one sends
    /// its message as `raw_log` then). Messages, member names and string values holding
    /// escape-range code points (only reachable through `\u` escapes) stay text, so that no
    /// pattern or entry holds one (§9.2).
    pub(super) fn detect_json<'w>(&self, wire: &'w str, escaped: bool) -> Option<DetectedJson<'w>> {
        let patterns = &self.config.patterns;
        if escaped || patterns.json_as_raw {
            return None;
        }
        if !wire.trim_start_matches(|c: char| c.is_ascii_whitespace()).starts_with('{') {
            return None;
        }
        if self.format.profile == Profile::V2 {
            let config = &self.config;
            return detect_v2(wire, config.json_max_keys, config.json_float_columns).map(DetectedJson::V2);
        }
        if !patterns.enabled {
            return None;
        }
        let json = crate::pattern::detect_v1(wire)?;
        let clean = |s: &str| !s.contains(|c: char| c >= ESCAPE_RANGE_START);
        let strings_clean = json
            .context
            .iter()
            .all(|(name, value)| clean(name) && !matches!(value, V1Value::String(s) if !clean(s)));
        (clean(&json.message) && strings_clean && json.context.len() <= self.config.json_max_keys)
            .then_some(DetectedJson::V1(json))
    }

    /// Routing steps 5–6 for a text: the length limit, then the pattern store's decision and
    /// the typed wildcard values. `false`: the record goes raw.
    pub(super) fn plan_text<'a>(&self, text: &'a str, plan: &mut Plan<'a>) -> bool {
        let max = self.config.patterns.max_template_bytes;
        if max > 0 && text.len() > max {
            return false;
        }
        let Ok(prepared) = self.store.prepare(text) else {
            return false;
        };
        if prepared.change() == Change::Deferred {
            plan.deferred = Some(prepared);
            return false;
        }
        // The fast path's values are borrowed as they are; only the full path collects them.
        let collected;
        let values = match self.store.fast_values(&prepared) {
            Some(values) => values,
            None => {
                collected = self.store.prepared_values(&prepared);
                &collected
            }
        };
        plan.values.reserve(values.len());
        for &value in values {
            let r = match type_wildcard(value) {
                WildcardValue::Int(i) => Ref::Int(i),
                WildcardValue::Text(s) => self.type_dynamic(Cow::Borrowed(s), plan),
            };
            plan.values.push(r);
        }
        if let Some((template, pos_list)) = prepared.definition() {
            let (id, old_size) = match prepared.pattern_id() {
                Some(id) => (id, self.pattern_sizes.get(&id).copied().unwrap_or(0)),
                None => (self.store.next_pattern_id(), 0),
            };
            let define = PatternDef { id, template: template.to_owned(), pos_list: pos_list.to_vec() };
            let size = self.format.datum_size(&StateChange::PatternDefine(define.clone()));
            plan.pattern_growth = size as i64 - old_size as i64;
            plan.pattern_define = Some(define);
        }
        plan.pattern = Some(prepared);
        true
    }

    /// §9.14 encoding: the message's pattern, then the message key, the schema string and the
    /// context values, in that order of first use.
    fn plan_json<'a>(&self, json: &'a V1Json<'a>, plan: &mut Plan<'a>) -> bool {
        if !self.plan_text(&json.message, plan) {
            return false;
        }
        let key = json.message_key;
        let message_key = self.admit_fixed(key, plan, Slot::Body).unwrap_or(Ref::Inline(Cow::Borrowed(key)));
        let schema = if json.context.is_empty() {
            None
        } else {
            let schema = json.schema();
            let r = match self.dict.id_of(&schema) {
                Some(id) => Ref::Dict(id),
                None => admit(Cow::Owned(schema), plan, Slot::Body),
            };
            Some(r)
        };
        let context = Vec::with_capacity(json.context.len());
        plan.json = Some(JsonPlan { message_key, schema, context });
        for (_, value) in &json.context {
            let r = match value {
                V1Value::Int(i) => Ref::Int(*i),
                V1Value::Float(f) => Ref::Float(*f),
                // Pushed one by one: earlier sightings in this record count (`type_dynamic`).
                V1Value::String(s) => self.type_dynamic(Cow::Borrowed(s.as_ref()), plan),
            };
            if let Some(json) = plan.json.as_mut() {
                json.context.push(r);
            }
        }
        true
    }

    /// Dynamic-string admission (§9.8) of a wildcard or JSON string value.
    pub(super) fn type_dynamic<'a>(&self, value: Cow<'a, str>, plan: &mut Plan<'a>) -> Ref<'a> {
        if let Some(i) = plan.admissions.iter().position(|a| a.value == value) {
            plan.admissions[i].uses.body_dynamic = true;
            return Ref::Admit(i);
        }
        if let Some(id) = self.dict.id_of(&value) {
            return Ref::Dict(id);
        }
        if !is_dynamic_candidate(&value) {
            return Ref::Inline(value);
        }
        // Earlier sightings of the same value in this record count too.
        let pending = plan.body_refs().filter(|r| matches!(r, Ref::Sighted(v) if *v == value)).count();
        if self.sightings.would_admit_after(&value, pending as u32) {
            admit(value, plan, Slot::Dynamic)
        } else {
            Ref::Sighted(value)
        }
    }

    /// Immediate admission (§9.8) of a service, status, tag string or JSON key string; `None`
    /// for an empty string (sent as "none").
    pub(super) fn admit_fixed<'a>(&self, value: &'a str, plan: &mut Plan<'a>, slot: Slot) -> Option<Ref<'a>> {
        if value.is_empty() {
            return None;
        }
        if let Some(i) = plan.admissions.iter().position(|a| a.value == value) {
            mark(&mut plan.admissions[i], slot);
            return Some(Ref::Admit(i));
        }
        Some(match self.dict.id_of(value) {
            Some(id) => Ref::Dict(id),
            None => admit(Cow::Borrowed(value), plan, slot),
        })
    }

    /// The state growth the plan causes at fallback `level`: the pattern define's change and
    /// the dictionary defines, with the ids they would get (§9.9).
    pub(super) fn growth(&self, plan: &Plan<'_>, level: u8) -> i64 {
        let mut growth = if plan.keeps_pattern(level) { plan.pattern_growth } else { 0 };
        let mut next_id = self.dict.next_id();
        let mut predicted = Vec::with_capacity(plan.admissions.len());
        for admission in &plan.admissions {
            if !admission.needed(level) {
                predicted.push(None);
                continue;
            }
            let change =
                StateChange::DictDefine(DictDef { id: next_id, value: admission.value.clone().into_owned() });
            growth += self.format.datum_size(&change) as i64;
            predicted.push(Some(next_id));
            next_id += 1;
        }
        growth + self.schema_growth(plan, level, &predicted)
    }

    /// What the record uses at fallback `level`: never evicted while it is translated.
    pub(super) fn used(&self, plan: &Plan<'_>, level: u8) -> Vec<Held> {
        // Room for the pattern, the wildcard values and the three metadata strings.
        let mut used = Vec::with_capacity(plan.values.len() + 4);
        let keeps = plan.keeps_pattern(level);
        if keeps && let Some(id) = plan.pattern.as_ref().and_then(Prepared::pattern_id) {
            used.push(Held::Pattern(id));
        }
        // A JSON log keeps its key entries and schema below raw, with or without a pattern.
        let keeps_body = keeps || (plan.json_v2.is_some() && level < LEVEL_RAW);
        let body = plan.body_refs().filter(|_| keeps_body);
        for r in body.chain(plan.meta_refs()) {
            if let Ref::Dict(id) = r {
                used.push(Held::Dict(*id));
            }
        }
        used.extend(self.used_schema(plan, level).map(Held::Schema));
        used
    }
}

/// Who an admission is for.
#[derive(Clone, Copy)]
pub(super) enum Slot {
    Meta,
    Body,
    Dynamic,
}

fn mark(admission: &mut Admission<'_>, slot: Slot) {
    match slot {
        Slot::Meta => admission.uses.meta = true,
        Slot::Body => admission.uses.body_fixed = true,
        Slot::Dynamic => admission.uses.body_dynamic = true,
    }
}

fn admit<'a>(value: Cow<'a, str>, plan: &mut Plan<'a>, slot: Slot) -> Ref<'a> {
    if let Some(i) = plan.admissions.iter().position(|a| a.value == value) {
        mark(&mut plan.admissions[i], slot);
        return Ref::Admit(i);
    }
    let mut admission = Admission { value, uses: Uses::default() };
    mark(&mut admission, slot);
    plan.admissions.push(admission);
    Ref::Admit(plan.admissions.len() - 1)
}
