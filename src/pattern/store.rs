//! The pattern store: clusters indexed by signature, matching, merging and pattern ids
//! (`encoding.md` §9.4–§9.6).
//!
//! Adding a log is split in two so that the translator can decide before it commits
//! (§9.11): [`PatternStore::prepare`] only reads the store and says what would happen (the
//! change and, for a new or updated pattern, its definition, whose size the state bound
//! needs); [`PatternStore::commit`] applies it. [`PatternStore::add`] does both. A prepared
//! log that is never committed leaves the store exactly as it was (the raw fallback, §9.9).

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};

use super::cluster::{Cluster, Pattern};
use super::hint::{Hints, line_key};
pub use super::prepared::{Change, Prepared};
use super::prepared::{Decision, FastMatch};
use super::score::{eviction_score, sort_for_eviction};
use super::signature::{BuildPrehashed, Signature, type_sequence_key};
use super::sketch::Sketches;
use super::tokenizer::{Token, tokenize};
use crate::Timestamp;

/// Clustering settings (`encoding.md` §9.15, `patterns.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PatternConfig {
    /// `patterns.first_word_protection`: a differing first `Word` is a conflict (default true).
    pub first_word_protection: bool,
    /// `patterns.first_word_max_cardinality`: protection turns off for a cluster that has seen
    /// more distinct first values than this (default 100).
    pub first_word_max_cardinality: usize,
    /// `patterns.max_patterns_per_cluster`: at this size a cluster force-widens its closest
    /// pattern instead of creating one (default 0 = no limit).
    pub max_patterns_per_cluster: usize,
    /// `patterns.pattern_scan_budget`: how many patterns of a cluster a log is tried against
    /// (default 0 = all).
    pub pattern_scan_budget: usize,
    /// Wildcards at most this many bytes of constant text apart travel as one value
    /// (`None`: one value per wildcard). See `patterns.value_merge_gap_bytes`.
    pub value_merge_gap: Option<usize>,
    /// Logs of a new shape seen before its pattern is created; the earlier ones are sent raw
    /// (1 = at once). See the `sketch` module.
    pub admission_threshold: u32,
    /// How many shapes waiting for their pattern are remembered.
    pub max_sketches: usize,
    /// Keys the hash sets of first-token values (see the `hashing` module).
    pub hash_seed: u64,
}

impl Default for PatternConfig {
    fn default() -> Self {
        PatternConfig {
            first_word_protection: true,
            first_word_max_cardinality: 100,
            max_patterns_per_cluster: 0,
            pattern_scan_budget: 0,
            value_merge_gap: None,
            admission_threshold: 1,
            max_sketches: 0,
            hash_seed: 0,
        }
    }
}

/// The pattern a log was added to, and the log's wildcard values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match<'s, 't> {
    /// The pattern id.
    pub pattern_id: u64,
    /// What happened to the pattern.
    pub change: Change,
    /// The pattern's template (§9.6).
    pub template: &'s str,
    /// The pattern's wildcard offsets into the template, in bytes.
    pub pos_list: &'s [u32],
    /// The log's text at the wildcard positions, in order: slices of the log.
    pub values: Vec<&'t str>,
}

/// Errors from the pattern store.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// Template offsets are `u32` on the wire.
    #[error(
        "a {len}-byte text is too long for a pattern (offsets are 32-bit); send it as a raw \
         log or set patterns.max_template_bytes"
    )]
    TextTooLong {
        /// The text's length in bytes.
        len: usize,
    },
}

