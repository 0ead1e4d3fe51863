//! Model-based property test of the Pipeline's single ownership of records (issue "Deploy it
//! and trust it", spec `transport.md` §2.3, §14.2, README Amendments 1 and 2).
//!
//! A small driver model feeds a real Pipeline records from a producer queue (keeping a
//! refused record at the head, as the runtime driver does) while random events happen: batches
//! pulled and acknowledged, streams killed, open failures, auth halts and resumes, timeouts,
//! records too large for a message, and a shutdown that begins at any point (the driver then
//! feeds the rest of its queue and ends the input). After every step and at the end it checks:
//!
//! - every ack token is reported at most once, and tokens come out in input order;
//! - once the shutdown completes, every token was reported exactly once (as `Acked`,
//!   `Dropped(TooLarge)` or `Unacknowledged`), `ShutdownComplete` is the last action and its
//!   counts match the entries, the acked ones being exactly the records the intake acked;
//! - what the Pipeline holds never exceeds its memory budget;
//! - no transmitted batch exceeds `max_message_bytes` (as a `StatefulBatch`).

use std::collections::VecDeque;

use proptest::prelude::*;
use prost::Message;
use stateful_logs::proto::StatefulBatch;
use stateful_logs::transport::{AckEntry, AckOutcome, ApiKey, DropReason, EndpointConfig, Failure, Side};
use stateful_logs::{
    Action, Pipeline, PipelineConfig, Profile, Record, ShutdownSummary, StreamId, Timestamp,
};

#[derive(Clone, Debug)]
enum Op {
    /// The producer queues records of these content sizes.
    Produce(Vec<usize>),
    /// The pending open succeeds (or fails).
    Open(bool),
    /// Pull what the stream can take.
    Pull,
    /// The intake acknowledges the `n` oldest pulled batches.
    Ack(usize),
    /// The stream fails (`UNAVAILABLE`) or is refused (`UNAUTHENTICATED`: a halt).
    Kill {
        auth: bool,
    },
    Resume,
    Tick(u64),
    Flush,
    /// The producers stop; the deadline is this many ms away.
    Shutdown(u64),
}

fn op() -> impl Strategy<Value = Op> {
    // Mostly small records; now and then one too large for a 4 KiB message.
    let size = prop_oneof![8 => 0usize..300, 1 => 300usize..2000, 1 => 4000usize..9000];
    prop_oneof![
        6 => prop::collection::vec(size, 1..40).prop_map(Op::Produce),
        3 => Just(Op::Open(true)),
        1 => Just(Op::Open(false)),
        5 => Just(Op::Pull),
        5 => (1usize..4).prop_map(Op::Ack),
        1 => any::<bool>().prop_map(|auth| Op::Kill { auth }),
        1 => Just(Op::Resume),
        3 => prop_oneof![1u64..50, 1_000u64..40_000].prop_map(Op::Tick),
        1 => Just(Op::Flush),
        1 => (0u64..20_000).prop_map(Op::Shutdown),
    ]
}

const MAX_MESSAGE: u64 = 4096;

struct Model {
    p: Pipeline,
    now: Timestamp,
    queue: VecDeque<Record>,
    next_token: u64,
    pending_open: Option<StreamId>,
    stream: Option<StreamId>,
    sent: VecDeque<u32>,
    reported: Vec<AckEntry>,
    complete: Option<ShutdownSummary>,
    shutting_down: bool,
    input_ended: bool,
}

