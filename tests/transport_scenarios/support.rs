//! The harness of the transport scenarios and the transition-table test: a scripted driver
//! around `Transport<SimpleState>` that keeps the clock explicit, records every action and
//! checks the close-exactly-once rule as it goes. (The property test's driver is the
//! reference model in `stateful_logs::testing::transport_model`.)
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use stateful_logs::transport::testing::{self, Change, SimpleState};
use stateful_logs::transport::{
    AckEntry, Action, ApiKey, CloseMode, EndpointConfig, Failure, HaltError, Side, State, Transmit,
    Transport, TransportConfig,
};
use stateful_logs::{StreamId, Timestamp};

/// The API key every test endpoint uses; it must never show in Debug output.
pub const API_KEY: &str = "SECRET-api-key-0123456789";

/// One endpoint per host, all with [`API_KEY`].
pub fn endpoint(host: &str) -> EndpointConfig {
    EndpointConfig::new(host, 443, ApiKey::new(API_KEY))
}

/// Defaults with one endpoint, no lifetime or ack-timeout jitter (so deadlines are exact).
pub fn config() -> TransportConfig {
    let mut c = TransportConfig::new(vec![endpoint("intake.example")]);
    c.lifetime_jitter_percent = 0;
    c.retry.ack_timeout_jitter_percent = 0;
    c
}

/// A scripted driver: keeps the clock, records every action and which streams were opened
/// and closed, and checks the close-exactly-once rule as it goes.
pub struct Harness {
    pub t: Transport<SimpleState>,
    pub now: Timestamp,
    /// Every action drained so far, in order.
    pub log: Vec<Action>,
    /// Streams reported opened (to the transport) → number of CloseStream received.
    pub closes: BTreeMap<u64, u32>,
    /// Streams that got a CloseStream, with the mode, in order.
    pub closed: Vec<(StreamId, CloseMode)>,
    /// Tokens acknowledged, in order.
    pub acked: Vec<u64>,
    /// Every `Retrying` action drained, in order.
    pub retries: Vec<Action>,
    /// Tokens of the pushed batches not yet acknowledged, in push order: the harness keeps
    /// them as the Pipeline does (the Transport only counts them).
    pub pending_tokens: std::collections::VecDeque<Vec<u64>>,
    /// The last `OpenStream` drained and not yet taken by `expect_open`.
    pub unanswered_open: Option<StreamId>,
}

impl Harness {
    pub fn new(config: TransportConfig) -> Self {
        Self::with_state(config, SimpleState::new(), 42)
    }

    pub fn with_state(config: TransportConfig, state: SimpleState, seed: u64) -> Self {
        let t = Transport::new(config, state, seed, Timestamp(0)).expect("valid config");
        Harness {
            t,
            now: Timestamp(0),
            log: Vec::new(),
            closes: BTreeMap::new(),
            closed: Vec::new(),
            acked: Vec::new(),
            retries: Vec::new(),
            pending_tokens: std::collections::VecDeque::new(),
            unanswered_open: None,
        }
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.add_millis(ms);
    }

