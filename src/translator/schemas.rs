//! The translator's `v2` JSON schemas (spec `encoding.md` §9.13, §9.9): identity → id, the
//! define each one sent, and which dictionary entries each one uses, so that evicting an entry
//! deletes its schemas first (§8.3, §9.9).

use std::collections::BTreeMap;

use crate::Timestamp;
use crate::datum::SchemaDef;
use crate::hashing::{SeededMap, seeded};

/// The first `v2` schema id (§8.2).
const FIRST_SCHEMA_ID: u64 = 2;

/// One live schema.
#[derive(Clone, Debug)]
pub(super) struct Schema {
    pub def: SchemaDef,
    identity: Vec<u64>,
    pub last_access: Timestamp,
    /// Its define's share of the translator's state size.
    pub size: u64,
}

/// The live schemas; ids from 2, never reused (§8.2).
#[derive(Clone, Debug)]
pub(super) struct Schemas {
    by_identity: SeededMap<Vec<u64>, u64>,
    by_id: BTreeMap<u64, Schema>,
    /// Per dictionary id, how many live schemas use it as a key or message key.
    pins: SeededMap<u64, u32>,
    next_id: u64,
    bytes: u64,
}

impl Schemas {
    pub fn seeded(seed: u64) -> Self {
        Schemas {
            by_identity: SeededMap::with_hasher(seeded(seed)),
            by_id: BTreeMap::new(),
            pins: SeededMap::with_hasher(seeded(seed.rotate_left(17))),
            next_id: FIRST_SCHEMA_ID,
            bytes: 0,
        }
    }

    /// The schema with this identity (see [`write_identity`]).
    pub fn id_of(&self, identity: &[u64]) -> Option<u64> {
        self.by_identity.get(identity).copied()
    }

    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The defines' share of the state size.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn touch(&mut self, id: u64, now: Timestamp) {
        if let Some(s) = self.by_id.get_mut(&id) {
            s.last_access = s.last_access.max(now);
        }
    }

    /// Adds `def` (its id must be [`Schemas::next_id`]) under `identity`.
    pub fn insert(&mut self, identity: Vec<u64>, def: SchemaDef, now: Timestamp, size: u64) {
        self.next_id = self.next_id.max(def.id + 1);
        for id in def.keys.iter().chain([&def.message_key_id]) {
            *self.pins.entry(*id).or_insert(0) += 1;
        }
        self.by_identity.insert(identity.clone(), def.id);
        self.bytes += size;
        self.by_id.insert(def.id, Schema { def, identity, last_access: now, size });
    }

    pub fn remove(&mut self, id: u64) -> Option<Schema> {
        let schema = self.by_id.remove(&id)?;
        self.by_identity.remove(&schema.identity);
        self.bytes -= schema.size;
        for key in schema.def.keys.iter().chain([&schema.def.message_key_id]) {
            if let Some(n) = self.pins.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    self.pins.remove(key);
                }
            }
        }
        Some(schema)
    }

    /// The schemas that use dictionary entry `dict_id`, by id.
    pub fn users_of(&self, dict_id: u64) -> Vec<u64> {
        if !self.pins.contains_key(&dict_id) {
            return Vec::new();
        }
        let uses = |s: &Schema| s.def.message_key_id == dict_id || s.def.keys.contains(&dict_id);
        self.by_id.iter().filter(|(_, s)| uses(s)).map(|(id, _)| *id).collect()
    }

    /// Schema ids, least recently used first (ties: the smaller id).
    pub fn least_recently_used(&self) -> Vec<u64> {
        let mut ids: Vec<(Timestamp, u64)> = self.by_id.iter().map(|(id, s)| (s.last_access, *id)).collect();
        ids.sort_unstable();
        ids.into_iter().map(|(_, id)| id).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &Schema)> {
        self.by_id.iter().map(|(id, s)| (*id, s))
    }
}

/// Writes a schema identity (§9.13: message path, key paths in order, kinds in order) by the
/// dictionary ids of its paths: an id names one string while its entry lives, and a schema
/// never outlives its entries, so equal ids mean equal paths. Each column is `id << 3 | kind`
/// (kinds are below 8, ids far below 2^61).
pub(super) fn write_identity(
    message_key_id: u64,
    columns: impl Iterator<Item = (u64, u8)>,
    out: &mut Vec<u64>,
) {
    out.clear();
    out.push(message_key_id);
    out.extend(columns.map(|(id, kind)| id << 3 | u64::from(kind)));
}
