//! The reference model and simulated driver of the `Transport` property test (spec
//! `transport.md` §18), shared by `tests/transport_model.rs` (proptest) and the
//! `transport_events` fuzz target (`fuzz/`), so that both check exactly the same thing.
//!
//! [`Sim::step`] applies one driver event and checks every invariant after it (a violation
//! panics); [`Sim::finish`] shuts down and checks the close rule; [`run`] does both.

use std::collections::BTreeMap;

use crate::transport::testing::{self, Change, SimpleState, define, delete};
use crate::transport::{Action, CloseMode, RetryDelayKind, RetryPolicy, SnapshotSource, State, Transport};
use crate::{StreamId, Timestamp};

mod ops;

pub use ops::{AckKind, CAPACITY, Op, StreamInfo, Target, config};

/// The reference model and the simulated driver.
pub struct Sim {
    /// The transport under test.
    pub t: Transport<SimpleState>,
    /// The clock.
    pub now: Timestamp,
    /// Every stream opened, by id.
    pub streams: BTreeMap<u64, StreamInfo>,
    /// The id of the latest `OpenStream`.
    pub last_open: u64,
    /// Changes of every accepted batch, in push order (batch `i` carries payload `b{i}`).
    pub pushed: Vec<Vec<Change>>,
    /// Tokens of every accepted batch, in push order.
    pub pushed_tokens: Vec<u64>,
    /// The token the next pushed record gets.
    pub next_token: u64,
    /// Tokens reported acked, then unacknowledged at shutdown.
    pub acked: Vec<u64>,
    /// Tokens of pushed batches not yet acknowledged, per batch in push order (kept here as
    /// the Pipeline keeps them: the Transport reports counts).
    pub pending_tokens: std::collections::VecDeque<Vec<u64>>,
    /// Tokens reported unacknowledged at shutdown, once it completed.
    pub unacknowledged: Option<Vec<u64>>,
    /// Everything observable, for the determinism check.
    pub trace: Vec<String>,
}

impl Sim {
    /// A model transport with `seed`, its first actions drained.
    pub fn new(seed: u64) -> Self {
        let t = Transport::new(config(), SimpleState::counting_stream_bytes(), seed, Timestamp(0))
            .expect("valid");
        let mut sim = Sim {
            t,
            now: Timestamp(0),
            streams: BTreeMap::new(),
            last_open: 0,
            pushed: Vec::new(),
            pushed_tokens: Vec::new(),
            next_token: 1,
            acked: Vec::new(),
            pending_tokens: std::collections::VecDeque::new(),
            unacknowledged: None,
            trace: Vec::new(),
        };
        sim.drain();
        sim
    }

    /// Batches acked so far (applied to the snapshot state).
    pub fn acked_batches(&self) -> u64 {
        self.t.snapshot_source().applied_batches
    }

    /// Drains the actions, checking stream ids, the close rule and the token order.
    pub fn drain(&mut self) {
        while let Some(action) = self.t.poll_action() {
            self.trace.push(format!("{action:?}"));
            match action {
                Action::OpenStream { stream, .. } => {
                    // Invariant: ids are 1, 2, 3, … in order of OpenStream.
                    assert_eq!(stream.0, self.last_open + 1, "stream ids are consecutive");
                    self.last_open = stream.0;
                    self.streams.insert(stream.0, StreamInfo::default());
                }
                Action::CloseStream { stream, mode } => {
                    let info = self.streams.get_mut(&stream.0).expect("close of a stream never opened");
                    // A graceful close only when no sent batch awaits its ack (§5 ROTATE, SHUTDOWN_DONE).
                    if mode == CloseMode::Graceful {
                        assert!(
                            info.outstanding.is_empty(),
                            "graceful close of {stream} with unacked batches"
                        );
                    }
                    assert!(info.opened, "close for {stream} which was never reported opened");
                    assert!(!info.open_failed, "close for {stream} whose open failed");
                    info.closes += 1;
                    assert_eq!(info.closes, 1, "{stream} closed twice");
                }
                Action::BatchAcked { ack_tokens, .. } => {
                    let tokens = self.pending_tokens.pop_front().expect("an ack for a pushed batch");
                    assert_eq!(tokens.len(), ack_tokens as usize, "the batch's token count");
                    self.acked.extend(tokens);
                    // Invariant: tokens arrive once each, in input order.
                    assert_eq!(self.acked[..], self.pushed_tokens[..self.acked.len()], "ack order");
                }
                Action::ShutdownComplete { ack_tokens, .. } => {
                    assert!(self.unacknowledged.is_none(), "ShutdownComplete twice");
                    let unacknowledged: Vec<u64> = self.pending_tokens.drain(..).flatten().collect();
                    assert_eq!(unacknowledged.len(), ack_tokens as usize, "discarded tokens");
                    let mut all = self.acked.clone();
                    all.extend_from_slice(&unacknowledged);
                    assert_eq!(all, self.pushed_tokens, "every token reported exactly once, in order");
                    self.unacknowledged = Some(unacknowledged);
                }
                Action::Retrying { .. } => {}
                Action::Halted(_) => {}
                Action::CodecFallback { .. } => panic!("a per-batch transport never falls back"),
            }
        }
    }

