//! The `Transport` itself: fields, public API and event dispatch (spec `transport.md` §2.2, §6).
//! The procedures of §5 live in `procedures.rs`.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::error::ConfigError;
use crate::rng::SplitMix64;
use crate::time::{StreamId, Timestamp, duration_ms};

use super::backoff::Backoff;
use super::compression::StreamCompression;
use super::config::{EndpointConfig, TransportConfig};
use super::endpoints::{Endpoints, FailoverRules};
use super::failure::{self, STREAM_CREATION_FAILED, stream_error_reason};
use super::metrics::Metrics;
use super::retry::{RetryCause, RetryDelayKind, RetryTiming};
use super::tracker::Tracker;
use super::types::{
    Action, CloseMode, EncodedBatch, Failure, Full, HaltError, Side, SnapshotSource, State, Transmit,
};

/// The armed deadlines (§3); each is meaningful only in the states the table of §3 names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Deadlines {
    pub(super) open: Option<Timestamp>,
    pub(super) lifetime: Option<Timestamp>,
    pub(super) drain: Option<Timestamp>,
    pub(super) backoff: Option<Timestamp>,
    pub(super) shutdown: Option<Timestamp>,
}

/// Durations of the configuration, in milliseconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timing {
    pub(super) open_timeout: u64,
    pub(super) stream_lifetime: u64,
    pub(super) lifetime_jitter_percent: u64,
    pub(super) drain_timeout: u64,
    pub(super) ack_timeout: Option<u64>,
    pub(super) shutdown_timeout: u64,
}

/// The sans-IO stream state machine: carries pre-encoded batches over one stream at a time,
/// tracks acks, rotates, replays the acked state, backs off, fails over, halts and shuts down.
///
/// Calling discipline (crate docs): after every call that can change state, drain
/// [`poll_action`](Self::poll_action) until `None`, then call
/// [`poll_transmit`](Self::poll_transmit) while the stream can take a message, then wait for
/// the next I/O event or for [`poll_timeout`](Self::poll_timeout).
pub struct Transport<S: SnapshotSource> {
    pub(super) config: TransportConfig,
    pub(super) timing: Timing,
    pub(super) snapshot: S,
    pub(super) tracker: Tracker<S::Changes>,
    pub(super) endpoints: Endpoints,
    pub(super) backoff: Backoff,
    /// The retry policy in milliseconds (`retry.rs`).
    pub(super) retry: RetryTiming,
    /// What the failure being handled tells the retry rules; set by the entry points just
    /// before FAIL or ROTATE(failure), taken by ROTATE(failure), cleared after.
    pub(super) retry_cause: RetryCause,
    /// The first failure rotation since `nb_errors` was last 0 (meaningful while it is not).
    pub(super) failing_since: Timestamp,
    /// The last retry's delay and what set it.
    pub(super) last_retry: Option<(u64, RetryDelayKind)>,
    /// The last ack on a stream, with that stream: progress for the ack timeout.
    pub(super) last_ack: Option<(StreamId, Timestamp)>,
    /// The ack timeout of the current stream, drawn at ACTIVATE (`retry.rs`).
    pub(super) stream_ack_timeout: Option<u64>,
    pub(super) rng: SplitMix64,
    pub(super) actions: VecDeque<Action>,
    pub(super) metrics: Metrics,
    pub(super) state: State,
    pub(super) pending: Option<StreamId>,
    pub(super) abandoned: Vec<StreamId>,
    pub(super) current: Option<StreamId>,
    /// Endpoint index of the pending or current stream (named in halts).
    pub(super) stream_endpoint: usize,
    pub(super) next_stream_id: u64,
    /// u64 so that `max_batch_id = u32::MAX` cannot overflow it.
    pub(super) next_batch_id: u64,
    pub(super) pending_snapshot: Option<Bytes>,
    /// Stored batch → wire bytes: the codec per endpoint and the current stream's context.
    pub(super) compression: StreamCompression,
    /// A `BatchStatus` arrived on the pending or current stream (`encoding.md` §7.1).
    pub(super) stream_acked: bool,
    /// Per endpoint: a `BatchStatus` arrived on one of its streams, so it serves the method
    /// and a later `UNIMPLEMENTED` can only be about the codec.
    pub(super) method_served: Vec<bool>,
    pub(super) stream_state_bytes: u64,
    pub(super) nb_errors: u32,
    pub(super) protocol_errors: u32,
    pub(super) deadlines: Deadlines,
    pub(super) shutting_down: bool,
    pub(super) last_now: Timestamp,
}

