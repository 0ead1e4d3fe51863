//! The translator: record → datums (spec `encoding.md` §9).
//!
//! This module holds the routing of §9.1, the raw text path, the immediate admissions of the
//! tag string, status and (`v2`) service, the state bound and eviction of what the translator
//! holds, and the emission order of §8.3. Pattern extraction (tokenizer, clustering) is a pure
//! component that plugs into [`Translator::pattern_path`] (routing step 6); until it does,
//! every non-empty record is sent as a raw text log.

mod config;
pub mod dictionary;
mod metrics;
mod sightings;

use std::collections::BTreeMap;

use crate::datum::{Datum, DictDef, LogContent, LogDatum, PatternDef, StateChange, StringRef};
use crate::escape::escape;
use crate::record::Record;
use crate::wire::WireFormat;
use crate::{Profile, Timestamp, duration_ms};

pub use config::{DictionarySettings, PatternSettings, TranslatorConfig};
pub use dictionary::{Dictionary, Entry, score};
pub use metrics::TranslatorMetrics;
pub use sightings::Sightings;

/// The stale sweep runs at most this often (§9.10).
pub const STALE_SWEEP_INTERVAL_MS: u64 = 30_000;

/// How a record's log was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    /// As raw text (`raw` / `raw_log`).
    Raw,
    /// Through a pattern.
    Pattern,
}

/// One live pattern with the statistics eviction needs.
#[derive(Clone, Debug, PartialEq)]
pub struct PatternEntry {
    /// Its current definition.
    pub def: PatternDef,
    /// Records that used it.
    pub uses: u64,
    /// When it was created.
    pub created: Timestamp,
    /// When a record last used it.
    pub last_access: Timestamp,
    /// Its `PatternDefine`'s share of the state size.
    pub size: u64,
}

/// Something the translator holds that eviction may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Held {
    // Declared first: on equal scores, patterns go before entries (§9.9).
    Pattern(u64),
    Dict(u64),
}

/// What the content of one record becomes.
enum Body {
    Raw(String),
    /// `v2` empty content: the pattern with an empty template and no wildcards.
    EmptyPattern,
}

/// The ids and strings one record uses, decided before anything is committed (§9.11).
struct Plan {
    body: Body,
    /// Existing pattern id, or `None` when a new one must be defined (EmptyPattern only).
    pattern: Option<u64>,
    /// `(value, existing id)` for service (`v2`), status and tag string, in admission order.
    strings: Vec<(Slot, String, Option<u64>)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Service,
    Status,
    Tags,
}

/// Turns records into datums and keeps the live definitions (patterns, dictionary) that the
/// next records may reference. Lives as long as its Pipeline; ids survive streams.
#[derive(Clone, Debug)]
pub struct Translator {
    format: WireFormat,
    config: TranslatorConfig,
    dict: Dictionary,
    /// Dynamic-string candidates (§9.8); fed by the pattern path's value typing.
    sightings: Sightings,
    patterns: BTreeMap<u64, PatternEntry>,
    next_pattern_id: u64,
    /// The `v2` empty-template pattern, while it is live.
    empty_pattern: Option<u64>,
    last_sweep: Timestamp,
    metrics: TranslatorMetrics,
}

