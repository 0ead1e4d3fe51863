//! Sketches: the shapes of logs seen too few times to have a pattern yet.
//!
//! A pattern define costs about a whole log's text, and a pattern widened by its second log
//! is sent again in full. A shape seen once is usually cheaper as a raw log, which zstd
//! compresses against its neighbours. So, with `patterns.admission_threshold` = n > 1,
//! the first n − 1 logs of a new shape go raw while a sketch (a pattern that is never sent)
//! learns their wildcards; the n-th log defines the pattern once, already widened. Sketches
//! are clustering memory only: no receiver ever sees them, so they are not part of the state
//! size. Their number is bounded; the oldest go first.

use std::collections::{BTreeMap, HashMap};

use super::cluster::{Definition, Pattern};
use super::signature::{BuildPrehashed, Signature};
use super::tokenizer::Token;
use crate::Timestamp;

/// One shape seen without a pattern yet.
#[derive(Debug)]
struct Sketch {
    signature: Signature,
    /// The shape's merged positions, as a pattern that is never sent (id 0).
    shape: Pattern,
    /// Logs of this shape seen so far.
    sightings: u32,
}

/// A log matched against the sketches, not applied yet.
#[derive(Clone, Debug)]
pub(crate) struct SketchMatch {
    /// The sketch's key; `None` when the log starts a new one.
    pub(crate) key: Option<u64>,
    /// The sketch widened by the log, when the log differs from it.
    pub(crate) widened: Option<Box<Definition>>,
    /// Logs of the shape with this one.
    pub(crate) sightings: u32,
}

/// The sketches of a store, by signature hash, with creation order for bounding.
#[derive(Debug, Default)]
pub(crate) struct Sketches {
    by_signature: HashMap<u64, Vec<u64>, BuildPrehashed>,
    /// Key (creation order) → sketch and its signature hash.
    sketches: BTreeMap<u64, (u64, Sketch)>,
    next_key: u64,
}

impl Sketches {
    /// Matches `tokens` (signature hash `hash`) against the sketches of its signature.
    pub(crate) fn find(
        &self,
        hash: u64,
        tokens: &[Token<'_>],
        protect_first_word: bool,
        merge_gap: Option<usize>,
    ) -> SketchMatch {
        let keys = self.by_signature.get(&hash).map(Vec::as_slice).unwrap_or_default();
        for &key in keys {
            let Some((_, sketch)) = self.sketches.get(&key) else { continue };
            if !sketch.signature.matches(tokens) {
                continue;
            }
            if let Some(widened) = sketch.shape.matches(tokens, protect_first_word) {
                return SketchMatch {
                    key: Some(key),
                    widened: (widened > 0)
                        .then(|| Box::new(sketch.shape.widened_definition(tokens, merge_gap))),
                    sightings: sketch.sightings.saturating_add(1),
                };
            }
        }
        SketchMatch { key: None, widened: None, sightings: 1 }
    }

    /// The definition a sketch's pattern gets when the log of `found` promotes it.
    pub(crate) fn definition(&self, found: SketchMatch) -> Option<Box<Definition>> {
        match (found.widened, found.key) {
            (Some(widened), _) => Some(widened),
            (None, Some(key)) => self.sketches.get(&key).map(|(_, s)| Box::new(s.shape.definition())),
            (None, None) => None,
        }
    }

    /// Applies `found` for a log that stays raw: widens its sketch or starts one, dropping
    /// the oldest sketch beyond `max`.
    pub(crate) fn observe(
        &mut self,
        hash: u64,
        text: &str,
        tokens: &[Token<'_>],
        found: SketchMatch,
        now: Timestamp,
        max: usize,
    ) {
        if let Some(key) = found.key
            && let Some((_, sketch)) = self.sketches.get_mut(&key)
        {
            if let Some(definition) = found.widened {
                sketch.shape.apply(*definition);
            }
            sketch.sightings = found.sightings;
            return;
        }
        if max == 0 {
            return;
        }
        while self.sketches.len() >= max {
            let Some((&oldest, _)) = self.sketches.iter().next() else { break };
            self.remove(oldest);
        }
        let key = self.next_key;
        self.next_key += 1;
        let sketch = Sketch {
            signature: Signature::of(tokens),
            shape: Pattern::from_tokens(0, text, tokens, now),
            sightings: 1,
        };
        self.sketches.insert(key, (hash, sketch));
        self.by_signature.entry(hash).or_default().push(key);
    }

    /// Drops sketch `key` (promoted to a pattern, or the oldest).
    pub(crate) fn remove(&mut self, key: u64) {
        let Some((hash, _)) = self.sketches.remove(&key) else { return };
        if let Some(keys) = self.by_signature.get_mut(&hash) {
            keys.retain(|&k| k != key);
            if keys.is_empty() {
                self.by_signature.remove(&hash);
            }
        }
    }

    /// The number of sketches.
    pub(crate) fn len(&self) -> usize {
        self.sketches.len()
    }
}