impl<S: SnapshotSource> Transport<S> {
    /// Validates `config` and starts: the state is `Connecting` with the first `OpenStream`
    /// queued. `seed` drives every jittered value (§9.4).
    pub fn new(
        mut config: TransportConfig,
        snapshot: S,
        seed: u64,
        now: Timestamp,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let list = std::mem::take(&mut config.endpoints);
        let endpoint_count = list.len();
        let compression = StreamCompression::new(config.compression, endpoint_count, now);
        let timing = Timing {
            open_timeout: duration_ms(config.open_timeout),
            stream_lifetime: duration_ms(config.stream_lifetime),
            lifetime_jitter_percent: u64::from(config.lifetime_jitter_percent),
            drain_timeout: duration_ms(config.drain_timeout),
            ack_timeout: config.ack_timeout.map(duration_ms),
            shutdown_timeout: duration_ms(config.shutdown_timeout),
        };
        let mut transport = Transport {
            timing,
            snapshot,
            tracker: Tracker::new(config.inflight_capacity, config.inflight_max_bytes),
            endpoints: Endpoints::new(
                list,
                FailoverRules {
                    failover_after: config.failover_after,
                    primary_retry_ms: duration_ms(config.primary_retry_interval),
                    spread: config.retry.spread_failover,
                    probe_primary: config.retry.probe_primary,
                },
            ),
            backoff: Backoff::new(
                duration_ms(config.backoff_base),
                config.backoff_factor,
                duration_ms(config.backoff_max),
            ),
            retry: RetryTiming::new(&config.retry, config.backoff_max),
            retry_cause: RetryCause::default(),
            failing_since: now,
            last_retry: None,
            last_ack: None,
            stream_ack_timeout: None,
            rng: SplitMix64::new(seed),
            actions: VecDeque::new(),
            metrics: Metrics::default(),
            state: State::Connecting,
            pending: None,
            abandoned: Vec::new(),
            current: None,
            stream_endpoint: 0,
            next_stream_id: 1,
            next_batch_id: 1,
            pending_snapshot: None,
            compression,
            stream_acked: false,
            method_served: vec![false; endpoint_count],
            stream_state_bytes: 0,
            nb_errors: 0,
            protocol_errors: 0,
            deadlines: Deadlines::default(),
            shutting_down: false,
            last_now: now,
            config,
        };
        transport.open(now);
        transport.sync_gauges();
        Ok(transport)
    }

    // ---- batches in ----

    /// Appends a batch to the unsent region (PUSH) when there is room and the transport is not
    /// `Closed`; otherwise hands it back in [`Full`].
    pub fn push_batch(
        &mut self,
        now: Timestamp,
        batch: EncodedBatch<S::Changes>,
    ) -> Result<(), Full<S::Changes>> {
        self.observe(now);
        if self.state == State::Closed || !self.tracker.has_room() {
            return Err(Full(batch));
        }
        if !self.compression.compresses_at_pull() {
            self.metrics.pre_compression_bytes =
                self.metrics.pre_compression_bytes.saturating_add(batch.pre_compression_len);
            self.metrics.encoded_bytes = self.metrics.encoded_bytes.saturating_add(batch.data.len() as u64);
        }
        self.tracker.push(batch);
        self.sync_gauges();
        Ok(())
    }

    /// Whether the tracker admits one more batch: fewer than `inflight_capacity` batches and,
    /// with a byte cap, fewer encoded bytes than that (§7.1). `push_batch` also refuses every
    /// batch in `Closed`, whatever this says.
    pub fn has_room(&self) -> bool {
        self.tracker.has_room()
    }

    // ---- events in ----

