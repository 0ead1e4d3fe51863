//! Receiver behaviour the conformance vectors do not cover (`transport.md` §16, `wire.md` §9):
//! limits, timeouts, stream lifecycle, encodings, `v1` without delta encoding, JSON depth, and
//! the intake's JSONL output.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;
use serde_json::json;
use stateful_logs::codec::Compression;
use stateful_logs::proto::{v1, v2};
use stateful_logs::receiver::{
    LogBody, ReceivedLog, Receiver, ReceiverAction, ReceiverConfig, ReceiverMetrics,
};
use stateful_logs::status_code as code;
use stateful_logs::{Profile, StreamId, Timestamp};

const KEY: &str = "test-key";
const S: StreamId = StreamId(1);

fn t(ms: u64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn headers(encoding: &str) -> Vec<(String, String)> {
    vec![("dd-api-key".into(), KEY.into()), ("dd-content-encoding".into(), encoding.into())]
}

fn receiver(config: ReceiverConfig) -> Receiver {
    Receiver::new(ReceiverConfig { api_keys: ReceiverConfig::with_api_keys([KEY]).api_keys, ..config })
        .expect("valid config")
}

fn start(r: &mut Receiver, stream: StreamId, profile: Profile) -> Vec<ReceiverAction> {
    r.handle_stream_start(t(0), stream, profile.path(), &headers("zstd"));
    drain(r)
}

fn drain(r: &mut Receiver) -> Vec<ReceiverAction> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

fn end_code(actions: &[ReceiverAction]) -> Option<(i32, String)> {
    actions.iter().find_map(|a| match a {
        ReceiverAction::EndStream { code, message, .. } => Some((*code, message.clone())),
        _ => None,
    })
}

fn delivered(actions: &[ReceiverAction]) -> Vec<ReceivedLog> {
    actions
        .iter()
        .flat_map(|a| match a {
            ReceiverAction::Deliver { logs, .. } => logs.clone(),
            _ => Vec::new(),
        })
        .collect()
}

fn v1_batch(datums: Vec<v1::datum::Data>) -> Vec<u8> {
    v1::DatumSequence { data: datums.into_iter().map(|d| v1::Datum { data: Some(d) }).collect() }
        .encode_to_vec()
}

fn v2_batch(datums: Vec<v2::log_datum::Data>) -> Vec<u8> {
    v2::LogDatumSequence { data: datums.into_iter().map(|d| v2::LogDatum { data: Some(d) }).collect() }
        .encode_to_vec()
}

fn zstd(payload: &[u8]) -> Bytes {
    Bytes::from(Compression::zstd(1).compress(payload).expect("compresses"))
}

fn v1_raw(timestamp: i64, text: &str) -> v1::datum::Data {
    v1::datum::Data::Logs(v1::Log {
        timestamp,
        content: Some(v1::log::Content::Raw(text.into())),
        ..Default::default()
    })
}

fn v1_dict(id: u64, value: &str) -> v1::datum::Data {
    v1::datum::Data::DictEntryDefine(v1::DictEntryDefine { id, value: value.into() })
}

fn v1_str(s: &str) -> Option<v1::DynamicValue> {
    Some(v1::DynamicValue { value: Some(v1::dynamic_value::Value::StringValue(s.into())) })
}

fn v1_dict_ref(id: u64) -> Option<v1::DynamicValue> {
    Some(v1::DynamicValue { value: Some(v1::dynamic_value::Value::DictIndex(id)) })
}

fn v2_dict(id: u64, value: &str) -> v2::log_datum::Data {
    v2::log_datum::Data::DictEntryDefine(v2::DictEntryDefine { id, value: value.into() })
}

fn v2_raw(timestamp: i64, text: &str) -> v2::log_datum::Data {
    v2::log_datum::Data::Log(v2::Log {
        timestamp,
        status: 1,
        service: 1,
        tags: 1,
        json_schema_id: 1,
        raw_log: text.into(),
        ..Default::default()
    })
}

fn text(log: &ReceivedLog) -> &[u8] {
    match &log.body {
        LogBody::Text(bytes) => bytes,
        LogBody::Json(v) => panic!("expected a text log, got {v}"),
    }
}

#[test]
fn idle_stream_ends_with_deadline_exceeded_and_each_batch_restarts_the_clock() {
    let mut r = receiver(ReceiverConfig { idle_timeout: Duration::from_secs(60), ..Default::default() });
    start(&mut r, S, Profile::V1);
    assert_eq!(r.poll_timeout(), Some(t(60_000)));
    r.handle_timeout(t(59_999));
    assert!(drain(&mut r).is_empty());
    r.handle_batch(t(30_000), S, 1, zstd(&v1_batch(vec![v1_raw(1, "a")])));
    drain(&mut r);
    assert_eq!(r.poll_timeout(), Some(t(90_000)));
    r.handle_timeout(t(60_000));
    assert!(drain(&mut r).is_empty(), "the batch at 30 s moved the deadline");
    r.handle_timeout(t(90_000));
    assert_eq!(end_code(&drain(&mut r)).map(|e| e.0), Some(code::DEADLINE_EXCEEDED));
    assert_eq!(r.poll_timeout(), None, "a handled deadline is not reported again");
    assert_eq!(r.metrics().streams_ended_with(code::DEADLINE_EXCEEDED), 1);
}

#[test]
fn poll_timeout_is_the_earliest_deadline_and_moves_past_a_handled_one() {
    let mut r = receiver(ReceiverConfig { idle_timeout: Duration::from_secs(10), ..Default::default() });
    r.handle_stream_start(t(0), StreamId(1), Profile::V1.path(), &headers("zstd"));
    r.handle_stream_start(t(4_000), StreamId(2), Profile::V2.path(), &headers("gzip"));
    drain(&mut r);
    assert_eq!(r.poll_timeout(), Some(t(10_000)));
    r.handle_timeout(t(10_000));
    assert_eq!(drain(&mut r).len(), 1);
    let next = r.poll_timeout().expect("stream 2 is still open");
    assert!(next > t(10_000));
    assert_eq!(next, t(14_000));
}

#[test]
fn streams_beyond_max_streams_are_refused_at_start_until_one_ends() {
    let mut r = receiver(ReceiverConfig { max_streams: 2, ..Default::default() });
    assert!(start(&mut r, StreamId(1), Profile::V1).is_empty());
    assert!(start(&mut r, StreamId(2), Profile::V2).is_empty());
    let refused = start(&mut r, StreamId(3), Profile::V1);
    assert_eq!(end_code(&refused).map(|e| e.0), Some(code::RESOURCE_EXHAUSTED));
    r.handle_client_end(t(1), StreamId(1));
    assert_eq!(end_code(&drain(&mut r)).map(|e| e.0), Some(code::OK));
    assert!(start(&mut r, StreamId(4), Profile::V1).is_empty());
    assert_eq!(r.open_streams(), 2);
}

#[test]
fn start_checks_run_in_order_path_key_encoding_streams() {
    let mut r =
        receiver(ReceiverConfig { max_streams: 1, profiles: vec![Profile::V2], ..Default::default() });
    start(&mut r, StreamId(100), Profile::V2); // fills max_streams
    let bad_key =
        vec![("dd-api-key".to_string(), "wrong".to_string()), ("dd-content-encoding".into(), "br".into())];
    type Headers = Vec<(String, String)>;
    let cases: [(&str, Headers, i32); 5] = [
        (Profile::V1.path(), bad_key.clone(), code::UNIMPLEMENTED), // v1 not served
        (Profile::V2.path(), bad_key, code::UNAUTHENTICATED),
        (Profile::V2.path(), vec![("dd-content-encoding".into(), "zstd".into())], code::UNAUTHENTICATED),
        (Profile::V2.path(), headers("br"), code::INVALID_ARGUMENT),
        (Profile::V2.path(), headers("ZSTD"), code::RESOURCE_EXHAUSTED),
    ];
    for (i, (path, headers, expected)) in cases.into_iter().enumerate() {
        r.handle_stream_start(t(0), StreamId(i as u64), path, &headers);
        let (code, message) = end_code(&drain(&mut r)).expect("refused");
        assert_eq!(code, expected, "case {i}: {message}");
        assert!(!message.contains("wrong"), "the presented key never appears in a message");
    }
}

#[test]
fn an_empty_key_set_accepts_any_key_even_a_missing_one() {
    let mut r = Receiver::new(ReceiverConfig::default()).expect("valid");
    r.handle_stream_start(t(0), S, Profile::V1.path(), &[("dd-content-encoding".into(), "zstd".into())]);
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.stream_profile(S), Some(Profile::V1));
}

