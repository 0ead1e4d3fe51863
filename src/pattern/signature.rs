//! Cluster signatures (`encoding.md` §9.4): the token type names joined by `|`.

use std::hash::{BuildHasherDefault, Hasher};

use super::tokenizer::{Token, TokenType};

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a 64 over `bytes`, continuing from `hash`.
pub fn fnv1a64_extend(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// FNV-1a 64 of `bytes` (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_extend(FNV_OFFSET_BASIS, bytes)
}

/// The FNV-1a 64 hash of the signature of `types`, computed without building the string.
pub fn signature_hash(types: impl IntoIterator<Item = TokenType>) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    for (i, kind) in types.into_iter().enumerate() {
        if i > 0 {
            hash = fnv1a64_extend(hash, b"|");
        }
        hash = fnv1a64_extend(hash, kind.name().as_bytes());
    }
    hash
}

/// The key the pattern store indexes clusters by: a multiply-rotate hash of the type numbers,
/// about twenty times cheaper per token than [`signature_hash`] (FNV over each type's name,
/// byte by byte). Equal sequences have equal keys; lookups then compare whole sequences.
pub(crate) fn type_sequence_key(types: impl IntoIterator<Item = TokenType>) -> u64 {
    const SEED: u64 = 0x243f_6a88_85a3_08d3;
    const MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;
    let hash = types
        .into_iter()
        .fold(SEED, |h, kind| (h.rotate_left(5) ^ u64::from(kind.number())).wrapping_mul(MULTIPLIER));
    // The map takes its bucket from the low bits: fold the well-mixed high half into them.
    hash ^ (hash >> 32)
}

/// The signature text of `types`: their names joined by `|` (empty for no tokens).
pub fn signature_text(types: impl IntoIterator<Item = TokenType>) -> String {
    let mut text = String::new();
    for (i, kind) in types.into_iter().enumerate() {
        if i > 0 {
            text.push('|');
        }
        text.push_str(kind.name());
    }
    text
}

/// A signature, kept as its type sequence: names never contain `|`, so two signatures are
/// equal as strings exactly when their type sequences are equal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    types: Box<[TokenType]>,
    hash: u64,
}

impl Signature {
    /// The signature of `tokens`.
    pub fn of(tokens: &[Token<'_>]) -> Self {
        let types: Box<[TokenType]> = tokens.iter().map(|t| t.kind).collect();
        let hash = signature_hash(types.iter().copied());
        Signature { types, hash }
    }

    /// The token types, one per pattern position.
    pub fn types(&self) -> &[TokenType] {
        &self.types
    }

    /// The FNV-1a 64 hash of the signature text.
    pub fn hash(&self) -> u64 {
        self.hash
    }

    /// The signature text, e.g. `Word|Whitespace|Numeric`.
    pub fn text(&self) -> String {
        signature_text(self.types.iter().copied())
    }

    /// Whether `tokens` have exactly this signature.
    pub fn matches(&self, tokens: &[Token<'_>]) -> bool {
        self.types.len() == tokens.len() && self.types.iter().zip(tokens).all(|(k, t)| *k == t.kind)
    }
}

/// A hasher for keys that are already hashes ([`type_sequence_key`]): passes the `u64`
/// through, so cluster lookup does not hash twice. Deterministic (no random state).
#[derive(Default)]
pub(crate) struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for the keys; fold anything else in FNV style.
        self.0 = fnv1a64_extend(self.0 ^ FNV_OFFSET_BASIS, bytes);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// `BuildHasher` for maps keyed by signature hashes.
pub(crate) type BuildPrehashed = BuildHasherDefault<PrehashedHasher>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::tokenizer::tokenize;

    #[test]
    fn fnv1a64_matches_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn signature_is_type_names_joined_by_bar() {
        let tokens = tokenize("GET /a 200 10.0.0.1");
        let signature = Signature::of(&tokens);
        let text = signature.text();
        assert_eq!(text, "HTTPMethod|Whitespace|AbsolutePath|Whitespace|HTTPStatus|Whitespace|IPv4");
        assert_eq!(signature.hash(), fnv1a64(text.as_bytes()));
        assert!(signature.matches(&tokenize("PUT /b 404 10.0.0.2")));
        assert!(!signature.matches(&tokenize("PUT /b 404")));
    }

    #[test]
    fn type_sequence_keys_follow_the_type_sequence() {
        let key = |text| type_sequence_key(tokenize(text).iter().map(|t| t.kind));
        assert_eq!(key("GET /a 200"), key("PUT /b 404"));
        assert_ne!(key("GET /a 200"), key("200 /a GET"));
        assert_ne!(key("GET /a 200"), key("GET /a"));
    }

    #[test]
    fn empty_signature_is_the_empty_string() {
        let signature = Signature::of(&[]);
        assert_eq!(signature.text(), "");
        assert_eq!(signature.hash(), fnv1a64(b""));
    }
}
