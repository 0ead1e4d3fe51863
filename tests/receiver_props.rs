//! Property tests of the receiver: whatever arrives — arbitrary bytes, arbitrary batch ids,
//! random datums with colliding ids — it never panics, and each stream's actions are a run of
//! acknowledgements (each regular batch's `Deliver` just before its ack) followed by exactly
//! one `EndStream`, after which nothing more happens on that stream.

use bytes::Bytes;
use proptest::prelude::*;
use prost::Message;
use stateful_logs::codec::Compression;
use stateful_logs::proto::{v1, v2};
use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::status_code as code;
use stateful_logs::{Profile, StreamId, Timestamp};

// The action grammar is shared with the `receiver_input` fuzz target, so that both check
// exactly the same property.
use stateful_logs::testing::receiver_grammar::{StreamCheck, check_all_ended, drain};

const S: StreamId = StreamId(7);

/// Feeds `batches` to one stream and checks the invariant after every input; returns how many
/// batches were acked.
fn check_stream(
    profile: Profile,
    compression: Compression,
    batches: &[(u32, Vec<u8>)],
) -> Result<usize, TestCaseError> {
    let config = ReceiverConfig { max_json_depth: 16, ..ReceiverConfig::default() };
    let mut r = Receiver::new(config).expect("valid config");
    let headers = [("dd-content-encoding".to_string(), compression.encoding.header_value().to_string())];
    r.handle_stream_start(Timestamp::ZERO, S, profile.path(), &headers);
    prop_assert_eq!(r.poll_action(), None);
    let mut check = StreamCheck::new(S);
    check.started = true;
    for (step, (batch_id, payload)) in batches.iter().enumerate() {
        let data = Bytes::from(compression.compress(payload).expect("compresses"));
        r.handle_batch(Timestamp::from_millis(step as u64), S, *batch_id, data);
        check.after_batch(*batch_id, &drain(&mut r)).map_err(TestCaseError::fail)?;
    }
    r.handle_client_end(Timestamp::from_millis(1_000), S);
    check.after_client_end(&drain(&mut r)).map_err(TestCaseError::fail)?;
    let ends: u64 = r.metrics().streams_ended.values().sum();
    prop_assert_eq!(ends, 1);
    check_all_ended(&r).map_err(TestCaseError::fail)?;
    Ok(check.acked)
}

fn profile() -> impl Strategy<Value = Profile> {
    prop_oneof![Just(Profile::V1), Just(Profile::V2)]
}

fn compression() -> impl Strategy<Value = Compression> {
    prop_oneof![3 => Just(Compression::identity()), 1 => Just(Compression::zstd(1)), 1 => Just(Compression::gzip(1))]
}

fn batch_id() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..4, 1 => any::<u32>()]
}

// Small ids so that definitions and references collide often.
fn id() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 0u64..5, 1 => any::<u64>()]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z.,\\\\ ]{0,6}", "[é✓\u{10FF80}-\u{10FFFF}a]{0,4}"]
}

fn raw_json() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"1".to_vec()),
        Just(b"{\"a\":{\"b\":[1,2]}}".to_vec()),
        Just(b"[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]".to_vec()),
        Just(b"\"s\"".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..6),
    ]
}

fn v1_value() -> impl Strategy<Value = v1::DynamicValue> {
    use v1::dynamic_value::Value as V;
    let value = prop_oneof![
        any::<i64>().prop_map(V::IntValue),
        any::<f64>().prop_map(V::FloatValue),
        text().prop_map(V::StringValue),
        id().prop_map(V::DictIndex),
    ];
    proptest::option::weighted(0.9, value).prop_map(|value| v1::DynamicValue { value })
}

