//! Patterns and clusters (`encoding.md` §9.4–§9.6): one cluster per signature, holding its
//! patterns most recently matched first; position-wise comparison and merging.

use crate::hashing::{SeededSet, seeded};

use super::signature::{Signature, type_sequence_key};
use super::tokenizer::{Token, TokenType, shape_type, token_at, token_ends_at};
use crate::Timestamp;

/// A pattern: a template with wildcard positions, plus the bookkeeping eviction needs.
///
/// Positions are the tokens of the logs it matches (all of one signature). A non-wildcard
/// position holds its exact token text; matching compares against those texts (the
/// skeleton). What goes on the wire is the pattern's `WireForm`: wildcards close to each
/// other travel as one value, so each log carries fewer, longer values.
#[derive(Clone, Debug)]
pub struct Pattern {
    id: u64,
    /// The non-wildcard positions' text, concatenated.
    skeleton: String,
    /// Per position, the skeleton offset where its text ends (wildcards: zero width).
    ends: Vec<u32>,
    wildcard: Vec<bool>,
    wildcards: usize,
    wire: WireForm,
    uses: u64,
    created: Timestamp,
    last_access: Timestamp,
}

impl Pattern {
    /// The pattern id (from 1, never reused).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The template of the pattern's define (§9.6).
    pub fn template(&self) -> &str {
        &self.wire.template
    }

    /// Byte offsets into the template where the log's values go, in order (`param_count` =
    /// its length).
    pub fn pos_list(&self) -> &[u32] {
        &self.wire.pos_list
    }

    /// The number of wildcard positions (each value covers one or more of them).
    pub fn wildcard_count(&self) -> usize {
        self.wildcards
    }

    /// The number of positions (tokens of a matching log).
    pub fn position_count(&self) -> usize {
        self.ends.len()
    }

    /// Whether position `i` is a wildcard (`false` past the end).
    pub fn is_wildcard(&self, i: usize) -> bool {
        self.wildcard.get(i).copied().unwrap_or(false)
    }

    /// How many logs used this pattern (its creation included).
    pub fn uses(&self) -> u64 {
        self.uses
    }

    /// When the pattern was created.
    pub fn created(&self) -> Timestamp {
        self.created
    }

    /// When a log last used the pattern.
    pub fn last_access(&self) -> Timestamp {
        self.last_access
    }

    /// Records one use at `now`.
    pub(crate) fn touch(&mut self, now: Timestamp) {
        self.uses = self.uses.saturating_add(1);
        self.last_access = self.last_access.max(now);
    }

    /// The text of non-wildcard position `i` (empty for a wildcard).
    fn position_text(&self, i: usize) -> &str {
        position_text(&self.skeleton, &self.ends, i)
    }

