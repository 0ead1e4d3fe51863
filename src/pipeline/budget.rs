//! The memory budget of a pipeline (spec README, Amendment 1) and the sizes it counts.
//!
//! One byte budget covers everything a client holds for a pipeline: the records queued in
//! front of the core (counted by the driver, with [`queued_cost`]), the open batch, the
//! inflight batches as the tracker holds them, and the stream compression context. The core
//! admits a record only when its worst-case size still fits, so the accounted bytes never
//! exceed the budget; a full budget is backpressure (`Rejected { Full }`), never a drop.
//!
//! The same worst-case size bounds a batch's serialized length, which is how batches stay
//! under `max_message_bytes` whatever the codec (Amendment 2).

use std::mem::size_of;

use crate::codec::ladder::{LADDER, Rung};
use crate::codec::{Compression, ContentEncoding, stream};
use crate::datum::{Datum, JsonFields, JsonV2, LogContent, LogDatum, StateChange, StringRef, Value};
use crate::record::Record;

/// What a record costs in the open batch beyond its bytes: the datum itself and framing.
pub const RECORD_OVERHEAD: u64 = size_of::<Datum>() as u64 + 32;
/// What a batch costs in the tracker beyond its bytes: the entry, its vectors, the frame.
pub const BATCH_OVERHEAD: u64 = 512;

/// The default budget: 64 MiB per pipeline. Measured: with the intake down, a producer
/// sending 200-byte records fills it in well under a second, and the process stays within
/// the budget plus the runtime's own few MiB (see `docs/reliability.md`).
pub const DEFAULT_MAX_BUFFER_BYTES: u64 = 64 * 1024 * 1024;

/// The metadata bytes of a record (strings only; the tag string is built from these).
fn metadata_len(record: &Record) -> u64 {
    let strings = [&record.status, &record.service, &record.hostname, &record.source, &record.uuid];
    let optional: usize = strings.iter().map(|s| s.as_ref().map_or(0, String::len)).sum();
    let tags: usize = record.tags.iter().map(|t| t.len() + 1).sum();
    (optional + tags + 64) as u64
}

/// What a record costs while it waits in a driver's queue, before the core has it.
pub fn queued_cost(record: &Record) -> u64 {
    record.content.len() as u64 + metadata_len(record) + size_of::<Record>() as u64
}

/// How much a record's content may grow once encoded, by how it is encoded: raw valid UTF-8
/// text goes as it is; escaped bytes take up to four bytes each (`\xNN`); a pattern or a JSON
/// schema splits the text into values (each with its own framing and memory) and may define a
/// template or key paths of the same length.
pub fn content_factor(record: &Record, structured: bool) -> u64 {
    if structured {
        8
    } else if std::str::from_utf8(&record.content).is_ok() {
        1
    } else {
        4
    }
}

/// An upper bound of what `record`'s datums (deletes, defines, log) cost, in memory and in
/// serialized bytes, known before it is translated. `structured` says whether the translator
/// may split its content (patterns, or JSON schemas in `v2`).
pub fn admission_bound(record: &Record, structured: bool) -> u64 {
    let content = record.content.len() as u64 * content_factor(record, structured);
    // The log's metadata, plus a define of the tag string, the status and the service, and
    // a few deletes of what they evict.
    content + 4 * metadata_len(record) + 8 * RECORD_OVERHEAD
}

/// What the datums a record produced cost (an upper bound of their serialized size too).
pub fn datums_cost(datums: &[Datum]) -> u64 {
    datums.iter().map(datum_cost).sum()
}

fn datum_cost(datum: &Datum) -> u64 {
    match datum {
        Datum::State(change) => state_change_cost(change),
        Datum::Log(log) => log_cost(log),
    }
}

/// A define or delete, as held in a batch and in the tracker's state changes.
pub fn state_change_cost(change: &StateChange) -> u64 {
    size_of::<StateChange>() as u64
        + match change {
            StateChange::PatternDefine(p) => p.template.len() as u64 + 8 * p.pos_list.len() as u64,
            StateChange::DictDefine(d) => d.value.len() as u64,
            StateChange::SchemaDefine(s) => 11 * s.keys.len() as u64 + s.value_kinds.len() as u64 + 11,
            StateChange::PatternDelete(_) | StateChange::DictDelete(_) | StateChange::SchemaDelete(_) => 0,
        }
}

fn log_cost(log: &LogDatum) -> u64 {
    let string_ref = |s: &Option<StringRef>| match s {
        Some(StringRef::Inline(s)) => s.len() as u64 + 8,
        _ => 0,
    };
    let body = match &log.content {
        LogContent::Raw(text) => text.len() as u64,
        LogContent::RawJson { message, json } => message.len() as u64 + json_v2_cost(json),
        LogContent::Pattern { values, json, .. } => {
            values.iter().map(value_cost).sum::<u64>()
                + match json.as_deref() {
                    None => 0,
                    Some(JsonFields::V1(v1)) => {
                        value_cost(&v1.message_key) + 11 + v1.values.iter().map(value_cost).sum::<u64>()
                    }
                    Some(JsonFields::V2(v2)) => json_v2_cost(v2),
                }
        }
    };
    RECORD_OVERHEAD
        + body
        + string_ref(&log.status)
        + string_ref(&log.service)
        + string_ref(&log.tags)
        + log.uuid.as_ref().map_or(0, |u| u.len() as u64 + 8)
}

