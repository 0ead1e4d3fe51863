//! `translator_lossless`: arbitrary bytes, split into lines, through the translator (patterns
//! and dictionary on, with small bounds so that eviction, deletes and raw fallbacks run), the
//! wire encoder and a `Receiver`: every line must come back with exactly its bytes
//! (`encoding.md` §9.2, §10.1; a line sent as a JSON log must be the same JSON value).
//!
//! Input format ([`crate::input`]): byte `flags` (bit 0 profile; bit 1 `json_as_raw`; bit 2
//! `v1_delta_encoding`; bit 3 `send_deletes`; bits 4–7 pump and ack every 1 + value lines),
//! byte `patterns.max_pattern_count` (2 + value), byte `dictionary.max_entries` (1 + value),
//! byte `state_max_bytes` (0: 8 MiB, else 64 × value), byte `patterns.max_template_bytes`
//! (0: default, else 8 × value); the rest is the text, one record per `\n`-separated line
//! (kept byte for byte: no `\r` stripping, empty lines included).

use std::time::Duration;

use bytes::Bytes;
use stateful_logs::codec::Compression;
use stateful_logs::{Profile, Record};

use crate::input::{Reader, Writer};
use stateful_logs::testing::round_trip::{Op, base_config, run_round_trip};

/// The most lines one input sends (bounds time per input).
const MAX_LINES: usize = 400;

/// Runs one input; panics when a line does not come back exactly.
pub fn run(data: &[u8]) {
    let mut input = Reader::new(data);
    let flags = input.u8();
    let profile = if flags & 1 == 0 { Profile::V1 } else { Profile::V2 };
    let mut c = base_config(profile);
    c.transport.compression = Compression::identity();
    c.translator.patterns.enabled = true;
    c.translator.patterns.json_as_raw = flags & 2 != 0;
    c.v1_delta_encoding = flags & 4 != 0;
    c.send_deletes = flags & 8 != 0;
    let every = 1 + usize::from(flags >> 4);
    c.translator.patterns.max_pattern_count = 2 + usize::from(input.u8());
    // No grace period, so that count eviction runs within the short runs.
    c.translator.patterns.eviction_grace_period = Duration::ZERO;
    c.translator.dictionary.max_entries = 1 + usize::from(input.u8());
    let state = input.u8();
    c.translator.state_max_bytes = if state == 0 { 8 * 1024 * 1024 } else { 64 * u64::from(state) };
    let template = input.u8();
    if template != 0 {
        c.translator.patterns.max_template_bytes = 8 * usize::from(template);
    }
    c.max_batch_items = 64;
    c.max_batch_bytes = 64 * 1024;
    c.transport.inflight_capacity = 8;
    let mut ops = Vec::new();
    for (i, line) in input.rest().split(|&b| b == b'\n').take(MAX_LINES).enumerate() {
        ops.push(Op::Record(Record::new(1_700_000_000_000 + i as i64, Bytes::copy_from_slice(line))));
        if (i + 1) % every == 0 {
            ops.push(Op::Pump);
            ops.push(Op::Acks);
            ops.push(Op::Advance(1_000));
        }
    }
    run_round_trip(c, ops);
}

/// A seed: these lines, `profile`, default bounds but a small pattern pool and dictionary.
pub fn seed(profile: Profile, lines: &[&[u8]]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(u8::from(profile == Profile::V2) | 4 | (7 << 4)).u8(14).u8(15).u8(0).u8(0);
    w.bytes(&lines.join(&b'\n'));
    w.out
}
