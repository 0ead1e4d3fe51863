//! Hash tables keyed by the Pipeline's seed.
//!
//! std's `RandomState` draws its keys from the operating system, which the sans-IO core never
//! does; a fixed key would let crafted log text collide on purpose in the tables keyed by it
//! (dictionary, sightings, first words). So the translator's tables use foldhash seeded from
//! the Pipeline's seed: deterministic for a given seed, unpredictable without it, and faster
//! than SipHash.

use std::collections::{HashMap, HashSet};

/// The hasher of the translator's tables.
pub(crate) type SeededState = foldhash::fast::FixedState;

/// A map hashed with [`SeededState`].
pub(crate) type SeededMap<K, V> = HashMap<K, V, SeededState>;

/// A set hashed with [`SeededState`].
pub(crate) type SeededSet<K> = HashSet<K, SeededState>;

/// The hasher for `seed`.
pub(crate) const fn seeded(seed: u64) -> SeededState {
    SeededState::with_seed(seed)
}
