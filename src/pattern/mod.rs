//! The translator's pattern path (`encoding.md` §9.2–§9.11): tokenizing a log's text,
//! clustering it into patterns with wildcards, typing the wildcard values, and the eviction
//! score. Pure and deterministic: text and [`Timestamp`](crate::Timestamp)s in, plain values out.

pub mod cluster;
pub mod json;
pub mod score;
pub mod signature;
pub mod store;
pub mod tokenizer;
pub mod value;

pub use cluster::Pattern;
pub use score::{eviction_order, eviction_score, sort_for_eviction};
pub use store::{Change, Match, PatternConfig, PatternError, PatternStore, Prepared};
pub use tokenizer::{Token, TokenType, tokenize, tokenize_into};
pub use value::{canonical_int64, is_dynamic_candidate};