/// All patterns of one translator, in clusters by signature.
///
/// Deterministic: the same configuration and the same calls give the same ids, templates and
/// values. Pattern ids start at 1 and are never reused.
///
/// ```
/// use stateful_logs::Timestamp;
/// use stateful_logs::pattern::{Change, PatternStore};
///
/// let mut store = PatternStore::default();
/// store.add("user 42 logged in from 10.0.0.1", Timestamp(0))?;
/// // Decide first (nothing changes yet), e.g. to check the define against the state bound.
/// let prepared = store.prepare("user 7 logged in from 10.0.0.2")?;
/// assert_eq!(prepared.change(), Change::Updated);
/// assert_eq!(prepared.definition(), Some(("user  logged in from ", &[5u32, 21][..])));
/// let m = store.commit(prepared, Timestamp(1));
/// assert_eq!((m.pattern_id, m.values.as_slice()), (1, &["7", "10.0.0.2"][..]));
/// # Ok::<(), stateful_logs::pattern::PatternError>(())
/// ```
#[derive(Debug)]
pub struct PatternStore {
    config: PatternConfig,
    /// Cluster slab; `None` marks a free slot.
    clusters: Vec<Option<Cluster>>,
    free_slots: Vec<usize>,
    /// [`type_sequence_key`] → slots of the clusters with that key (full signatures differ).
    by_signature: HashMap<u64, Vec<usize>, BuildPrehashed>,
    /// Pattern id → cluster slot; ordered, so iteration is by id.
    locations: BTreeMap<u64, usize>,
    next_id: u64,
    template_bytes: usize,
    sketches: Sketches,
    /// Line key → the cluster its last log went to (the fast path of [`Self::prepare`]).
    hints: Hints,
    fast_path: bool,
}

impl Default for PatternStore {
    fn default() -> Self {
        PatternStore::new(PatternConfig::default())
    }
}

impl PatternStore {
    /// An empty store.
    pub fn new(config: PatternConfig) -> Self {
        PatternStore {
            config,
            clusters: Vec::new(),
            free_slots: Vec::new(),
            by_signature: HashMap::default(),
            locations: BTreeMap::new(),
            next_id: 1,
            template_bytes: 0,
            sketches: Sketches::default(),
            hints: Hints::new(config.hash_seed),
            fast_path: true,
        }
    }

    /// Turns the fast path of [`prepare`](Self::prepare) on (the default) or off. Decisions
    /// are the same either way (the property tests compare the two); off is for those tests.
    #[doc(hidden)]
    pub fn set_fast_path(&mut self, on: bool) {
        self.fast_path = on;
    }

    /// The configuration.
    pub fn config(&self) -> &PatternConfig {
        &self.config
    }

