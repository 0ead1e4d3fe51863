//! Pipeline scenarios (spec `transport.md` §2.3, §14.2; `encoding.md` §3): records in, batches
//! pulled, acks in, tokens out in input order; backpressure; waiting flushes; shutdown.

use std::time::Duration;

use stateful_logs::transport::{AckEntry, AckOutcome, ApiKey, CloseMode, DropReason, EndpointConfig, State};
use stateful_logs::{
    Action, Pipeline, PipelineConfig, Profile, Record, RejectReason, ShutdownSummary, StreamId, Timestamp,
};

fn config(max_items: u32) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))]);
    c.transport.lifetime_jitter_percent = 0;
    c.max_batch_items = max_items;
    c.translator = stateful_logs::translator::TranslatorConfig::default();
    c
}

/// A scripted driver around one Pipeline.
struct Driver {
    p: Pipeline,
    now: Timestamp,
    stream: Option<StreamId>,
    /// Every Acknowledge entry, in order.
    acks: Vec<AckEntry>,
    shutdown_complete: Option<ShutdownSummary>,
    closes: Vec<(StreamId, CloseMode)>,
    /// Batch ids pulled and not yet acked on the current stream.
    unacked: Vec<u32>,
}

impl Driver {
    fn new(config: PipelineConfig) -> Self {
        let p = Pipeline::new(config, 7, Timestamp(0)).expect("valid config");
        let mut d = Driver {
            p,
            now: Timestamp(0),
            stream: None,
            acks: Vec::new(),
            shutdown_complete: None,
            closes: Vec::new(),
            unacked: Vec::new(),
        };
        d.drain();
        d
    }

    /// Opens the pending stream.
    fn connect(&mut self) {
        let stream = self.stream.expect("an OpenStream was issued");
        self.p.handle_stream_opened(self.now, stream);
        self.drain();
    }

    fn drain(&mut self) {
        while let Some(action) = self.p.poll_action() {
            match action {
                Action::OpenStream { stream, .. } => self.stream = Some(stream),
                Action::Acknowledge(entries) => {
                    assert!(!entries.is_empty(), "an Acknowledge carries at least one entry");
                    self.acks.extend(entries);
                }
                Action::ShutdownComplete(summary) => {
                    assert!(self.shutdown_complete.is_none(), "ShutdownComplete is emitted once");
                    self.shutdown_complete = Some(summary);
                }
                Action::Retrying { .. } => {}
                Action::CloseStream { stream, mode } => self.closes.push((stream, mode)),
                Action::Halted(e) => panic!("unexpected halt: {e}"),
                Action::CodecFallback { .. } => panic!("unexpected codec fallback"),
            }
        }
    }

    fn record(&mut self, token: u64, content: &str) -> Result<(), RejectReason> {
        let r = Record::new(1_700_000_000_000 + token as i64, content.to_owned())
            .with_ack_token(token)
            .with_status("info");
        let result = self.p.handle_record(self.now, r).map_err(|e| e.reason);
        self.drain();
        result
    }

    /// Pulls every batch the stream can take; returns the regular batch ids pulled.
    fn pull_all(&mut self) -> Vec<u32> {
        let mut ids = Vec::new();
        while let Some(stream) = self.stream
            && let Some(t) = self.p.poll_transmit(self.now, stream)
        {
            if t.batch_id != 0 {
                ids.push(t.batch_id);
                self.unacked.push(t.batch_id);
            }
        }
        self.drain();
        ids
    }

    fn ack_next(&mut self) {
        let id = self.unacked.remove(0);
        let stream = self.stream.expect("a stream");
        self.p.handle_ack(self.now, stream, id, 1);
        self.drain();
    }

    fn acked_tokens(&self) -> Vec<u64> {
        self.acks.iter().map(|e| e.token).collect()
    }

    fn advance_to(&mut self, t: Timestamp) {
        self.now = self.now.max(t);
    }
}

#[test]
fn records_flow_through_batches_and_tokens_come_back_in_input_order() {
    let mut d = Driver::new(config(2));
    d.connect();
    for token in 1..=5 {
        d.record(token, &format!("line {token}")).unwrap();
    }
    assert_eq!(d.p.open_batch_records(), 1, "two full batches were flushed, one record waits");
    d.p.flush(d.now);
    d.drain();
    assert_eq!(d.pull_all(), [1, 2, 3]);
    assert!(d.acks.is_empty());
    d.ack_next();
    assert_eq!(d.acked_tokens(), [1, 2]);
    d.ack_next();
    d.ack_next();
    assert_eq!(d.acked_tokens(), [1, 2, 3, 4, 5]);
    assert!(d.acks.iter().all(|e| e.outcome == AckOutcome::Acked));
    let m = d.p.metrics();
    assert_eq!(m.transport.records_acked, 5);
    // One pattern, `line <int>`, defined on the shape's third log; the first two go raw.
    assert_eq!((m.translator.pattern_logs, m.translator.raw_logs), (3, 2));
    assert_eq!(m.translator.dict_entries_added, 1, "the status is defined once");
    assert!(m.state_size_bytes > 0);
}

