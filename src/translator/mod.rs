//! The translator: record → datums (spec `encoding.md` §9).
//!
//! - this module: the per-record steps of §9.11 (commit and emission in the order of §8.3),
//!   the state size and the `v2` oversized-metadata check of §3.3;
//! - `plan`: routing (§9.1), the pattern path (tokenize, match, type the wildcard values,
//!   §9.3–§9.8) and `v1` JSON (§9.14), decided without changing anything;
//! - `json_v2`: `v2` JSON logs (§9.13): the plan of a flattened object and, at the level that
//!   fits, its schema and columns; `schemas`: the live schemas and the entries they use;
//! - `eviction`: the state bound, count eviction and the stale sweep (§9.9, §9.10);
//! - [`dictionary`], `sightings`: the dictionary and the admission candidates (§9.8).
//!
//! Patterns live in a [`PatternStore`] (`src/pattern/`), which owns clustering and the
//! pattern statistics eviction scores; the translator adds each pattern's share of the state
//! size.

mod commit;
mod config;
#[doc(hidden)]
pub mod dictionary;
mod eviction;
mod json_v2;
mod metrics;
mod plan;
mod schemas;
mod sightings;

use crate::hashing::{SeededMap, seeded};

use crate::datum::{Datum, DictDef, LogContent, PatternDef, StateChange};
use crate::escape::escape;
use crate::pattern::{PatternConfig, PatternStore};
use crate::record::{Record, tag_string_equals, tag_string_len, write_tag_string};
use crate::wire::WireFormat;
use crate::{Profile, Timestamp};

pub use config::{DictionarySettings, PatternSettings, TranslatorConfig};
#[doc(hidden)]
pub use dictionary::{Dictionary, Entry};
pub use metrics::TranslatorMetrics;
#[doc(hidden)]
pub use sightings::Sightings;

use commit::Committed;
use plan::{LEVEL_ALL, LEVEL_ALL_INLINE, LEVEL_RAW, Ref};
use schemas::Schemas;

/// The stale sweep runs at most this often (§9.10).
#[doc(hidden)]
pub const STALE_SWEEP_INTERVAL_MS: u64 = 30_000;

/// A dictionary or empty-pattern define's serialized size exceeds its string's length by
/// at most this: a few field keys and at most three 10-byte varints (id and two lengths).
const DEFINE_OVERHEAD_BOUND: u64 = 64;

/// How a record's log was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[doc(hidden)]
pub enum LogKind {
    /// As raw text (`raw` / `raw_log`).
    Raw,
    /// Through a pattern.
    Pattern,
}

/// Something the translator holds that eviction may remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Held {
    // Declared first: on equal scores, patterns go before entries (§9.9).
    Pattern(u64),
    Dict(u64),
    /// A `v2` JSON schema (evicted least recently used first, not by score).
    Schema(u64),
}
/// Turns records into datums and keeps the live definitions (patterns, dictionary) that the
/// next records may reference. Lives as long as its Pipeline; ids survive streams.
#[derive(Debug)]
#[doc(hidden)]
pub struct Translator {
    format: WireFormat,
    config: TranslatorConfig,
    store: PatternStore,
    /// Each live pattern's share of the state size (its define's serialized size).
    pattern_sizes: SeededMap<u64, u64>,
    pattern_bytes: u64,
    dict: Dictionary,
    /// `v2` JSON schemas.
    schemas: Schemas,
    /// The current record's schema identity; kept to reuse its allocation.
    identity_buffer: Vec<u64>,
    /// Dynamic-string candidates (§9.8), fed by the typed wildcard and JSON string values.
    sightings: Sightings,
    /// The last tag string and its entry (§9.12), while the entry is alive.
    tag_cache: Option<(String, u64)>,
    /// The current record's tag string; kept to reuse its allocation.
    tag_buffer: String,
    /// What the current record uses (`Committed::used`); kept to reuse its allocation.
    used_buffer: Vec<Held>,
    last_sweep: Timestamp,
    metrics: TranslatorMetrics,
}

impl Translator {
    /// A translator with empty state; `now` starts the stale-sweep clock. Its tables are
    /// hashed with seed 0: [`Translator::seeded`] takes the Pipeline's seed.
    pub fn new(format: WireFormat, config: TranslatorConfig, now: Timestamp) -> Self {
        Translator::seeded(format, config, now, 0)
    }

