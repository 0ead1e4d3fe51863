//! `roundtrip`: arbitrary records, batch boundaries, stream failures, rotations and codecs
//! through a `Pipeline` and a `Receiver` (the world of `tests/roundtrip.rs`); the delivered
//! records must equal the input records (`encoding.md` §10.1, §10.2), with
//! `stateful_logs::testing::round_trip::run_round_trip` doing the checking.
//!
//! Input format ([`crate::input`]):
//! - byte `flags`: bit 0 profile; bits 1–2 compression (`zstd` 1, `gzip` 6, identity, `zstd-stream` 1);
//!   bit 3 `v1_delta_encoding`; bit 4 `send_deletes`; bit 5 raw mode (patterns off);
//!   bit 6 `json_as_raw`.
//! - byte `max_batch_items` (1 + value % 4, or 1,000 when ≥ 128); byte `state_max_bytes`
//!   (0: 8 MiB, else 120 + 2 × value); byte `dictionary.max_entries` (1 + value % 20).
//! - then events, each an opcode byte (value % 22): 0–11 a record, 12 flush, 13–15 pump,
//!   16–18 deliver acks, 19 break the stream, 20–21 time passes (a `u16` of ms; 21: × 16).
//! - a record: a timestamp kind byte (0: 1.7e12 + `u16`, 1: an arbitrary `i64`, 2: `i64::MIN`,
//!   3: `i64::MAX`, other: 1.7e12), a presence byte (bit i: status, service, hostname, source,
//!   uuid), one chunk per present field, a tag count byte (at most 4) and one chunk per tag,
//!   then the content chunk (at most [`MAX_CONTENT`] bytes).

use bytes::Bytes;
use stateful_logs::codec::Compression;
use stateful_logs::{PipelineConfig, Profile, Record};

use crate::input::{Reader, Writer};
use stateful_logs::testing::round_trip::{Op, base_config, run_round_trip};

/// The longest record content read (above `max_batch_bytes`, so drops are exercised).
pub const MAX_CONTENT: usize = 4096;
/// The most events one input runs (bounds time per input).
const MAX_EVENTS: usize = 200;
const BASE_TS: i64 = 1_700_000_000_000;

/// The opcode of a record.
pub const OP_RECORD: u8 = 0;
/// Opcode: flush.
pub const OP_FLUSH: u8 = 12;
/// Opcode: move every batch the stream takes to the receiver.
pub const OP_PUMP: u8 = 13;
/// Opcode: hand the receiver's acks to the client.
pub const OP_ACKS: u8 = 16;

/// The pipeline configuration the header bytes describe.
pub fn config(input: &mut Reader<'_>) -> PipelineConfig {
    let flags = input.u8();
    let profile = if flags & 1 == 0 { Profile::V1 } else { Profile::V2 };
    let mut c = base_config(profile);
    c.transport.compression = match (flags >> 1) & 3 {
        0 => Compression::zstd(1),
        1 => Compression::gzip(6),
        2 => Compression::identity(),
        _ => Compression::zstd_stream(1),
    };
    c.v1_delta_encoding = flags & 8 != 0;
    c.send_deletes = flags & 16 != 0;
    c.translator.patterns.enabled = flags & 32 == 0;
    c.translator.patterns.json_as_raw = flags & 64 != 0;
    let items = input.u8();
    c.max_batch_items = if items >= 128 { 1000 } else { 1 + u32::from(items % 4) };
    c.max_batch_bytes = 2048;
    c.transport.inflight_capacity = 4;
    c.transport.stream_lifetime = std::time::Duration::from_secs(20);
    let state = input.u8();
    c.translator.state_max_bytes = if state == 0 { 8 * 1024 * 1024 } else { 120 + 2 * u64::from(state) };
    c.translator.dictionary.max_entries = 1 + usize::from(input.u8() % 20);
    c
}

fn optional(input: &mut Reader<'_>, present: bool) -> Option<String> {
    present.then(|| input.text(64))
}

fn record(input: &mut Reader<'_>) -> Record {
    let timestamp_ms = match input.u8() {
        0 => BASE_TS + i64::from(input.u16()),
        1 => input.u64() as i64,
        2 => i64::MIN,
        3 => i64::MAX,
        _ => BASE_TS,
    };
    let present = input.u8();
    let status = optional(input, present & 1 != 0);
    let service = optional(input, present & 2 != 0);
    let hostname = optional(input, present & 4 != 0);
    let source = optional(input, present & 8 != 0);
    let uuid = optional(input, present & 16 != 0);
    let tags = (0..input.u8().min(4)).map(|_| input.text(64)).collect();
    let content = Bytes::copy_from_slice(input.chunk(MAX_CONTENT));
    Record { timestamp_ms, content, status, service, hostname, source, tags, uuid, ack_token: None }
}

/// Runs one input; panics when the round trip loses or changes a record.
pub fn run(data: &[u8]) {
    let mut input = Reader::new(data);
    let config = config(&mut input);
    let mut ops = Vec::new();
    while !input.is_empty() && ops.len() < MAX_EVENTS {
        let op = match input.u8() % 22 {
            0..=11 => Op::Record(record(&mut input)),
            OP_FLUSH => Op::Flush,
            13..=15 => Op::Pump,
            16..=18 => Op::Acks,
            19 => Op::Fail,
            20 => Op::Advance(u64::from(input.u16())),
            _ => Op::Advance(u64::from(input.u16()) * 16),
        };
        ops.push(op);
    }
    run_round_trip(config, ops);
}

/// A seed: `records` (text with the usual metadata) in a `profile` pipeline with default
/// batching and zstd, pumped and acked every `every` records.
pub fn seed(profile: Profile, records: &[Record], every: usize) -> Vec<u8> {
    let mut w = Writer::new();
    w.u8(u8::from(profile == Profile::V2) | 8).u8(200).u8(0).u8(19);
    for (i, r) in records.iter().enumerate() {
        w.u8(OP_RECORD).u8(0).u16((r.timestamp_ms - BASE_TS).clamp(0, 65_535) as u16);
        let fields = [&r.status, &r.service, &r.hostname, &r.source, &r.uuid];
        let present = fields.iter().enumerate().fold(0u8, |acc, (i, f)| acc | (u8::from(f.is_some()) << i));
        w.u8(present);
        for f in fields.into_iter().flatten() {
            w.chunk(f.as_bytes());
        }
        w.u8(r.tags.len().min(4) as u8);
        for t in r.tags.iter().take(4) {
            w.chunk(t.as_bytes());
        }
        w.chunk(&r.content);
        if (i + 1) % every == 0 {
            w.u8(OP_PUMP).u8(OP_ACKS);
        }
    }
    w.u8(OP_FLUSH).u8(OP_PUMP).u8(OP_ACKS);
    w.out
}
