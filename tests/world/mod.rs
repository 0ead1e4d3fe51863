//! Shared helpers for the round-trip tests: a simulated world (one Pipeline, one Receiver, a
//! clock and a lossy network), record equivalence (`encoding.md` §10.1) and the Loghub record
//! mapping (§10.4, §11). The `roundtrip` and `translator_lossless` fuzz targets (`fuzz/`)
//! include this file by path and run [`run_round_trip`], the property test's check.
#![allow(dead_code)]

use std::collections::HashMap;

use stateful_logs::receiver::{LogBody, ReceivedLog, Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::status_code as code;
use stateful_logs::transport::{AckOutcome, ApiKey, CloseMode, EndpointConfig, Failure, Side};
use stateful_logs::{
    Action, Pipeline, PipelineConfig, Profile, Record, ShutdownSummary, StreamId, Timestamp,
};

/// A simulated world: one Pipeline, one Receiver, a clock, and a network that can lose acks
/// and break streams.
pub struct World {
    pub p: Pipeline,
    pub r: Receiver,
    pub now: Timestamp,
    pub stream: Option<StreamId>,
    /// Acks the receiver sent and the client has not read yet.
    pub acks_in_flight: Vec<(StreamId, u32)>,
    /// Per stream: regular batches the Pipeline had seen acknowledged when it opened. Every
    /// unacked batch is re-sent in order on the next stream, so batch `n` of a stream is
    /// batch `base + n` of the whole run; a position already delivered is a re-send (with
    /// `zstd-stream` its bytes differ, so positions, not bytes, identify it).
    pub stream_base: HashMap<StreamId, u64>,
    /// The highest batch position the receiver delivered.
    pub delivered_batches: u64,
    pub delivered: Vec<ReceivedLog>,
    pub duplicates: usize,
    pub outcomes: Vec<(u64, AckOutcome)>,
    pub shutdown_complete: Option<ShutdownSummary>,
    /// When set, a stream the receiver ends with an error is reported to the Pipeline as a
    /// stream error (a driver's job); otherwise such an end fails the test.
    pub forward_stream_ends: bool,
    /// Every `CodecFallback` the Pipeline emitted.
    pub fallbacks: Vec<Action>,
}

impl World {
    pub fn new(config: PipelineConfig) -> Self {
        let receiver =
            ReceiverConfig { v1_delta_encoding: config.v1_delta_encoding, ..ReceiverConfig::default() };
        Self::build(config, receiver, false)
    }

    /// A world whose receiver has `receiver` as its configuration; the streams it ends with
    /// an error are reported to the Pipeline, as a driver would.
    pub fn with_receiver(config: PipelineConfig, receiver: ReceiverConfig) -> Self {
        Self::build(config, receiver, true)
    }

    fn build(config: PipelineConfig, receiver: ReceiverConfig, forward_stream_ends: bool) -> Self {
        let receiver = Receiver::new(receiver).expect("valid receiver config");
        let p = Pipeline::new(config, 11, Timestamp(0)).expect("valid pipeline config");
        let mut w = World {
            p,
            r: receiver,
            now: Timestamp(0),
            stream: None,
            acks_in_flight: Vec::new(),
            stream_base: HashMap::new(),
            delivered_batches: 0,
            delivered: Vec::new(),
            duplicates: 0,
            outcomes: Vec::new(),
            shutdown_complete: None,
            forward_stream_ends,
            fallbacks: Vec::new(),
        };
        w.settle();
        w
    }

    /// Drains the Pipeline's actions and plays the driver's part.
    pub fn settle(&mut self) {
        loop {
            self.settle_pipeline();
            if !self.drain_receiver() {
                return;
            }
        }
    }

    fn settle_pipeline(&mut self) {
        while let Some(action) = self.p.poll_action() {
            match action {
                Action::OpenStream { stream, path, metadata, .. } => {
                    let acked = self.p.transport().metrics().ack_latency_ms.count;
                    self.stream_base.insert(stream, acked);
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
                // The Pipeline already opened the replacement stream; nothing to do here.
                fallback @ Action::CodecFallback { .. } => self.fallbacks.push(fallback),
                Action::ShutdownComplete(summary) => self.shutdown_complete = Some(summary),
                Action::Retrying { .. } => {}
            }
        }
    }

    /// Plays the receiver's actions; true when a stream end was reported to the Pipeline.
    pub fn drain_receiver(&mut self) -> bool {
        let mut reported = false;
        while let Some(action) = self.r.poll_action() {
            match action {
                ReceiverAction::Deliver { stream, batch_id, logs } => {
                    let base = self
                        .stream_base
                        .get(&stream)
                        .copied()
                        .expect("a delivered batch's stream was opened");
                    let position = base + u64::from(batch_id);
                    if position > self.delivered_batches {
                        assert_eq!(position, self.delivered_batches + 1, "a batch was skipped");
                        self.delivered_batches = position;
                        self.delivered.extend(logs);
                    } else {
                        self.duplicates += 1;
                    }
                }
                ReceiverAction::SendStatus { stream, batch_id, .. } => {
                    self.acks_in_flight.push((stream, batch_id))
                }
                ReceiverAction::EndStream { stream, code: c, message } => {
                    if self.forward_stream_ends && c != code::OK {
                        self.acks_in_flight.retain(|(s, _)| *s != stream);
                        let failure = Failure::status(c, message);
                        self.p.handle_stream_error(self.now, stream, Side::Recv, failure);
                        reported = true;
                    } else {
                        assert_eq!(c, code::OK, "the receiver rejected the client's data: {message}");
                    }
                }
            }
        }
        reported
    }

    pub fn record(&mut self, record: Record) {
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
        let state = self.p.translator().state_size_bytes();
        let bound = self.p.translator().config().state_max_bytes;
        assert!(state <= bound, "translator state {state} B above its bound {bound} B");
        self.settle();
    }

    /// Moves every batch the stream can take to the receiver; returns how many.
    pub fn pump(&mut self) -> usize {
        let mut count = 0;
        while let Some(stream) = self.stream
            && let Some(t) = self.p.poll_transmit(self.now, stream)
        {
            count += 1;
            self.r.handle_batch(self.now, stream, t.batch_id, t.data);
            self.drain_receiver();
        }
        self.settle();
        count
    }

    /// Hands every ack the receiver sent to the client; returns how many.
    pub fn deliver_acks(&mut self) -> usize {
        let acks = std::mem::take(&mut self.acks_in_flight);
        for &(stream, batch_id) in &acks {
            self.p.handle_ack(self.now, stream, batch_id, 1);
            self.settle();
        }
        acks.len()
    }

    /// The current stream breaks: acks not yet read are lost.
    pub fn fail_stream(&mut self) {
        if let Some(stream) = self.stream {
            self.acks_in_flight.clear();
            self.r.handle_client_reset(self.now, stream);
            self.p.handle_stream_error(self.now, stream, Side::Recv, Failure::Connection("reset".into()));
            self.settle();
        }
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.add_millis(ms);
        while let Some(t) = self.p.poll_timeout()
            && t <= self.now
        {
            self.p.handle_timeout(self.now);
            self.settle();
        }
    }

    /// Flushes, shuts down with a far deadline and runs the network until shutdown completes.
    pub fn finish(&mut self) {
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

/// Asserts that `got` equals `want` as `encoding.md` §10.1 defines.
pub fn assert_equivalent(profile: Profile, got: &ReceivedLog, want: &Record, index: usize) {
    assert_eq!(got.timestamp_ms, want.clamped_timestamp(), "timestamp of record {index}");
    match &got.body {
        LogBody::Text(bytes) => assert_eq!(bytes.as_slice(), &want.content[..], "content of record {index}"),
        // A JSON log equals its content as a JSON value (§10.1 rule 2).
        LogBody::Json(v) => {
            let want_json: serde_json::Value = serde_json::from_slice(&want.content)
                .unwrap_or_else(|e| panic!("record {index} came back as JSON {v} but is not JSON: {e}"));
            assert!(json_equal(v, &want_json), "JSON content of record {index}: {v} is not {want_json}");
        }
    }
    assert_eq!(got.status.as_deref(), want.status(), "status of record {index}");
    assert_eq!(got.uuid.as_deref(), want.uuid(), "uuid of record {index}");
    let tags = want.tag_string(profile);
    // In v1 the service is part of the tag string: a record's own `service:` tags (or a
    // service containing `,`) decide what the receiver reads, so the expectation is read from
    // the tag string the same way (encoding.md §10.1 item 3, §10.3).
    let want_service = match profile {
        Profile::V1 => tags.split(',').filter_map(|tag| tag.strip_prefix("service:")).next_back(),
        Profile::V2 => want.service(),
    };
    assert_eq!(got.service_name(), want_service, "service of record {index}");
    assert_eq!(got.tags.as_deref(), (!tags.is_empty()).then_some(tags.as_str()), "tags of record {index}");
}

/// JSON value equality of `encoding.md` §10.1: members in any order, numbers by value.
pub fn json_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match (a, b) {
        (V::Number(x), V::Number(y)) => x == y || (x.as_f64().is_some() && x.as_f64() == y.as_f64()),
        (V::Array(x), V::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y)),
        (V::Object(x), V::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A pipeline of `profile` for one test endpoint, without lifetime jitter, with patterns on
/// (the round trips exist to exercise them; the Pipeline's default is raw text).
pub fn base_config(profile: Profile) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))])
        .with_profile(profile);
    c.transport.lifetime_jitter_percent = 0;
    c.translator = stateful_logs::translator::TranslatorConfig::default();
    c
}

