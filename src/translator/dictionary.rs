//! The translator's dictionary: string ↔ id with per-entry use statistics (spec
//! `encoding.md` §9.8). Entries are scored for eviction with [`crate::pattern::eviction_score`].

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::hashing::{SeededMap, seeded};

/// One live dictionary entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The string the id stands for.
    pub value: String,
    /// Records that used it (its `frequency`).
    pub uses: u64,
    /// When it was admitted.
    pub created: Timestamp,
    /// When a record last used it.
    pub last_access: Timestamp,
    /// Its `DictEntryDefine`'s share of the translator's state size (§9.9).
    pub size: u64,
}

/// string ↔ id, ids allocated upward from the profile's first id and never reused (§8.2).
#[derive(Clone, Debug)]
pub struct Dictionary {
    by_value: SeededMap<String, u64>,
    entries: BTreeMap<u64, Entry>,
    next_id: u64,
    bytes: u64,
}

impl Dictionary {
    /// An empty dictionary whose first id is `first_id` (1 in `v1`, 2 in `v2`).
    pub fn new(first_id: u64) -> Self {
        Dictionary::seeded(first_id, 0)
    }

    /// An empty dictionary hashing its strings with `seed` (see [`crate::hashing`]).
    pub fn seeded(first_id: u64, seed: u64) -> Self {
        let by_value = SeededMap::with_hasher(seeded(seed));
        Dictionary { by_value, entries: BTreeMap::new(), next_id: first_id, bytes: 0 }
    }

    /// The id of `value`, if it is an entry.
    pub fn id_of(&self, value: &str) -> Option<u64> {
        self.by_value.get(value).copied()
    }

    /// The entry with this id.
    pub fn get(&self, id: u64) -> Option<&Entry> {
        self.entries.get(&id)
    }

    /// The id the next admission will get.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Records one use of entry `id` at `now`.
    pub fn touch(&mut self, id: u64, now: Timestamp) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.uses = e.uses.saturating_add(1);
            e.last_access = e.last_access.max(now);
        }
    }

    /// Admits `value` (which must not be an entry yet) with one use; returns its new id.
    pub fn insert(&mut self, value: String, now: Timestamp, size: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.by_value.insert(value.clone(), id);
        self.entries.insert(id, Entry { value, uses: 1, created: now, last_access: now, size });
        self.bytes += size;
        id
    }

    /// Removes entry `id`.
    pub fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        self.by_value.remove(&entry.value);
        self.bytes -= entry.size;
        Some(entry)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries' total share of the state size.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Every entry, by id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &Entry)> {
        self.entries.iter().map(|(id, e)| (*id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_start_at_the_first_id_and_are_never_reused() {
        let mut d = Dictionary::new(2);
        let a = d.insert("a".into(), Timestamp(0), 5);
        let b = d.insert("b".into(), Timestamp(0), 6);
        assert_eq!((a, b), (2, 3));
        assert_eq!(d.bytes(), 11);
        d.remove(a);
        assert_eq!(d.id_of("a"), None);
        assert_eq!(d.insert("a".into(), Timestamp(1), 5), 4);
        assert_eq!(d.bytes(), 11);
    }

    #[test]
    fn touch_counts_uses_and_last_access() {
        let mut d = Dictionary::new(1);
        let id = d.insert("x".into(), Timestamp(10), 3);
        d.touch(id, Timestamp(50));
        let e = d.get(id).unwrap();
        assert_eq!((e.uses, e.created, e.last_access), (2, Timestamp(10), Timestamp(50)));
    }
}