    /// The stream an event with `target` names.
    pub fn pick(&self, target: &Target, live: Option<StreamId>) -> Option<StreamId> {
        match target {
            Target::Live => live,
            Target::Old(n) if self.last_open > 0 => Some(StreamId(1 + (*n as u64 % self.last_open))),
            Target::Old(_) => None,
        }
    }

    /// An unanswered OpenStream for `target`: the pending one, or an older unanswered one.
    pub fn pick_unanswered(&self, target: &Target) -> Option<StreamId> {
        match target {
            Target::Live => self.t.pending_stream(),
            Target::Old(n) => {
                let open: Vec<u64> =
                    self.streams.iter().filter(|(_, i)| !i.answered).map(|(id, _)| *id).collect();
                if open.is_empty() { None } else { Some(StreamId(open[n % open.len()])) }
            }
        }
    }

    /// Pulls one batch from `stream`, checking ids, snapshot content, replay order and the
    /// state bound; false when none came.
    pub fn pull(&mut self, stream: StreamId) -> bool {
        let state = self.t.state();
        let active_here = state == State::Active && self.t.current_stream() == Some(stream);
        let Some(tx) = self.t.poll_transmit(self.now, stream) else { return false };
        // Invariant: nothing is pulled outside Active or on a stream that is not current.
        assert!(active_here, "pulled in {state:?} on {stream}");
        assert!(self.t.tracker_len() <= CAPACITY);
        self.trace.push(format!("tx {} {} {:?}", tx.stream.0, tx.batch_id, tx.data));
        let info = self.streams.get_mut(&stream.0).expect("known stream");
        // Invariant: per stream, optional 0 first, then 1, 2, 3, … without gaps.
        let expected_next = info.pulled.last().map(|last| last + 1);
        match expected_next {
            None => assert!(tx.batch_id <= 1, "first id {} on {stream}", tx.batch_id),
            Some(next) => assert_eq!(tx.batch_id, next, "gap on {stream}"),
        }
        info.pulled.push(tx.batch_id);
        assert!(tx.batch_id <= config().max_batch_id, "batch id past max_batch_id");
        if tx.batch_id == 0 {
            // Batch 0 holds exactly the state of the batches acked before this stream.
            let mut model = SimpleState::counting_stream_bytes();
            for changes in &self.pushed[..info.base as usize] {
                model.apply(changes);
            }
            let expected = model.encode_snapshot().expect("encodes");
            assert_eq!(tx.data, expected.data, "snapshot content");
            info.state_bytes = expected.stream_bytes;
        } else {
            let changes = &self.pushed[(info.base + u64::from(tx.batch_id) - 1) as usize];
            info.state_bytes += SimpleState::counting_stream_bytes().stream_bytes(changes);
            // The bound is passed only by batch 0 plus the stream's first regular batch.
            assert!(
                info.state_bytes <= config().max_stream_state_bytes || tx.batch_id == 1,
                "stream state {} after batch {} on {stream}",
                info.state_bytes,
                tx.batch_id
            );
            info.outstanding.push_back(tx.batch_id);
            info.pulled_at.insert(tx.batch_id, self.now);
            // Replay order: regular id n is the (base + n − 1)-th pushed batch.
            let index = info.base + u64::from(tx.batch_id) - 1;
            assert_eq!(&tx.data[..], format!("b{index}").as_bytes(), "replay order on {stream}");
        }
        true
    }