/// `encoding.md` §11: the benchmark record mapping (ack token = line index).
#[allow(unused_imports)]
pub use stateful_logs_bench::benchmark_records as loghub_records;

/// One step of a round-trip run.
#[derive(Clone, Debug)]
pub enum Op {
    Record(Record),
    Flush,
    Pump,
    Acks,
    Fail,
    Advance(u64),
}

/// Runs `ops` through a [`World`] built from `config`, finishes (flush, shutdown, drain the
/// network) and checks the round trip: every record is reported once, in input order; only
/// records over `max_batch_bytes` (or, in `v2`, with metadata over the state bound) are
/// dropped; the receiver's records, once duplicate deliveries of re-sent batches are removed,
/// equal the accepted input records in input order. Panics on a violation; returns the world.
pub fn run_round_trip(config: PipelineConfig, ops: Vec<Op>) -> World {
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
            Op::Flush => {
                w.p.flush(w.now);
                w.settle();
            }
            Op::Pump => {
                w.pump();
            }
            Op::Acks => {
                w.deliver_acks();
            }
            Op::Fail => w.fail_stream(),
            Op::Advance(ms) => w.advance(ms),
        }
    }
    w.finish();
    assert_eq!(w.shutdown_complete.map(|s| s.unacknowledged), Some(0), "everything was acked");
    let tokens: Vec<u64> = w.outcomes.iter().map(|(t, _)| *t).collect();
    assert_eq!(tokens, (0..input.len() as u64).collect::<Vec<_>>(), "every token once, in order");
    let mut kept = Vec::new();
    for ((_, outcome), r) in w.outcomes.iter().zip(&input) {
        match outcome {
            AckOutcome::Acked => kept.push(r),
            AckOutcome::Dropped(_) => assert!(
                r.raw_len() > max_batch_bytes || profile == Profile::V2,
                "a record within max_batch_bytes was dropped"
            ),
            AckOutcome::Unacknowledged => panic!("nothing is unacknowledged"),
        }
        if r.raw_len() > max_batch_bytes {
            assert_ne!(*outcome, AckOutcome::Acked, "a record over max_batch_bytes was acked");
        }
    }
    assert_eq!(w.delivered.len(), kept.len(), "one delivered log per acked record");
    for (i, (got, want)) in w.delivered.iter().zip(kept).enumerate() {
        assert_equivalent(profile, got, want, i);
    }
    w
}