    /// A pattern with no wildcards for `tokens`, whose texts make `text`.
    ///
    /// Offsets fit in `u32`: the store rejects longer texts before calling this.
    pub(crate) fn from_tokens(id: u64, text: &str, tokens: &[Token<'_>], now: Timestamp) -> Self {
        let mut ends = Vec::with_capacity(tokens.len());
        let mut end = 0u32;
        for token in tokens {
            end = end.saturating_add(u32::try_from(token.text.len()).unwrap_or(u32::MAX));
            ends.push(end);
        }
        Pattern {
            id,
            skeleton: text.to_owned(),
            ends,
            wildcard: vec![false; tokens.len()],
            wildcards: 0,
            wire: WireForm { template: text.to_owned(), pos_list: Vec::new(), spans: Vec::new() },
            uses: 1,
            created: now,
            last_access: now,
        }
    }

    /// A pattern with `definition` (a sketch's, widened), one use at `now`.
    pub(crate) fn from_definition(id: u64, definition: Definition, now: Timestamp) -> Self {
        let Definition { skeleton, ends, wildcard, wildcards, wire } = definition;
        Pattern { id, skeleton, ends, wildcard, wildcards, wire, uses: 1, created: now, last_access: now }
    }

    /// The pattern's current definition.
    pub(crate) fn definition(&self) -> Definition {
        Definition {
            skeleton: self.skeleton.clone(),
            ends: self.ends.clone(),
            wildcard: self.wildcard.clone(),
            wildcards: self.wildcards,
            wire: self.wire.clone(),
        }
    }

    /// Compares a log's tokens (of this pattern's signature) with the pattern (§9.5 table).
    pub(crate) fn compare(&self, tokens: &[Token<'_>], protect_first_word: bool) -> Comparison {
        self.compare_positions(tokens, protect_first_word, false)
    }

    /// Whether the log matches (no Conflict), and how many positions it would widen; stops at
    /// the first Conflict, as scanning a cluster only needs the verdict.
    pub(crate) fn matches(&self, tokens: &[Token<'_>], protect_first_word: bool) -> Option<usize> {
        let comparison = self.compare_positions(tokens, protect_first_word, true);
        (!comparison.conflict).then_some(comparison.widened)
    }

    fn compare_positions(
        &self,
        tokens: &[Token<'_>],
        protect_first_word: bool,
        stop_at_conflict: bool,
    ) -> Comparison {
        let mut comparison = Comparison { conflict: false, identical: 0, widened: 0 };
        let mut start = 0usize;
        // The store only compares logs of the pattern's signature, so the lengths agree.
        for (i, ((token, &end), &is_wildcard)) in
            tokens.iter().zip(&self.ends).zip(&self.wildcard).enumerate()
        {
            let end = end as usize;
            // Bytes, not `str` slices: equal bytes are equal text, without boundary checks.
            if is_wildcard || self.skeleton.as_bytes()[start..end] == *token.text.as_bytes() {
                comparison.identical += 1;
            } else if !token.kind.is_wildcard_candidate()
                || (i == 0 && token.kind == TokenType::Word && protect_first_word)
            {
                comparison.conflict = true;
                if stop_at_conflict {
                    break;
                }
            } else {
                comparison.widened += 1;
            }
            start = end;
        }
        comparison
    }

    /// Whether `text` matches this pattern with nothing to widen, checked while stepping
    /// through its tokens instead of tokenizing it first: every token at a non-wildcard
    /// position has exactly that position's text, every wildcard token has its type in
    /// `types` (the cluster's signature), and the text ends with the last position. Exactly
    /// then `compare` finds no Conflict and nothing to widen for `tokenize(text)`: a token's
    /// type follows from its text, so equal texts have the signature's types. On a match the
    /// values go to `values` (cleared first) and the first token's length is returned.
    ///
    /// A run of non-wildcard positions is compared as one byte string. Its texts are
    /// consecutive tokens of the log the pattern was made from, so tokenizing the same bytes
    /// from the run's start gives the same tokens wherever the tokenizer's lookahead stays
    /// inside the run; only the tokens ending near the run's end need their end checked.
    pub(crate) fn match_text<'t>(
        &self,
        types: &[TokenType],
        text: &'t str,
        values: &mut Vec<&'t str>,
    ) -> Option<usize> {
        values.clear();
        values.reserve_exact(self.wire.spans.len());
        let n = self.ends.len();
        if types.len() != n || self.wildcard.len() != n {
            return None;
        }
        let bytes = text.as_bytes();
        let skeleton = self.skeleton.as_bytes();
        let mut spans = self.wire.spans.iter().copied();
        let mut span = spans.next();
        let (mut i, mut pos, mut value_start, mut first_len) = (0usize, 0usize, 0usize, 0usize);
        while i < n {
            if pos >= bytes.len() {
                return None;
            }
            let skeleton_start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
            if self.wildcard[i] {
                let (shape, end) = token_at(text, pos);
                if shape_type(shape, &text[pos..end]) != types[i] {
                    return None;
                }
                if let Some((first, last)) = span {
                    if i == first {
                        value_start = pos;
                    }
                    if i == last {
                        values.push(&text[value_start..end]);
                        span = spans.next();
                    }
                }
                if i == 0 {
                    first_len = end;
                }
                pos = end;
                i += 1;
                continue;
            }
            let j = i + 1 + self.wildcard[i + 1..].iter().position(|&w| w).unwrap_or(n - i - 1);
            let run = &skeleton[skeleton_start..self.ends[j - 1] as usize];
            if run.is_empty() || !bytes[pos..].starts_with(run) {
                return None;
            }
            let run_end = pos + run.len();
            // From the run's last token back, while a token ends within the lookahead.
            let text_offset = |k: usize| pos + (self.ends[k] as usize - skeleton_start);
            for k in (i..j).rev() {
                let token_end = text_offset(k);
                if token_end + TOKEN_LOOKAHEAD < run_end {
                    break;
                }
                let token_start = if k == i { pos } else { text_offset(k - 1) };
                if !token_ends_at(text, token_start, token_end) {
                    return None;
                }
            }
            if i == 0 {
                first_len = pos + (self.ends[0] as usize - skeleton_start);
            }
            pos = run_end;
            i = j;
        }
        (pos == bytes.len()).then_some(first_len)
    }

    /// The definition this pattern would have with every position where `tokens` differ
    /// turned into a wildcard (merging, and force-widening); values whose wildcards are at
    /// most `merge_gap` bytes apart travel as one (see [`WireForm`]).
    pub(crate) fn widened_definition(&self, tokens: &[Token<'_>], merge_gap: Option<usize>) -> Definition {
        let mut wildcard = self.wildcard.clone();
        for (i, (token, is_wildcard)) in tokens.iter().zip(wildcard.iter_mut()).enumerate() {
            if !*is_wildcard && self.position_text(i) != token.text {
                *is_wildcard = true;
            }
        }
        let mut skeleton = String::with_capacity(self.skeleton.len());
        let mut ends = Vec::with_capacity(self.ends.len());
        for (i, &is_wildcard) in wildcard.iter().enumerate() {
            if !is_wildcard {
                skeleton.push_str(self.position_text(i));
            }
            ends.push(offset(&skeleton));
        }
        let wildcards = wildcard.iter().filter(|w| **w).count();
        let wire = WireForm::new(&skeleton, &ends, &wildcard, merge_gap);
        Definition { skeleton, ends, wildcard, wildcards, wire }
    }

    /// Replaces the definition (same id).
    pub(crate) fn apply(&mut self, definition: Definition) {
        let Definition { skeleton, ends, wildcard, wildcards, wire } = definition;
        self.skeleton = skeleton;
        self.ends = ends;
        self.wildcard = wildcard;
        self.wildcards = wildcards;
        self.wire = wire;
    }

    /// The log's values, in order: slices of `text`, whose tokens `tokens` are.
    pub(crate) fn values<'t>(&self, text: &'t str, tokens: &[Token<'t>]) -> Vec<&'t str> {
        self.wire.values(text, tokens)
    }
}

/// How a pattern goes on the wire: its define's template and offsets, and the positions each
/// value covers.
///
/// A value covers a run of positions from one wildcard to another, including the constant
/// text between them when that text is at most `merge_gap` bytes. Each value costs a few
/// bytes of framing that zstd cannot match away (its matches are at least 6 bytes at level 1
/// on both sides of the value), while a short constant costs less inside a value than in the
/// template between two values. Either way the template plus the values rebuild the text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WireForm {
    pub(crate) template: String,
    pub(crate) pos_list: Vec<u32>,
    /// Per value, its first and last position (inclusive).
    spans: Vec<(usize, usize)>,
}

impl WireForm {
    fn new(skeleton: &str, ends: &[u32], wildcard: &[bool], merge_gap: Option<usize>) -> Self {
        let text = |i: usize| position_text(skeleton, ends, i);
        let n = wildcard.len();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut i = 0;
        while i < n {
            if !wildcard[i] {
                i += 1;
                continue;
            }
            let first = i;
            let mut last = i;
            if let Some(gap) = merge_gap {
                loop {
                    let mut next = last + 1;
                    let mut between = 0usize;
                    while next < n && !wildcard[next] {
                        between += text(next).len();
                        next += 1;
                    }
                    if next < n && between <= gap {
                        last = next;
                    } else {
                        break;
                    }
                }
            }
            spans.push((first, last));
            i = last + 1;
        }
        let mut template = String::with_capacity(skeleton.len());
        let mut pos_list = Vec::with_capacity(spans.len());
        let mut next_span = spans.iter().peekable();
        let mut i = 0;
        while i < n {
            match next_span.peek() {
                Some(&&(first, last)) if first == i => {
                    pos_list.push(offset(&template));
                    next_span.next();
                    i = last + 1;
                }
                _ => {
                    template.push_str(text(i));
                    i += 1;
                }
            }
        }
        WireForm { template, pos_list, spans }
    }

    /// The values of a log (`tokens` of `text`) for this form.
    fn values<'t>(&self, text: &'t str, tokens: &[Token<'t>]) -> Vec<&'t str> {
        let mut values = Vec::with_capacity(self.spans.len());
        let mut spans = self.spans.iter();
        let Some(mut span) = spans.next() else {
            return values;
        };
        let mut start = 0usize;
        let mut value_start = 0usize;
        for (i, token) in tokens.iter().enumerate() {
            if i == span.0 {
                value_start = start;
            }
            start += token.text.len();
            if i == span.1 {
                values.push(&text[value_start..start]);
                match spans.next() {
                    Some(next) => span = next,
                    None => break,
                }
            }
        }
        values
    }
}

/// How many bytes past a character boundary the tokenizer may read to decide it: the
/// character there and the one after it (a `JOIN` character joins only before an
/// alphanumeric one), at most 1 + 4 bytes, so bytes `end..end + 5` at most.
const TOKEN_LOOKAHEAD: usize = 5;

/// The text of position `i` in `skeleton`, whose per-position end offsets are `ends`
/// (empty for a wildcard).
fn position_text<'s>(skeleton: &'s str, ends: &[u32], i: usize) -> &'s str {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &skeleton[start..ends[i] as usize]
}

/// The template length so far, as a `u32` offset (the store bounds texts to `u32`).
fn offset(template: &str) -> u32 {
    u32::try_from(template.len()).unwrap_or(u32::MAX)
}

/// A pattern definition computed before it is committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Definition {
    skeleton: String,
    ends: Vec<u32>,
    wildcard: Vec<bool>,
    pub(crate) wildcards: usize,
    pub(crate) wire: WireForm,
}

impl Definition {
    /// The log's values under this definition (see [`Pattern::values`]).
    pub(crate) fn values<'t>(&self, text: &'t str, tokens: &[Token<'t>]) -> Vec<&'t str> {
        self.wire.values(text, tokens)
    }
}

/// The result of comparing a log with a pattern, position by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Comparison {
    /// Some position is a Conflict: the log does not match.
    pub(crate) conflict: bool,
    /// Positions that are Identical.
    pub(crate) identical: usize,
    /// Positions that would become wildcards by merging.
    pub(crate) widened: usize,
}

/// The patterns of one signature, most recently matched first, and the distinct first-token
/// values seen (kept up to the protection cardinality + 1).
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) signature: Signature,
    /// The signature's `type_sequence_key`, the store's index key.
    pub(crate) key: u64,
    pub(crate) patterns: Vec<Pattern>,
    first_values: SeededSet<Box<str>>,
}

