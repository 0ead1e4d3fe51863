//! The sighting table of dynamic-string admission (spec `encoding.md` §9.8).
//!
//! A dynamic string (a wildcard value or a JSON string value) that is a candidate becomes a
//! dictionary entry on its `admission_threshold`-th sighting (2 by default), so the first
//! occurrence of a repeated value travels inline. The table is bounded: when it holds
//! `max_dynamic_candidates` strings, new strings are not tracked. The stale sweep drops
//! candidates not seen within the stale TTL (§9.10), so a full table recovers.
//!
//! Deciding and committing are separate, as the translator decides a record's admissions
//! before it knows whether they fit under the state bound (§9.11).

use crate::hashing::{SeededMap, seeded};

use crate::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sighting {
    count: u32,
    last_seen: Timestamp,
    /// The record that last counted as a sighting.
    last_counted: u64,
}

/// Candidate strings and how often they were seen.
#[derive(Clone, Debug)]
pub struct Sightings {
    table: SeededMap<String, Sighting>,
    threshold: u32,
    max_candidates: usize,
    /// Sightings of a string count only this many records apart (0: every one counts).
    spacing: u64,
    /// The current record's number.
    record: u64,
}

impl Sightings {
    /// An empty table admitting on the `threshold`-th sighting, tracking at most
    /// `max_candidates` strings.
    pub fn new(threshold: u32, max_candidates: usize) -> Self {
        Sightings {
            table: SeededMap::with_hasher(seeded(0)),
            threshold: threshold.max(1),
            max_candidates,
            spacing: 0,
            record: 0,
        }
    }

    /// Counts sightings of a string only `records` records apart: a value repeated within
    /// one batch gains nothing from an entry (zstd already matches it there), so only
    /// values that come back later are worth one.
    pub fn with_spacing(mut self, records: u64) -> Self {
        self.spacing = records;
        self
    }

    /// Hashes the (empty) table with `seed` (see [`crate::hashing`]).
    pub fn with_hash_seed(mut self, seed: u64) -> Self {
        self.table = SeededMap::with_hasher(seeded(seed));
        self
    }

    /// Moves on to the next record.
    pub fn next_record(&mut self) {
        self.record += 1;
    }

    fn counts_now(&self, s: &Sighting) -> bool {
        self.spacing == 0 || self.record.saturating_sub(s.last_counted) >= self.spacing
    }

    /// Whether one more sighting of `value` would admit it (nothing changes).
    pub fn would_admit(&self, value: &str) -> bool {
        self.would_admit_after(value, 0)
    }

    /// Whether one more sighting of `value` would admit it once `pending` sightings not yet
    /// recorded (earlier in the same record) are counted (nothing changes).
    pub fn would_admit_after(&self, value: &str, pending: u32) -> bool {
        let entry = self.table.get(value);
        let seen = entry.map_or(0, |s| s.count);
        if seen == 0 && self.table.len() >= self.max_candidates && self.threshold > 1 {
            return false; // full: a new string is not tracked, so it can never reach the threshold
        }
        if self.spacing > 0 {
            // Sightings within this record are one.
            let this = u32::from(entry.is_none_or(|s| self.counts_now(s)));
            return seen.saturating_add(this) >= self.threshold;
        }
        seen.saturating_add(pending).saturating_add(1) >= self.threshold
    }

    /// Forgets `value` (it became a dictionary entry).
    pub fn remove(&mut self, value: &str) {
        self.table.remove(value);
    }

    /// Records one sighting of `value` at `now`; returns whether it is admitted now. An
    /// admitted string leaves the table (it is an entry from now on).
    ///
    /// Decides as [`would_admit`](Self::would_admit) does, with one lookup for a tracked
    /// string (hashing the string dominates the cost).
    pub fn sight(&mut self, value: &str, now: Timestamp) -> bool {
        let (len, record, threshold) = (self.table.len(), self.record, self.threshold);
        let full = len >= self.max_candidates;
        let spacing = self.spacing;
        if let Some(s) = self.table.get_mut(value) {
            let counts = spacing == 0 || record.saturating_sub(s.last_counted) >= spacing;
            let untrackable = s.count == 0 && full && threshold > 1;
            if !untrackable && s.count.saturating_add(u32::from(counts)) >= threshold {
                self.table.remove(value);
                return true;
            }
            if counts {
                s.count += 1;
                s.last_counted = record;
            }
            s.last_seen = s.last_seen.max(now);
            return false;
        }
        // Untracked: the first sighting admits only with a threshold of 1.
        if threshold <= 1 {
            return true;
        }
        if !full {
            self.table.insert(value.to_owned(), Sighting { count: 1, last_seen: now, last_counted: record });
        }
        false
    }