fn v1_datum() -> impl Strategy<Value = v1::Datum> {
    use v1::datum::Data;
    let values = || proptest::collection::vec(v1_value(), 0..3);
    let tags =
        || proptest::option::of(proptest::option::of(v1_value()).prop_map(|tagset| v1::TagSet { tagset }));
    let structured = (id(), values(), proptest::option::of(v1_value()), id(), values(), any::<bool>())
        .prop_map(
            |(
                pattern_id,
                dynamic_values,
                json_message_key,
                json_context_schema_id,
                json_context_values,
                legacy,
            )| {
                v1::log::Content::Structured(v1::StructuredLog {
                    pattern_id,
                    dynamic_values,
                    json_message_key,
                    json_context_schema_id,
                    json_context_values,
                    json_context: if legacy { b"{}".to_vec() } else { Vec::new() },
                })
            },
        );
    let content =
        proptest::option::weighted(0.95, prop_oneof![text().prop_map(v1::log::Content::Raw), structured]);
    let data = prop_oneof![
        1 => (id(), text(), 0u32..4, proptest::collection::vec(0u32..8, 0..4)).prop_map(|(pattern_id, template, param_count, pos_list)| {
            Data::PatternDefine(v1::PatternDefine { pattern_id, template, param_count, pos_list })
        }),
        1 => id().prop_map(|pattern_id| Data::PatternDelete(v1::PatternDelete { pattern_id })),
        1 => (id(), text()).prop_map(|(id, value)| Data::DictEntryDefine(v1::DictEntryDefine { id, value })),
        1 => id().prop_map(|id| Data::DictEntryDelete(v1::DictEntryDelete { id })),
        1 => (prop_oneof![0u64..3, any::<u64>()], id(), tags())
            .prop_map(|(timestamp, pattern_id, tags)| Data::DeltaEncodingSync(v1::DeltaEncodingSync { timestamp, pattern_id, tags })),
        3 => (prop_oneof![-5i64..5, any::<i64>()], content, tags(), proptest::option::of(text()), proptest::option::of(v1_value()))
            .prop_map(|(timestamp, content, tags, uuid, status)| Data::Logs(v1::Log { timestamp, content, tags, uuid, status })),
    ];
    proptest::option::weighted(0.97, data).prop_map(|data| v1::Datum { data })
}

fn v2_value() -> impl Strategy<Value = v2::DynamicValue> {
    use v2::dynamic_value::Value as V;
    let value = prop_oneof![
        any::<i64>().prop_map(V::IntValue),
        any::<f64>().prop_map(V::FloatValue),
        text().prop_map(V::StringValue),
        id().prop_map(V::DictIndex),
        any::<bool>().prop_map(V::BoolValue),
        raw_json().prop_map(V::RawJsonValue),
    ];
    (proptest::option::weighted(0.9, value), any::<bool>())
        .prop_map(|(value, render_as_string)| v2::DynamicValue { value, render_as_string })
}

fn v2_log() -> impl Strategy<Value = v2::Log> {
    let small = || proptest::collection::vec(any::<i64>(), 0..3);
    (
        (prop_oneof![-5i64..5, any::<i64>()], id(), id(), id(), id(), id()),
        (proptest::collection::vec(v2_value(), 0..3), prop_oneof![Just(String::new()), text()]),
        (small(), proptest::collection::vec(any::<f64>(), 0..3), proptest::collection::vec(id(), 0..3)),
        (proptest::collection::vec(raw_json(), 0..3), proptest::collection::vec(text(), 0..3)),
        (proptest::collection::vec(any::<u8>(), 0..3), proptest::option::of(text())),
    )
        .prop_map(
            |(
                (timestamp, status, service, tags, pattern_id, json_schema_id),
                (dynamic_values, raw_log),
                (ints, floats, dicts),
                (raws, strings),
                (bools, uuid),
            )| v2::Log {
                timestamp,
                status,
                service,
                tags,
                pattern_id,
                dynamic_values,
                raw_log,
                json_schema_id,
                json_context_int_values: ints,
                json_context_float_values: floats,
                json_context_dict_values: dicts,
                json_context_raw_values: raws,
                json_context_string_values: strings,
                json_context_bool_values: bools,
                uuid,
            },
        )
}