#[test]
fn state_above_max_state_bytes_ends_the_stream_with_resource_exhausted() {
    let mut r = receiver(ReceiverConfig { max_state_bytes: 100, ..Default::default() });
    start(&mut r, S, Profile::V1);
    // 36 + 32 = 68 bytes: within the bound.
    r.handle_batch(t(1), S, 0, zstd(&v1_batch(vec![v1_dict(1, &"a".repeat(36))])));
    assert_eq!(drain(&mut r), vec![ReceiverAction::SendStatus { stream: S, batch_id: 0, status: 1 }]);
    assert_eq!(r.metrics().state_bytes, 68);
    // One more entry of 1 + 32 bytes makes 101.
    r.handle_batch(t(2), S, 1, zstd(&v1_batch(vec![v1_dict(2, "b"), v1_raw(1, "never delivered")])));
    let actions = drain(&mut r);
    let (code, message) = end_code(&actions).expect("ended");
    assert_eq!(code, code::RESOURCE_EXHAUSTED);
    assert!(message.contains("max_state_bytes"), "{message}");
    assert!(delivered(&actions).is_empty());
    assert_eq!(r.metrics().state_bytes, 0, "the ended stream's state is released");
}

#[test]
fn more_datums_than_max_datums_per_batch_are_refused() {
    let mut r = receiver(ReceiverConfig { max_datums_per_batch: 2, ..Default::default() });
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&v1_batch(vec![v1_raw(1, "a"), v1_raw(0, "b")])));
    assert_eq!(delivered(&drain(&mut r)).len(), 2);
    r.handle_batch(t(2), S, 2, zstd(&v1_batch(vec![v1_raw(1, "a"), v1_raw(0, "b"), v1_raw(0, "c")])));
    let (code, message) = end_code(&drain(&mut r)).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_datums_per_batch"), "{message}");
}