    /// When the ack timeout of the current stream is due by the model (Amendment 3): the
    /// timeout after the later of the oldest outstanding batch's pull and the last ack.
    pub fn ack_due(&self) -> Option<Timestamp> {
        if !matches!(self.t.state(), State::Active | State::Draining) {
            return None;
        }
        // Each stream's timeout is the configured one less up to its jitter percent.
        let configured = config().ack_timeout?.as_millis() as u64;
        let timeout = self.t.stream_ack_timeout_ms()?;
        let jitter = u64::from(config().retry.ack_timeout_jitter_percent);
        assert!(
            (configured - configured * jitter / 100..=configured).contains(&timeout),
            "stream ack timeout {timeout} ms"
        );
        let info = self.streams.get(&self.t.current_stream()?.0)?;
        let oldest = *info.pulled_at.get(info.outstanding.front()?)?;
        let progress = info.last_ack_at.map_or(oldest, |at| at.max(oldest));
        Some(progress.add_millis(timeout))
    }

    /// How long the current stream's oldest outstanding batch has waited.
    fn oldest_outstanding_wait(&self) -> Option<u64> {
        let info = self.streams.get(&self.t.current_stream()?.0)?;
        let sent = *info.pulled_at.get(info.outstanding.front()?)?;
        Some(self.now.millis_since(sent))
    }

    /// Applies one event and checks every invariant after it.
    pub fn step(&mut self, op: &Op) {
        let ack_due_before = self.ack_due();
        let ack_timeouts_before = self.t.metrics().stream_errors.get("ack_timeout");
        let failure_rotations_before = self.t.metrics().rotations.get("failure");
        let lagging_before = self.t.metrics().stream_errors.get("lagging_intake");
        let oldest_wait = self.oldest_outstanding_wait();
        self.step_inner(op);
        // A lagging intake is left only right after an ack of a batch that waited longer than
        // the ack timeout.
        if self.t.metrics().stream_errors.get("lagging_intake") > lagging_before
            && !matches!(op, Op::HealthyRound)
        {
            assert!(matches!(op, Op::Ack(..)), "left a lagging intake on {op:?}");
            let timeout = config().ack_timeout.map_or(u64::MAX, |d| d.as_millis() as u64);
            assert!(oldest_wait.is_some_and(|w| w > timeout), "left after a wait of {oldest_wait:?}");
        }
        // An ack timeout fires only once the model's progress deadline passed.
        if self.t.metrics().stream_errors.get("ack_timeout") > ack_timeouts_before {
            let due = ack_due_before.expect("an ack timeout without outstanding batches");
            assert!(self.now >= due, "ack timeout at {} before its deadline {due}", self.now);
        }
        // A failure rotation caused by a failure with a pushback waits exactly the pushback,
        // within bounds (Amendment 4).
        let pushback = match op {
            Op::OpenFailed(_, f) | Op::StreamError(_, _, f) => f.retry_pushback_ms(),
            _ => None,
        };
        if let Some(ms) = pushback
            && self.t.metrics().rotations.get("failure") > failure_rotations_before
        {
            let policy = RetryPolicy::default();
            let bounds = (policy.pushback_min.as_millis() as u64, policy.pushback_max.as_millis() as u64);
            assert_eq!(
                self.t.last_retry(),
                Some((ms.clamp(bounds.0, bounds.1), RetryDelayKind::Pushback)),
                "{op:?}"
            );
        }
    }