fn v2_datum() -> impl Strategy<Value = v2::LogDatum> {
    use v2::log_datum::Data;
    let data = prop_oneof![
        1 => (id(), text()).prop_map(|(id, value)| Data::DictEntryDefine(v2::DictEntryDefine { id, value })),
        1 => (id(), text(), proptest::collection::vec(0u32..8, 0..4))
            .prop_map(|(pattern_id, template, pos_list)| Data::PatternDefine(v2::PatternDefine { pattern_id, template, pos_list })),
        1 => (id(), proptest::collection::vec(id(), 0..4), id(), proptest::collection::vec(0u8..9, 0..4)).prop_map(
            |(schema_id, keys, message_key_id, value_kinds)| {
                Data::JsonSchemaDefine(v2::JsonSchemaDefine { schema_id, keys, message_key_id, value_kinds })
            }
        ),
        3 => v2_log().prop_map(Data::Log),
        1 => (prop_oneof![0u64..3, any::<u64>()], id(), id(), id(), id(), id()).prop_map(
            |(timestamp, pattern_id, tags, status, service, json_schema_id)| {
                Data::DeltaEncodingSync(v2::DeltaEncodingSync { timestamp, pattern_id, tags, status, service, json_schema_id })
            }
        ),
        1 => id().prop_map(|id| Data::DictEntryDelete(v2::DictEntryDelete { id })),
        1 => id().prop_map(|pattern_id| Data::PatternDelete(v2::PatternDelete { pattern_id })),
        1 => id().prop_map(|schema_id| Data::JsonSchemaDelete(v2::JsonSchemaDelete { schema_id })),
    ];
    proptest::option::weighted(0.97, data).prop_map(|data| v2::LogDatum { data })
}

/// A batch as the profile's sequence of random datums, serialized.
fn datum_batch(profile: Profile) -> BoxedStrategy<Vec<u8>> {
    match profile {
        Profile::V1 => proptest::collection::vec(v1_datum(), 0..8)
            .prop_map(|data| v1::DatumSequence { data }.encode_to_vec())
            .boxed(),
        Profile::V2 => proptest::collection::vec(v2_datum(), 0..8)
            .prop_map(|data| v2::LogDatumSequence { data }.encode_to_vec())
            .boxed(),
    }
}

// Plausible streams: a fixed set of definitions, then logs that mostly match them, so that
// template insertion, delta decoding and JSON reconstruction run deep before any violation.

/// `v2` definitions every plausible batch starts with: (id, key path or value).
const V2_DICT: [(u64, &str); 7] =
    [(2, "a"), (3, "b.c"), (4, r"x\.y"), (5, "msg"), (6, "b"), (7, "d.e.f"), (8, r"bad\path")];
/// (pattern id, template, pos_list).
const PATTERNS: [(u64, &str, &[u32]); 3] = [(1, "", &[]), (2, "a  b", &[1, 3]), (3, "é", &[0, 2])];
/// (schema id, key dict ids, value kinds, message key dict id).
const V2_SCHEMAS: [(u64, &[u64], &[u8], u64); 5] = [
    (2, &[2, 3], &[3, 6], 5),
    (3, &[6, 3], &[7, 2], 5),
    (4, &[2, 7, 4], &[4, 5, 7], 3),
    (5, &[], &[], 5),
    (6, &[8, 2], &[1, 2], 6),
];

fn v2_preamble() -> Vec<v2::LogDatum> {
    use v2::log_datum::Data;
    let mut data: Vec<Data> = V2_DICT
        .iter()
        .map(|&(id, value)| Data::DictEntryDefine(v2::DictEntryDefine { id, value: value.into() }))
        .collect();
    data.extend(PATTERNS.iter().map(|&(pattern_id, template, pos)| {
        Data::PatternDefine(v2::PatternDefine {
            pattern_id,
            template: template.into(),
            pos_list: pos.to_vec(),
        })
    }));
    data.extend(V2_SCHEMAS.iter().map(|&(schema_id, keys, kinds, message_key_id)| {
        Data::JsonSchemaDefine(v2::JsonSchemaDefine {
            schema_id,
            keys: keys.to_vec(),
            message_key_id,
            value_kinds: kinds.to_vec(),
        })
    }));
    data.into_iter().map(|d| v2::LogDatum { data: Some(d) }).collect()
}