impl Cluster {
    pub(crate) fn new(signature: Signature, hash_seed: u64) -> Self {
        let key = type_sequence_key(signature.types().iter().copied());
        Cluster {
            signature,
            key,
            patterns: Vec::new(),
            first_values: SeededSet::with_hasher(seeded(hash_seed)),
        }
    }

    /// Whether first-word protection is on for a log whose first token is `first`, counting
    /// `first` as seen (§9.5: off once more than `max_cardinality` distinct values were seen).
    pub(crate) fn protects_first_word(
        &self,
        enabled: bool,
        first: Option<&str>,
        max_cardinality: usize,
    ) -> bool {
        if !enabled {
            return false;
        }
        let seen = self.first_values.len();
        let with_first = match first {
            Some(value) if seen <= max_cardinality && !self.first_values.contains(value) => seen + 1,
            _ => seen,
        };
        with_first <= max_cardinality
    }

    /// Records a first-token value, keeping at most `max_cardinality + 1` of them.
    pub(crate) fn record_first_value(&mut self, first: Option<&str>, max_cardinality: usize) {
        if let Some(value) = first
            && self.first_values.len() <= max_cardinality
            && !self.first_values.contains(value)
        {
            self.first_values.insert(value.into());
        }
    }

    /// The index of pattern `id` in this cluster.
    pub(crate) fn position_of(&self, id: u64) -> Option<usize> {
        self.patterns.iter().position(|p| p.id == id)
    }