#[test]
fn backpressure_rejects_full_then_input_ready_returns_after_an_ack() {
    let mut c = config(1);
    c.transport.inflight_capacity = 1;
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "a").unwrap(); // flushed at once: the tracker is now full
    d.record(2, "b").unwrap(); // fills the open batch; its flush waits
    assert!(!d.p.input_ready());
    let rejected = d.p.handle_record(d.now, Record::new(3, "c").with_ack_token(3)).unwrap_err();
    assert_eq!(rejected.reason, RejectReason::Full);
    assert_eq!(rejected.record, Record::new(3, "c").with_ack_token(3), "handed back unchanged");
    assert_eq!(d.pull_all(), [1]);
    d.ack_next();
    assert!(d.p.input_ready(), "the ack freed room and the waiting flush ran");
    assert_eq!(d.p.open_batch_records(), 0);
    d.record(3, "c").unwrap(); // its flush waits behind batch 2
    assert_eq!(d.pull_all(), [2]);
    d.ack_next();
    assert_eq!(d.pull_all(), [3]);
    d.ack_next();
    assert_eq!(d.acked_tokens(), [1, 2, 3]);
}

#[test]
fn a_due_flush_waits_while_the_tracker_is_full_and_its_deadline_is_not_reported() {
    let mut c = config(100);
    c.transport.inflight_capacity = 1;
    c.transport.ack_timeout = None;
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "a").unwrap();
    let deadline = Timestamp(5000);
    assert_eq!(
        d.p.poll_timeout().map(|t| t.min(deadline)),
        Some(deadline),
        "flush deadline = first record + 5 s"
    );
    d.advance_to(deadline);
    d.p.handle_timeout(d.now);
    d.drain();
    assert_eq!(d.pull_all(), [1], "the deadline flushed the batch");
    d.advance_to(Timestamp(6000));
    d.record(2, "b").unwrap();
    assert_eq!(
        d.p.poll_timeout(),
        d.p.transport().poll_timeout(),
        "no room: the flush deadline is not reported"
    );
    d.advance_to(Timestamp(11_000));
    d.p.handle_timeout(d.now);
    d.drain();
    assert_eq!(d.p.open_batch_records(), 1, "the flush waits");
    assert!(d.p.poll_timeout().is_none_or(|t| t > d.now), "no busy loop");
    d.ack_next();
    assert_eq!(d.p.open_batch_records(), 0, "the ack freed room and the flush ran");
    assert_eq!(d.pull_all(), [2]);
}

#[test]
fn poll_timeout_moves_past_a_handled_flush_deadline() {
    let mut d = Driver::new(config(100));
    d.connect();
    d.advance_to(Timestamp(100));
    d.record(1, "a").unwrap();
    d.advance_to(Timestamp(4000));
    d.record(2, "b").unwrap();
    assert_eq!(d.p.poll_timeout(), Some(Timestamp(5100)), "measured from the batch's first record");
    d.advance_to(Timestamp(5100));
    d.p.handle_timeout(d.now);
    d.drain();
    assert!(d.p.poll_timeout().is_none_or(|t| t > d.now));
    assert_eq!(d.pull_all(), [1]);
}

#[test]
fn too_large_records_are_dropped_and_their_tokens_resolve_in_order() {
    let mut c = config(100);
    c.max_batch_bytes = 10;
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "small").unwrap();
    d.record(2, "this is far too large").unwrap();
    d.record(3, "tiny").unwrap();
    assert!(d.acks.is_empty(), "token 2 waits behind token 1");
    d.p.flush(d.now);
    d.drain();
    d.pull_all();
    d.ack_next();
    let outcomes: Vec<(u64, AckOutcome)> = d.acks.iter().map(|e| (e.token, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [(1, AckOutcome::Acked), (2, AckOutcome::Dropped(DropReason::TooLarge)), (3, AckOutcome::Acked)]
    );
    let m = d.p.metrics();
    assert_eq!(m.records_dropped("too_large"), 1);
    assert_eq!(m.bytes_dropped("too_large"), 21);
    assert_eq!(m.transport.records_acked, 2);
}

#[test]
fn a_record_that_does_not_fit_flushes_the_open_batch_first() {
    let mut c = config(100);
    c.max_batch_bytes = 10;
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "123456").unwrap();
    d.record(2, "12345").unwrap(); // 11 > 10: batch 1 is flushed first
    assert_eq!(d.p.open_batch_records(), 1);
    d.record(3, "1234").unwrap(); // 5 + 4 = 9
    d.record(4, "1").unwrap(); // 10: full, flushed
    assert_eq!(d.p.open_batch_records(), 0);
    assert_eq!(d.pull_all(), [1, 2]);
}