/// Random material the plausible log generators draw their values from.
#[derive(Clone, Debug)]
struct Pools {
    ints: Vec<i64>,
    floats: Vec<f64>,
    bools: Vec<bool>,
    raws: Vec<Vec<u8>>,
    strings: Vec<String>,
    dicts: Vec<u64>,
    /// 0 = exact columns/values; otherwise one element is added or removed.
    skew: u8,
}

fn pools() -> impl Strategy<Value = Pools> {
    (
        proptest::collection::vec(any::<i64>(), 4),
        proptest::collection::vec(prop_oneof![4 => -1e3f64..1e3, 1 => any::<f64>()], 4),
        proptest::collection::vec(any::<bool>(), 4),
        proptest::collection::vec(raw_json(), 4),
        proptest::collection::vec(text(), 4),
        proptest::collection::vec(prop_oneof![4 => 2u64..8, 1 => id()], 4),
        prop_oneof![8 => Just(0u8), 1 => 1u8..3],
    )
        .prop_map(|(ints, floats, bools, raws, strings, dicts, skew)| Pools {
            ints,
            floats,
            bools,
            raws,
            strings,
            dicts,
            skew,
        })
}

fn skewed<T: Clone>(mut v: Vec<T>, skew: u8, extra: T) -> Vec<T> {
    match skew {
        1 => v.push(extra),
        2 => {
            v.pop();
        }
        _ => {}
    }
    v
}

/// A status/service/tags id: mostly defined or none, sometimes "previous" or anything.
fn sentinel() -> impl Strategy<Value = u64> {
    prop_oneof![1 => Just(0u64), 6 => 1u64..4, 1 => id()]
}

/// Wildcards of a pattern id; 0 counts as pattern 3, the last one the preamble defines.
fn wildcards(pattern_id: u64) -> usize {
    let id = if pattern_id == 0 { 3 } else { pattern_id };
    PATTERNS.iter().find(|pt| pt.0 == id).map_or(1, |pt| pt.2.len())
}

fn plausible_v2_log() -> impl Strategy<Value = v2::LogDatum> {
    (
        (prop_oneof![-3i64..3, any::<i64>()], sentinel(), sentinel()),
        (
            sentinel(),
            prop_oneof![1 => Just(0u64), 6 => 1u64..7, 1 => id()],
            prop_oneof![1 => Just(0u64), 6 => 1u64..5],
        ),
        (prop_oneof![3 => Just(String::new()), 1 => text()], pools(), proptest::option::of(text())),
        proptest::collection::vec(v2_value(), 2),
    )
        .prop_map(
            |(
                (timestamp, status, service),
                (tags, json_schema_id, pattern_id),
                (raw_log, p, uuid),
                values,
            )| {
                let wildcards = wildcards(pattern_id);
                let dynamic_values =
                    skewed(values.into_iter().take(wildcards).collect(), p.skew, v2::DynamicValue::default());
                let kinds: &[u8] = V2_SCHEMAS.iter().find(|s| s.0 == json_schema_id).map_or(&[], |s| s.2);
                let count = |k: u8| kinds.iter().filter(|&&x| x == k).count();
                let bools: Vec<bool> = p.bools.iter().copied().cycle().take(count(2)).collect();
                let mut bool_bytes = vec![0u8; bools.len().div_ceil(8)];
                for (i, b) in bools.iter().enumerate() {
                    bool_bytes[i / 8] |= u8::from(*b) << (i % 8);
                }
                let take = |n: usize| n.min(4);
                v2::LogDatum {
                    data: Some(v2::log_datum::Data::Log(v2::Log {
                        timestamp,
                        status,
                        service,
                        tags,
                        pattern_id,
                        dynamic_values,
                        raw_log,
                        json_schema_id,
                        json_context_int_values: skewed(p.ints[..take(count(3))].to_vec(), p.skew, 1),
                        json_context_float_values: p.floats[..take(count(4))].to_vec(),
                        json_context_dict_values: p.dicts[..take(count(5))].to_vec(),
                        json_context_raw_values: p.raws[..take(count(7))].to_vec(),
                        json_context_string_values: p.strings[..take(count(6))].to_vec(),
                        json_context_bool_values: bool_bytes,
                        uuid,
                    })),
                }
            },
        )
}

