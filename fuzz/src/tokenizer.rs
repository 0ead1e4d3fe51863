//! `tokenizer`: arbitrary text through `pattern::tokenize` and a `PatternStore`. Checks: no
//! panic; the tokens concatenate to the input and none is empty; `tokenize_into` agrees with
//! `tokenize`; every token's type is what `classify` says for its text alone... only for
//! tokens the rules classify context-free, so that is not asserted; and the store rebuilds
//! each line from its template and values (`encoding.md` §9.2).
//!
//! Input: the bytes as UTF-8 (invalid sequences replaced), one line per `\n`.

use stateful_logs::Timestamp;
use stateful_logs::pattern::{Change, PatternConfig, PatternStore, tokenize, tokenize_into};

/// The most lines one input adds to the store.
const MAX_LINES: usize = 200;

/// Template insertion (`wire.md` §9.4), as `tests/pattern_lossless.rs` does it.
fn insert(template: &str, pos_list: &[u32], values: &[&str]) -> Option<String> {
    let mut text = String::new();
    let mut previous = 0;
    for (&pos, value) in pos_list.iter().zip(values) {
        text.push_str(template.get(previous..pos as usize)?);
        text.push_str(value);
        previous = pos as usize;
    }
    text.push_str(template.get(previous..)?);
    Some(text)
}

/// Runs one input; panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let tokens = tokenize(&text);
    let joined: String = tokens.iter().map(|t| t.text).collect();
    assert_eq!(joined, text, "the tokens concatenate to the input");
    assert!(tokens.iter().all(|t| !t.text.is_empty()), "no empty token");
    let mut reused = vec![];
    tokenize_into("warm up the buffer", &mut reused);
    tokenize_into(&text, &mut reused);
    assert_eq!(reused, tokens, "tokenize_into agrees with tokenize");

    // The project's defaults: nearby wildcards merged, a shape's pattern on its third log.
    let config = PatternConfig {
        max_patterns_per_cluster: 3,
        pattern_scan_budget: 2,
        value_merge_gap: Some(1),
        admission_threshold: 3,
        max_sketches: 4,
        ..PatternConfig::default()
    };
    let mut store = PatternStore::new(config);
    for (i, line) in text.split('\n').take(MAX_LINES).enumerate() {
        let Ok(m) = store.add(line, Timestamp(i as u64)) else { continue };
        if m.change == Change::Deferred {
            continue; // no pattern yet: the line goes raw
        }
        assert_eq!(m.pos_list.len(), m.values.len(), "one value per offset");
        let rebuilt = insert(m.template, m.pos_list, &m.values);
        assert_eq!(rebuilt.as_deref(), Some(line), "template + values rebuild the line");
    }
}

/// A seed: these lines as text.
pub fn seed(lines: &[&[u8]]) -> Vec<u8> {
    lines.join(&b'\n')
}