#[test]
fn delivered_bytes_above_the_limit_are_refused_and_the_limit_itself_is_accepted() {
    // Body 4 + status 4 + tags 2 = 10 bytes.
    let log = |status: &str| {
        v1::datum::Data::Logs(v1::Log {
            timestamp: 5,
            content: Some(v1::log::Content::Raw("body".into())),
            status: v1_str(status),
            tags: Some(v1::TagSet { tagset: v1_str("a:") }),
            ..Default::default()
        })
    };
    let mut r = receiver(ReceiverConfig { max_delivered_bytes_per_batch: 10, ..Default::default() });
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&v1_batch(vec![log("info")])));
    assert_eq!(delivered(&drain(&mut r)).len(), 1);
    assert_eq!(r.metrics().delivered_bytes, 10);
    r.handle_batch(t(2), S, 2, zstd(&v1_batch(vec![log("error")])));
    let (code, message) = end_code(&drain(&mut r)).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_delivered_bytes_per_batch"), "{message}");
}

#[test]
fn oversized_decompressed_batch_is_refused() {
    let mut r = receiver(ReceiverConfig { max_decompressed_bytes: 64, ..Default::default() });
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&v1_batch(vec![v1_raw(1, &"x".repeat(100))])));
    let (code, message) = end_code(&drain(&mut r)).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_decompressed_bytes"), "{message}");
}