/// A `v2` batch: the definitions, then plausible logs mixed with random datums.
fn plausible_v2_batch() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![4 => plausible_v2_log(), 1 => v2_datum()], 0..8).prop_map(
        |datums| {
            let mut data = v2_preamble();
            data.extend(datums);
            v2::LogDatumSequence { data }.encode_to_vec()
        },
    )
}

fn v1_preamble() -> Vec<v1::Datum> {
    use v1::datum::Data;
    let mut data: Vec<Data> =
        [(1, "info"), (2, "env:prod,service:x"), (3, "port,region"), (4, "msg"), (5, "a,a")]
            .into_iter()
            .map(|(id, value)| Data::DictEntryDefine(v1::DictEntryDefine { id, value: value.into() }))
            .collect();
    data.extend(PATTERNS.iter().map(|&(pattern_id, template, pos)| {
        Data::PatternDefine(v1::PatternDefine {
            pattern_id,
            template: template.into(),
            param_count: pos.len() as u32,
            pos_list: pos.to_vec(),
        })
    }));
    data.into_iter().map(|d| v1::Datum { data: Some(d) }).collect()
}

fn plausible_v1_log() -> impl Strategy<Value = v1::Datum> {
    let small_dict = || proptest::option::of(prop_oneof![1u64..6, id()]);
    (
        (prop_oneof![-3i64..3, any::<i64>()], 0u64..5, any::<bool>()),
        (small_dict(), proptest::option::of(small_dict()), prop_oneof![Just(0u64), Just(3), Just(5), id()]),
        (proptest::collection::vec(v1_value(), 2), proptest::collection::vec(v1_value(), 2), any::<u8>()),
        (text(), proptest::option::of(text())),
    )
        .prop_map(
            |(
                (timestamp, pattern_id, raw),
                (status, tags, schema),
                (values, json_values, skew),
                (raw_text, uuid),
            )| {
                use v1::dynamic_value::Value as V;
                let dict = |id: u64| v1::DynamicValue { value: Some(V::DictIndex(id)) };
                let content = if raw {
                    v1::log::Content::Raw(raw_text)
                } else {
                    let wildcards = wildcards(pattern_id);
                    let keys = match schema {
                        0 => 0,
                        3 | 5 => 2,
                        _ => 1,
                    };
                    let json = skew % 2 == 0;
                    v1::log::Content::Structured(v1::StructuredLog {
                        pattern_id,
                        dynamic_values: skewed(
                            values.into_iter().take(wildcards).collect(),
                            skew % 7,
                            dict(1),
                        ),
                        json_message_key: json.then(|| dict(4)),
                        json_context_schema_id: if json { schema } else { 0 },
                        json_context_values: if json {
                            json_values.into_iter().take(keys).collect()
                        } else {
                            Vec::new()
                        },
                        json_context: Vec::new(),
                    })
                };
                v1::Datum {
                    data: Some(v1::datum::Data::Logs(v1::Log {
                        timestamp,
                        content: Some(content),
                        tags: tags.map(|t| v1::TagSet { tagset: t.map(dict) }),
                        uuid,
                        status: status.map(dict),
                    })),
                }
            },
        )
}

/// A `v1` batch: the definitions, then plausible logs mixed with random datums.
fn plausible_v1_batch() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![4 => plausible_v1_log(), 1 => v1_datum()], 0..8).prop_map(
        |datums| {
            let mut data = v1_preamble();
            data.extend(datums);
            v1::DatumSequence { data }.encode_to_vec()
        },
    )
}

fn plausible_batch(profile: Profile) -> BoxedStrategy<Vec<u8>> {
    match profile {
        Profile::V1 => plausible_v1_batch().boxed(),
        Profile::V2 => plausible_v2_batch().boxed(),
    }
}

