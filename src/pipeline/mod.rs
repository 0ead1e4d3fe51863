//! The record-level sans-IO core: translator → batcher → [`Transport`] (spec `transport.md`
//! §2.3, §14.2; `encoding.md` §3–§4).
//!
//! Driver events are forwarded to the Transport and its actions pass through, except
//! `Acknowledge`, which is rewritten into input order over every record (dropped ones
//! included), and `ShutdownComplete`, which also covers the open batch.

mod acks;
mod config;
mod metrics;

use std::collections::VecDeque;
use std::fmt;

use crate::batcher::{BatchLimits, Batcher, RawRenderingBackoff};
use crate::codec::Compression;
use crate::record::Record;
use crate::snapshot::AckedState;
use crate::translator::{LogKind, Translator};
use crate::transport::{
    AckOutcome, Action, DropReason, EndpointConfig, Failure, Full, LabeledCounter, Side, State, Transmit,
    Transport,
};
use crate::wire::WireFormat;
use crate::{ConfigError, Profile, StreamId, Timestamp, duration_ms};

pub use acks::AckQueue;
pub use config::PipelineConfig;
pub use metrics::PipelineMetrics;

/// The metric label of records still in the open batch when shutdown ends.
const UNACKNOWLEDGED_AT_SHUTDOWN: &str = "unacknowledged_at_shutdown";

/// Why `handle_record` refused a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Backpressure: the open batch is full and the Transport has no room. Keep the record and
    /// retry once `input_ready()` is true.
    Full,
    /// `shutdown` was called; no record is accepted any more.
    ShuttingDown,
    /// The Pipeline is closed.
    Closed,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::Full => {
                "the pipeline is full; keep the record and retry once input_ready() is true"
            }
            RejectReason::ShuttingDown => "the pipeline is shutting down and accepts no more records",
            RejectReason::Closed => "the pipeline is closed and accepts no more records",
        })
    }
}

/// A refused record, handed back unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("record refused: {reason}")]
pub struct Rejected {
    /// The record, unchanged.
    pub record: Record,
    /// Why.
    pub reason: RejectReason,
}

/// Where the Pipeline is in its shutdown (§14.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shutdown {
    Running,
    /// Records are refused; the open batch must reach the Transport (or `deadline` pass)
    /// before `Transport::shutdown` is called.
    HandingOver {
        deadline: Timestamp,
    },
    /// `Transport::shutdown` was called.
    HandedOver,
    /// `ShutdownComplete` was emitted.
    Done,
}

/// One logs pipeline: translator, batcher, ack-entry queue and a [`Transport`].
///
/// Calling discipline as for the Transport: after every call, drain `poll_action()`, pull
/// with `poll_transmit()` while the stream can take a message, then wait for I/O or
/// `poll_timeout()`.
#[derive(Debug)]
pub struct Pipeline {
    transport: Transport<AckedState>,
    translator: Translator,
    batcher: Batcher,
    format: WireFormat,
    compression: Compression,
    acks: AckQueue,
    actions: VecDeque<Action>,
    /// A flush is due but waits for room in the tracker (or for `resume` after an encoding
    /// failure).
    flush_waiting: bool,
    /// The last flush could not be encoded; the Transport halted with `Internal`.
    encode_failed: bool,
    shutdown: Shutdown,
    shutdown_timeout_ms: u64,
    records_dropped: LabeledCounter,
    bytes_dropped: LabeledCounter,
    /// Try the raw rendering of each batch (`PipelineConfig::smallest_rendering`, `v1`).
    try_raw_rendering: bool,
    raw_rendering_backoff: RawRenderingBackoff,
    batches_rendered_raw: u64,
    last_now: Timestamp,
}