#[test]
fn reset_discards_the_stream_silently_and_later_events_are_ignored() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 0, zstd(&v1_batch(vec![v1_dict(1, "x")])));
    drain(&mut r);
    assert!(r.metrics().state_bytes > 0);
    r.handle_client_reset(t(2), S);
    assert!(drain(&mut r).is_empty(), "a reset emits nothing");
    assert_eq!(r.metrics().state_bytes, 0);
    assert_eq!(r.metrics().streams_reset, 1);
    r.handle_batch(t(3), S, 1, zstd(&v1_batch(vec![v1_raw(1, "a")])));
    r.handle_client_end(t(4), S);
    r.handle_timeout(t(u64::MAX));
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.open_streams(), 0);
}

#[test]
fn events_after_end_stream_are_ignored() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V2);
    r.handle_batch(t(1), S, 5, zstd(&v2_batch(vec![])));
    assert_eq!(end_code(&drain(&mut r)).map(|e| e.0), Some(code::INVALID_ARGUMENT));
    r.handle_batch(t(2), S, 1, zstd(&v2_batch(vec![v2_raw(1, "late")])));
    r.handle_client_end(t(3), S);
    r.handle_client_reset(t(4), S);
    assert!(drain(&mut r).is_empty());
    let ended: u64 = r.metrics().streams_ended.values().sum();
    assert_eq!(ended, 1);
}

#[test]
fn half_close_with_nothing_pending_ends_ok_at_once() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V1);
    r.handle_client_end(t(1), S);
    assert_eq!(
        drain(&mut r),
        vec![ReceiverAction::EndStream { stream: S, code: code::OK, message: String::new() }]
    );
}

#[test]
fn deliver_precedes_each_ack_and_batch_0_is_only_acked() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 0, zstd(&v1_batch(vec![v1_dict(1, "info")])));
    r.handle_batch(t(2), S, 1, zstd(&v1_batch(vec![v1_raw(7, "a")])));
    r.handle_batch(t(3), S, 2, zstd(&v1_batch(vec![])));
    r.handle_client_end(t(4), S);
    let kinds: Vec<String> = drain(&mut r)
        .iter()
        .map(|a| match a {
            ReceiverAction::Deliver { batch_id, logs, .. } => format!("deliver {batch_id} ({})", logs.len()),
            ReceiverAction::SendStatus { batch_id, .. } => format!("ack {batch_id}"),
            ReceiverAction::EndStream { code, .. } => format!("end {code}"),
        })
        .collect();
    assert_eq!(kinds, ["ack 0", "deliver 1 (1)", "ack 1", "deliver 2 (0)", "ack 2", "end 0"]);
    let m: &ReceiverMetrics = r.metrics();
    assert_eq!((m.batches_acked, m.logs_delivered, m.streams_started), (3, 1, 1));
}

#[test]
fn zstd_gzip_and_identity_deliver_the_same_logs() {
    let payload = v2_batch(vec![v2_dict(2, "info"), v2_raw(1_700_000_000_000, "hello"), v2_raw(5, "world")]);
    let mut results = Vec::new();
    for compression in [Compression::zstd(3), Compression::gzip(6), Compression::identity()] {
        let mut r = receiver(ReceiverConfig::default());
        r.handle_stream_start(t(0), S, Profile::V2.path(), &headers(compression.encoding.header_value()));
        r.handle_batch(t(1), S, 1, Bytes::from(compression.compress(&payload).expect("compresses")));
        let logs = delivered(&drain(&mut r));
        assert_eq!(r.metrics().decompressed_bytes, payload.len() as u64);
        results.push(logs);
    }
    assert_eq!(results[0].len(), 2);
    assert_eq!(results[0][1].timestamp_ms, 1_700_000_000_005);
    assert!(results.iter().all(|logs| *logs == results[0]));
}

