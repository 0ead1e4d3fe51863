//! `zstd-stream` and its fallback (`encoding.md` §7.1) through a real Pipeline and Receiver:
//! a receiver that does not know the codec makes the endpoint switch to per-batch `zstd`,
//! at once and with nothing lost; a receiver that knows it gets smaller batches.

use stateful_logs::codec::{Compression, ContentEncoding};
use stateful_logs::receiver::ReceiverConfig;
use stateful_logs::testing::Loopback;
use stateful_logs::testing::round_trip::{assert_equivalent, base_config, world, world_with_receiver};
use stateful_logs::transport::{ApiKey, EndpointConfig, Failure, Side, State, Transmit};
use stateful_logs::{Action, Pipeline, Profile, Record, StreamId, Timestamp};
use stateful_logs_bench::benchmark_records;

fn records(n: usize) -> Vec<Record> {
    let text = include_bytes!("../corpora/loghub/HDFS_2k.log");
    let mut records = benchmark_records("HDFS_2k.log", text);
    records.truncate(n);
    records
}

/// Ships `records` through `w`, flushing every 50, pumping and acking as a network would.
fn ship(w: &mut Loopback, records: &[Record]) {
    for (i, r) in records.iter().enumerate() {
        w.record(r.clone()).unwrap();
        if i % 50 == 49 {
            w.flush().unwrap();
            w.pump().unwrap();
            w.deliver_acks().unwrap();
        }
    }
    w.finish().unwrap();
}

fn encodings_without_stream() -> ReceiverConfig {
    let mut r = ReceiverConfig::default();
    r.encodings.retain(|e| !e.is_stream());
    r
}

fn assert_delivered(w: &Loopback, records: &[Record]) {
    assert_eq!(w.shutdown.map(|s| s.unacknowledged), Some(0), "everything was acked");
    assert_eq!(w.delivered.len(), records.len(), "one delivered log per record");
    for (i, (got, want)) in w.delivered.iter().zip(records).enumerate() {
        assert_equivalent(Profile::V1, got, want, i);
    }
}

#[test]
fn the_default_codec_is_zstd_stream_and_a_receiver_with_it_delivers_everything() {
    let config = base_config(Profile::V1);
    // zstd-stream with the adaptive level (Amendment 5) within the default CPU budget.
    assert_eq!(config.transport.compression, Compression::default());
    assert!(config.transport.compression.encoding.is_stream());
    assert!(config.transport.compression.cpu_budget.is_some());
    let records = records(400);
    let mut w = world(config);
    ship(&mut w, &records);
    assert_delivered(&w, &records);
    assert!(w.fallbacks.is_empty());
    assert_eq!(w.pipeline.transport().metrics().codec_fallbacks.total(), 0);
}

#[test]
fn a_receiver_without_zstd_stream_makes_the_endpoint_fall_back_once_and_nothing_is_lost() {
    let records = records(400);
    let mut w = world_with_receiver(base_config(Profile::V1), encodings_without_stream());
    ship(&mut w, &records);
    assert_delivered(&w, &records);
    let [Action::CodecFallback { endpoint: 0, from, to, message }] = &w.fallbacks[..] else {
        panic!("one fallback expected: {:?}", w.fallbacks)
    };
    assert_eq!((*from, *to), (ContentEncoding::ZstdStream, ContentEncoding::Zstd));
    assert!(message.contains("dd-content-encoding"), "{message}");
    let m = w.pipeline.transport().metrics();
    assert_eq!(m.codec_fallbacks.get("0"), 1);
    assert_eq!(m.rotations.get("codec_fallback"), 1);
    // Reopened at once: no backoff, no error counted.
    assert_eq!(w.pipeline.transport().nb_errors(), 0);
    assert_eq!(m.streams_opened, 2);
}

/// A scripted Pipeline without a receiver, to fail streams at chosen moments.
struct Script {
    p: Pipeline,
    now: Timestamp,
    opens: Vec<(StreamId, usize, String)>,
    fallbacks: usize,
    halted: bool,
}

impl Script {
    fn new(endpoints: usize) -> Self {
        let list = (0..endpoints)
            .map(|i| EndpointConfig::new(format!("intake-{i}"), 443, ApiKey::new("key")))
            .collect();
        let mut config = base_config(Profile::V1);
        config.transport.endpoints = list;
        config.transport.failover_after = 1;
        let p = Pipeline::new(config, 3, Timestamp(0)).unwrap();
        let mut s = Script { p, now: Timestamp(0), opens: Vec::new(), fallbacks: 0, halted: false };
        s.drain();
        s
    }

    fn drain(&mut self) {
        while let Some(action) = self.p.poll_action() {
            match action {
                Action::OpenStream { stream, endpoint, metadata, .. } => {
                    let encoding = metadata.get("dd-content-encoding").unwrap_or_default().to_owned();
                    self.opens.push((stream, endpoint, encoding));
                }
                Action::CodecFallback { .. } => self.fallbacks += 1,
                Action::Halted(_) => self.halted = true,
                _ => {}
            }
        }
    }

    fn current(&self) -> StreamId {
        self.opens.last().unwrap().0
    }

    /// Opens the pending stream, sends one record's batch and pulls batch 1.
    fn open_and_send(&mut self, token: u64) {
        let stream = self.current();
        self.p.handle_stream_opened(self.now, stream);
        self.drain();
        self.p
            .handle_record(self.now, Record::new(1, format!("line {token}")).with_ack_token(token))
            .unwrap();
        self.p.flush(self.now);
        self.drain();
        while self.p.poll_transmit(self.now, stream).is_some() {}
    }

