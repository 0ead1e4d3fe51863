//! Round trips through the Pipeline and the Receiver (spec `encoding.md` §10): the records a
//! receiver reconstructs equal the input records, in order, once duplicates of re-sent
//! batches are removed; and the receiver rejects damaged data the client produced.

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use stateful_logs::codec::Compression;
use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::status_code as code;
use stateful_logs::testing::round_trip::{Op, assert_equivalent, base_config, run_round_trip, world};
use stateful_logs::{Action, Pipeline, PipelineConfig, Profile, Record, StreamId, Timestamp};
use stateful_logs_bench::benchmark_records;

// ---- property: arbitrary records, batches, rotations and codecs round-trip ----

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => proptest::collection::vec(any::<u8>(), 0..40),
        3 => "[ -~]{0,60}".prop_map(String::into_bytes),
        6 => templated_line().prop_map(String::into_bytes),
        3 => json_line().prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => Just("ünïcødé \u{10FF80}\u{10FFFF} tab\tcr\r".as_bytes().to_vec()),
        1 => "[a-z0-9._/:@+-]{1,200}".prop_map(String::into_bytes), // no spaces
        1 => "-?[0-9]{1,30}".prop_map(String::into_bytes),            // all digits, some above i64
        1 => (100usize..300).prop_map(|n| "w0rd ".repeat(n).into_bytes()), // above max_template_bytes
        1 => (2000usize..2100).prop_map(|n| vec![b'x'; n]), // near and above max_batch_bytes
    ]
}

/// Log lines of a few shapes with varying values, so that patterns form, widen and are
/// evicted, and repeated values are admitted to the dictionary.
fn templated_line() -> impl Strategy<Value = String> {
    let word = proptest::sample::select(&["alpha", "beta", "gamma", "x", "007", "-0", "", "a b"][..]);
    (0usize..4, any::<i64>(), 0u8..4, word, 0u32..3).prop_map(|(shape, n, ip, w, ws)| {
        let pad = ["", " ", "\t "][ws as usize];
        match shape {
            0 => format!("user {n} logged in from 10.0.0.{ip} as {w}"),
            1 => format!("{w} connection closed{pad}id={n} host=h{ip}"),
            2 => format!("2024-01-0{ip}T10:00:00Z INFO [{w}] took {n}ms"),
            _ => format!("GET /api/v1/items/{n}?q={w} HTTP/1.1 {}", 200 + u16::from(ip)),
        }
    })
}

/// JSON objects: `v1`-eligible ones, ones with nested or boolean values (text in `v1`), and
/// malformed ones.
fn json_line() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        Just("0.5".to_owned()),
        Just("1e3".to_owned()),
        Just("-0".to_owned()),
        "[a-z]{0,6}".prop_map(|s| format!("\"{s}\"")),
        Just("\"tab\\tquote\\\"\\u00e9\"".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("{\"a\":{\"b\":[1,2,{}]}}".to_owned()),
    ];
    let key = proptest::sample::select(&["msg", "message", "log", "port", "user", "a,b", "z"][..]);
    (proptest::collection::vec((key, value), 0..5), "[a-z ]{1,20}", any::<u8>(), any::<bool>()).prop_map(
        |(members, message, cut, malformed)| {
            let mut text = format!("{{\"msg\":\"{message}\"");
            for (k, v) in members {
                text.push_str(&format!(",\"{k}\":{v}"));
            }
            text.push('}');
            if malformed {
                text.truncate(usize::from(cut) % text.len());
            }
            text
        },
    )
}

fn maybe(values: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    proptest::option::of(proptest::sample::select(values).prop_map(str::to_owned))
}

fn record() -> impl Strategy<Value = Record> {
    let timestamp = prop_oneof![
        3 => 1_700_000_000_000i64..1_700_000_000_100,
        1 => Just(1_700_000_000_000i64),
        1 => any::<i64>(),
        1 => prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0)],
    ];
    let tags = proptest::collection::vec(
        proptest::sample::select(&["env:prod", "a", "b:c", "", "version:1"][..]),
        0..4,
    );
    (
        timestamp,
        content(),
        maybe(&["info", "error", "", "warn"]),
        maybe(&["api", "web", ""]),
        maybe(&["host-1", "host-2", ""]),
        maybe(&["nginx", ""]),
        tags,
        maybe(&["uuid-1", "", "uuid-2"]),
    )
        .prop_map(|(ts, content, status, service, hostname, source, tags, uuid)| Record {
            timestamp_ms: ts,
            content: content.into(),
            status,
            service,
            hostname,
            source,
            tags: tags.into_iter().map(str::to_owned).collect(),
            uuid,
            ack_token: None,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => record().prop_map(Op::Record),
        1 => Just(Op::Flush),
        3 => Just(Op::Pump),
        3 => Just(Op::Acks),
        1 => Just(Op::Fail),
        2 => prop_oneof![1u64..100, 1000u64..10_000].prop_map(Op::Advance),
    ]
}