#[test]
fn data_in_another_encoding_than_announced_is_refused() {
    let mut r = receiver(ReceiverConfig::default());
    r.handle_stream_start(t(0), S, Profile::V1.path(), &headers("gzip"));
    r.handle_batch(t(1), S, 1, zstd(&v1_batch(vec![v1_raw(1, "a")])));
    assert_eq!(end_code(&drain(&mut r)).map(|e| e.0), Some(code::INVALID_ARGUMENT));
}

#[test]
fn v1_without_delta_encoding_reads_absolute_timestamps_and_absent_tags_as_none() {
    let tagged = v1::datum::Data::Logs(v1::Log {
        timestamp: 1_000,
        content: Some(v1::log::Content::Raw("first".into())),
        tags: Some(v1::TagSet { tagset: v1_dict_ref(1) }),
        ..Default::default()
    });
    let payload = v1_batch(vec![v1_dict(1, "env:prod"), tagged, v1_raw(2_000, "second")]);
    let read = |delta: bool| {
        let mut r = receiver(ReceiverConfig { v1_delta_encoding: delta, ..Default::default() });
        start(&mut r, S, Profile::V1);
        r.handle_batch(t(1), S, 1, zstd(&payload));
        delivered(&drain(&mut r))
    };
    let absolute = read(false);
    assert_eq!(
        absolute.iter().map(|l| (l.timestamp_ms, l.tags.clone())).collect::<Vec<_>>(),
        [(1_000, Some("env:prod".to_string())), (2_000, None)]
    );
    let delta = read(true);
    assert_eq!(
        delta.iter().map(|l| (l.timestamp_ms, l.tags.clone())).collect::<Vec<_>>(),
        [(1_000, Some("env:prod".to_string())), (3_000, Some("env:prod".to_string()))]
    );
}

#[test]
fn v1_worked_example_of_the_spec_reconstructs_text_and_json() {
    let dv = |s: &str| v1_str(s).expect("some");
    let int = |i: i64| v1::DynamicValue { value: Some(v1::dynamic_value::Value::IntValue(i)) };
    let log = |timestamp, values: Vec<v1::DynamicValue>, json: Option<(u64, Vec<v1::DynamicValue>)>| {
        let (json_message_key, json_context_schema_id, json_context_values) = match json {
            Some((schema, values)) => (v1_dict_ref(4), schema, values),
            None => (None, 0, Vec::new()),
        };
        v1::datum::Data::Logs(v1::Log {
            timestamp,
            content: Some(v1::log::Content::Structured(v1::StructuredLog {
                pattern_id: 1,
                dynamic_values: values,
                json_message_key,
                json_context_schema_id,
                json_context_values,
                json_context: b"legacy".to_vec(),
            })),
            tags: Some(v1::TagSet { tagset: v1_dict_ref(2) }),
            status: v1_dict_ref(1),
            uuid: None,
        })
    };
    let payload = v1_batch(vec![
        v1::datum::Data::PatternDefine(v1::PatternDefine {
            pattern_id: 1,
            template: "user  logged in from ".into(),
            param_count: 2,
            pos_list: vec![5, 21],
        }),
        v1_dict(1, "info"),
        v1_dict(2, "env:prod,hostname:web-1,service:api,ddsource:auth"),
        log(1767225600123, vec![dv("alice"), dv("10.0.0.7")], None),
        v1_dict(3, "10.0.0.7"),
        log(1767225600373, vec![dv("bob"), v1_dict_ref(3).expect("some")], None),
        v1_dict(4, "msg"),
        v1_dict(5, "port,region"),
        log(
            1767225600400,
            vec![dv("carol"), v1_dict_ref(3).expect("some")],
            Some((5, vec![int(8443), dv("eu-west")])),
        ),
    ]);
    let mut r = receiver(ReceiverConfig { v1_delta_encoding: false, ..Default::default() });
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&payload));
    let logs = delivered(&drain(&mut r));
    assert_eq!(text(&logs[0]), b"user alice logged in from 10.0.0.7");
    assert_eq!(text(&logs[1]), b"user bob logged in from 10.0.0.7");
    assert_eq!(logs[1].timestamp_ms, 1767225600373);
    assert_eq!(
        logs[2].body,
        LogBody::Json(
            json!({"port": 8443, "region": "eu-west", "msg": "user carol logged in from 10.0.0.7"})
        )
    );
    assert_eq!(logs[2].status.as_deref(), Some("info"));
    assert_eq!(r.metrics().ignored("json_context"), 3, "the legacy field is counted, never merged");
    let line: serde_json::Value = serde_json::from_str(&logs[0].to_jsonl()).expect("valid JSON");
    assert_eq!(
        line,
        json!({"timestamp": 1767225600123i64, "content": "user alice logged in from 10.0.0.7", "status": "info",
               "service": "api", "hostname": "web-1", "source": "auth",
               "tags": "env:prod,hostname:web-1,service:api,ddsource:auth"})
    );
}