fn value_cost(value: &Value) -> u64 {
    size_of::<Value>() as u64
        + match value {
            Value::Str(s) | Value::RawJson(s) => s.len() as u64,
            _ => 0,
        }
}

fn json_v2_cost(json: &JsonV2) -> u64 {
    let text = |column: &crate::datum::TextColumn| column.iter().map(|v| v.len() as u64 + 6).sum::<u64>();
    size_of::<JsonV2>() as u64
        + 11 * (json.ints.len() + json.floats.len() + json.dicts.len()) as u64
        + text(&json.raws)
        + text(&json.strings)
        + json.bools.len() as u64
        + 64
}

/// The memory of a `zstd-stream` compression context: measured for the fixed level, or the
/// largest rung of the adaptive ladder (see [`crate::codec::stream::context_bytes`]); an
/// estimate if zstd refuses the parameters (validation reports that). Per-batch codecs keep
/// no context between batches.
///
/// Measuring builds a throwaway context per rung (about 0.3 ms for the ladder), and every
/// Pipeline asks twice (validation, construction): a fleet simulation builds thousands. The
/// answer depends only on the linked zstd and the key, so it is measured once per process.
pub fn context_bytes(compression: &Compression) -> u64 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock, PoisonError};
    /// (fixed level, or `None` for the ladder; window log) → bytes.
    type Measured = HashMap<(Option<i32>, u8), u64>;
    static MEASURED: OnceLock<Mutex<Measured>> = OnceLock::new();

    if compression.encoding != ContentEncoding::ZstdStream {
        return 0;
    }
    // The ladder (adaptive) or one fixed level, and the window.
    let key = (compression.cpu_budget.is_none().then_some(compression.level), compression.window_log);
    let cache = MEASURED.get_or_init(Mutex::default);
    if let Some(&bytes) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return bytes;
    }
    let rungs: &[Rung] = match key.0 {
        None => &LADDER,
        Some(level) => &[Rung::fixed(level)],
    };
    let window = 1u64 << compression.window_log.min(31);
    let bytes = rungs
        .iter()
        .map(|&rung| stream::context_bytes(rung, compression.window_log).unwrap_or(2 * window + (64 << 20)))
        .max()
        .unwrap_or(0);
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, bytes);
    bytes
}

/// The largest data a `StatefulBatch` may carry under `max_message_bytes`, leaving room for its
/// framing and for the compressor's worst-case expansion of incompressible input (zstd adds at
/// most 1/256 plus a few bytes; a stream flush adds block headers).
pub fn message_data_limit(max_message_bytes: u64) -> u64 {
    let framing = 64;
    max_message_bytes.saturating_sub(framing) / 257 * 256
}

/// The largest content (valid UTF-8 text, with up to `metadata` bytes of metadata) that a
/// message of `max_message_bytes` can carry: a longer record is dropped as too large.
/// `structured` as for [`admission_bound`].
pub fn largest_content(max_message_bytes: u64, metadata: u64, structured: bool) -> u64 {
    let fixed = BATCH_OVERHEAD + 4 * (metadata + 64) + 8 * RECORD_OVERHEAD;
    let factor = if structured { 8 } else { 1 };
    message_data_limit(max_message_bytes).saturating_sub(fixed) / factor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_text_record_is_bounded_by_its_bytes_and_an_escaped_one_by_four_times_them() {
        let text = Record::new(0, "x".repeat(1000));
        let bytes = Record::new(0, vec![0xffu8; 1000]);
        assert!(admission_bound(&text, false) < 1000 + 16 * RECORD_OVERHEAD);
        assert!(admission_bound(&bytes, false) >= 4000);
        assert!(admission_bound(&text, true) >= 8000);
    }

    #[test]
    fn the_message_data_limit_leaves_room_for_framing_and_expansion() {
        let limit = message_data_limit(4 * 1024 * 1024 - 64);
        let worst = limit + limit / 256 + 64;
        assert!(worst <= 4 * 1024 * 1024 - 64, "{worst}");
    }

    #[test]
    fn the_largest_content_is_admitted_and_one_byte_more_is_not() {
        let max = 100_000;
        for structured in [false, true] {
            let largest = largest_content(max, 0, structured);
            let fits = |len: u64| {
                let record = Record::new(0, "y".repeat(len as usize));
                admission_bound(&record, structured) + BATCH_OVERHEAD <= message_data_limit(max)
            };
            assert!(fits(largest) && !fits(largest + 8), "{structured}: {largest}");
        }
    }

    #[test]
    fn only_the_stream_codec_keeps_a_context() {
        assert_eq!(context_bytes(&Compression::zstd(1)), 0);
        let one = context_bytes(&Compression::zstd_stream(1));
        assert!(one >= 1 << 20, "at least the 1 MiB window: {one}");
        assert!(context_bytes(&Compression::zstd_stream(9)) > one);
        // Adaptive: the largest rung of the ladder.
        assert!(context_bytes(&Compression::default()) > one);
    }
}