fn world_config() -> impl Strategy<Value = PipelineConfig> {
    (
        proptest::sample::select(&[Profile::V1, Profile::V2][..]),
        proptest::sample::select(vec![
            Compression::zstd_stream(1),
            Compression::zstd(1),
            Compression::gzip(6),
            Compression::identity(),
        ]),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![1u32..4, Just(1000)],
        prop_oneof![Just(8 * 1024 * 1024u64), 120u64..400],
        1usize..20,
        (prop_oneof![Just(700usize), 1usize..8], any::<bool>(), prop_oneof![Just(4096usize), 8usize..64]),
    )
        .prop_map(
            |(profile, compression, delta, send_deletes, items, state_max, max_entries, patterns)| {
                let (max_pattern_count, no_grace, max_template_bytes) = patterns;
                let mut c = base_config(profile);
                c.transport.compression = compression;
                c.v1_delta_encoding = delta;
                c.send_deletes = send_deletes;
                c.max_batch_items = items;
                c.max_batch_bytes = 2048;
                c.transport.inflight_capacity = 4;
                c.transport.stream_lifetime = Duration::from_secs(20);
                c.translator.state_max_bytes = state_max;
                c.translator.dictionary.max_entries = max_entries;
                c.translator.patterns.max_pattern_count = max_pattern_count;
                c.translator.patterns.max_template_bytes = max_template_bytes;
                if no_grace {
                    c.translator.patterns.eviction_grace_period = Duration::ZERO;
                }
                c
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/roundtrip.proptest-regressions"),
        ))),
        ..ProptestConfig::default()
    })]

    // Invariant (encoding.md §10.1, §10.2): with arbitrary records, batch boundaries, stream
    // failures, rotations (with replay and batch 0) and codecs, the receiver's records, once
    // duplicate deliveries of re-sent batches are removed, equal the accepted input records in
    // input order; every token is reported once, in input order; only records over
    // max_batch_bytes (or, in v2, with metadata over the state bound) are dropped.
    #[test]
    fn delivered_records_equal_the_input_in_order(config in world_config(), ops in proptest::collection::vec(op(), 1..60)) {
        run_round_trip(config, ops);
    }
}

/// Found by the `roundtrip` fuzz target (input kept in `fuzz/regressions/roundtrip/`): in
/// `v1` the service travels as a `service:` tag, so a record's own `service:` tag, or a
/// service containing `,`, is what the receiver reads as the service. The tag string still
/// round-trips exactly; the check reads the expected service from it (§10.1 item 3, §10.3).
#[test]
fn v1_records_with_their_own_service_tags_round_trip() {
    let mut w = world(base_config(Profile::V1));
    let input = [
        Record::new(1, "no service, a service: tag").with_tags(["service:ersion:1.2.3", "env:prod"]),
        Record::new(2, "both").with_service("api").with_tag("service:other"),
        Record::new(3, "a comma in the service").with_service("a,ddsource:b"),
        Record::new(4, "an empty service: tag").with_tag("service:"),
    ];
    for (i, r) in input.iter().enumerate() {
        w.record(r.clone().with_ack_token(i as u64)).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(w.delivered.len(), input.len());
    let services: Vec<Option<&str>> = w.delivered.iter().map(|l| l.service_name()).collect();
    assert_eq!(services, [Some("ersion:1.2.3"), Some("api"), Some("a"), Some("")]);
    for (i, (got, want)) in w.delivered.iter().zip(&input).enumerate() {
        assert_equivalent(Profile::V1, got, want, i);
    }
}

#[test]
fn extreme_timestamps_round_trip_within_one_batch() {
    for profile in Profile::ALL {
        let mut w = world(base_config(profile));
        let input: Vec<Record> = [i64::MAX, i64::MIN, i64::MAX, 0, i64::MIN, i64::MIN]
            .into_iter()
            .enumerate()
            .map(|(i, ts)| Record::new(ts, format!("r{i}")).with_ack_token(i as u64))
            .collect();
        for r in &input {
            w.record(r.clone()).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(w.delivered.len(), input.len());
        for (i, (got, want)) in w.delivered.iter().zip(&input).enumerate() {
            assert_equivalent(profile, got, want, i);
        }
    }
}

// ---- every Loghub file round-trips losslessly ----

#[test]
fn every_loghub_file_round_trips_losslessly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus is in the repository")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let data = std::fs::read(&path).expect("readable corpus file");
        let records = benchmark_records(&name, &data);
        for profile in Profile::ALL {
            let mut w = world(base_config(profile));
            for r in &records {
                w.record(r.clone()).unwrap();
                if w.pipeline.open_batch_records() == 0 {
                    w.pump().unwrap();
                    w.deliver_acks().unwrap();
                }
            }
            w.finish().unwrap();
            assert_eq!(w.delivered.len(), records.len(), "{name} {profile}: every line delivered");
            for (i, (got, want)) in w.delivered.iter().zip(&records).enumerate() {
                assert_equivalent(profile, got, want, i);
            }
            assert_eq!(w.counters.duplicate_batches, 0);
        }
    }
}