proptest! {
    // Invariant: arbitrary bytes under arbitrary batch ids never panic, and give acks (each
    // regular one after its Deliver) followed by exactly one EndStream.
    #[test]
    fn arbitrary_bytes_and_batch_ids_never_panic_and_give_acks_then_exactly_one_end(
        profile in profile(),
        compression in compression(),
        batches in proptest::collection::vec((batch_id(), proptest::collection::vec(any::<u8>(), 0..64)), 0..6),
    ) {
        check_stream(profile, compression, &batches)?;
    }

    // Invariant: random datums with colliding ids, in sequence, never panic, and give acks
    // followed by exactly one EndStream.
    #[test]
    fn random_datums_never_panic_and_give_acks_then_exactly_one_end(
        (profile, batches) in profile().prop_flat_map(|p| {
            (Just(p), proptest::collection::vec((prop_oneof![4 => 0u32..4, 1 => any::<u32>()], datum_batch(p)), 0..5))
        }),
    ) {
        check_stream(profile, Compression::identity(), &batches)?;
    }

    // Invariant: valid sequences of batch ids with empty payloads are all acked, in order.
    #[test]
    fn consecutive_batch_ids_from_0_or_1_are_all_acked(first in 0u32..2, count in 0usize..6, profile in profile()) {
        let batches: Vec<(u32, Vec<u8>)> = (0..count as u32).map(|i| (first + i, Vec::new())).collect();
        prop_assert_eq!(check_stream(profile, Compression::zstd(1), &batches)?, count);
    }

    // Invariant: plausible streams (definitions, then logs that mostly match them, mixed with
    // random datums) never panic, and give acks followed by exactly one EndStream.
    #[test]
    fn plausible_datums_never_panic_and_give_acks_then_exactly_one_end(
        (profile, batches) in profile().prop_flat_map(|p| {
            (Just(p), proptest::collection::vec((1u32..2, plausible_batch(p)), 1..4))
        }),
    ) {
        // The definitions are repeated in every batch (redefinition replaces), so ids 1, 2, 3.
        let batches: Vec<(u32, Vec<u8>)> =
            batches.into_iter().enumerate().map(|(i, (_, data))| (i as u32 + 1, data)).collect();
        check_stream(profile, Compression::identity(), &batches)?;
    }
}

/// One input to a receiver serving several streams.
#[derive(Clone, Debug)]
enum Event {
    Start { stream: u64, valid: bool },
    Batch { stream: u64, batch_id: u32, garbage: bool },
    End { stream: u64 },
    Reset { stream: u64 },
    Advance { ms: u64 },
}

fn event() -> impl Strategy<Value = Event> {
    let stream = || 0u64..4;
    prop_oneof![
        2 => (stream(), prop_oneof![4 => Just(true), 1 => Just(false)]).prop_map(|(stream, valid)| Event::Start { stream, valid }),
        4 => (stream(), 0u32..4, prop_oneof![5 => Just(false), 1 => Just(true)])
            .prop_map(|(stream, batch_id, garbage)| Event::Batch { stream, batch_id, garbage }),
        1 => stream().prop_map(|stream| Event::End { stream }),
        1 => stream().prop_map(|stream| Event::Reset { stream }),
        2 => prop_oneof![0u64..3_000, 9_000u64..12_000, Just(IDLE_MS), Just(IDLE_MS - 1)].prop_map(|ms| Event::Advance { ms }),
    ]
}

const IDLE_MS: u64 = 10_000;
const MAX_STREAMS: usize = 2;

