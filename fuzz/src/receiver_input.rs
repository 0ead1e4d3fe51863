//! `receiver_input`: a `Receiver` fed arbitrary paths, headers, batch ids and batch bytes on
//! two streams, for both profiles. Checks: no panic; each stream's actions follow the grammar
//! of `tests/receiver_props.rs` (acks, then exactly one `EndStream` with a typed code, then
//! nothing); memory stays bounded (state within `max_state_bytes` per open stream, delivered
//! bytes within the per-batch budget); no state outlives its streams.
//!
//! Input format ([`crate::input`]):
//! - byte `flags`: bit 0 profile (`v1`/`v2`) of the default path; bits 1–2 `dd-content-encoding`
//!   (`zstd`, `gzip`, `identity`, or a chunk of arbitrary text); bit 3 compress each batch's
//!   bytes with that encoding before handing them over (so the fuzzer mutates the protobuf);
//!   bit 4 a chunk of arbitrary path instead of the profile's; bit 5 require `dd-api-key` =
//!   `fuzz-key`; bit 6 `v1_delta_encoding` off; bit 7 extra headers follow.
//! - if bit 7: a count byte (at most 4), then (name chunk, value chunk) pairs, placed before the
//!   standard headers so they can shadow them.
//! - byte `limits`: bit 0 `max_streams` = 1; bits 1–7 `max_json_depth` (1 + value).
//! - then events until the input ends, each an opcode byte: bits 0–2 the kind (0–3 batch,
//!   4 client end, 5 client reset, 6 time passes (a `u16` of ms × 16) and `handle_timeout`,
//!   7 start); bit 3 the stream (1 or 2); bits 4–7 the batch id (15: a `u32` follows). A batch
//!   carries a `u32` length and that many bytes (at most [`MAX_BATCH_BYTES`]).

use std::time::Duration;