    /// Drains every pending action, recording it.
    pub fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(a) = self.t.poll_action() {
            // Retry announcements are checked on their own (`retries`); the scenarios compare
            // the stream actions.
            if let Action::Retrying { .. } = a {
                self.retries.push(a);
                continue;
            }
            match &a {
                Action::CloseStream { stream, mode } => {
                    *self.closes.entry(stream.0).or_insert(0) += 1;
                    self.closed.push((*stream, *mode));
                }
                Action::BatchAcked { ack_tokens, .. } => {
                    let tokens = self.pending_tokens.pop_front().expect("an ack for a pushed batch");
                    assert_eq!(tokens.len(), *ack_tokens as usize, "the batch's token count");
                    self.acked.extend(tokens);
                }
                Action::OpenStream { stream, .. } => self.unanswered_open = Some(*stream),
                _ => {}
            }
            self.log.push(a.clone());
            out.push(a);
        }
        out
    }

    /// Drains actions and returns the id of the `OpenStream` not yet answered (drained now or
    /// earlier); it must be the transport's pending attempt.
    pub fn expect_open(&mut self) -> StreamId {
        self.drain();
        let stream = self.unanswered_open.take().expect("an OpenStream was emitted");
        assert_eq!(self.t.pending_stream(), Some(stream), "the OpenStream is the pending attempt");
        stream
    }

    /// Reports `stream` opened.
    pub fn opened(&mut self, stream: StreamId) {
        self.closes.entry(stream.0).or_insert(0);
        self.t.handle_stream_opened(self.now, stream);
    }

    /// Waits for the open, reports it opened, returns the id; the transport is then Active.
    pub fn connect(&mut self) -> StreamId {
        let s = self.expect_open();
        self.opened(s);
        assert_eq!(self.t.state(), State::Active);
        s
    }

    /// Pushes a batch with payload `name`, changes and tokens (one record per token, at least 1).
    pub fn push(&mut self, name: &str, changes: Vec<Change>, tokens: Vec<u64>) {
        let records = tokens.len().max(1) as u32;
        self.t
            .push_batch(self.now, testing::batch(name.as_bytes().to_vec(), changes, records, tokens.clone()))
            .unwrap_or_else(|_| panic!("push of {name} refused"));
        self.pending_tokens.push_back(tokens);
    }

    /// Pulls every transmit the stream gives now.
    pub fn pull_all(&mut self, stream: StreamId) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(tx) = self.t.poll_transmit(self.now, stream) {
            out.push(tx);
        }
        out
    }

    /// Pulls everything and returns `(batch_id, payload)` pairs as strings.
    pub fn pull_ids(&mut self, stream: StreamId) -> Vec<(u32, String)> {
        self.pull_all(stream)
            .into_iter()
            .map(|t| (t.batch_id, String::from_utf8_lossy(&t.data).into_owned()))
            .collect()
    }

    pub fn ack(&mut self, stream: StreamId, batch_id: u32) {
        self.t.handle_ack(self.now, stream, batch_id, 1);
    }

    pub fn fail(&mut self, stream: StreamId, side: Side, failure: Failure) {
        self.t.handle_stream_error(self.now, stream, side, failure);
    }

    /// Advances to the transport's next deadline and handles it; returns that deadline.
    pub fn fire(&mut self) -> Timestamp {
        let at = self.t.poll_timeout().expect("a deadline is armed");
        assert!(at >= self.now, "deadline {at} is in the past (now {})", self.now);
        self.now = at;
        self.t.handle_timeout(at);
        if let Some(next) = self.t.poll_timeout() {
            assert!(next > at, "busy loop: poll_timeout {next} after handle_timeout({at})");
        }
        at
    }

    /// The single `Halted` error drained so far.
    pub fn halts(&self) -> Vec<HaltError> {
        self.log
            .iter()
            .filter_map(|a| match a {
                Action::Halted(e) => Some(e.clone()),
                _ => None,
            })
            .collect()
    }

    /// The tokens left unacknowledged when shutdown completed (the batches the Transport
    /// reported discarded, whose count must match), if it completed.
    pub fn shutdown_complete(&self) -> Option<Vec<u64>> {
        self.log.iter().find_map(|a| match a {
            Action::ShutdownComplete { batches, ack_tokens, .. } => {
                assert_eq!(*batches as usize, self.pending_tokens.len(), "discarded batches");
                let tokens: Vec<u64> = self.pending_tokens.iter().flatten().copied().collect();
                assert_eq!(*ack_tokens as usize, tokens.len(), "discarded tokens");
                Some(tokens)
            }
            _ => None,
        })
    }

    /// Every stream reported opened was closed exactly once, except the current one (not yet).
    pub fn assert_each_opened_stream_closed_once(&self) {
        for (id, n) in &self.closes {
            let open_now = self.t.current_stream() == Some(StreamId(*id));
            let expected = if open_now { 0 } else { 1 };
            assert_eq!(*n, expected, "stream {id} closed {n} times");
        }
    }
}

/// Every state, in the transition table's column order (`transport.md` §6).
pub const ALL_STATES: [State; 6] =
    [State::Disconnected, State::Connecting, State::Active, State::Draining, State::Halted, State::Closed];

/// Drives a fresh harness into `state` with two buffered batches (tokens 1 and 2).
pub fn harness_in(state: State) -> Harness {
    let mut c = config();
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    match state {
        State::Connecting => {
            h.drain();
        }
        State::Disconnected => {
            let s = h.expect_open();
            h.t.handle_stream_open_failed(h.now, s, Failure::Eof);
        }
        State::Active => {
            let s = h.connect();
            h.pull_all(s);
        }
        State::Draining => {
            let s = h.connect();
            h.pull_all(s);
            h.fire();
        }
        State::Halted => {
            let s = h.connect();
            h.fail(s, Side::Recv, status(16, "bad key"));
        }
        State::Closed => {
            h.t.shutdown(h.now, Some(h.now));
        }
    }
    h.drain();
    assert_eq!(h.t.state(), state);
    h
}

/// Status failure helper.
pub fn status(code: i32, message: &str) -> Failure {
    Failure::status(code, message)
}

/// Every token of `entries`.
pub fn tokens(entries: &[AckEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.token).collect()
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}
