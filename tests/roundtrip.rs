//! Round trips through the Pipeline and the Receiver (spec `encoding.md` §10): the records a
//! receiver reconstructs equal the input records, in order, once duplicates of re-sent
//! batches are removed; and the receiver rejects damaged data the client produced.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use stateful_logs::codec::Compression;
use stateful_logs::receiver::{LogBody, ReceivedLog, Receiver, ReceiverAction, ReceiverConfig, code};
use stateful_logs::transport::{AckOutcome, Action, ApiKey, CloseMode, EndpointConfig, Failure, Side};
use stateful_logs::{Pipeline, PipelineConfig, Profile, Record, StreamId, Timestamp};

/// A simulated world: one Pipeline, one Receiver, a clock, and a network that can lose acks
/// and break streams.
struct World {
    p: Pipeline,
    r: Receiver,
    now: Timestamp,
    stream: Option<StreamId>,
    /// Acks the receiver sent and the client has not read yet.
    acks_in_flight: Vec<(StreamId, u32)>,
    /// Every batch the receiver delivered, kept alive so that a batch's identity (address of
    /// its stored bytes) is never reused: a re-sent batch is the very same `Bytes`.
    seen: HashSet<(usize, usize)>,
    kept: Vec<Bytes>,
    delivered: Vec<ReceivedLog>,
    duplicates: usize,
    outcomes: Vec<(u64, AckOutcome)>,
    shutdown_complete: Option<Vec<u64>>,
    /// Batches pulled per stream, to find the bytes a receiver delivery came from.
    pulled: Vec<(StreamId, u32, Bytes)>,
}

impl World {
    fn new(config: PipelineConfig) -> Self {
        let receiver = Receiver::new(ReceiverConfig {
            v1_delta_encoding: config.v1_delta_encoding,
            ..ReceiverConfig::default()
        })
        .expect("valid receiver config");
        let p = Pipeline::new(config, 11, Timestamp(0)).expect("valid pipeline config");
        let mut w = World {
            p,
            r: receiver,
            now: Timestamp(0),
            stream: None,
            acks_in_flight: Vec::new(),
            seen: HashSet::new(),
            kept: Vec::new(),
            delivered: Vec::new(),
            duplicates: 0,
            outcomes: Vec::new(),
            shutdown_complete: None,
            pulled: Vec::new(),
        };
        w.settle();
        w
    }

    /// Drains the Pipeline's actions and plays the driver's part.
    fn settle(&mut self) {
        while let Some(action) = self.p.poll_action() {
            match action {
                Action::OpenStream { stream, path, metadata, .. } => {
                    self.r.handle_stream_start(self.now, stream, path, &metadata.0);
                    self.stream = Some(stream);
                    self.p.handle_stream_opened(self.now, stream);
                }
                Action::CloseStream { stream, mode } => {
                    match mode {
                        CloseMode::Graceful => self.r.handle_client_end(self.now, stream),
                        CloseMode::Abort => self.r.handle_client_reset(self.now, stream),
                    }
                    if self.stream == Some(stream) {
                        self.stream = None;
                    }
                }
                Action::Acknowledge(entries) => {
                    self.outcomes.extend(entries.iter().map(|e| (e.token, e.outcome)))
                }
                Action::Halted(e) => panic!("the pipeline halted: {e}"),
                Action::ShutdownComplete { unacknowledged } => self.shutdown_complete = Some(unacknowledged),
            }
        }
        self.drain_receiver();
    }

    fn drain_receiver(&mut self) {
        while let Some(action) = self.r.poll_action() {
            match action {
                ReceiverAction::Deliver { stream, batch_id, logs } => {
                    let data = self
                        .pulled
                        .iter()
                        .rev()
                        .find(|(s, id, _)| *s == stream && *id == batch_id)
                        .map(|(_, _, d)| d.clone())
                        .expect("a delivered batch was pulled");
                    let identity = (data.as_ptr() as usize, data.len());
                    if self.seen.insert(identity) {
                        self.delivered.extend(logs);
                    } else {
                        self.duplicates += 1;
                    }
                    self.kept.push(data);
                }
                ReceiverAction::SendStatus { stream, batch_id, .. } => {
                    self.acks_in_flight.push((stream, batch_id))
                }
                ReceiverAction::EndStream { code: c, message, .. } => {
                    assert_eq!(c, code::OK, "the receiver rejected the client's data: {message}");
                }
            }
        }
    }