    /// Tokenizes `text`, matches it against its cluster and merges or creates a pattern, with
    /// one use at `now`: [`prepare`](Self::prepare) then [`commit`](Self::commit).
    pub fn add<'t>(&mut self, text: &'t str, now: Timestamp) -> Result<Match<'_, 't>, PatternError> {
        let prepared = self.prepare(text)?;
        Ok(self.commit(prepared, now))
    }

    /// Decides what adding `text` would do, without changing the store.
    ///
    /// Fast path first: when the cluster that the last log with the same line key went to
    /// (the `hint` module) has a first pattern that `text` matches with nothing to widen,
    /// that is the decision, found without tokenizing `text` (the §9.5 scan would try that
    /// pattern first and stop there). Otherwise `text` is tokenized and matched in full.
    pub fn prepare<'t>(&self, text: &'t str) -> Result<Prepared<'t>, PatternError> {
        if u32::try_from(text.len()).is_err() {
            return Err(PatternError::TextTooLong { len: text.len() });
        }
        let line_key = line_key(text);
        if self.fast_path
            && let Some(slot) = self.hints.get(line_key)
            && let Some(prepared) = self.prepare_fast(text, slot, line_key)
        {
            return Ok(prepared);
        }
        let tokens = tokenize(text);
        let signature_hash = type_sequence_key(tokens.iter().map(|t| t.kind));
        let decision = self.decide_all(signature_hash, &tokens);
        Ok(Prepared { text, tokens: OnceCell::from(tokens), signature_hash, decision, line_key, fast: None })
    }

    /// The fast path of [`prepare`](Self::prepare) with the cluster at `slot`: `None` sends
    /// the log the full way.
    fn prepare_fast<'t>(&self, text: &'t str, slot: usize, line_key: u64) -> Option<Prepared<'t>> {
        let cluster = self.clusters.get(slot)?.as_ref()?;
        let pattern = cluster.patterns.first()?;
        let types = cluster.signature.types();
        let mut values = Vec::new();
        let first_len = pattern.match_text(types, text, &mut values)?;
        Some(Prepared {
            text,
            tokens: OnceCell::new(),
            signature_hash: cluster.key,
            decision: Decision::Existing { pattern_id: pattern.id(), widened: None },
            line_key,
            fast: Some(FastMatch { values, first_len, slot, wildcards: pattern.wildcard_count() }),
        })
    }

    /// The fast path's values of `prepared`, while they hold: its pattern is still in the
    /// cluster it was matched in, with no new wildcard (commits in between can widen it).
    /// `None` otherwise: [`prepared_values`](Self::prepared_values) works them out.
    pub(crate) fn fast_values<'p, 't>(&self, prepared: &'p Prepared<'t>) -> Option<&'p [&'t str]> {
        let fast = prepared.fast.as_ref()?;
        let id = prepared.pattern_id()?;
        self.fast_match_holds(fast, id).then_some(fast.values.as_slice())
    }

    fn fast_match_holds(&self, fast: &FastMatch<'_>, id: u64) -> bool {
        let cluster = self.clusters.get(fast.slot).and_then(Option::as_ref);
        // Ids are never reused, so a pattern with this id in that slot is the one matched.
        // Its first pattern, unless another log's commit came in between.
        let pattern = cluster.and_then(|c| match c.patterns.first() {
            Some(first) if first.id() == id => Some(first),
            _ => c.patterns.iter().find(|p| p.id() == id),
        });
        pattern.is_some_and(|p| p.wildcard_count() == fast.wildcards)
    }

    /// The log's wildcard values as committing `prepared` now would give them (slices of the
    /// log, in order): what the translator types before it commits (§9.11 step 4).
    pub fn prepared_values<'t>(&self, prepared: &Prepared<'t>) -> Vec<&'t str> {
        if let Some(values) = self.fast_values(prepared) {
            return values.to_vec();
        }
        let tokens = prepared.tokens();
        match &prepared.decision {
            Decision::Existing { widened: Some(definition), .. } => definition.values(prepared.text, tokens),
            Decision::Existing { pattern_id, widened: None } => {
                self.get(*pattern_id).map(|p| p.values(prepared.text, tokens)).unwrap_or_default()
            }
            Decision::Promote { definition, .. } => definition.values(prepared.text, tokens),
            Decision::New | Decision::Deferred(_) => Vec::new(),
        }
    }

    /// Applies a prepared log with one use at `now`.
    ///
    /// Patterns removed since `prepare` do not change the outcome unless the prepared pattern
    /// itself was removed; then the log is matched again against the store as it is now.
    pub fn commit<'t>(&mut self, prepared: Prepared<'t>, now: Timestamp) -> Match<'_, 't> {
        let text = prepared.text;
        let Some((slot, change, tokens, fast_values)) = self.apply(prepared, now) else {
            return Match {
                pattern_id: 0,
                change: Change::Deferred,
                template: "",
                pos_list: &[],
                values: Vec::new(),
            };
        };
        let pattern = &live(&mut self.clusters[slot]).patterns[0];
        Match {
            pattern_id: pattern.id(),
            change,
            template: pattern.template(),
            pos_list: pattern.pos_list(),
            values: fast_values.unwrap_or_else(|| pattern.values(text, &tokens)),
        }
    }

    /// [`commit`](Self::commit) for a caller that needs only the pattern id (the translator
    /// has typed the values already): skips collecting the values. 0 for a deferred log.
    pub fn commit_id(&mut self, prepared: Prepared<'_>, now: Timestamp) -> u64 {
        self.apply(prepared, now).map_or(0, |(slot, ..)| live(&mut self.clusters[slot]).patterns[0].id())
    }

    /// Applies `prepared`: returns the slot of its cluster (whose first pattern is the log's),
    /// the change, the log's tokens (empty when the fast path matched it) and the fast
    /// path's values; `None` for a deferred log (only its sketch changed).
    fn apply<'t>(&mut self, mut prepared: Prepared<'t>, now: Timestamp) -> Option<Applied<'t>> {
        let (text, signature_hash, line_key) = (prepared.text, prepared.signature_hash, prepared.line_key);
        // The fast path's match holds while its pattern is unchanged (then it is alive, in
        // the slot the match recorded). A pattern widened since keeps the decision (as the
        // full path's would) with values from the tokens; a pattern gone means matching
        // again in full.
        let fast = prepared
            .fast
            .take()
            .filter(|fast| prepared.pattern_id().is_some_and(|id| self.fast_match_holds(fast, id)));
        let stale = fast.is_none()
            && matches!(prepared.decision,
                Decision::Existing { pattern_id, .. } if !self.locations.contains_key(&pattern_id));
        let tokens = if fast.is_some() { Vec::new() } else { prepared.take_tokens() };
        let decision = match prepared.decision {
            _ if stale => self.decide_all(signature_hash, &tokens),
            decision => decision,
        };
        let max_cardinality = self.config.first_word_max_cardinality;
        let first_value = match &fast {
            Some(fast) => (fast.first_len > 0).then(|| &text[..fast.first_len]),
            None => tokens.first().map(|t| t.text),
        };
        let (slot, change) = match decision {
            Decision::Existing { pattern_id, widened } => {
                let slot = fast.as_ref().map_or_else(|| self.locations[&pattern_id], |fast| fast.slot);
                let cluster = live(&mut self.clusters[slot]);
                // The location table and the clusters always agree; 0 keeps this panic-free.
                let index = cluster.position_of(pattern_id).unwrap_or(0);
                cluster.record_first_value(first_value, max_cardinality);
                let pattern = &mut cluster.patterns[index];
                let change = match widened {
                    Some(definition) => {
                        self.template_bytes =
                            self.template_bytes - pattern.template().len() + definition.wire.template.len();
                        pattern.apply(*definition);
                        Change::Updated
                    }
                    None => Change::NoChange,
                };
                pattern.touch(now);
                cluster.move_to_front(index);
                (slot, change)
            }
            Decision::Deferred(found) => {
                let max = self.config.max_sketches;
                self.sketches.observe(signature_hash, text, &tokens, found, now, max);
                return None;
            }
            decision @ (Decision::New | Decision::Promote { .. }) => {
                let slot = match self.find_cluster(signature_hash, &tokens) {
                    Some(slot) => slot,
                    None => {
                        let cluster = Cluster::new(Signature::of(&tokens), self.config.hash_seed);
                        self.insert_cluster(cluster)
                    }
                };
                let id = self.next_id;
                self.next_id += 1;
                let pattern = match decision {
                    Decision::Promote { sketch, definition } => {
                        if let Some(key) = sketch {
                            self.sketches.remove(key);
                        }
                        Pattern::from_definition(id, *definition, now)
                    }
                    _ => Pattern::from_tokens(id, text, &tokens, now),
                };
                self.template_bytes += pattern.template().len();
                let cluster = live(&mut self.clusters[slot]);
                cluster.record_first_value(first_value, max_cardinality);
                cluster.patterns.insert(0, pattern);
                self.locations.insert(id, slot);
                (slot, Change::New)
            }
        };
        self.hints.remember(line_key, slot);
        Some((slot, change, tokens, fast.map(|f| f.values)))
    }

    fn find_cluster(&self, signature_hash: u64, tokens: &[Token<'_>]) -> Option<usize> {
        self.by_signature.get(&signature_hash)?.iter().copied().find(|&slot| {
            self.clusters[slot].as_ref().is_some_and(|cluster| cluster.signature.matches(tokens))
        })
    }

    fn insert_cluster(&mut self, cluster: Cluster) -> usize {
        let hash = cluster.key;
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.clusters[slot] = Some(cluster);
                slot
            }
            None => {
                self.clusters.push(Some(cluster));
                self.clusters.len() - 1
            }
        };
        self.by_signature.entry(hash).or_default().push(slot);
        slot
    }

    /// The decision for `tokens`: its cluster's (§9.5), then, for a new pattern, its sketch's.
    fn decide_all(&self, signature_hash: u64, tokens: &[Token<'_>]) -> Decision {
        let slot = self.find_cluster(signature_hash, tokens);
        let decision = match slot {
            Some(slot) => self.decide(slot, tokens),
            None => Decision::New,
        };
        let config = &self.config;
        if !matches!(decision, Decision::New) || config.admission_threshold <= 1 || tokens.is_empty() {
            return decision;
        }
        let protect = self.protects_first_word(slot.and_then(|slot| self.clusters[slot].as_ref()), tokens);
        let found = self.sketches.find(signature_hash, tokens, protect, config.value_merge_gap);
        if found.sightings < config.admission_threshold {
            return Decision::Deferred(found);
        }
        let sketch = found.key;
        match self.sketches.definition(found) {
            Some(definition) => Decision::Promote { sketch, definition },
            None => Decision::New,
        }
    }

    /// Whether first-word protection holds for `tokens` in `cluster` (§9.5); a shape with no
    /// cluster yet is protected when protection is on.
    fn protects_first_word(&self, cluster: Option<&Cluster>, tokens: &[Token<'_>]) -> bool {
        let config = &self.config;
        match cluster {
            Some(cluster) => cluster.protects_first_word(
                config.first_word_protection,
                tokens.first().map(|t| t.text),
                config.first_word_max_cardinality,
            ),
            None => config.first_word_protection,
        }
    }

    /// The §9.5 decision for `tokens` in the cluster at `slot`.
    fn decide(&self, slot: usize, tokens: &[Token<'_>]) -> Decision {
        let Some(cluster) = self.clusters[slot].as_ref() else {
            return Decision::New;
        };
        let config = &self.config;
        let protect = self.protects_first_word(Some(cluster), tokens);
        let budget = if config.pattern_scan_budget == 0 { usize::MAX } else { config.pattern_scan_budget };
        for pattern in cluster.patterns.iter().take(budget) {
            if let Some(widened) = pattern.matches(tokens, protect) {
                let widened = (widened > 0)
                    .then(|| Box::new(pattern.widened_definition(tokens, config.value_merge_gap)));
                return Decision::Existing { pattern_id: pattern.id(), widened };
            }
        }
        if config.max_patterns_per_cluster > 0 && cluster.patterns.len() >= config.max_patterns_per_cluster {
            // Force-widen the closest pattern: most Identical positions, ties the earliest.
            let mut best: Option<(&Pattern, usize)> = None;
            for pattern in &cluster.patterns {
                let identical = pattern.compare(tokens, false).identical;
                if best.is_none_or(|(_, most)| identical > most) {
                    best = Some((pattern, identical));
                }
            }
            if let Some((pattern, _)) = best {
                let definition = pattern.widened_definition(tokens, config.value_merge_gap);
                // Past the scan budget the closest pattern may need no new wildcard at all.
                let widened = (definition.wildcards > pattern.wildcard_count()).then(|| Box::new(definition));
                return Decision::Existing { pattern_id: pattern.id(), widened };
            }
        }
        Decision::New
    }

    /// Removes pattern `id` (eviction, stale sweep) from its cluster; its id is never reused.
    /// A cluster left empty is dropped with its first-value history.
    pub fn remove(&mut self, id: u64) -> Option<Pattern> {
        let slot = self.locations.remove(&id)?;
        let cluster = self.clusters.get_mut(slot)?.as_mut()?;
        let index = cluster.position_of(id)?;
        let pattern = cluster.patterns.remove(index);
        self.template_bytes -= pattern.template().len();
        if cluster.patterns.is_empty() {
            let hash = cluster.key;
            self.clusters[slot] = None;
            self.free_slots.push(slot);
            if let Some(slots) = self.by_signature.get_mut(&hash) {
                slots.retain(|&s| s != slot);
                if slots.is_empty() {
                    self.by_signature.remove(&hash);
                }
            }
        }
        Some(pattern)
    }

    /// Records one use of pattern `id` at `now` without matching a log; `false` if unknown.
    pub fn touch(&mut self, id: u64, now: Timestamp) -> bool {
        match self.get_mut(id) {
            Some(pattern) => {
                pattern.touch(now);
                true
            }
            None => false,
        }
    }

    /// Pattern `id`, if alive.
    pub fn get(&self, id: u64) -> Option<&Pattern> {
        let slot = *self.locations.get(&id)?;
        let cluster = self.clusters.get(slot)?.as_ref()?;
        cluster.patterns.iter().find(|p| p.id() == id)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Pattern> {
        let slot = *self.locations.get(&id)?;
        let cluster = self.clusters.get_mut(slot)?.as_mut()?;
        cluster.patterns.iter_mut().find(|p| p.id() == id)
    }

    /// The live patterns, by increasing id.
    pub fn iter(&self) -> impl Iterator<Item = &Pattern> + '_ {
        self.locations.keys().filter_map(|&id| self.get(id))
    }

    /// Every live pattern as `(score, id)` in eviction order (lowest score first, ties the
    /// smaller id; §9.9), scored at `now` with the pool's `age_decay_factor`. The caller skips
    /// what it must keep (the record's pattern, the grace period).
    pub fn eviction_candidates(&self, now: Timestamp, decay: f64) -> Vec<(f64, u64)> {
        let mut candidates: Vec<(f64, u64)> = self
            .iter()
            .map(|p| (eviction_score(p.uses(), p.created(), p.last_access(), now, decay), p.id()))
            .collect();
        sort_for_eviction(&mut candidates);
        candidates
    }

    /// The number of live patterns.
    pub fn len(&self) -> usize {
        self.locations.len()
    }

    /// Whether no pattern is alive.
    pub fn is_empty(&self) -> bool {
        self.locations.is_empty()
    }

    /// The number of clusters (distinct signatures with a live pattern).
    pub fn cluster_count(&self) -> usize {
        self.clusters.len() - self.free_slots.len()
    }

    /// The sum of the live patterns' template lengths, in bytes.
    pub fn template_bytes(&self) -> usize {
        self.template_bytes
    }

    /// How many shapes wait for their pattern (`PatternConfig::admission_threshold`).
    pub fn sketch_count(&self) -> usize {
        self.sketches.len()
    }

    /// The id the next new pattern will get.
    pub fn next_pattern_id(&self) -> u64 {
        self.next_id
    }

    /// Takes the next pattern id for a pattern kept outside the store, so that the translator
    /// has one id space and never reuses an id (§8.2). (A zero-token text, e.g. the `v2` empty
    /// content, can also go through [`add`](Self::add): it gets an empty template.)
    pub fn reserve_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }
}

/// What [`PatternStore::apply`] gives: the cluster slot, the change, the tokens (empty after
/// the fast path) and the fast path's values.
type Applied<'t> = (usize, Change, Vec<Token<'t>>, Option<Vec<&'t str>>);

/// The cluster in a slot the location table or the signature index points to: always live.
fn live(slot: &mut Option<Cluster>) -> &mut Cluster {
    slot.as_mut().expect("the location table and signature index only point to live clusters")
}

#[cfg(test)]
mod tests;