fn v2_json_stream(max_json_depth: usize, raw: &str, key: &str) -> Vec<ReceiverAction> {
    let mut r = receiver(ReceiverConfig { max_json_depth, ..Default::default() });
    start(&mut r, S, Profile::V2);
    let payload = v2_batch(vec![
        v2_dict(2, key),
        v2_dict(3, "msg"),
        v2::log_datum::Data::JsonSchemaDefine(v2::JsonSchemaDefine {
            schema_id: 2,
            keys: vec![2],
            message_key_id: 3,
            value_kinds: vec![7],
        }),
        v2::log_datum::Data::Log(v2::Log {
            timestamp: 1,
            status: 1,
            service: 1,
            tags: 1,
            json_schema_id: 2,
            raw_log: "hello".into(),
            json_context_raw_values: vec![raw.as_bytes().to_vec()],
            ..Default::default()
        }),
    ]);
    r.handle_batch(t(1), S, 1, zstd(&payload));
    r.handle_client_end(t(2), S);
    drain(&mut r)
}

#[test]
fn json_nested_deeper_than_max_json_depth_is_refused() {
    // Key "a" (depth 1) holding [[1]] (depth 2): 3 levels in all.
    let ok = v2_json_stream(3, "[[1]]", "a");
    assert_eq!(delivered(&ok)[0].body, LogBody::Json(json!({"a": [[1]], "msg": "hello"})));
    let (code, message) = end_code(&v2_json_stream(2, "[[1]]", "a")).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_json_depth"), "{message}");
    assert_eq!(end_code(&v2_json_stream(2, "1", "a.b.c")).map(|e| e.0), Some(code::INVALID_ARGUMENT));
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    assert_eq!(end_code(&v2_json_stream(128, &deep, "a")).map(|e| e.0), Some(code::INVALID_ARGUMENT));
}