impl Pipeline {
    /// Validates `config` and starts: the Transport is `Connecting` with its first
    /// `OpenStream` queued. `seed` drives every jittered value.
    pub fn new(config: PipelineConfig, seed: u64, now: Timestamp) -> Result<Self, ConfigError> {
        config.validate()?;
        let format = config.wire_format();
        let compression = config.compression;
        // The raw rendering of a `v2` batch could not carry an empty content (§9.1).
        let try_raw_rendering = config.smallest_rendering
            && config.profile() == Profile::V1
            && config.translator.patterns.enabled;
        let mut transport_config = config.transport;
        transport_config.compression = compression;
        let shutdown_timeout_ms = duration_ms(transport_config.shutdown_timeout);
        // With zstd-stream, batch 0 is stored serialized too and compressed per stream.
        let snapshot = AckedState::new(format, compression.storage());
        let transport = Transport::new(transport_config, snapshot, seed, now)?;
        let limits = BatchLimits {
            max_items: config.max_batch_items,
            max_bytes: config.max_batch_bytes,
            batch_wait_ms: duration_ms(config.batch_wait),
        };
        let mut pipeline = Pipeline {
            transport,
            translator: Translator::seeded(format, config.translator, now, seed),
            batcher: Batcher::new(limits),
            format,
            compression,
            acks: AckQueue::default(),
            actions: VecDeque::new(),
            flush_waiting: false,
            encode_failed: false,
            shutdown: Shutdown::Running,
            shutdown_timeout_ms,
            records_dropped: LabeledCounter::default(),
            bytes_dropped: LabeledCounter::default(),
            try_raw_rendering,
            raw_rendering_backoff: RawRenderingBackoff::default(),
            batches_rendered_raw: 0,
            last_now: now,
        };
        pipeline.after_call(now);
        Ok(pipeline)
    }

    // ---- records in ----

    /// Admits a record (`encoding.md` §3.2). A record too large for any batch is dropped and
    /// its token resolves `Dropped(TooLarge)` in input order; the call still returns `Ok`.
    // The spec hands the record back by value in `Rejected`; boxing it would cost an
    // allocation per refused record for no gain on the `Ok` path.
    #[allow(clippy::result_large_err)]
    pub fn handle_record(&mut self, now: Timestamp, record: Record) -> Result<(), Rejected> {
        let now = self.observe(now);
        if self.transport.state() == State::Closed || self.shutdown == Shutdown::Done {
            return Err(Rejected { record, reason: RejectReason::Closed });
        }
        if self.shutdown != Shutdown::Running {
            return Err(Rejected { record, reason: RejectReason::ShuttingDown });
        }
        let raw_len = record.raw_len();
        if self.translator.is_too_large(&record, self.batcher.limits().max_bytes) {
            let reason = DropReason::TooLarge;
            self.records_dropped.increment(reason.label());
            self.bytes_dropped.add(reason.label(), raw_len);
            if let Some(token) = record.ack_token {
                self.acks.push_resolved(token, AckOutcome::Dropped(reason));
            }
            self.after_call(now);
            return Ok(());
        }
        if !self.batcher.fits(raw_len) {
            if !self.can_flush() {
                return Err(Rejected { record, reason: RejectReason::Full });
            }
            self.flush_now(now);
            if !self.batcher.is_empty() {
                // The flush could not be encoded: the Pipeline halted and keeps the batch.
                self.after_call(now);
                return Err(Rejected { record, reason: RejectReason::Full });
            }
        }
        let kind = self.translator.translate(now, &record, self.batcher.datums_mut());
        if self.try_raw_rendering && kind == LogKind::Pattern {
            self.batcher.keep_pattern_text(record.content.clone());
        }
        self.batcher.record_added(now, raw_len, record.ack_token);
        if let Some(token) = record.ack_token {
            self.acks.push_waiting(token);
        }
        if self.batcher.is_full() {
            self.request_flush(now);
        }
        self.after_call(now);
        Ok(())
    }

    /// Flushes the open batch now, or as soon as the Transport has room.
    pub fn flush(&mut self, now: Timestamp) {
        let now = self.observe(now);
        self.request_flush(now);
        self.after_call(now);
    }

    /// True when every record whose content is at most `max_batch_bytes` would be accepted
    /// now: not shutting down or closed, and the open batch is empty or can be flushed.
    pub fn input_ready(&self) -> bool {
        self.shutdown == Shutdown::Running
            && self.transport.state() != State::Closed
            && (self.batcher.is_empty() || self.can_flush())
    }

