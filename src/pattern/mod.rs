//! The translator's pattern path (`encoding.md` §9.2–§9.11): tokenizing a log's text,
//! clustering it into patterns with wildcards, typing the wildcard values, the eviction
//! score, and `v1` JSON detection. Pure and deterministic: text and
//! [`Timestamp`](crate::Timestamp)s in, plain values out; no clock, no randomness.
//!
//! - [`tokenizer`]: the single-pass tokenizer and type rules of §9.3. Tokens are slices of the
//!   text, so every byte belongs to one token and the tokens concatenate to the text.
//! - [`signature`]: signatures (type names joined by `|`) and their FNV-1a 64 hash (§9.4).
//! - [`cluster`]: patterns and clusters, the §9.5 comparison and merging, the §9.6 template
//!   and offsets.
//! - [`store`]: [`PatternStore`], which owns the clusters and gives pattern ids (from 1, never
//!   reused). [`PatternStore::prepare`] decides without changing anything;
//!   [`PatternStore::commit`] applies; [`PatternStore::add`] does both;
//!   [`PatternStore::remove`] evicts. `prepared` holds [`Prepared`]; `hint` the line keys
//!   that let `prepare` match most logs against their cluster's pattern without tokenizing.
//! - `sketch`: shapes seen too few times for a pattern (`patterns.admission_threshold`).
//! - [`value`]: canonical int64 text (§9.7) and the dynamic-candidate test (§9.8).
//! - [`score`]: the eviction score and order (§9.9).
//! - [`json`]: the JSON scanner and `v1` detection (§9.14).
//! - [`json_v2`]: `v2` detection and flattening into typed columns (§9.13).
//!
//! §9.3–§9.5 are informative: only losslessness and determinism are normative, so changes
//! here change compression, never what a receiver rebuilds.

pub mod cluster;
mod hint;
pub mod json;
pub mod json_v2;
mod prepared;
pub mod score;
pub mod signature;
mod sketch;
pub mod store;
pub mod tokenizer;
pub mod value;

pub use cluster::Pattern;
pub use json::{V1Json, V1Value, detect_v1};
pub use json_v2::{V2Column, V2Json, V2Leaf, detect_v2};
pub use score::{eviction_order, eviction_score, sort_for_eviction};
pub use store::{Change, Match, PatternConfig, PatternError, PatternStore, Prepared};
pub use tokenizer::{Token, TokenType, tokenize, tokenize_into};
pub use value::{WildcardValue, canonical_int64, is_dynamic_candidate, type_wildcard};