// ---- the receiver rejects damaged data the client produced ----

/// Runs a pipeline until it has produced `n` regular batches; returns them with the stream's
/// path and metadata.
fn produce(config: PipelineConfig, records: &[Record]) -> (String, Vec<(String, String)>, Vec<Bytes>) {
    let mut p = Pipeline::new(config, 1, Timestamp(0)).expect("valid config");
    let Some(Action::OpenStream { stream, path, metadata, .. }) = p.poll_action() else {
        panic!("OpenStream first")
    };
    p.handle_stream_opened(Timestamp(0), stream);
    for r in records {
        p.handle_record(Timestamp(0), r.clone()).expect("accepted");
    }
    p.flush(Timestamp(0));
    let mut batches = Vec::new();
    while let Some(t) = p.poll_transmit(Timestamp(0), stream) {
        if t.batch_id != 0 {
            batches.push(t.data);
        }
    }
    (path.to_owned(), metadata.0, batches)
}

fn end_code(r: &mut Receiver) -> Option<(i32, String)> {
    let mut end = None;
    while let Some(a) = r.poll_action() {
        if let ReceiverAction::EndStream { code, message, .. } = a {
            end = Some((code, message));
        }
    }
    end
}

fn one_record_batches(
    profile: Profile,
    compression: Compression,
) -> (String, Vec<(String, String)>, Vec<Bytes>) {
    let mut c = base_config(profile);
    c.max_batch_items = 1;
    c.transport.compression = compression;
    let records = [Record::new(1, "first").with_status("info"), Record::new(2, "second").with_status("info")];
    produce(c, &records)
}

#[test]
fn a_batch_referencing_ids_the_stream_never_defined_is_rejected() {
    for profile in Profile::ALL {
        let (path, metadata, batches) = one_record_batches(profile, Compression::zstd(1));
        let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
        r.handle_stream_start(Timestamp(0), StreamId(1), &path, &metadata);
        // Batch 2 uses the status entry batch 1 defined; sent alone it refers to nothing.
        r.handle_batch(Timestamp(0), StreamId(1), 1, batches[1].clone());
        let (c, message) = end_code(&mut r).expect("the stream ends");
        assert_eq!(c, code::INVALID_ARGUMENT, "{profile}");
        assert!(message.contains("unknown dictionary id"), "{profile}: {message}");
    }
}

#[test]
fn bad_compression_is_rejected() {
    let (path, metadata, batches) = one_record_batches(Profile::V1, Compression::gzip(6));
    let zstd_metadata: Vec<(String, String)> = metadata
        .into_iter()
        .map(|(k, v)| if k == "dd-content-encoding" { (k, "zstd".into()) } else { (k, v) })
        .collect();
    let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
    r.handle_stream_start(Timestamp(0), StreamId(1), &path, &zstd_metadata);
    r.handle_batch(Timestamp(0), StreamId(1), 1, batches[0].clone());
    assert_eq!(end_code(&mut r).map(|e| e.0), Some(code::INVALID_ARGUMENT));
    // A truncated zstd frame, announced correctly.
    let (path, metadata, batches) = one_record_batches(Profile::V2, Compression::zstd(1));
    let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
    r.handle_stream_start(Timestamp(0), StreamId(1), &path, &metadata);
    r.handle_batch(Timestamp(0), StreamId(1), 1, batches[0].slice(..batches[0].len() - 3));
    assert_eq!(end_code(&mut r).map(|e| e.0), Some(code::INVALID_ARGUMENT));
}

#[test]
fn truncated_protobuf_is_rejected() {
    for profile in Profile::ALL {
        let (path, metadata, batches) = one_record_batches(profile, Compression::identity());
        let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
        r.handle_stream_start(Timestamp(0), StreamId(1), &path, &metadata);
        r.handle_batch(Timestamp(0), StreamId(1), 1, batches[0].slice(..batches[0].len() - 2));
        assert_eq!(end_code(&mut r).map(|e| e.0), Some(code::INVALID_ARGUMENT), "{profile}");
    }
}

#[test]
fn a_batch_id_gap_is_rejected() {
    let (path, metadata, batches) = one_record_batches(Profile::V1, Compression::zstd(1));
    let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
    r.handle_stream_start(Timestamp(0), StreamId(1), &path, &metadata);
    r.handle_batch(Timestamp(0), StreamId(1), 1, batches[0].clone());
    r.handle_batch(Timestamp(0), StreamId(1), 3, batches[1].clone());
    let (c, message) = end_code(&mut r).expect("the stream ends");
    assert_eq!(c, code::INVALID_ARGUMENT);
    assert!(message.contains("out of sequence"), "{message}");
}