    fn record(&mut self, record: Record) {
        if let Err(rejected) = self.p.handle_record(self.now, record) {
            // Backpressure: let the network catch up, then retry once.
            let record = rejected.record;
            for _ in 0..1000 {
                if self.p.input_ready() {
                    break;
                }
                self.pump();
                self.deliver_acks();
                self.advance(1000);
            }
            self.p.handle_record(self.now, record).expect("accepted once input_ready");
        }
        self.settle();
    }

    /// Moves every batch the stream can take to the receiver; returns how many.
    fn pump(&mut self) -> usize {
        let mut count = 0;
        while let Some(stream) = self.stream
            && let Some(t) = self.p.poll_transmit(self.now, stream)
        {
            count += 1;
            self.pulled.push((stream, t.batch_id, t.data.clone()));
            self.r.handle_batch(self.now, stream, t.batch_id, t.data);
            self.drain_receiver();
        }
        self.settle();
        count
    }

    /// Hands every ack the receiver sent to the client; returns how many.
    fn deliver_acks(&mut self) -> usize {
        let acks = std::mem::take(&mut self.acks_in_flight);
        for &(stream, batch_id) in &acks {
            self.p.handle_ack(self.now, stream, batch_id, 1);
            self.settle();
        }
        acks.len()
    }

    /// The current stream breaks: acks not yet read are lost.
    fn fail_stream(&mut self) {
        if let Some(stream) = self.stream {
            self.acks_in_flight.clear();
            self.r.handle_client_reset(self.now, stream);
            self.p.handle_stream_error(self.now, stream, Side::Recv, Failure::Connection("reset".into()));
            self.settle();
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now = self.now.add_millis(ms);
        while let Some(t) = self.p.poll_timeout()
            && t <= self.now
        {
            self.p.handle_timeout(self.now);
            self.settle();
        }
    }

    /// Flushes, shuts down with a far deadline and runs the network until shutdown completes.
    fn finish(&mut self) {
        self.p.flush(self.now);
        self.settle();
        self.p.shutdown(self.now, Some(self.now.add_millis(24 * 3_600_000)));
        self.settle();
        for _ in 0..10_000 {
            if self.shutdown_complete.is_some() {
                return;
            }
            let pulled = self.pump();
            let acked = self.deliver_acks();
            if pulled + acked == 0 && self.shutdown_complete.is_none() {
                let next = self.p.poll_timeout().map_or(1000, |t| t.millis_since(self.now).max(1));
                self.advance(next);
            }
        }
        panic!("shutdown did not complete");
    }
}

/// Asserts that `got` equals `want` as `encoding.md` §10.1 defines for text records.
fn assert_equivalent(profile: Profile, got: &ReceivedLog, want: &Record, index: usize) {
    assert_eq!(got.timestamp_ms, want.clamped_timestamp(), "timestamp of record {index}");
    match &got.body {
        LogBody::Text(bytes) => assert_eq!(bytes.as_slice(), &want.content[..], "content of record {index}"),
        LogBody::Json(v) => panic!("record {index} came back as JSON {v}"),
    }
    assert_eq!(got.status.as_deref(), want.status(), "status of record {index}");
    assert_eq!(got.service_name(), want.service(), "service of record {index}");
    assert_eq!(got.uuid.as_deref(), want.uuid(), "uuid of record {index}");
    let tags = want.tag_string(profile);
    assert_eq!(got.tags.as_deref(), (!tags.is_empty()).then_some(tags.as_str()), "tags of record {index}");
}

fn base_config(profile: Profile) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))])
        .with_profile(profile);
    c.transport.lifetime_jitter_percent = 0;
    c
}

// ---- property: arbitrary records, batches, rotations and codecs round-trip ----