    /// Drops the candidates not seen for `ttl_ms` (the stale sweep, §9.10).
    pub fn drop_stale(&mut self, now: Timestamp, ttl_ms: u64) {
        self.table.retain(|_, s| now.millis_since(s.last_seen) < ttl_ms);
    }

    /// Strings currently tracked.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether no string is tracked.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_spacing_only_sightings_far_enough_apart_count() {
        let mut s = Sightings::new(2, 10).with_spacing(100);
        s.next_record();
        assert!(!s.sight("abc", Timestamp(0)));
        for _ in 0..99 {
            s.next_record();
            assert!(!s.would_admit("abc"), "a repeat within 100 records does not count");
            assert!(!s.sight("abc", Timestamp(0)));
        }
        s.next_record();
        assert!(s.would_admit("abc"));
        assert!(s.sight("abc", Timestamp(0)));
    }

    #[test]
    fn a_string_is_admitted_on_its_second_sighting_by_default() {
        let mut s = Sightings::new(2, 10);
        assert!(!s.would_admit("abc"));
        assert!(!s.sight("abc", Timestamp(0)));
        assert!(s.would_admit("abc"));
        assert!(s.sight("abc", Timestamp(1)));
        assert!(s.is_empty(), "an admitted string leaves the table");
    }

    #[test]
    fn would_admit_changes_nothing() {
        let mut s = Sightings::new(3, 10);
        for _ in 0..5 {
            assert!(!s.would_admit("x"));
        }
        s.sight("x", Timestamp(0));
        s.sight("x", Timestamp(0));
        assert!(s.would_admit("x"));
        assert!(s.sight("x", Timestamp(0)));
    }

    #[test]
    fn a_full_table_tracks_no_new_string_until_the_sweep_frees_it() {
        let mut s = Sightings::new(2, 2);
        s.sight("a", Timestamp(0));
        s.sight("b", Timestamp(100));
        assert!(!s.sight("c", Timestamp(100)));
        assert!(!s.sight("c", Timestamp(100)), "not tracked, so never admitted");
        assert!(s.sight("a", Timestamp(100)), "tracked strings still reach the threshold");
        s.sight("d", Timestamp(200)); // takes the slot "a" left
        s.drop_stale(Timestamp(300_100), 300_000);
        assert_eq!(s.len(), 1, "b (seen at 100) is stale, d is not");
        assert!(!s.sight("c", Timestamp(300_100)));
        assert!(s.sight("c", Timestamp(300_200)));
    }

    /// The straightforward `sight` (decide with `would_admit`, then look up again to
    /// update): the model the one-lookup version must follow.
    fn sight_by_model(s: &mut Sightings, value: &str, now: Timestamp) -> bool {
        if s.would_admit(value) {
            s.table.remove(value);
            return true;
        }
        let record = s.record;
        let counts = s.table.get(value).is_none_or(|e| s.counts_now(e));
        if let Some(e) = s.table.get_mut(value) {
            if counts {
                e.count += 1;
                e.last_counted = record;
            }
            e.last_seen = e.last_seen.max(now);
        } else if s.table.len() < s.max_candidates {
            s.table.insert(value.to_owned(), Sighting { count: 1, last_seen: now, last_counted: record });
        }
        false
    }

    proptest::proptest! {
        /// Invariant: `sight` admits and records exactly as the model does, for any sequence
        /// of sightings and records, spacing, threshold and table size.
        #[test]
        fn sight_follows_the_model(
            ops in proptest::collection::vec((0u8..6, proptest::bool::ANY), 1..200),
            threshold in 1u32..4,
            max in 0usize..5,
            spacing in 0u64..4,
        ) {
            let mut fast = Sightings::new(threshold, max).with_spacing(spacing);
            let mut model = fast.clone();
            for (i, (value, next)) in ops.into_iter().enumerate() {
                if next {
                    fast.next_record();
                    model.next_record();
                }
                let (value, now) = (value.to_string(), Timestamp(i as u64));
                proptest::prop_assert_eq!(fast.sight(&value, now), sight_by_model(&mut model, &value, now));
                proptest::prop_assert_eq!(&fast.table, &model.table);
            }
        }
    }

    #[test]
    fn threshold_one_admits_at_once_even_when_full() {
        let mut s = Sightings::new(1, 0);
        assert!(s.sight("x", Timestamp(0)));
    }
}