impl Translator {
    /// A translator with empty state; `now` starts the stale-sweep clock.
    pub fn new(format: WireFormat, config: TranslatorConfig, now: Timestamp) -> Self {
        let first_dict_id = match format.profile {
            Profile::V1 => 1,
            Profile::V2 => 2,
        };
        let sightings =
            Sightings::new(config.dictionary.admission_threshold, config.dictionary.max_dynamic_candidates);
        Translator {
            format,
            config,
            dict: Dictionary::new(first_dict_id),
            sightings,
            patterns: BTreeMap::new(),
            next_pattern_id: 1,
            empty_pattern: None,
            last_sweep: now,
            metrics: TranslatorMetrics::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &TranslatorConfig {
        &self.config
    }

    /// The dictionary.
    pub fn dictionary(&self) -> &Dictionary {
        &self.dict
    }

    /// The live patterns, by id.
    pub fn patterns(&self) -> impl Iterator<Item = &PatternEntry> {
        self.patterns.values()
    }

    /// The exact state size of §9.9: the serialized size of one define per live definition.
    pub fn state_size_bytes(&self) -> u64 {
        self.dict.bytes() + self.patterns.values().map(|p| p.size).sum::<u64>()
    }

    /// Counters of what the translator defined, deleted and sent.
    pub fn metrics(&self) -> &TranslatorMetrics {
        &self.metrics
    }

    /// Whether `record` must be dropped before translation (§3.3): its content exceeds
    /// `max_batch_bytes`, or, in `v2`, the defines of its distinct status, service and
    /// tag-string entries alone exceed `state.max_bytes`.
    pub fn is_too_large(&self, record: &Record, max_batch_bytes: u64) -> bool {
        if record.raw_len() > max_batch_bytes {
            return true;
        }
        if self.format.profile == Profile::V1 {
            return false; // v1 falls back to inline strings instead (§9.9 step 3)
        }
        let mut distinct: Vec<String> = Vec::with_capacity(3);
        for value in [
            record.service().map(str::to_owned),
            record.status().map(str::to_owned),
            Some(record.tag_string(Profile::V2)),
        ]
        .into_iter()
        .flatten()
        {
            if !value.is_empty() && !distinct.contains(&value) {
                distinct.push(value);
            }
        }
        let mut next_id = self.dict.next_id();
        let mut bytes: u64 = distinct
            .into_iter()
            .map(|value| {
                let id = self.dict.id_of(&value).unwrap_or_else(|| {
                    next_id += 1;
                    next_id - 1
                });
                self.format.datum_size(&StateChange::DictDefine(DictDef { id, value }))
            })
            .sum();
        if record.content.is_empty() {
            // The empty-template pattern must fit too, or the record could not be sent at all.
            bytes += self.format.datum_size(&StateChange::PatternDefine(self.empty_pattern_def()));
        }
        bytes > self.config.state_max_bytes
    }

    /// Translates one admitted record, appending its datums to `out` in the order of §8.3:
    /// deletes, pattern define, dictionary defines, then the log.
    pub fn translate(&mut self, now: Timestamp, record: &Record, out: &mut Vec<Datum>) -> LogKind {
        let now = now.max(self.last_sweep);
        let mut plan = self.route(record);
        // Step 3: touch what the record uses.
        if let Some(id) = plan.pattern {
            self.touch_pattern(id, now);
        }
        for (_, _, id) in &plan.strings {
            if let Some(id) = id {
                self.dict.touch(*id, now);
            }
        }
        let used = self.used_by(&plan);
        let mut deletes = Vec::new();
        // Step 6: the stale sweep.
        if now.millis_since(self.last_sweep) >= STALE_SWEEP_INTERVAL_MS {
            self.stale_sweep(now, &used, &mut deletes);
            self.last_sweep = now;
        }
        // Step 7: byte eviction and fallback, then commit.
        let mut inline_v1 = false;
        let growth = self.growth(&plan, false);
        if !self.make_room(now, growth, &used, &mut deletes) {
            // Nothing evictable is left. Raw text needs no pattern; in v1 the tag string and
            // status go inline; a v2 record that cannot fit was dropped by `is_too_large`.
            inline_v1 = self.format.profile == Profile::V1;
            let growth = self.growth(&plan, inline_v1);
            self.make_room(now, growth, &used, &mut deletes);
        }
        let mut defines = Vec::new();
        let (content, kind, pattern_id) = match plan.body {
            Body::EmptyPattern => {
                let id = match plan.pattern {
                    Some(id) => id,
                    None => self.define_empty_pattern(now, &mut defines),
                };
                (
                    LogContent::Pattern { pattern_id: id, values: Vec::new(), json: None },
                    LogKind::Pattern,
                    Some(id),
                )
            }
            Body::Raw(text) => (LogContent::Raw(text), LogKind::Raw, None),
        };
        let mut refs = [None, None, None];
        for (slot, value, id) in plan.strings.drain(..) {
            let r = match id {
                Some(id) => StringRef::Dict(id),
                None if inline_v1 => StringRef::Inline(value),
                None => StringRef::Dict(self.admit(value, now, &mut defines)),
            };
            refs[slot as usize] = Some(r);
        }
        let [service, status, tags] = refs;
        // Step 8: count eviction, never of what this record uses.
        let mut used = used;
        used.extend(pattern_id.map(Held::Pattern));
        used.extend([&service, &status, &tags].into_iter().flatten().filter_map(|r| match r {
            StringRef::Dict(id) => Some(Held::Dict(*id)),
            StringRef::Inline(_) => None,
        }));
        self.count_eviction(now, &used, &mut deletes);
        // Step 9: emit.
        let raw_len = record.raw_len();
        match kind {
            LogKind::Raw => self.metrics.count_raw_log(raw_len),
            LogKind::Pattern => self.metrics.count_pattern_log(raw_len),
        }
        out.extend(deletes.into_iter().map(Datum::State));
        out.extend(defines.into_iter().map(Datum::State));
        out.push(Datum::Log(LogDatum {
            timestamp_ms: record.clamped_timestamp(),
            content,
            status,
            service,
            tags,
            uuid: record.uuid().map(str::to_owned),
        }));
        kind
    }

    /// Routing (§9.1) and the decisions of steps 2, 4 and 5; nothing is committed.
    fn route(&self, record: &Record) -> Plan {
        let profile = self.format.profile;
        let body = if profile == Profile::V2 && record.content.is_empty() {
            Body::EmptyPattern
        } else {
            let wire = escape(&record.content);
            if wire.as_bytes() != &record.content[..] || !self.config.patterns.enabled {
                Body::Raw(wire.into_owned())
            } else {
                self.pattern_path(&wire).unwrap_or_else(|| Body::Raw(wire.into_owned()))
            }
        };
        let pattern = match body {
            Body::EmptyPattern => self.empty_pattern,
            Body::Raw(_) => None,
        };
        let mut strings = Vec::with_capacity(3);
        let mut push = |slot: Slot, value: String| {
            if !value.is_empty() {
                let id = self.dict.id_of(&value);
                strings.push((slot, value, id));
            }
        };
        if profile == Profile::V2 {
            push(Slot::Service, record.service().unwrap_or_default().to_owned());
        }
        push(Slot::Status, record.status().unwrap_or_default().to_owned());
        push(Slot::Tags, record.tag_string(profile));
        // The same string twice (e.g. status = service) is admitted once: later slots reuse it.
        for i in 1..strings.len() {
            if strings[i].2.is_none()
                && let Some(j) = (0..i).find(|&j| strings[j].1 == strings[i].1)
            {
                strings[i].2 = strings[j].2;
            }
        }
        Plan { body, pattern, strings }
    }

    /// Routing step 6: tokenize, match or create a pattern, type the wildcard values.
    ///
    /// This is the seam where the pattern path plugs in (`src/pattern/`). It returns `None`
    /// until then, so every text record is sent raw.
    fn pattern_path(&self, _text: &str) -> Option<Body> {
        None
    }

    fn used_by(&self, plan: &Plan) -> Vec<Held> {
        let mut used: Vec<Held> = plan.strings.iter().filter_map(|(_, _, id)| id.map(Held::Dict)).collect();
        used.extend(plan.pattern.map(Held::Pattern));
        used
    }

    /// The state growth the plan's new definitions cause.
    fn growth(&self, plan: &Plan, inline_v1: bool) -> u64 {
        let mut growth = 0;
        let mut next_id = self.dict.next_id();
        let mut seen: Vec<&str> = Vec::new();
        if !inline_v1 {
            for (_, value, id) in &plan.strings {
                if id.is_none() && !seen.contains(&value.as_str()) {
                    seen.push(value);
                    growth += self
                        .format
                        .datum_size(&StateChange::DictDefine(DictDef { id: next_id, value: value.clone() }));
                    next_id += 1;
                }
            }
        }
        if matches!(plan.body, Body::EmptyPattern) && plan.pattern.is_none() {
            growth += self.format.datum_size(&StateChange::PatternDefine(self.empty_pattern_def()));
        }
        growth
    }

    fn empty_pattern_def(&self) -> PatternDef {
        PatternDef { id: self.next_pattern_id, template: String::new(), pos_list: Vec::new() }
    }

    fn define_empty_pattern(&mut self, now: Timestamp, defines: &mut Vec<StateChange>) -> u64 {
        let def = self.empty_pattern_def();
        let id = def.id;
        self.next_pattern_id += 1;
        let change = StateChange::PatternDefine(def.clone());
        let size = self.format.datum_size(&change);
        self.patterns.insert(id, PatternEntry { def, uses: 1, created: now, last_access: now, size });
        self.empty_pattern = Some(id);
        self.metrics.count_pattern_added(size);
        defines.push(change);
        id
    }

    fn admit(&mut self, value: String, now: Timestamp, defines: &mut Vec<StateChange>) -> u64 {
        if let Some(id) = self.dict.id_of(&value) {
            // Admitted earlier for this same record (e.g. status equal to the service).
            return id;
        }
        let id = self.dict.next_id();
        let change = StateChange::DictDefine(DictDef { id, value: value.clone() });
        let size = self.format.datum_size(&change);
        self.dict.insert(value, now, size);
        self.metrics.count_dict_added(size);
        defines.push(change);
        id
    }

    fn touch_pattern(&mut self, id: u64, now: Timestamp) {
        if let Some(p) = self.patterns.get_mut(&id) {
            p.uses = p.uses.saturating_add(1);
            p.last_access = p.last_access.max(now);
        }
    }

    /// Byte eviction (§9.9): evicts the lowest scores, patterns and entries together, until
    /// `growth` fits under `state.max_bytes`. Returns whether it fits.
    fn make_room(
        &mut self,
        now: Timestamp,
        growth: u64,
        used: &[Held],
        deletes: &mut Vec<StateChange>,
    ) -> bool {
        let max = self.config.state_max_bytes;
        if self.state_size_bytes() + growth <= max {
            return true;
        }
        let mut candidates = self.scored(now, used, |_| true);
        candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (_, held) in candidates {
            self.evict(held, deletes);
            if self.state_size_bytes() + growth <= max {
                return true;
            }
        }
        false
    }

    /// Count eviction (§9.9), per pool, never of `used`; patterns keep their grace period.
    fn count_eviction(&mut self, now: Timestamp, used: &[Held], deletes: &mut Vec<StateChange>) {
        let d = &self.config.dictionary;
        let (high, low) = pool_limits(d.max_entries, d.eviction_high_watermark, d.eviction_low_watermark);
        if self.dict.len() as f64 > high {
            let mut candidates = self.scored(now, used, |h| matches!(h, Held::Dict(_)));
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (_, held) in candidates {
                if self.dict.len() as f64 <= low {
                    break;
                }
                self.evict(held, deletes);
            }
        }
        let p = &self.config.patterns;
        let (high, low) =
            pool_limits(p.max_pattern_count, p.eviction_high_watermark, p.eviction_low_watermark);
        if self.patterns.len() as f64 > high {
            let grace = duration_ms(self.config.patterns.eviction_grace_period);
            let mut candidates = self.scored(now, used, |h| match h {
                Held::Pattern(id) => {
                    self.patterns.get(&id).is_some_and(|p| now.millis_since(p.created) >= grace)
                }
                Held::Dict(_) => false,
            });
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (_, held) in candidates {
                if self.patterns.len() as f64 <= low {
                    break;
                }
                self.evict(held, deletes);
            }
        }
    }

    /// The stale sweep (§9.10): deletes definitions unused for `stale_ttl`, except `used`.
    fn stale_sweep(&mut self, now: Timestamp, used: &[Held], deletes: &mut Vec<StateChange>) {
        let ttl = duration_ms(self.config.patterns.stale_ttl);
        let stale = |last: Timestamp| now.millis_since(last) >= ttl;
        let mut victims: Vec<Held> = self
            .patterns
            .iter()
            .filter(|(_, p)| stale(p.last_access))
            .map(|(id, _)| Held::Pattern(*id))
            .collect();
        victims.extend(self.dict.iter().filter(|(_, e)| stale(e.last_access)).map(|(id, _)| Held::Dict(id)));
        for held in victims.into_iter().filter(|h| !used.contains(h)) {
            self.evict(held, deletes);
        }
        self.sightings.drop_stale(now, ttl);
    }

    fn scored(&self, now: Timestamp, used: &[Held], keep: impl Fn(Held) -> bool) -> Vec<(f64, Held)> {
        let p_decay = self.config.patterns.age_decay_factor;
        let d_decay = self.config.dictionary.age_decay_factor;
        let patterns = self
            .patterns
            .iter()
            .map(|(id, p)| (score(p.uses, p.created, p.last_access, now, p_decay), Held::Pattern(*id)));
        let entries = self
            .dict
            .iter()
            .map(|(id, e)| (score(e.uses, e.created, e.last_access, now, d_decay), Held::Dict(id)));
        patterns.chain(entries).filter(|(_, h)| !used.contains(h) && keep(*h)).collect()
    }

    fn evict(&mut self, held: Held, deletes: &mut Vec<StateChange>) {
        match held {
            Held::Pattern(id) => {
                if self.patterns.remove(&id).is_some() {
                    if self.empty_pattern == Some(id) {
                        self.empty_pattern = None;
                    }
                    let change = StateChange::PatternDelete(id);
                    self.metrics.count_pattern_removed(self.format.datum_size(&change));
                    deletes.push(change);
                }
            }
            Held::Dict(id) => {
                if self.dict.remove(id).is_some() {
                    let change = StateChange::DictDelete(id);
                    self.metrics.count_dict_removed(self.format.datum_size(&change));
                    deletes.push(change);
                }
            }
        }
    }
}

fn pool_limits(max: usize, high: f64, low: f64) -> (f64, f64) {
    (max as f64 * high, max as f64 * low)
}

#[cfg(test)]
mod tests;