use bytes::Bytes;
use stateful_logs::codec::{Compression, ContentEncoding};
use stateful_logs::receiver::{LogBody, Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::{Profile, StreamId, Timestamp};

use crate::input::{Reader, Writer};
use stateful_logs::testing::receiver_grammar::{StreamCheck, check_all_ended, drain};

/// The largest batch taken from the input (libFuzzer's `-max_len` bounds the whole input too).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Small limits keep memory and time per input bounded.
const MAX_DECOMPRESSED_BYTES: usize = 1 << 20;
const MAX_STATE_BYTES: u64 = 1 << 20;
const MAX_DELIVERED_BYTES: u64 = 4 << 20;
/// The API key streams send (and the receiver requires, when asked to).
pub const API_KEY: &str = "fuzz-key";

/// Opcode kinds.
pub const OP_BATCH: u8 = 0;
/// Opcode: the client half-closes.
pub const OP_END: u8 = 4;
/// Opcode: the client resets.
pub const OP_RESET: u8 = 5;
/// Opcode: time passes.
pub const OP_ADVANCE: u8 = 6;
/// Opcode: the stream (re)starts.
pub const OP_START: u8 = 7;

/// Runs one input; panics when an invariant breaks.
pub fn run(data: &[u8]) {
    let mut input = Reader::new(data);
    let flags = input.u8();
    let profile = if flags & 1 == 0 { Profile::V1 } else { Profile::V2 };
    let (header_value, compression) = match (flags >> 1) & 3 {
        0 => ("zstd".to_string(), Some(Compression::zstd(1))),
        1 => ("gzip".to_string(), Some(Compression::gzip(1))),
        2 => ("identity".to_string(), Some(Compression::identity())),
        _ => {
            let text = input.text(64);
            let known = ContentEncoding::from_header(&text).map(|e| match e {
                ContentEncoding::Zstd => Compression::zstd(1),
                ContentEncoding::Gzip => Compression::gzip(1),
                ContentEncoding::Identity => Compression::identity(),
                // Each batch compressed on its own: the first decodes, later ones fail as
                // they must (they lack the stream's history).
                ContentEncoding::ZstdStream => Compression::zstd_stream(1),
            });
            (text, known)
        }
    };
    let compress_here = flags & 8 != 0;
    let path = if flags & 16 != 0 { input.text(256) } else { profile.path().to_string() };
    let mut config =
        if flags & 32 != 0 { ReceiverConfig::with_api_keys([API_KEY]) } else { ReceiverConfig::default() };
    config.v1_delta_encoding = flags & 64 == 0;
    let mut headers = Vec::new();
    if flags & 128 != 0 {
        for _ in 0..input.u8().min(4) {
            headers.push((input.text(64), input.text(256)));
        }
    }
    headers.push(("dd-api-key".to_string(), API_KEY.to_string()));
    headers.push(("dd-content-encoding".to_string(), header_value));
    let limits = input.u8();
    config.max_streams = if limits & 1 != 0 { 1 } else { 2 };
    config.max_json_depth = 1 + usize::from(limits >> 1).min(127);
    config.idle_timeout = Duration::from_secs(60);
    config.max_decompressed_bytes = MAX_DECOMPRESSED_BYTES;
    config.max_state_bytes = MAX_STATE_BYTES;
    config.max_delivered_bytes_per_batch = MAX_DELIVERED_BYTES;
    let Ok(mut r) = Receiver::new(config) else { panic!("the fuzz receiver config is valid") };

    let mut checks = [StreamCheck::new(StreamId(1)), StreamCheck::new(StreamId(2))];
    let mut now = Timestamp(0);
    for check in &mut checks {
        r.handle_stream_start(now, check.stream, &path, &headers);
        let actions = drain(&mut r);
        check.after_start(&actions).unwrap_or_else(|e| panic!("{e}"));
    }
    while !input.is_empty() {
        let opcode = input.u8();
        let check = &mut checks[usize::from((opcode >> 3) & 1)];
        let stream = check.stream;
        let result = match opcode & 7 {
            OP_END => {
                r.handle_client_end(now, stream);
                check.after_client_end(&drain(&mut r))
            }
            OP_RESET => {
                r.handle_client_reset(now, stream);
                check.after_client_reset(&drain(&mut r))
            }
            OP_ADVANCE => {
                now = now.add_millis(u64::from(input.u16()) * 16);
                r.handle_timeout(now);
                let actions = drain(&mut r);
                // A timeout may end both streams: check each one's share.
                checks.iter_mut().try_for_each(|c| {
                    let own: Vec<ReceiverAction> =
                        actions.iter().filter(|a| stream_of(a) == c.stream).cloned().collect();
                    c.after_timeout(&own)
                })
            }
            OP_START => {
                r.handle_stream_start(now, stream, &path, &headers);
                check.after_start(&drain(&mut r))
            }
            _ => {
                let batch_id = match opcode >> 4 {
                    15 => input.u32(),
                    small => u32::from(small),
                };
                let len = usize::try_from(input.u32()).unwrap_or(usize::MAX).min(MAX_BATCH_BYTES);
                let payload = input.bytes(len);
                let data = match &compression {
                    Some(c) if compress_here => match c.compress(payload) {
                        Ok(compressed) => Bytes::from(compressed),
                        Err(e) => panic!("compressing {} bytes failed: {e}", payload.len()),
                    },
                    _ => Bytes::copy_from_slice(payload),
                };
                r.handle_batch(now, stream, batch_id, data);
                let actions = drain(&mut r);
                check_delivered(&actions);
                check.after_batch(batch_id, &actions)
            }
        };
        if let Err(violation) = result {
            panic!("{violation}");
        }
        let bound = MAX_STATE_BYTES * r.open_streams() as u64;
        assert!(r.metrics().state_bytes <= bound, "state {} over {bound}", r.metrics().state_bytes);
    }
    for check in &mut checks {
        r.handle_client_reset(now, check.stream);
        check.after_client_reset(&drain(&mut r)).unwrap_or_else(|e| panic!("{e}"));
    }
    check_all_ended(&r).unwrap_or_else(|e| panic!("{e}"));
}

fn stream_of(action: &ReceiverAction) -> StreamId {
    match action {
        ReceiverAction::Deliver { stream, .. }
        | ReceiverAction::SendStatus { stream, .. }
        | ReceiverAction::EndStream { stream, .. } => *stream,
    }
}

/// A delivered batch's text stays within the per-batch delivery budget.
fn check_delivered(actions: &[ReceiverAction]) {
    for action in actions {
        if let ReceiverAction::Deliver { logs, .. } = action {
            let text: u64 = logs
                .iter()
                .map(|l| match &l.body {
                    LogBody::Text(bytes) => bytes.len() as u64,
                    LogBody::Json(_) => 0,
                })
                .sum();
            assert!(text <= MAX_DELIVERED_BYTES, "delivered {text} bytes in one batch");
        }
    }
}

/// A seed: a stream of `profile` with the real `encoding` header whose batches are `batches`
/// (already compressed), sent in order on stream 1, then a half-close.
pub fn seed(profile: Profile, encoding: ContentEncoding, batches: &[(u32, Bytes)]) -> Vec<u8> {
    let encoding_bits = match encoding {
        ContentEncoding::Zstd => 0,
        ContentEncoding::Gzip => 1,
        ContentEncoding::Identity => 2,
        // The header as text: the stream's batches are given already compressed.
        ContentEncoding::ZstdStream => 3,
    };
    let mut w = Writer::new();
    w.u8(u8::from(profile == Profile::V2) | (encoding_bits << 1));
    if encoding_bits == 3 {
        w.chunk(encoding.header_value().as_bytes());
    }
    w.u8(31 << 1); // max_json_depth 32, two streams
    for (batch_id, data) in batches {
        w.u8(OP_BATCH | 0xF0).u32(*batch_id).u32(data.len() as u32).bytes(data);
    }
    w.u8(OP_END);
    w.out
}