    /// [`Translator::new`] with its hash tables keyed by `seed` (see the `hashing` module),
    /// so that crafted log text cannot predict their collisions.
    pub fn seeded(format: WireFormat, config: TranslatorConfig, now: Timestamp, seed: u64) -> Self {
        let first_dict_id = match format.profile {
            Profile::V1 => 1,
            Profile::V2 => 2,
        };
        let sightings =
            Sightings::new(config.dictionary.admission_threshold, config.dictionary.max_dynamic_candidates)
                .with_spacing(config.dictionary.sighting_spacing)
                .with_hash_seed(seed);
        let p = &config.patterns;
        let store = PatternStore::new(PatternConfig {
            first_word_protection: p.first_word_protection,
            first_word_max_cardinality: p.first_word_max_cardinality,
            max_patterns_per_cluster: p.max_patterns_per_cluster,
            pattern_scan_budget: p.pattern_scan_budget,
            value_merge_gap: p.value_merge_gap_bytes,
            admission_threshold: p.admission_threshold,
            // Sketches are memory, not state: a few per pattern the pool may hold.
            max_sketches: p.max_pattern_count,
            hash_seed: seed,
        });
        Translator {
            format,
            config,
            store,
            pattern_sizes: SeededMap::with_hasher(seeded(seed)),
            pattern_bytes: 0,
            dict: Dictionary::seeded(first_dict_id, seed),
            schemas: Schemas::seeded(seed),
            identity_buffer: Vec::new(),
            sightings,
            tag_cache: None,
            tag_buffer: String::new(),
            used_buffer: Vec::new(),
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

    /// The live patterns and their statistics.
    pub fn patterns(&self) -> &PatternStore {
        &self.store
    }

    /// Admission candidates being counted.
    pub fn sightings(&self) -> &Sightings {
        &self.sightings
    }

    /// The exact state size of §9.9: the serialized size of one define per live definition.
    pub fn state_size_bytes(&self) -> u64 {
        self.dict.bytes() + self.pattern_bytes + self.schemas.bytes()
    }

    /// The number of live `v2` JSON schemas.
    pub fn json_schema_count(&self) -> usize {
        self.schemas.len()
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
        // Fast path: even if every string were new and distinct, and the content empty, the
        // defines would fit; the exact sizes below matter only near the bound.
        let strings = [record.service(), record.status()].into_iter().flatten().map(str::len);
        let upper_bound: u64 = strings
            .chain([tag_string_len(record, Profile::V2), 0])
            .map(|len| len as u64 + DEFINE_OVERHEAD_BOUND)
            .sum();
        if upper_bound <= self.config.state_max_bytes {
            return false;
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
            // (A live one has a smaller id, so its define is no larger.)
            let id = self.store.next_pattern_id();
            let define = PatternDef { id, template: String::new(), pos_list: Vec::new() };
            bytes += self.format.datum_size(&StateChange::PatternDefine(define));
        }
        bytes > self.config.state_max_bytes
    }

    /// Translates one admitted record (§9.11), appending its datums to `out` in the order of
    /// §8.3: deletes, pattern define, dictionary defines, then the log.
    pub fn translate(&mut self, now: Timestamp, record: &Record, out: &mut Vec<Datum>) -> LogKind {
        let now = now.max(self.last_sweep);
        self.sightings.next_record();
        let profile = self.format.profile;
        // Step 1: routing.
        let wire = escape(&record.content);
        let escaped = wire.as_bytes() != &record.content[..];
        // The tag string is usually the cached one: compared piece by piece, not built. Else
        // it is built into a buffer kept across records (taken back below).
        let mut tag_string = std::mem::take(&mut self.tag_buffer);
        let cached_tags = match &self.tag_cache {
            Some((cached, id)) if tag_string_equals(record, profile, cached) => Some(*id),
            _ => {
                write_tag_string(record, profile, &mut tag_string);
                None
            }
        };
        let json = self.detect_json(&wire, escaped);
        // Steps 2, 4, 5: decide.
        let mut plan = self.plan(record, &wire, json.as_ref(), &tag_string, cached_tags);
        // Step 3: touch the entries the record uses (its pattern is touched when committed).
        for r in plan.body_refs().chain(plan.meta_refs()) {
            if let Ref::Dict(id) = r {
                self.dict.touch(*id, now);
            }
        }
        let mut deletes = Vec::new();
        // Step 6: the stale sweep.
        if now.millis_since(self.last_sweep) >= STALE_SWEEP_INTERVAL_MS {
            let used = self.used(&plan, LEVEL_ALL);
            self.stale_sweep(now, &used, &mut deletes);
            self.last_sweep = now;
        }
        // Step 7: byte eviction, then the fallback steps until the growth fits.
        let last_level = if profile == Profile::V1 { LEVEL_ALL_INLINE } else { LEVEL_RAW };
        let mut level = LEVEL_ALL;
        loop {
            let growth = self.growth(&plan, level);
            // What the record uses matters only when something must be evicted.
            let fits =
                self.fits(growth) || self.make_room(now, growth, &self.used(&plan, level), &mut deletes);
            if fits || level >= last_level {
                break;
            }
            level += 1;
        }
        let Committed { log, defines, used } = self.commit(now, record, &wire, &mut plan, level);
        self.tag_buffer = tag_string;
        // Step 8: count eviction, never of what this record uses.
        self.count_eviction(now, &used, &mut deletes);
        self.used_buffer = used;
        // Step 9: emit.
        let kind = match log.content {
            LogContent::Raw(_) | LogContent::RawJson { .. } => LogKind::Raw,
            LogContent::Pattern { .. } => LogKind::Pattern,
        };
        if matches!(&log.content, LogContent::RawJson { .. } | LogContent::Pattern { json: Some(_), .. }) {
            self.metrics.json_logs += 1;
        }
        match kind {
            LogKind::Raw => self.metrics.count_raw_log(record.raw_len()),
            LogKind::Pattern => self.metrics.count_pattern_log(record.raw_len()),
        }
        out.extend(deletes.into_iter().map(Datum::State));
        out.extend(defines.into_iter().map(Datum::State));
        out.push(Datum::Log(log));
        kind
    }
}

#[cfg(test)]
mod tests;