    /// The driver can write on `stream` (§15.1).
    pub fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId) {
        let now = self.observe(now);
        if self.forget_abandoned(stream) {
            self.actions.push_back(Action::CloseStream { stream, mode: CloseMode::Abort });
        } else if self.state == State::Connecting && self.pending == Some(stream) {
            self.activate(now, stream);
        }
        self.sync_gauges();
    }

    /// Opening `stream` failed.
    pub fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        let now = self.observe(now);
        if self.forget_abandoned(stream) {
            return;
        }
        if self.state == State::Connecting && self.pending == Some(stream) {
            self.pending = None;
            self.deadlines.open = None;
            if !self.codec_fallback(now, STREAM_CREATION_FAILED.into(), &failure) {
                self.retry_cause = RetryCause::of(&failure);
                self.fail(now, STREAM_CREATION_FAILED.into(), &failure);
                self.retry_cause = RetryCause::default();
            }
        }
        self.sync_gauges();
    }

    /// A `BatchStatus` arrived on `stream` (status as its numeric value).
    pub fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, status: i32) {
        let now = self.observe(now);
        if self.current == Some(stream) && matches!(self.state, State::Active | State::Draining) {
            // Any ack is progress: the ack timeout counts from here (Amendment 3).
            self.last_ack = Some((stream, now));
            let waited = self.ack_wait_ms(now, batch_id);
            self.ack(now, batch_id, status);
            self.leave_if_lagging(now, stream, waited);
            self.sync_gauges();
        }
    }

    /// `stream` failed; `side` says where the driver saw it (§15.4).
    pub fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, side: Side, failure: Failure) {
        let now = self.observe(now);
        if self.current == Some(stream) && matches!(self.state, State::Active | State::Draining) {
            let reason = stream_error_reason(side, &failure);
            if !self.codec_fallback(now, reason.clone().into(), &failure) {
                self.retry_cause = RetryCause::of(&failure);
                self.fail(now, reason.into(), &failure);
                self.retry_cause = RetryCause::default();
            }
        } else if self.pending == Some(stream) && self.state == State::Connecting {
            // A failure of the pending attempt is an open failure.
            self.pending = None;
            self.deadlines.open = None;
            if !self.codec_fallback(now, STREAM_CREATION_FAILED.into(), &failure) {
                self.retry_cause = RetryCause::of(&failure);
                self.fail(now, STREAM_CREATION_FAILED.into(), &failure);
                self.retry_cause = RetryCause::default();
            }
        }
        self.sync_gauges();
    }

    /// The layer above could not encode a batch: halt with `Internal`.
    pub fn handle_internal_error(&mut self, now: Timestamp, cause: String) {
        let now = self.observe(now);
        if self.is_running() {
            self.halt(now, HaltError::Internal { cause });
            self.sync_gauges();
        }
    }

    /// Handles every expired deadline, in the fixed order shutdown, open, ack, drain, lifetime,
    /// backoff (§6). Afterwards `poll_timeout()` is `None` or later than `now`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.observe(now);
        // One pass normally suffices (every new deadline lies in the future); the bound turns
        // a would-be livelock into a few extra passes instead of a spin.
        for _ in 0..8 {
            self.timeout_pass(now);
            if self.poll_timeout().is_none_or(|t| t > now) {
                break;
            }
        }
        self.sync_gauges();
    }

    fn timeout_pass(&mut self, now: Timestamp) {
        let due = |d: Option<Timestamp>| d.is_some_and(|t| t <= now);
        if self.is_running() && due(self.deadlines.shutdown) {
            self.shutdown_done(now);
        }
        if self.state == State::Connecting && due(self.deadlines.open) {
            self.open_timeout(now);
        }
        if matches!(self.state, State::Active | State::Draining) && due(self.ack_deadline()) {
            self.metrics.stream_errors.increment(failure::ACK_TIMEOUT);
            self.retry_cause = RetryCause { pushback_ms: None, endpoint_lags: true };
            let cause = format!("{}: no ack within the ack timeout", failure::ACK_TIMEOUT);
            self.rotate_failure(now, cause, failure::ACK_TIMEOUT_HINT);
        }
        if self.state == State::Draining && due(self.deadlines.drain) {
            self.rotate_soft(now, "drain_timeout");
        }
        if self.state == State::Active && due(self.deadlines.lifetime) {
            self.lifetime_end(now, "lifetime");
        }
        if self.state == State::Disconnected && due(self.deadlines.backoff) {
            self.open(now);
        }
    }

    // ---- control ----

    /// Starts a graceful shutdown (§14.1) that ends by `deadline`, or `now + shutdown_timeout`.
    pub fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        let now = self.observe(now);
        match self.state {
            State::Closed => {}
            State::Halted => self.shutdown_done(now),
            _ if self.shutting_down => {}
            _ => {
                let d = deadline.unwrap_or(now.add_millis(self.timing.shutdown_timeout));
                self.shutting_down = true;
                self.deadlines.shutdown = Some(d);
                self.deadlines.lifetime = None;
                if self.tracker.is_empty() || d <= now {
                    self.shutdown_done(now);
                }
            }
        }
        self.sync_gauges();
    }

    /// Leaves `Halted`: resets the error counts, returns to the primary endpoint and opens a
    /// new stream. No-op in any other state.
    pub fn resume(&mut self, now: Timestamp) {
        let now = self.observe(now);
        if self.state == State::Halted {
            self.nb_errors = 0;
            self.protocol_errors = 0;
            self.endpoints.reset();
            self.open(now);
            self.sync_gauges();
        }
    }

    /// Replaces the settings of endpoint `index`, validated as at construction; used from the
    /// next OPEN. An invalid endpoint or index changes nothing.
    pub fn update_endpoint(&mut self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError> {
        if index >= self.endpoints.len() {
            return Err(ConfigError::new(
                format!("endpoints[{index}]"),
                format!("no such endpoint; the list has {} (indices from 0)", self.endpoints.len()),
            ));
        }
        endpoint.validate(index)?;
        self.endpoints.replace(index, endpoint);
        self.compression.reset(index);
        if let Some(served) = self.method_served.get_mut(index) {
            *served = false;
        }
        Ok(())
    }

    // ---- outputs ----

    /// The next action for the driver; drain until `None` after every call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The driver's measure of how long compressing the batch it just pulled took (the time
    /// spent in [`Transport::poll_transmit`]): the input of the adaptive level
    /// (`Compression::cpu_budget`, spec Amendment 5). Without it the level stays at the
    /// ladder's cheapest rung; with a fixed level it is only counted.
    pub fn handle_compression_time(&mut self, now: Timestamp, nanos: u64) {
        let now = self.observe(now);
        self.metrics.compression_nanos = self.metrics.compression_nanos.saturating_add(nanos);
        self.compression.record_compression_time(nanos);
        self.update_compression_gauges(now);
    }

    /// The driver's calibration of the adaptive level: nanoseconds per input byte of each rung
    /// of [`crate::codec::ladder::LADDER`] on this host, timed on a sample before the first
    /// batch (so the first batch already gets its level). Ignored with a fixed level.
    pub fn handle_compression_calibration(&mut self, nanos_per_byte: &[f64]) {
        self.compression.calibrate(nanos_per_byte);
    }

    /// The next batch to write on `stream` (PULL): only for the current stream in `Active`.
    /// A batch counts as sent once pulled, so call this only when the stream can take it.
    pub fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        let now = self.observe(now);
        if self.state != State::Active || self.current != Some(stream) {
            return None;
        }
        let transmit = self.pull(now, stream);
        self.sync_gauges();
        transmit
    }

    /// The earliest armed deadline, if any: call `handle_timeout` once it is reached.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let d = &self.deadlines;
        let candidates = match self.state {
            State::Disconnected => [d.backoff, None, None],
            State::Connecting => [d.open, None, None],
            State::Active => [d.lifetime, self.ack_deadline(), None],
            State::Draining => [d.drain, self.ack_deadline(), None],
            State::Halted | State::Closed => return None,
        };
        let shutdown = if self.shutting_down { d.shutdown } else { None };
        candidates.into_iter().chain([shutdown]).flatten().min()
    }

    // ---- helpers ----

    /// `now` never decreases: a smaller value is treated as the largest seen so far.
    fn observe(&mut self, now: Timestamp) -> Timestamp {
        if now > self.last_now {
            self.last_now = now;
        }
        self.last_now
    }

    /// Whether the state is one of the four connection states (not halted, not closed).
    pub(super) fn is_running(&self) -> bool {
        matches!(self.state, State::Disconnected | State::Connecting | State::Active | State::Draining)
    }

    /// While a sent batch awaits its ack and an ack timeout is configured: the stream's ack
    /// timeout after the later of the oldest sent batch's `sent_at` and the last ack on the
    /// current stream (progress-based, Amendment 3: a slow intake that keeps acking keeps its
    /// stream).
    pub(super) fn ack_deadline(&self) -> Option<Timestamp> {
        let timeout = self.stream_ack_timeout?;
        let (_, sent_at) = self.tracker.oldest_sent()?;
        let progress = match self.last_ack {
            Some((stream, at)) if self.current == Some(stream) => at.max(sent_at),
            _ => sent_at,
        };
        Some(progress.add_millis(timeout))
    }

    fn forget_abandoned(&mut self, stream: StreamId) -> bool {
        match self.abandoned.iter().position(|&s| s == stream) {
            Some(i) => {
                self.abandoned.swap_remove(i);
                true
            }
            None => false,
        }
    }

    pub(super) fn sync_gauges(&mut self) {
        self.metrics.inflight_batches = self.tracker.len() as u64;
        self.metrics.inflight_bytes = self.tracker.bytes();
        self.metrics.stream_state_bytes = if self.current.is_some() { self.stream_state_bytes } else { 0 };
    }
}

impl<S: SnapshotSource + std::fmt::Debug> std::fmt::Debug for Transport<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Endpoint settings print through `EndpointConfig`'s Debug, which redacts the key.
        f.debug_struct("Transport")
            .field("state", &self.state)
            .field("pending", &self.pending)
            .field("current", &self.current)
            .field("endpoint", &self.endpoints.current())
            .field("tracker_len", &self.tracker.len())
            .field("sent_len", &self.tracker.sent_len())
            .field("nb_errors", &self.nb_errors)
            .field("shutting_down", &self.shutting_down)
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}