    // ---- events in ----

    /// The driver opened `stream` (forwarded).
    pub fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId) {
        let now = self.observe(now);
        self.transport.handle_stream_opened(now, stream);
        self.after_call(now);
    }

    /// Opening `stream` failed (forwarded).
    pub fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        let now = self.observe(now);
        self.transport.handle_stream_open_failed(now, stream, failure);
        self.after_call(now);
    }

    /// A `BatchStatus` arrived (forwarded); an ack that frees room runs a waiting flush.
    pub fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, status: i32) {
        let now = self.observe(now);
        self.transport.handle_ack(now, stream, batch_id, status);
        self.after_call(now);
    }

    /// `stream` failed (forwarded).
    pub fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, side: Side, failure: Failure) {
        let now = self.observe(now);
        self.transport.handle_stream_error(now, stream, side, failure);
        self.after_call(now);
    }

    /// A deadline passed: the shutdown deadline first, then the Transport's, then the flush
    /// deadline (§2.3).
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let now = self.observe(now);
        if let Shutdown::HandingOver { deadline } = self.shutdown
            && now >= deadline
        {
            self.hand_over(now, deadline);
        }
        self.transport.handle_timeout(now);
        if let Some(deadline) = self.batcher.deadline()
            && now >= deadline
        {
            self.request_flush(now);
        }
        self.after_call(now);
    }

    // ---- control ----

    /// Graceful shutdown (§14.2): refuse records, flush, hand the last batch to the Transport,
    /// then report every token still unacknowledged once the Transport is done or `deadline`
    /// (default `now + shutdown_timeout`) passes.
    pub fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        let now = self.observe(now);
        if self.shutdown != Shutdown::Running || self.transport.state() == State::Closed {
            return;
        }
        let deadline = deadline.unwrap_or(now.add_millis(self.shutdown_timeout_ms));
        self.shutdown = Shutdown::HandingOver { deadline };
        self.request_flush(now);
        self.after_call(now);
    }

    /// Leaves `Halted` (forwarded); also retries a flush that could not be encoded.
    pub fn resume(&mut self, now: Timestamp) {
        let now = self.observe(now);
        self.transport.resume(now);
        self.encode_failed = false;
        self.after_call(now);
    }

    /// Replaces endpoint `index` (forwarded).
    pub fn update_endpoint(&mut self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError> {
        self.transport.update_endpoint(index, endpoint)
    }

    // ---- outputs ----

    /// The next action for the driver; drain until `None` after every call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next batch to write on `stream` (forwarded).
    pub fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        let now = self.observe(now);
        let transmit = self.transport.poll_transmit(now, stream);
        self.after_call(now);
        transmit
    }

    /// The earliest of the Transport's deadline, the flush deadline (while the open batch can
    /// be flushed) and the shutdown deadline (while the last batch waits to be handed over).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let flush = if !self.batcher.is_empty() && self.can_flush() { self.batcher.deadline() } else { None };
        let shutdown = match self.shutdown {
            Shutdown::HandingOver { deadline } => Some(deadline),
            _ => None,
        };
        [self.transport.poll_timeout(), flush, shutdown].into_iter().flatten().min()
    }

    // ---- queries ----

    /// Settings of endpoint `index` (forwarded).
    pub fn endpoint(&self, index: usize) -> &EndpointConfig {
        self.transport.endpoint(index)
    }

    /// The Transport's state.
    pub fn state(&self) -> State {
        self.transport.state()
    }

    /// Every metric: the Transport's plus the encoding ones.
    pub fn metrics(&self) -> PipelineMetrics<'_> {
        PipelineMetrics {
            transport: self.transport.metrics(),
            translator: self.translator.metrics(),
            pipeline_records_dropped: &self.records_dropped,
            pipeline_bytes_dropped: &self.bytes_dropped,
            state_size_bytes: self.translator.state_size_bytes(),
            batches_rendered_raw: self.batches_rendered_raw,
        }
    }

    /// The Transport (read-only).
    pub fn transport(&self) -> &Transport<AckedState> {
        &self.transport
    }

    /// The translator (read-only).
    pub fn translator(&self) -> &Translator {
        &self.translator
    }

    /// Records in the open batch.
    pub fn open_batch_records(&self) -> u32 {
        self.batcher.open().records
    }

    /// Ack entries not yet delivered to the producer.
    pub fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    // ---- internals ----

    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    fn can_flush(&self) -> bool {
        !self.encode_failed && self.transport.has_room()
    }

    /// FLUSH (§2.3): nothing for an empty batch; waits while the Transport has no room.
    fn request_flush(&mut self, now: Timestamp) {
        if self.batcher.is_empty() {
            return;
        }
        if self.can_flush() {
            self.flush_now(now);
        } else {
            self.flush_waiting = true;
        }
    }

    /// Encodes and pushes the open batch (`encoding.md` §4). On failure the batch stays open
    /// and the Transport halts with `Internal`; `resume` retries.
    fn flush_now(&mut self, now: Timestamp) {
        let try_raw = self.try_raw_rendering && self.raw_rendering_backoff.should_try();
        match self.batcher.open().encode(&self.format, &self.compression, try_raw) {
            Ok((encoded, rendered_raw)) => match self.transport.push_batch(now, encoded) {
                Ok(()) => {
                    self.batches_rendered_raw += u64::from(rendered_raw == Some(true));
                    self.raw_rendering_backoff.record(rendered_raw);
                    self.batcher.clear();
                    self.flush_waiting = false;
                }
                Err(Full(_)) => self.flush_waiting = true,
            },
            Err(e) => {
                self.encode_failed = true;
                self.flush_waiting = true;
                self.transport.handle_internal_error(now, e.0);
            }
        }
    }

    fn hand_over(&mut self, now: Timestamp, deadline: Timestamp) {
        self.shutdown = Shutdown::HandedOver;
        self.transport.shutdown(now, Some(deadline));
    }

    /// The end of every call: run a waiting flush, hand over at shutdown, and turn the
    /// Transport's actions into the Pipeline's.
    fn after_call(&mut self, now: Timestamp) {
        if self.flush_waiting && self.can_flush() {
            self.flush_now(now);
        }
        if let Shutdown::HandingOver { deadline } = self.shutdown
            && (self.batcher.is_empty() || now >= deadline || self.transport.state() == State::Halted)
        {
            self.hand_over(now, deadline);
        }
        while let Some(action) = self.transport.poll_action() {
            match action {
                Action::Acknowledge(entries) => {
                    self.acks.resolve(&entries);
                    self.release_acks();
                }
                Action::ShutdownComplete { .. } => self.finish_shutdown(),
                other => self.actions.push_back(other),
            }
        }
        self.release_acks();
    }

    fn release_acks(&mut self) {
        let released = self.acks.release();
        if !released.is_empty() {
            self.actions.push_back(Action::Acknowledge(released));
        }
    }

    /// The Transport's `ShutdownComplete`: report every queued entry, in input order, and
    /// discard the open batch.
    fn finish_shutdown(&mut self) {
        let open = self.batcher.take();
        if open.records > 0 {
            self.records_dropped.add(UNACKNOWLEDGED_AT_SHUTDOWN, u64::from(open.records));
            self.bytes_dropped.add(UNACKNOWLEDGED_AT_SHUTDOWN, open.raw_bytes);
        }
        let entries = self.acks.release_all();
        let unacknowledged: Vec<u64> =
            entries.iter().filter(|e| e.outcome == AckOutcome::Unacknowledged).map(|e| e.token).collect();
        if !entries.is_empty() {
            self.actions.push_back(Action::Acknowledge(entries));
        }
        self.actions.push_back(Action::ShutdownComplete { unacknowledged });
        self.flush_waiting = false;
        self.shutdown = Shutdown::Done;
    }
}

#[cfg(test)]
mod tests;