proptest! {
    // Invariant (model-based): across random starts, batches, half-closes, resets and time
    // jumps on several streams, the receiver's actions match a small model: a refused or
    // excess start ends at once; an open stream is acked batch by batch until one EndStream
    // (INVALID_ARGUMENT for a bad batch, OK after a half-close, DEADLINE_EXCEEDED exactly when
    // idle for idle_timeout); a reset or an ended stream produces nothing more; at most
    // max_streams are open; poll_timeout() is past every handled deadline; no state outlives
    // its streams.
    #[test]
    fn stream_lifecycle_matches_a_model_with_one_end_per_stream(events in proptest::collection::vec(event(), 1..40)) {
        use std::collections::BTreeMap;
        let config = ReceiverConfig {
            idle_timeout: std::time::Duration::from_millis(IDLE_MS),
            max_streams: MAX_STREAMS,
            ..ReceiverConfig::with_api_keys(["k"])
        };
        let mut r = Receiver::new(config).expect("valid config");
        // Open streams: last activity and next acceptable batch ids.
        let mut open: BTreeMap<u64, (u64, Option<u32>)> = BTreeMap::new();
        let mut now = 0u64;
        let ok_batch = Bytes::from(
            Compression::zstd(1)
                .compress(&v1::DatumSequence {
                    data: vec![v1::Datum { data: Some(v1::datum::Data::DictEntryDefine(v1::DictEntryDefine { id: 1, value: "v".into() })) }],
                }.encode_to_vec())
                .expect("compresses"),
        );
        for event in events {
            let at = Timestamp::from_millis(now);
            let mut expected: Vec<(u64, &str)> = Vec::new();
            match event {
                Event::Start { stream, valid } => {
                    if open.contains_key(&stream) {
                        // A repeated start is ignored.
                    } else if !valid {
                        expected.push((stream, "end-refused"));
                    } else if open.len() >= MAX_STREAMS {
                        expected.push((stream, "end-exhausted"));
                    } else {
                        open.insert(stream, (now, None));
                    }
                    let key = if valid { "k" } else { "wrong" };
                    let headers = [("dd-api-key".to_string(), key.to_string()), ("dd-content-encoding".to_string(), "zstd".to_string())];
                    r.handle_stream_start(at, StreamId(stream), Profile::V1.path(), &headers);
                }
                Event::Batch { stream, batch_id, garbage } => {
                    if let Some((last, previous)) = open.get_mut(&stream) {
                        let in_sequence = match *previous {
                            None => batch_id <= 1,
                            Some(n) => batch_id == n + 1,
                        };
                        if garbage || !in_sequence {
                            expected.push((stream, "end-invalid"));
                            open.remove(&stream);
                        } else {
                            expected.push((stream, "ack"));
                            *last = now;
                            *previous = Some(batch_id);
                        }
                    }
                    let data = if garbage { Bytes::from_static(b"\x28\xb5\x2f\xfd garbage") } else { ok_batch.clone() };
                    r.handle_batch(at, StreamId(stream), batch_id, data);
                }
                Event::End { stream } => {
                    if open.remove(&stream).is_some() {
                        expected.push((stream, "end-ok"));
                    }
                    r.handle_client_end(at, StreamId(stream));
                }
                Event::Reset { stream } => {
                    open.remove(&stream);
                    r.handle_client_reset(at, StreamId(stream));
                }
                Event::Advance { ms } => {
                    now += ms;
                    let expired: Vec<u64> = open.iter().filter(|(_, (last, _))| last + IDLE_MS <= now).map(|(&s, _)| s).collect();
                    for stream in expired {
                        open.remove(&stream);
                        expected.push((stream, "end-deadline"));
                    }
                    r.handle_timeout(Timestamp::from_millis(now));
                    if let Some(next) = r.poll_timeout() {
                        prop_assert!(next > Timestamp::from_millis(now), "poll_timeout {} not past {}", next, now);
                    }
                }
            }
            let got: Vec<(u64, &str)> = std::iter::from_fn(|| r.poll_action())
                .filter_map(|a| match a {
                    ReceiverAction::Deliver { .. } => None,
                    ReceiverAction::SendStatus { stream, .. } => Some((stream.0, "ack")),
                    ReceiverAction::EndStream { stream, code: c, .. } => Some((stream.0, match c {
                        code::UNAUTHENTICATED => "end-refused",
                        code::RESOURCE_EXHAUSTED => "end-exhausted",
                        code::INVALID_ARGUMENT => "end-invalid",
                        code::OK => "end-ok",
                        code::DEADLINE_EXCEEDED => "end-deadline",
                        _ => "end-other",
                    })),
                })
                .collect();
            prop_assert_eq!(got, expected);
            prop_assert_eq!(r.open_streams(), open.len());
            prop_assert!(r.open_streams() <= MAX_STREAMS);
            if open.is_empty() {
                prop_assert_eq!(r.metrics().state_bytes, 0);
            }
        }
    }
}