    /// Moves the pattern at `index` to the front (most recently matched).
    pub(crate) fn move_to_front(&mut self, index: usize) {
        self.patterns[..=index].rotate_right(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::tokenizer::tokenize;

    #[test]
    fn compare_follows_the_rule_table() {
        let base = tokenize("alpha 1 x=2");
        let pattern = Pattern::from_tokens(1, "alpha 1 x=2", &base, Timestamp(0));
        // Same text: all identical.
        let same = pattern.compare(&base, true);
        assert_eq!(same, Comparison { conflict: false, identical: base.len(), widened: 0 });
        // A different number: Wildcard.
        let other = tokenize("alpha 3 x=2");
        assert_eq!(pattern.compare(&other, true).widened, 1);
        assert!(!pattern.compare(&other, true).conflict);
        // A different first word: Conflict when protected, Wildcard otherwise.
        let other_first = tokenize("beta 1 x=2");
        assert!(pattern.compare(&other_first, true).conflict);
        assert_eq!(pattern.compare(&other_first, false).widened, 1);
        // Different whitespace: Conflict.
        let spaced = tokenize("alpha\t1 x=2");
        assert!(pattern.compare(&spaced, false).conflict);
    }

    #[test]
    fn widening_rebuilds_template_and_offsets() {
        let base = tokenize("user 42 logged in from 10.0.0.1");
        let mut pattern = Pattern::from_tokens(7, "user 42 logged in from 10.0.0.1", &base, Timestamp(0));
        let other = tokenize("user 43 logged in from 10.0.0.2");
        let definition = pattern.widened_definition(&other, None);
        assert_eq!(definition.wire.template, "user  logged in from ");
        assert_eq!(definition.wire.pos_list, vec![5, 21]);
        pattern.apply(definition);
        assert_eq!(pattern.values("user 43 logged in from 10.0.0.2", &other), vec!["43", "10.0.0.2"]);
        assert_eq!(pattern.wildcard_count(), 2);
        // Wildcards compare Identical from now on.
        let third = tokenize("user 44 logged in from 10.0.0.3");
        assert_eq!(pattern.compare(&third, true).identical, third.len());
    }

    #[test]
    fn first_word_protection_turns_off_above_the_cardinality() {
        let mut cluster = Cluster::new(Signature::of(&tokenize("a")), 0);
        for value in ["a", "b", "c"] {
            assert!(cluster.protects_first_word(true, Some(value), 3));
            cluster.record_first_value(Some(value), 3);
        }
        // A seen value keeps it on; a fourth distinct value turns it off, for good.
        assert!(cluster.protects_first_word(true, Some("a"), 3));
        assert!(!cluster.protects_first_word(true, Some("d"), 3));
        cluster.record_first_value(Some("d"), 3);
        assert!(!cluster.protects_first_word(true, Some("a"), 3));
        cluster.record_first_value(Some("e"), 3);
        assert_eq!(cluster.first_values.len(), 4, "kept up to cardinality + 1");
        assert!(!cluster.protects_first_word(false, Some("a"), 3));
    }
}