    /// The pending open fails (connection refused); after the backoff, the next open's
    /// endpoint and announced encoding.
    fn refuse_open_and_reopen(&mut self) -> (usize, String) {
        self.p.handle_stream_open_failed(self.now, self.current(), Failure::Connection("refused".into()));
        self.drain();
        // Wait out the retry, whatever the policy made it.
        self.now = self.p.poll_timeout().expect("a retry is armed").max(self.now);
        self.p.handle_timeout(self.now);
        self.drain();
        let (_, endpoint, encoding) = self.opens.last().unwrap().clone();
        (endpoint, encoding)
    }

    /// Opens the pending stream and pulls its first batch.
    fn open_and_pull(&mut self) -> Transmit {
        let stream = self.current();
        self.p.handle_stream_opened(self.now, stream);
        self.drain();
        self.p.poll_transmit(self.now, stream).expect("a batch to replay")
    }

    fn fail(&mut self, code: i32, message: &str) {
        let failure = Failure::status(code, message);
        self.p.handle_stream_error(self.now, self.current(), Side::Recv, failure);
        self.drain();
    }
}

#[test]
fn a_first_batch_rejected_before_any_ack_falls_back_and_replays_it() {
    let mut s = Script::new(1);
    s.open_and_send(1);
    s.fail(3, "batch 1: not valid zstd");
    assert_eq!(s.fallbacks, 1);
    assert_eq!(s.opens.len(), 2, "reopened at once");
    assert_eq!(s.opens[1].2, "zstd");
    assert_eq!(s.p.state(), State::Connecting);
    // The batch is replayed, now as one per-batch zstd frame.
    let t = s.open_and_pull();
    assert_eq!(t.batch_id, 1);
    let plain = stateful_logs::codec::decompress(ContentEncoding::Zstd, &t.data, 1 << 20).unwrap();
    assert!(String::from_utf8_lossy(&plain).contains("line 1"));
}

#[test]
fn after_an_ack_an_invalid_argument_is_a_protocol_error_not_a_fallback() {
    let mut s = Script::new(1);
    s.open_and_send(1);
    let stream = s.current();
    s.p.handle_ack(s.now, stream, 1, 1);
    s.drain();
    s.fail(3, "batch 2: unknown pattern id 9");
    assert_eq!(s.fallbacks, 0);
    assert_eq!(s.p.transport().nb_errors(), 1, "counted, with backoff");
    assert_eq!(s.p.state(), State::Disconnected);
}

#[test]
fn other_failures_before_any_ack_do_not_fall_back() {
    let mut s = Script::new(1);
    s.open_and_send(1);
    s.fail(14, "connection refused");
    assert_eq!(s.fallbacks, 0);
    assert_eq!(s.p.transport().nb_errors(), 1);
}

#[test]
fn an_unimplemented_on_the_first_call_is_a_wrong_profile_at_once_not_a_codec_refusal() {
    // A v2 client at a v1-only server: the method itself is missing. No false codec warning,
    // no extra stream.
    let mut s = Script::new(1);
    s.open_and_send(1);
    s.fail(12, "unknown method StatefulStream");
    assert_eq!((s.fallbacks, s.halted), (0, true));
    assert_eq!(s.opens.len(), 1, "no second stream");
}

#[test]
fn an_unimplemented_from_an_endpoint_that_served_the_method_is_a_codec_refusal() {
    let mut s = Script::new(1);
    s.open_and_send(1);
    let first = s.current();
    s.p.handle_ack(s.now, first, 1, 0);
    s.drain();
    // The stream breaks; the next one is refused with UNIMPLEMENTED before any ack: the
    // endpoint serves the method, so only the codec can be what it does not implement.
    s.fail(14, "connection reset");
    s.now = s.now.add_millis(5_000);
    s.p.handle_timeout(s.now);
    s.drain();
    s.open_and_send(2);
    s.fail(12, "zstd-stream not implemented");
    assert_eq!((s.fallbacks, s.halted), (1, false));
    assert_eq!(s.opens.last().map(|o| o.2.as_str()), Some("zstd"));
}

#[test]
fn the_fallback_is_per_endpoint_and_update_endpoint_restores_the_stream_codec() {
    let mut s = Script::new(2);
    s.open_and_send(1);
    s.fail(3, "dd-content-encoding \"zstd-stream\" is not supported");
    assert_eq!(s.opens[1].2, "zstd", "endpoint 0 falls back");
    // A failure of the zstd stream fails over to endpoint 1, which still gets zstd-stream.
    let (endpoint, encoding) = s.refuse_open_and_reopen();
    assert_eq!((endpoint, encoding.as_str()), (1, "zstd-stream"));
    s.p.update_endpoint(0, EndpointConfig::new("intake-0", 443, ApiKey::new("new-key"))).unwrap();
    assert_eq!(s.p.transport().metrics().codec_fallbacks.get("0"), 1);
    // Back on endpoint 0 (replaced), the stream codec is tried again.
    let (endpoint, encoding) = s.refuse_open_and_reopen();
    assert_eq!((endpoint, encoding.as_str()), (0, "zstd-stream"));
}

#[test]
fn a_replay_on_a_new_stream_is_compressed_again_with_a_fresh_context() {
    let mut s = Script::new(1);
    s.open_and_send(1);
    let first = s.current();
    // Pulling batch 1 again needs a new stream: break this one with a retryable error.
    s.fail(14, "reset");
    s.now = s.now.add_millis(10_000);
    s.p.handle_timeout(s.now);
    s.drain();
    let second = s.current();
    assert_ne!(first, second);
    let t = s.open_and_pull();
    assert_eq!(t.batch_id, 1);
    // It starts a new zstd frame: it decodes on its own, as the first batch of a stream.
    let plain = stateful_logs::codec::decompress(ContentEncoding::ZstdStream, &t.data, 1 << 20).unwrap();
    assert!(String::from_utf8_lossy(&plain).contains("line 1"));
}