#[test]
fn shutdown_reports_the_open_batch_unacknowledged_in_input_order() {
    let mut c = config(2);
    c.transport.inflight_capacity = 1;
    c.transport.ack_timeout = None;
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "a").unwrap();
    d.record(2, "b").unwrap(); // batch 1 → tracker full
    d.record(3, "c").unwrap();
    d.record(4, "d").unwrap(); // full open batch waits
    assert_eq!(d.pull_all(), [1]);
    d.p.shutdown(d.now, Some(Timestamp(1000)));
    d.drain();
    assert_eq!(d.record(5, "e"), Err(RejectReason::ShuttingDown));
    assert!(!d.p.input_ready());
    assert_eq!(d.p.poll_timeout(), Some(Timestamp(1000)));
    d.advance_to(Timestamp(1000));
    d.p.handle_timeout(d.now);
    d.drain();
    let outcomes: Vec<(u64, AckOutcome)> = d.acks.iter().map(|e| (e.token, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (1, AckOutcome::Unacknowledged),
            (2, AckOutcome::Unacknowledged),
            (3, AckOutcome::Unacknowledged),
            (4, AckOutcome::Unacknowledged)
        ]
    );
    assert_eq!(d.shutdown_complete, Some(ShutdownSummary { acked: 0, dropped: 0, unacknowledged: 4 }));
    assert_eq!(d.p.state(), State::Closed);
    let m = d.p.metrics();
    assert_eq!(m.records_dropped("unacknowledged_at_shutdown"), 4);
    assert_eq!(m.pipeline_records_dropped.get("unacknowledged_at_shutdown"), 2, "the open batch's part");
    assert_eq!(d.record(6, "f"), Err(RejectReason::Closed));
    assert_eq!(d.closes.len(), 1, "the stream is closed exactly once");
}

#[test]
fn shutdown_flushes_and_completes_once_everything_is_acked() {
    let mut d = Driver::new(config(100));
    d.connect();
    d.record(1, "a").unwrap();
    d.record(2, "b").unwrap();
    d.p.shutdown(d.now, None);
    d.drain();
    assert_eq!(d.p.open_batch_records(), 0, "shutdown flushed the open batch");
    assert_eq!(d.pull_all(), [1]);
    assert!(d.shutdown_complete.is_none());
    d.ack_next();
    assert_eq!(d.acked_tokens(), [1, 2]);
    assert_eq!(d.shutdown_complete.map(|s| s.unacknowledged), Some(0));
    assert_eq!(d.closes, [(StreamId(1), CloseMode::Graceful)]);
    // Shutdown again is a no-op.
    d.p.shutdown(d.now, None);
    d.drain();
}

#[test]
fn shutdown_with_an_empty_pipeline_completes_at_once() {
    let mut d = Driver::new(config(100).with_profile(Profile::V2));
    d.connect();
    d.p.shutdown(d.now, Some(Timestamp(10)));
    d.drain();
    assert_eq!(d.shutdown_complete.map(|s| s.unacknowledged), Some(0));
}

#[test]
fn records_without_tokens_get_no_ack_entry() {
    let mut d = Driver::new(config(100));
    d.connect();
    d.p.handle_record(d.now, Record::new(0, "no token")).unwrap();
    d.record(9, "token").unwrap();
    d.p.flush(d.now);
    d.drain();
    d.pull_all();
    d.ack_next();
    assert_eq!(d.acked_tokens(), [9]);
}

#[test]
fn batch_zero_carries_the_acked_definitions_after_a_rotation() {
    let mut c = config(100);
    c.transport.stream_lifetime = Duration::from_secs(60);
    let mut d = Driver::new(c);
    d.connect();
    d.record(1, "a").unwrap();
    d.p.flush(d.now);
    d.drain();
    d.pull_all();
    d.ack_next();
    // Fail the stream; the next one starts with batch 0 holding the status entry.
    let stream = d.stream.unwrap();
    d.p.handle_stream_error(
        d.now,
        stream,
        stateful_logs::transport::Side::Recv,
        stateful_logs::transport::Failure::Eof,
    );
    d.drain();
    let deadline = d.p.poll_timeout().expect("a backoff deadline");
    d.advance_to(deadline);
    d.p.handle_timeout(d.now);
    d.drain();
    d.connect();
    let first = d.p.poll_transmit(d.now, d.stream.unwrap()).expect("batch 0");
    assert_eq!(first.batch_id, 0);
}

#[test]
fn the_same_seed_and_calls_give_the_same_actions_and_bytes() {
    let run = || {
        let mut d = Driver::new(config(3).with_profile(Profile::V2));
        d.connect();
        let mut bytes = Vec::new();
        for token in 1..=10 {
            d.record(token, &format!("line {token} of many")).unwrap();
            if token % 4 == 0 {
                let stream = d.stream.unwrap();
                while let Some(t) = d.p.poll_transmit(d.now, stream) {
                    bytes.push((t.batch_id, t.data));
                }
            }
        }
        (bytes, d.acks.len())
    };
    assert_eq!(run(), run());
}
