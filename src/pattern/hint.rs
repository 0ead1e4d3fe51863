//! Cluster hints: the store's fast path (see [`PatternStore::prepare`]).
//!
//! Tokenizing a log, classifying every token and looking its signature up costs most of the
//! pattern path, yet most logs match the most recently matched pattern of a cluster seen
//! before, unchanged. A log's *line key* (its punctuation and whitespace, and whether each
//! alphanumeric run starts with a digit) is nearly always the same for the logs of one
//! pattern and cheap to compute in one pass over the bytes. A small direct-mapped table
//! remembers, per line key, the cluster the last log with that key went to; the store then
//! checks the log against that cluster's first pattern while stepping through its tokens
//! (`Pattern::match_text`), and falls back to the full path on any difference.
//!
//! A hint is only a guess: a wrong, stale or colliding one costs a failed check, never a
//! different decision, since the check accepts exactly what the full path would decide.
//!
//! [`PatternStore::prepare`]: super::PatternStore::prepare

use super::tokenizer::is_word_byte;

/// Table entries (a power of two): more than the patterns a pool holds by default (700),
/// so that distinct keys seldom share one.
const HINT_SLOTS: usize = 1024;

const KEY_MULTIPLIER: u64 = 0x9e37_79b9_7f4a_7c15;

/// The line key of `text` (see the module docs).
pub(crate) fn line_key(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut hash = 0x243f_6a88_85a3_08d3u64;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if WORD_BYTES[usize::from(b)] {
            // Digits and letters start different runs: `task 78` is not `task done`.
            let start = if b.is_ascii_digit() { 1 } else { 2 };
            hash = (hash.rotate_left(5) ^ start).wrapping_mul(KEY_MULTIPLIER);
            // The run itself is skipped in a tight loop: most bytes of a log are in one. Like
            // a compound token, it goes on over `.-/:@+` before another word byte, so that
            // host names, addresses and times give one key whatever their punctuation.
            i += 1;
            loop {
                i += bytes[i..].iter().position(|&c| !WORD_BYTES[usize::from(c)]).unwrap_or(bytes.len() - i);
                match bytes.get(i..i + 2) {
                    Some(&[join, next]) if is_join_byte(join) && WORD_BYTES[usize::from(next)] => i += 2,
                    _ => break,
                }
            }
        } else {
            hash = (hash.rotate_left(5) ^ u64::from(b)).wrapping_mul(KEY_MULTIPLIER);
            i += 1;
        }
    }
    hash ^ (hash >> 29)
}

fn is_join_byte(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'/' | b':' | b'@' | b'+')
}

/// [`is_word_byte`] for every byte value, so the key's loop does one load per byte.
static WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = is_word_byte(i as u8);
        i += 1;
    }
    table
};

/// Line key → the cluster slot its last log went to; direct-mapped, so bounded, and a
/// newer key simply replaces an older one in its entry.
#[derive(Debug)]
pub(crate) struct Hints {
    /// Per entry: the full key and the cluster slot + 1 (0 = empty).
    entries: Box<[(u64, u32)]>,
    /// Mixed into the index, so that crafted text cannot predict which keys share an entry.
    seed: u64,
}

impl Hints {
    pub(crate) fn new(seed: u64) -> Self {
        Hints { entries: vec![(0, 0); HINT_SLOTS].into_boxed_slice(), seed }
    }

    fn index(&self, key: u64) -> usize {
        let mixed = (key ^ self.seed).wrapping_mul(KEY_MULTIPLIER);
        (mixed >> 32) as usize & (HINT_SLOTS - 1)
    }

    /// The cluster slot remembered for `key`.
    pub(crate) fn get(&self, key: u64) -> Option<usize> {
        let (stored, slot) = self.entries[self.index(key)];
        (stored == key && slot > 0).then(|| slot as usize - 1)
    }

    /// Remembers that the last log with line key `key` went to cluster `slot`.
    pub(crate) fn remember(&mut self, key: u64, slot: usize) {
        let Ok(slot) = u32::try_from(slot + 1) else { return };
        let index = self.index(key);
        self.entries[index] = (key, slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_keys_follow_punctuation_and_run_starts() {
        assert_eq!(line_key("user 42 in from 10.0.0.1"), line_key("user 7 in from 10.1.2.3"));
        assert_eq!(line_key("héllo 1"), line_key("hallo 2"));
        assert_eq!(line_key("from a-1.b.net at 10:01"), line_key("from c.net at 10:01:02.5"));
        assert_ne!(line_key("task 78"), line_key("task done"));
        assert_ne!(line_key("a b"), line_key("a  b"));
        assert_ne!(line_key("a=b"), line_key("a:b"));
    }

    #[test]
    fn hints_remember_the_last_slot_per_key() {
        let mut hints = Hints::new(7);
        assert_eq!(hints.get(5), None);
        hints.remember(5, 0);
        hints.remember(9, 3);
        assert_eq!((hints.get(5), hints.get(9)), (Some(0), Some(3)));
        hints.remember(5, 2);
        assert_eq!(hints.get(5), Some(2));
        // A key sharing an entry replaces the older one; the older then misses.
        let other = (1..).find(|&k| k != 5 && hints.index(k) == hints.index(5)).unwrap();
        hints.remember(other, 1);
        assert_eq!((hints.get(other), hints.get(5)), (Some(1), None));
    }
}