#[test]
fn v2_worked_example_of_the_spec_reconstructs_nested_json() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V2);
    let mut snapshot = vec![];
    for (id, value) in [
        (2, "env:prod,hostname:web-1,ddsource:auth"),
        (3, "api"),
        (4, "info"),
        (5, "msg"),
        (6, "http.method"),
        (7, "http.status"),
        (8, "latency_ms"),
        (9, "ok"),
        (10, "GET"),
    ] {
        snapshot.push(v2_dict(id, value));
    }
    snapshot.push(v2::log_datum::Data::JsonSchemaDefine(v2::JsonSchemaDefine {
        schema_id: 2,
        keys: vec![6, 7, 8, 9],
        message_key_id: 5,
        value_kinds: vec![5, 3, 4, 2],
    }));
    r.handle_batch(t(1), S, 0, zstd(&v2_batch(snapshot)));
    let value = |s: &str| v2::DynamicValue {
        value: Some(v2::dynamic_value::Value::StringValue(s.into())),
        render_as_string: false,
    };
    let log = |timestamp, first: bool, name: &str, status_code: i64, latency: f64, ok: u8| {
        let id = |v| if first { v } else { 0 };
        v2::log_datum::Data::Log(v2::Log {
            timestamp,
            status: id(4),
            service: id(3),
            tags: id(2),
            pattern_id: 0,
            dynamic_values: vec![value(name)],
            json_schema_id: id(2),
            json_context_int_values: vec![status_code],
            json_context_float_values: vec![latency],
            json_context_dict_values: vec![10],
            json_context_bool_values: vec![ok],
            ..Default::default()
        })
    };
    let batch = v2_batch(vec![
        v2::log_datum::Data::PatternDefine(v2::PatternDefine {
            pattern_id: 7,
            template: "user  logged in".into(),
            pos_list: vec![5],
        }),
        log(1767225600123, true, "alice", 200, 12.5, 1),
        log(250, false, "bob", 404, 7.25, 0),
    ]);
    r.handle_batch(t(2), S, 1, zstd(&batch));
    let logs = delivered(&drain(&mut r));
    assert_eq!(
        logs[0].body,
        LogBody::Json(json!({"http": {"method": "GET", "status": 200}, "latency_ms": 12.5, "ok": true,
                             "msg": "user alice logged in"}))
    );
    assert_eq!(
        logs[1].body,
        LogBody::Json(json!({"http": {"method": "GET", "status": 404}, "latency_ms": 7.25, "ok": false,
                             "msg": "user bob logged in"}))
    );
    assert_eq!(logs[1].timestamp_ms, 1767225600373);
    assert_eq!((logs[1].status.as_deref(), logs[1].service.as_deref()), (Some("info"), Some("api")));
    let line: serde_json::Value = serde_json::from_str(&logs[0].to_jsonl()).expect("valid JSON");
    assert_eq!(
        (&line["service"], &line["hostname"], &line["source"]),
        (&json!("api"), &json!("web-1"), &json!("auth"))
    );
}

#[test]
fn unknown_references_are_named_with_their_id() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V2);
    let mut log = v2_raw(1, "x");
    if let v2::log_datum::Data::Log(l) = &mut log {
        l.status = 7;
    }
    r.handle_batch(t(1), S, 1, zstd(&v2_batch(vec![v2_raw(1, "fine"), log])));
    let actions = drain(&mut r);
    let (code, message) = end_code(&actions).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert_eq!(message, "batch 1, datum 1 (log): unknown dictionary id 7");
    assert!(delivered(&actions).is_empty(), "the valid log before the violation is not delivered");
}

#[test]
fn v2_raw_log_ignores_and_counts_pattern_fields_and_columns_of_a_text_log_are_a_violation() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V2);
    let mut with_pattern = v2_raw(1, "raw wins");
    if let v2::log_datum::Data::Log(l) = &mut with_pattern {
        l.pattern_id = 9;
        l.dynamic_values = vec![v2::DynamicValue::default()];
    }
    r.handle_batch(t(1), S, 1, zstd(&v2_batch(vec![with_pattern])));
    assert_eq!(text(&delivered(&drain(&mut r))[0]), b"raw wins");
    assert_eq!((r.metrics().ignored("pattern_id"), r.metrics().ignored("dynamic_values")), (1, 1));
    let mut with_column = v2_raw(1, "text");
    if let v2::log_datum::Data::Log(l) = &mut with_column {
        l.json_context_int_values = vec![1];
    }
    r.handle_batch(t(2), S, 2, zstd(&v2_batch(vec![with_column])));
    assert_eq!(end_code(&drain(&mut r)).map(|e| e.0), Some(code::INVALID_ARGUMENT));
}

#[test]
fn non_utf8_text_is_written_as_content_b64_in_jsonl() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V2);
    let wire = stateful_logs::escape::escape(b"bad \xff byte").into_owned();
    r.handle_batch(t(1), S, 1, zstd(&v2_batch(vec![v2_raw(1, &wire)])));
    let logs = delivered(&drain(&mut r));
    assert_eq!(text(&logs[0]), b"bad \xff byte");
    let line: serde_json::Value = serde_json::from_str(&logs[0].to_jsonl()).expect("valid JSON");
    assert_eq!(line["content_b64"], json!("YmFkIP8gYnl0ZQ=="));
    assert!(line.get("content").is_none());
}