    fn step_inner(&mut self, op: &Op) {
        let nb_errors_before = self.t.nb_errors();
        let mut may_reset_errors = false;
        let mut timeout_handled = None;
        match op {
            Op::Push { tokens, define_id, delete_id } => {
                let index = self.pushed.len();
                let mut changes = Vec::new();
                if let Some(id) = define_id {
                    changes.push(define(u64::from(*id), &format!("v{index}")));
                }
                if let Some(id) = delete_id {
                    changes.push(delete(u64::from(*id)));
                }
                let tokens: Vec<u64> = (0..*tokens).map(|i| self.next_token + u64::from(i)).collect();
                // In Closed the tracker is empty (room), but every push is refused.
                let closed = self.t.state() == State::Closed;
                let tracker_room =
                    closed || (self.pushed.len() as u64 - self.acked_batches()) < CAPACITY as u64;
                assert_eq!(self.t.has_room(), tracker_room, "has_room agrees with the model");
                let model_room = !closed && tracker_room;
                let batch =
                    testing::batch(format!("b{index}").into_bytes(), changes.clone(), 1, tokens.clone());
                match self.t.push_batch(self.now, batch) {
                    Ok(()) => {
                        assert!(model_room, "accepted beyond capacity");
                        self.next_token += tokens.len() as u64;
                        self.pushed.push(changes);
                        self.pushed_tokens.extend(tokens.iter().copied());
                        self.pending_tokens.push_back(tokens);
                    }
                    Err(full) => {
                        assert!(!model_room, "refused with room");
                        assert_eq!(full.0.data, format!("b{index}").into_bytes());
                    }
                }
            }
            Op::Pull(n) => {
                if let Some(s) = self.t.current_stream() {
                    for _ in 0..*n {
                        if !self.pull(s) {
                            break;
                        }
                    }
                }
                // A stream that is not current never gives a batch.
                if self.last_open > 0 && !self.pull(StreamId(1 + (u64::from(*n) % self.last_open))) {}
            }
            Op::Opened(target) => {
                if let Some(s) = self.pick_unanswered(target) {
                    let base = self.acked_batches();
                    let info = self.streams.get_mut(&s.0).expect("known");
                    info.answered = true;
                    info.opened = true;
                    info.base = base;
                    self.t.handle_stream_opened(self.now, s);
                }
            }
            Op::OpenFailed(target, f) => {
                if let Some(s) = self.pick_unanswered(target) {
                    let info = self.streams.get_mut(&s.0).expect("known");
                    info.answered = true;
                    info.open_failed = true;
                    self.t.handle_stream_open_failed(self.now, s, f.clone());
                }
            }
            Op::Ack(kind, status) => {
                let current = self.t.current_stream();
                let (stream, id) = match (kind, current) {
                    (AckKind::Stale(n), _) => match self.pick(&Target::Old(*n), None) {
                        Some(s) => (s, 1),
                        None => return self.finish_step(op, nb_errors_before, false, None),
                    },
                    (_, None) => return self.finish_step(op, nb_errors_before, false, None),
                    (AckKind::Right, Some(s)) => {
                        // A well-behaved receiver acks only what it received.
                        let info = self.streams.get_mut(&s.0).expect("known");
                        let Some(id) = info.outstanding.pop_front() else {
                            return self.finish_step(op, nb_errors_before, false, None);
                        };
                        info.last_acked = Some(id);
                        (s, id)
                    }
                    (AckKind::Wrong(k), Some(s)) => {
                        let info = &self.streams[&s.0];
                        (s, info.outstanding.front().copied().unwrap_or(1) + 1 + k)
                    }
                    (AckKind::Duplicate, Some(s)) => (s, self.streams[&s.0].last_acked.unwrap_or(1)),
                    (AckKind::Zero, Some(s)) => (s, 0),
                };
                may_reset_errors = id == 1 && Some(stream) == current;
                // A "wrong" or "duplicate" id may happen to be the right one.
                if Some(stream) == current
                    && let Some(info) = self.streams.get_mut(&stream.0)
                    && info.outstanding.front() == Some(&id)
                {
                    info.outstanding.pop_front();
                    info.last_acked = Some(id);
                }
                if Some(stream) == current
                    && matches!(self.t.state(), State::Active | State::Draining)
                    && let Some(info) = self.streams.get_mut(&stream.0)
                {
                    info.last_ack_at = Some(self.now);
                }
                self.t.handle_ack(self.now, stream, id, *status);
            }
            Op::StreamError(target, side, f) => {
                let live = self.t.current_stream().or(self.t.pending_stream());
                if let Some(s) = self.pick(target, live) {
                    if self.t.pending_stream() == Some(s)
                        && let Some(info) = self.streams.get_mut(&s.0)
                    {
                        // An error for the pending attempt answers its open.
                        info.answered = true;
                        info.open_failed = true;
                    }
                    self.t.handle_stream_error(self.now, s, *side, f.clone());
                }
            }
            Op::Advance(ms) => {
                self.now = self.now.add_millis(*ms);
                self.t.handle_timeout(self.now);
                timeout_handled = Some(self.now);
            }
            Op::JumpToTimeout => {
                if let Some(at) = self.t.poll_timeout() {
                    assert!(at >= Timestamp(0));
                    self.now = self.now.max(at);
                    self.t.handle_timeout(self.now);
                    timeout_handled = Some(self.now);
                }
            }
            Op::InternalError => self.t.handle_internal_error(self.now, "model".into()),
            Op::Shutdown(deadline) => self.t.shutdown(self.now, deadline.map(|d| self.now.add_millis(d))),
            Op::Resume => {
                may_reset_errors = true;
                self.t.resume(self.now);
            }
            Op::HealthyRound => {
                if self.t.pending_stream().is_some() {
                    self.step(&Op::Opened(Target::Live));
                }
                self.step(&Op::Pull(3));
                while self.t.current_stream().is_some_and(|s| !self.streams[&s.0].outstanding.is_empty()) {
                    self.step(&Op::Ack(AckKind::Right, 1));
                }
                return;
            }
        }
        self.finish_step(op, nb_errors_before, may_reset_errors, timeout_handled);
    }

