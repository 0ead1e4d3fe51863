//! The state bound and eviction (spec `encoding.md` §9.9) and the stale sweep (§9.10): what
//! the translator deletes, and in which order. Deletes are collected for the record being
//! translated and emitted before its defines (§8.3).

use super::{Held, Translator};
use crate::Timestamp;
use crate::datum::StateChange;
use crate::duration_ms;
use crate::pattern::eviction_score;

impl Translator {
    /// Byte eviction (§9.9): evicts the lowest scores, patterns and entries together (ties:
    /// patterns first, then the smaller id), then the schemas least recently used first, never
    /// `used`, until `growth` fits under `state.max_bytes`. Returns whether it fits.
    pub(super) fn make_room(
        &mut self,
        now: Timestamp,
        growth: i64,
        used: &[Held],
        deletes: &mut Vec<StateChange>,
    ) -> bool {
        let fits = |t: &Translator| t.fits(growth);
        if fits(self) {
            return true;
        }
        let mut candidates = self.scored(now, used, |_| true);
        sort(&mut candidates);
        for (_, held) in candidates {
            self.evict(held, deletes);
            if fits(self) {
                return true;
            }
        }
        for id in self.schemas.least_recently_used() {
            if used.contains(&Held::Schema(id)) {
                continue;
            }
            self.evict(Held::Schema(id), deletes);
            if fits(self) {
                return true;
            }
        }
        false
    }

    /// Whether the state grown by `growth` stays within `state.max_bytes`.
    pub(super) fn fits(&self, growth: i64) -> bool {
        self.state_size_bytes() as i64 + growth <= self.config.state_max_bytes as i64
    }

    /// Count eviction (§9.9), per pool, never of `used`; patterns keep their grace period.
    pub(super) fn count_eviction(&mut self, now: Timestamp, used: &[Held], deletes: &mut Vec<StateChange>) {
        let d = &self.config.dictionary;
        let (high, low) = pool_limits(d.max_entries, d.eviction_high_watermark, d.eviction_low_watermark);
        if self.dict.len() as f64 > high {
            let mut candidates = self.scored(now, used, |h| matches!(h, Held::Dict(_)));
            sort(&mut candidates);
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
        if self.store.len() as f64 > high {
            let grace = duration_ms(p.eviction_grace_period);
            let mut candidates = self.scored(now, used, |h| match h {
                Held::Pattern(id) => {
                    self.store.get(id).is_some_and(|p| now.millis_since(p.created()) >= grace)
                }
                Held::Dict(_) | Held::Schema(_) => false,
            });
            sort(&mut candidates);
            for (_, held) in candidates {
                if self.store.len() as f64 <= low {
                    break;
                }
                self.evict(held, deletes);
            }
        }
        // The schema bound: least recently used first (§9.9).
        let max_schemas = self.config.json_max_schemas;
        if self.schemas.len() > max_schemas {
            for id in self.schemas.least_recently_used() {
                if self.schemas.len() <= max_schemas {
                    break;
                }
                if !used.contains(&Held::Schema(id)) {
                    self.evict(Held::Schema(id), deletes);
                }
            }
        }
    }

    /// The stale sweep (§9.10): deletes definitions unused for `stale_ttl`, except `used`,
    /// and drops stale admission candidates.
    pub(super) fn stale_sweep(&mut self, now: Timestamp, used: &[Held], deletes: &mut Vec<StateChange>) {
        let ttl = duration_ms(self.config.patterns.stale_ttl);
        let stale = |last: Timestamp| now.millis_since(last) >= ttl;
        let mut victims: Vec<Held> =
            self.store.iter().filter(|p| stale(p.last_access())).map(|p| Held::Pattern(p.id())).collect();
        victims.extend(self.dict.iter().filter(|(_, e)| stale(e.last_access)).map(|(id, _)| Held::Dict(id)));
        victims.extend(
            self.schemas.iter().filter(|(_, s)| stale(s.last_access)).map(|(id, _)| Held::Schema(id)),
        );
        for held in victims.into_iter().filter(|h| !used.contains(h)) {
            self.evict(held, deletes);
        }
        self.sightings.drop_stale(now, ttl);
    }

    /// Patterns and entries not in `used` and kept by `keep`, with their scores.
    fn scored(&self, now: Timestamp, used: &[Held], keep: impl Fn(Held) -> bool) -> Vec<(f64, Held)> {
        let p_decay = self.config.patterns.age_decay_factor;
        let d_decay = self.config.dictionary.age_decay_factor;
        let patterns = self.store.iter().map(|p| {
            (eviction_score(p.uses(), p.created(), p.last_access(), now, p_decay), Held::Pattern(p.id()))
        });
        let entries = self
            .dict
            .iter()
            .map(|(id, e)| (eviction_score(e.uses, e.created, e.last_access, now, d_decay), Held::Dict(id)));
        patterns.chain(entries).filter(|(_, h)| !used.contains(h) && keep(*h)).collect()
    }

    /// Removes one definition and records its delete.
    pub(super) fn evict(&mut self, held: Held, deletes: &mut Vec<StateChange>) {
        match held {
            Held::Pattern(id) => {
                if self.store.remove(id).is_some() {
                    self.pattern_bytes -= self.pattern_sizes.remove(&id).unwrap_or(0);
                    let change = StateChange::PatternDelete(id);
                    self.metrics.count_pattern_removed(self.format.datum_size(&change));
                    deletes.push(change);
                }
            }
            Held::Dict(id) => {
                // Its schemas go first: a schema's entries outlive it (§8.3, §9.9).
                for schema in self.schemas.users_of(id) {
                    self.evict(Held::Schema(schema), deletes);
                }
                if self.dict.remove(id).is_some() {
                    if self.tag_cache.as_ref().is_some_and(|(_, cached)| *cached == id) {
                        self.tag_cache = None;
                    }
                    let change = StateChange::DictDelete(id);
                    self.metrics.count_dict_removed(self.format.datum_size(&change));
                    deletes.push(change);
                }
            }
            Held::Schema(id) => {
                if self.schemas.remove(id).is_some() {
                    self.metrics.count_schema_removed();
                    deletes.push(StateChange::SchemaDelete(id));
                }
            }
        }
    }
}

/// Lowest score first; ties: patterns before entries (`Held`'s order), then the smaller id.
fn sort(candidates: &mut [(f64, Held)]) {
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
}

fn pool_limits(max: usize, high: f64, low: f64) -> (f64, f64) {
    (max as f64 * high, max as f64 * low)
}
