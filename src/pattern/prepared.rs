//! [`Prepared`]: a log matched against the pattern store but not committed yet (see the
//! `store` module docs).

use std::cell::OnceCell;

use super::cluster::Definition;
use super::sketch::SketchMatch;
use super::tokenizer::{Token, tokenize};

/// A log matched against the store but not committed yet (see the `store` module docs).
#[derive(Clone, Debug)]
pub struct Prepared<'t> {
    pub(super) text: &'t str,
    /// The log's tokens; left empty by the fast path until someone asks for them.
    pub(super) tokens: OnceCell<Vec<Token<'t>>>,
    pub(super) signature_hash: u64,
    pub(super) decision: Decision,
    /// The log's line key (`hint` module): committing remembers its cluster under it.
    pub(super) line_key: u64,
    /// Set when the fast path matched the log (then `tokens` starts empty).
    pub(super) fast: Option<FastMatch<'t>>,
}

/// What the fast path learned while matching: all that committing needs.
#[derive(Clone, Debug)]
pub(super) struct FastMatch<'t> {
    /// The log's values for its pattern.
    pub(super) values: Vec<&'t str>,
    /// The first token's length (for first-word protection).
    pub(super) first_len: usize,
    /// The matched pattern's cluster slot and wildcard count: the values hold while the
    /// pattern is there with as many wildcards (a definition only ever gains wildcards).
    pub(super) slot: usize,
    pub(super) wildcards: usize,
}

#[derive(Clone, Debug)]
pub(super) enum Decision {
    /// Use this pattern; with a definition when it gains wildcards. (Definitions are boxed:
    /// most logs need none, and a smaller `Prepared` is cheaper to move.)
    Existing { pattern_id: u64, widened: Option<Box<Definition>> },
    /// Create a pattern from the tokens.
    New,
    /// No pattern yet: the log goes raw and its sketch learns from it.
    Deferred(SketchMatch),
    /// Create a pattern from a sketch, widened by the log.
    Promote { sketch: Option<u64>, definition: Box<Definition> },
}

impl<'t> Prepared<'t> {
    /// What committing will do to the pattern.
    pub fn change(&self) -> Change {
        match &self.decision {
            Decision::Existing { widened: None, .. } => Change::NoChange,
            Decision::Existing { widened: Some(_), .. } => Change::Updated,
            Decision::New | Decision::Promote { .. } => Change::New,
            Decision::Deferred(_) => Change::Deferred,
        }
    }

    /// The existing pattern the log will use; `None` for a new one (its id is assigned when
    /// committed: [`PatternStore::next_pattern_id`](super::PatternStore::next_pattern_id)).
    pub fn pattern_id(&self) -> Option<u64> {
        match &self.decision {
            Decision::Existing { pattern_id, .. } => Some(*pattern_id),
            Decision::New | Decision::Deferred(_) | Decision::Promote { .. } => None,
        }
    }

    /// The template and offsets the pattern will have when it is new or updated (the
    /// `PatternDefine` to be sent); `None` when it does not change.
    pub fn definition(&self) -> Option<(&str, &[u32])> {
        match &self.decision {
            Decision::Existing { widened: Some(definition), .. } => {
                Some((&definition.wire.template, &definition.wire.pos_list))
            }
            Decision::Existing { widened: None, .. } | Decision::Deferred(_) => None,
            Decision::New => Some((self.text, &[])),
            Decision::Promote { definition, .. } => {
                Some((&definition.wire.template, &definition.wire.pos_list))
            }
        }
    }

    /// The log's tokens (tokenized on first use when the fast path matched it).
    pub fn tokens(&self) -> &[Token<'t>] {
        self.tokens.get_or_init(|| tokenize(self.text))
    }

    /// The log's text.
    pub fn text(&self) -> &'t str {
        self.text
    }

    /// Whether the fast path matched the log (see [`PatternStore::prepare`](super::PatternStore::prepare)).
    pub fn matched_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// The log's tokens, moved out (tokenized now when the fast path left them empty).
    pub(super) fn take_tokens(&mut self) -> Vec<Token<'t>> {
        self.tokens.take().unwrap_or_else(|| tokenize(self.text))
    }
}

/// What adding a log did to its pattern (§9.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// A new pattern was created: its `PatternDefine` must be sent.
    New,
    /// An existing pattern gained wildcards: its `PatternDefine` must be sent again, same id.
    Updated,
    /// The log matched a pattern as it is.
    NoChange,
    /// No pattern: the log's shape was seen too few times, so the log goes raw.
    Deferred,
}

impl Change {
    /// Whether the pattern's define must be sent for this log.
    pub fn needs_define(self) -> bool {
        matches!(self, Change::New | Change::Updated)
    }
}