#[test]
fn a_log_repeating_a_large_dictionary_entry_is_stopped_by_the_delivered_bytes_limit() {
    // 10,000 wildcards, each the same 100 KB entry: 1 GB of text from a few KB of data.
    let wildcards = 10_000u32;
    let value = v1::DynamicValue { value: Some(v1::dynamic_value::Value::DictIndex(1)) };
    let payload = v1_batch(vec![
        v1_dict(1, &"x".repeat(100_000)),
        v1::datum::Data::PatternDefine(v1::PatternDefine {
            pattern_id: 1,
            template: String::new(),
            param_count: wildcards,
            pos_list: vec![0; wildcards as usize],
        }),
        v1::datum::Data::Logs(v1::Log {
            timestamp: 1,
            content: Some(v1::log::Content::Structured(v1::StructuredLog {
                pattern_id: 1,
                dynamic_values: vec![value; wildcards as usize],
                ..Default::default()
            })),
            ..Default::default()
        }),
    ]);
    let mut r = receiver(ReceiverConfig { max_delivered_bytes_per_batch: 1 << 20, ..Default::default() });
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&payload));
    let (code, message) = end_code(&drain(&mut r)).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_delivered_bytes_per_batch"), "{message}");
}

#[test]
fn member_names_count_as_delivered_bytes() {
    // A 100 KB key path, reused by every log: 20 logs pass 1 MiB on their keys alone.
    let mut r = receiver(ReceiverConfig { max_delivered_bytes_per_batch: 1 << 20, ..Default::default() });
    start(&mut r, S, Profile::V2);
    let mut datums = vec![
        v2_dict(2, &"k".repeat(100_000)),
        v2_dict(3, "msg"),
        v2::log_datum::Data::JsonSchemaDefine(v2::JsonSchemaDefine {
            schema_id: 2,
            keys: vec![2],
            message_key_id: 3,
            value_kinds: vec![1],
        }),
    ];
    for _ in 0..20 {
        datums.push(v2::log_datum::Data::Log(v2::Log {
            timestamp: 1,
            status: 1,
            service: 1,
            tags: 1,
            json_schema_id: 2,
            raw_log: "m".into(),
            ..Default::default()
        }));
    }
    r.handle_batch(t(1), S, 1, zstd(&v2_batch(datums)));
    let (code, message) = end_code(&drain(&mut r)).expect("ended");
    assert_eq!(code, code::INVALID_ARGUMENT);
    assert!(message.contains("max_delivered_bytes_per_batch"), "{message}");
}

#[test]
fn a_second_start_for_an_open_stream_is_ignored() {
    let mut r = receiver(ReceiverConfig::default());
    start(&mut r, S, Profile::V1);
    r.handle_batch(t(1), S, 1, zstd(&v1_batch(vec![v1_raw(1, "a")])));
    drain(&mut r);
    r.handle_stream_start(t(2), S, Profile::V2.path(), &headers("gzip"));
    assert!(drain(&mut r).is_empty());
    assert_eq!(r.stream_profile(S), Some(Profile::V1));
    r.handle_batch(t(3), S, 2, zstd(&v1_batch(vec![v1_raw(1, "b")])));
    assert_eq!(delivered(&drain(&mut r)).len(), 1, "the stream kept its state and sequence");
    assert_eq!(r.metrics().streams_started, 1);
}

#[test]
fn an_invalid_configuration_is_refused_at_construction() {
    let err = Receiver::new(ReceiverConfig { max_streams: 0, ..Default::default() }).unwrap_err();
    assert_eq!(err.setting, "max_streams");
}

#[test]
fn the_receiver_can_move_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Receiver>();
    assert_send_sync::<ReceiverAction>();
}