impl Model {
    fn new(budget_extra: u64, batch_items: u32, capacity: usize, profile: Profile) -> Model {
        let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("key"));
        let mut c = PipelineConfig::new(vec![endpoint]).with_profile(profile);
        c.max_batch_items = batch_items;
        c.transport.inflight_capacity = capacity;
        c.transport.max_message_bytes = MAX_MESSAGE;
        c.transport.backoff_base = std::time::Duration::from_millis(10);
        c.transport.backoff_max = std::time::Duration::from_millis(100);
        let floor =
            2 * MAX_MESSAGE + stateful_logs::pipeline::budget::context_bytes(&c.transport.compression);
        c.max_buffer_bytes = floor + budget_extra;
        let p = Pipeline::new(c, 11, Timestamp(0)).expect("valid config");
        let mut m = Model {
            p,
            now: Timestamp(0),
            queue: VecDeque::new(),
            next_token: 0,
            pending_open: None,
            stream: None,
            sent: VecDeque::new(),
            reported: Vec::new(),
            complete: None,
            shutting_down: false,
            input_ended: false,
        };
        m.drain();
        m
    }

    fn drain(&mut self) {
        while let Some(action) = self.p.poll_action() {
            // Only the close of an abandoned attempt may follow the end (§2.1).
            let close = matches!(action, Action::CloseStream { .. });
            assert!(self.complete.is_none() || close, "an action after ShutdownComplete: {action:?}");
            match action {
                Action::OpenStream { stream, .. } => self.pending_open = Some(stream),
                Action::CloseStream { stream, .. } => {
                    if self.stream == Some(stream) {
                        self.stream = None;
                        self.sent.clear();
                    }
                }
                Action::Acknowledge(entries) => {
                    assert!(!entries.is_empty());
                    self.reported.extend(entries);
                }
                Action::ShutdownComplete(summary) => self.complete = Some(summary),
                Action::Halted(_) | Action::Retrying { .. } | Action::CodecFallback { .. } => {}
            }
        }
        self.check();
    }

    /// Feeds the producer queue in, as the runtime driver does; ends the input of a shutdown
    /// once the queue is empty.
    fn feed(&mut self) {
        while let Some(record) = self.queue.pop_front() {
            match self.p.handle_record(self.now, record) {
                Ok(()) => self.drain(),
                Err(rejected) => {
                    assert_eq!(rejected.reason, stateful_logs::RejectReason::Full, "only backpressure");
                    self.queue.push_front(rejected.record);
                    break;
                }
            }
        }
        if self.shutting_down && !self.input_ended && self.queue.is_empty() {
            self.input_ended = true;
            self.p.end_input(self.now);
            self.drain();
        }
    }

    fn step(&mut self, op: Op) {
        match op {
            Op::Produce(sizes) => {
                if !self.shutting_down {
                    for size in sizes {
                        let content = "x".repeat(size);
                        let record = Record::new(1_700_000_000_000, content).with_ack_token(self.next_token);
                        self.next_token += 1;
                        self.queue.push_back(record);
                    }
                }
            }
            Op::Open(ok) => {
                if let Some(stream) = self.pending_open.take() {
                    if ok {
                        self.p.handle_stream_opened(self.now, stream);
                        self.stream = Some(stream);
                        self.sent.clear();
                    } else {
                        self.p.handle_stream_open_failed(
                            self.now,
                            stream,
                            Failure::Connection("refused".into()),
                        );
                    }
                }
            }
            Op::Pull => {
                if let Some(stream) = self.stream {
                    while let Some(t) = self.p.poll_transmit(self.now, stream) {
                        let message =
                            StatefulBatch { batch_id: t.batch_id, data: t.data }.encoded_len() as u64;
                        assert!(message <= MAX_MESSAGE, "a {message}-byte message above max_message_bytes");
                        if t.batch_id > 0 {
                            self.sent.push_back(t.batch_id);
                        }
                        self.drain();
                    }
                }
            }
            Op::Ack(n) => {
                if let Some(stream) = self.stream {
                    for _ in 0..n {
                        let Some(id) = self.sent.pop_front() else { break };
                        self.p.handle_ack(self.now, stream, id, 0);
                        self.drain();
                        if self.stream != Some(stream) {
                            break;
                        }
                    }
                }
            }
            Op::Kill { auth } => {
                let code = if auth { 16 } else { 14 };
                let failure = Failure::status(code, "test");
                if let Some(stream) = self.stream {
                    self.p.handle_stream_error(self.now, stream, Side::Recv, failure);
                }
            }
            Op::Resume => self.p.resume(self.now),
            Op::Tick(ms) => {
                self.now = self.now.add_millis(ms);
                if self.p.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.p.handle_timeout(self.now);
                }
            }
            Op::Flush => self.p.flush(self.now),
            Op::Shutdown(ms) => {
                if !self.shutting_down {
                    self.shutting_down = true;
                    self.p.begin_shutdown(self.now, Some(self.now.add_millis(ms)));
                }
            }
        }
        self.drain();
        self.feed();
    }

    /// The invariants that hold after every step.
    fn check(&self) {
        let tokens: Vec<u64> = self.reported.iter().map(|e| e.token).collect();
        let in_order: Vec<u64> = (0..tokens.len() as u64).collect();
        assert_eq!(tokens, in_order, "tokens reported once each, in input order");
        assert!(
            self.p.buffered_bytes() <= self.p.max_buffer_bytes(),
            "{} held, budget {}",
            self.p.buffered_bytes(),
            self.p.max_buffer_bytes()
        );
    }

    /// Shuts down (if no op did) and runs the clock until the shutdown completes.
    fn finish(&mut self) {
        self.step(Op::Shutdown(5_000));
        for _ in 0..2_000 {
            if self.complete.is_some() {
                break;
            }
            self.step(Op::Open(true));
            self.step(Op::Pull);
            self.step(Op::Ack(8));
            self.step(Op::Resume);
            self.step(Op::Tick(100));
        }
        let summary = self.complete.expect("the shutdown completes by its deadline");
        assert_eq!(self.reported.len() as u64, self.next_token, "every token reported");
        let count =
            |f: fn(&AckOutcome) -> bool| self.reported.iter().filter(|e| f(&e.outcome)).count() as u64;
        assert_eq!(summary.acked, count(|o| *o == AckOutcome::Acked));
        assert_eq!(summary.dropped, count(|o| matches!(o, AckOutcome::Dropped(_))));
        assert_eq!(summary.unacknowledged, count(|o| *o == AckOutcome::Unacknowledged));
        // Every record carries a token: the tokens reported acked are the records the intake
        // acknowledged, and the dropped ones those dropped as too large.
        assert_eq!(summary.acked, self.p.transport().metrics().records_acked, "acked tokens = acked records");
        assert_eq!(summary.dropped, self.p.metrics().records_dropped("too_large"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    /// Invariant: every token is reported exactly once, in input order, by the Pipeline
    /// alone; the budget holds; every message fits; whatever happens and whenever the
    /// shutdown starts.
    #[test]
    fn every_token_is_reported_exactly_once_in_order_within_the_budget(
        ops in prop::collection::vec(op(), 1..120),
        budget_extra in prop_oneof![0u64..4_000, 100_000u64..1_000_000],
        batch_items in prop_oneof![1u32..8, 8u32..60],
        capacity in prop_oneof![1usize..5, 5usize..100],
        v2 in any::<bool>(),
    ) {
        let profile = if v2 { Profile::V2 } else { Profile::V1 };
        let mut m = Model::new(budget_extra, batch_items, capacity, profile);
        for op in ops {
            m.step(op);
        }
        m.finish();
    }
}

/// A record whose worst-case encoding cannot fit a message is dropped with its token, in
/// order, and the ones around it are delivered.
#[test]
fn a_record_too_large_for_a_message_is_dropped_in_order() {
    let mut m = Model::new(0, 10, 4, Profile::V1);
    m.step(Op::Produce(vec![10, 5_000, 10]));
    m.step(Op::Open(true));
    m.step(Op::Flush);
    m.step(Op::Pull);
    m.step(Op::Ack(5));
    let outcomes: Vec<(u64, AckOutcome)> = m.reported.iter().map(|e| (e.token, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [(0, AckOutcome::Acked), (1, AckOutcome::Dropped(DropReason::TooLarge)), (2, AckOutcome::Acked)]
    );
}

/// With the intake down, a producer is held back by the budget: the Pipeline refuses with
/// `Full` long before it would hold more than its budget, however many records wait.
#[test]
fn with_the_intake_down_the_budget_holds_back_the_producer() {
    let mut m = Model::new(50_000, 1000, 10_000, Profile::V1);
    m.step(Op::Produce(vec![200; 2_000]));
    for _ in 0..20 {
        m.step(Op::Produce(vec![200; 2_000]));
        m.step(Op::Open(false));
        m.step(Op::Tick(30_000));
    }
    assert!(m.queue.len() > 30_000, "most records still wait in the producer's queue ({})", m.queue.len());
    assert!(m.p.buffered_bytes() <= m.p.max_buffer_bytes());
    m.finish();
}