    /// The checks after every event: state and stream agree, the tracker matches the
    /// model, the error count resets only on success, no busy loop, the ack deadline armed.
    pub fn finish_step(
        &mut self,
        op: &Op,
        nb_errors_before: u32,
        may_reset: bool,
        timeout: Option<Timestamp>,
    ) {
        self.drain();
        let t = &self.t;
        let state = t.state();
        // current ⇔ Active/Draining; pending ⇔ Connecting.
        assert_eq!(t.current_stream().is_some(), matches!(state, State::Active | State::Draining), "{op:?}");
        assert_eq!(t.pending_stream().is_some(), state == State::Connecting, "{op:?}");
        // At most one open attempt outstanding and not abandoned: the pending one is the latest.
        if let Some(p) = t.pending_stream() {
            assert_eq!(p.0, self.last_open);
        }
        assert!(t.tracker_len() <= CAPACITY);
        if state != State::Closed {
            assert_eq!(
                t.tracker_len() as u64,
                self.pushed.len() as u64 - self.acked_batches(),
                "tracker vs model"
            );
        }
        if t.nb_errors() < nb_errors_before {
            assert!(may_reset, "nb_errors reset by {op:?}");
        }
        assert!(t.nb_errors() <= t.max_errors());
        if let Some(at) = timeout
            && let Some(next) = t.poll_timeout()
        {
            assert!(next > at, "busy loop: poll_timeout {next} after handle_timeout({at})");
        }
        // The ack timeout is armed from the last progress, never later (Amendment 3).
        if let Some(due) = self.ack_due() {
            assert!(t.poll_timeout().is_some_and(|next| next <= due), "ack deadline {due} not armed");
        }
        if state == State::Closed {
            assert!(self.unacknowledged.is_some());
            assert_eq!(t.poll_timeout(), None);
        }
        self.trace.push(format!("{state:?} {:?}", t.poll_timeout()));
    }

    /// Ends the run: shut down at once, answer every unanswered open, check the close rule.
    pub fn finish(&mut self) {
        self.t.shutdown(self.now, Some(self.now));
        self.drain();
        // An earlier shutdown keeps its own deadline: let it pass.
        if let Some(deadline) = self.t.shutdown_deadline() {
            let wait = deadline.millis_since(self.now);
            self.step(&Op::Advance(wait));
        }
        assert_eq!(self.t.state(), State::Closed);
        let unanswered: Vec<u64> =
            self.streams.iter().filter(|(_, i)| !i.answered).map(|(id, _)| *id).collect();
        for id in unanswered {
            let info = self.streams.get_mut(&id).expect("known");
            info.answered = true;
            info.opened = true;
            self.t.handle_stream_opened(self.now, StreamId(id));
            self.drain();
        }
        for (id, info) in &self.streams {
            let expected = u32::from(info.opened);
            assert_eq!(info.closes, expected, "stream {id}: {info:?}");
        }
        assert!(self.unacknowledged.is_some());
    }
}

/// Runs `ops` from a fresh model with `seed`, finishes, and returns the trace (everything
/// observable, for the determinism check).
pub fn run(ops: &[Op], seed: u64) -> Vec<String> {
    let mut sim = Sim::new(seed);
    for op in ops {
        sim.step(op);
    }
    sim.finish();
    sim.trace
}