#[derive(Clone, Debug)]
enum Op {
    Record(Record),
    Flush,
    Pump,
    Acks,
    Fail,
    Advance(u64),
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..40),
        3 => "[ -~]{0,60}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => Just("ünïcødé \u{10FF80}\u{10FFFF} tab\tcr\r".as_bytes().to_vec()),
        1 => (2000usize..2100).prop_map(|n| vec![b'x'; n]), // near and above max_batch_bytes
    ]
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
        proptest::sample::select(vec![Compression::zstd(1), Compression::gzip(6), Compression::identity()]),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![1u32..4, Just(1000)],
        prop_oneof![Just(8 * 1024 * 1024u64), 120u64..400],
        1usize..20,
    )
        .prop_map(|(profile, compression, delta, send_deletes, items, state_max, max_entries)| {
            let mut c = base_config(profile);
            c.compression = compression;
            c.v1_delta_encoding = delta;
            c.send_deletes = send_deletes;
            c.max_batch_items = items;
            c.max_batch_bytes = 2048;
            c.transport.inflight_capacity = 4;
            c.transport.stream_lifetime = Duration::from_secs(20);
            c.translator.state_max_bytes = state_max;
            c.translator.dictionary.max_entries = max_entries;
            c
        })
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
        let profile = config.profile();
        let max_batch_bytes = config.max_batch_bytes;
        let mut w = World::new(config);
        let mut input = Vec::new();
        for op in ops {
            match op {
                Op::Record(mut r) => {
                    r.ack_token = Some(input.len() as u64);
                    input.push(r.clone());
                    w.record(r);
                }
                Op::Flush => { w.p.flush(w.now); w.settle(); }
                Op::Pump => { w.pump(); }
                Op::Acks => { w.deliver_acks(); }
                Op::Fail => w.fail_stream(),
                Op::Advance(ms) => w.advance(ms),
            }
        }
        w.finish();
        prop_assert_eq!(w.shutdown_complete.as_deref(), Some(&[][..]), "everything was acked");
        let tokens: Vec<u64> = w.outcomes.iter().map(|(t, _)| *t).collect();
        prop_assert_eq!(tokens, (0..input.len() as u64).collect::<Vec<_>>());
        let mut kept = Vec::new();
        for ((_, outcome), r) in w.outcomes.iter().zip(&input) {
            match outcome {
                AckOutcome::Acked => kept.push(r),
                AckOutcome::Dropped(_) => prop_assert!(r.raw_len() > max_batch_bytes || profile == Profile::V2),
                AckOutcome::Unacknowledged => prop_assert!(false, "nothing is unacknowledged"),
            }
            if r.raw_len() > max_batch_bytes {
                prop_assert_ne!(*outcome, AckOutcome::Acked);
            }
        }
        prop_assert_eq!(w.delivered.len(), kept.len());
        for (i, (got, want)) in w.delivered.iter().zip(kept).enumerate() {
            assert_equivalent(profile, got, want, i);
        }
    }
}

#[test]
fn extreme_timestamps_round_trip_within_one_batch() {
    for profile in Profile::ALL {
        let mut w = World::new(base_config(profile));
        let input: Vec<Record> = [i64::MAX, i64::MIN, i64::MAX, 0, i64::MIN, i64::MIN]
            .into_iter()
            .enumerate()
            .map(|(i, ts)| Record::new(ts, format!("r{i}")).with_ack_token(i as u64))
            .collect();
        for r in &input {
            w.record(r.clone());
        }
        w.finish();
        assert_eq!(w.delivered.len(), input.len());
        for (i, (got, want)) in w.delivered.iter().zip(&input).enumerate() {
            assert_equivalent(profile, got, want, i);
        }
    }
}

// ---- every Loghub file round-trips losslessly ----

/// `encoding.md` §10.4: split on `\n`, strip one trailing `\r`, skip empty lines.
fn lines(data: &[u8]) -> Vec<&[u8]> {
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .collect()
}

/// `encoding.md` §11: the benchmark record mapping.
fn loghub_records(file_name: &str, data: &[u8]) -> Vec<Record> {
    let system = file_name.split('_').next().unwrap_or(file_name).to_owned();
    lines(data)
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            Record::new(1_700_000_000_000 + i as i64, Bytes::copy_from_slice(line))
                .with_status("info")
                .with_hostname("host-1")
                .with_service(system.clone())
                .with_source(system.clone())
                .with_tags(["env:prod", "version:1.2.3"])
                .with_ack_token(i as u64)
        })
        .collect()
}

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
        let records = loghub_records(&name, &data);
        for profile in Profile::ALL {
            let mut w = World::new(base_config(profile));
            for r in &records {
                w.record(r.clone());
                if w.p.open_batch_records() == 0 {
                    w.pump();
                    w.deliver_acks();
                }
            }
            w.finish();
            assert_eq!(w.delivered.len(), records.len(), "{name} {profile}: every line delivered");
            for (i, (got, want)) in w.delivered.iter().zip(&records).enumerate() {
                assert_equivalent(profile, got, want, i);
            }
            assert_eq!(w.duplicates, 0);
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
    c.compression = compression;
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
