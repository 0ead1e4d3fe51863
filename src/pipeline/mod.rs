//! The record-level sans-IO core: translator → batcher → encoding step → [`Transport`] (spec
//! `transport.md` §2.3, §14.2; `encoding.md` §3–§4).
//!
//! The Pipeline is the one owner of each record's fate: its ack queue holds every token and
//! reports each exactly once ([`Action::Acknowledge`]); the Transport below it only counts
//! batches and records. It is also the one owner of the memory budget (`budget.rs`), of the
//! codec (`encoding.rs`) and of the shutdown deadline. Stream actions pass through from the
//! Transport.

mod acks;
mod action;
#[doc(hidden)]
pub mod budget;
mod config;
mod encoding;
mod metrics;
mod queries;

use std::collections::VecDeque;
use std::fmt;

use crate::batcher::{BatchLimits, Batcher};
use crate::record::Record;
use crate::snapshot::AckedState;
use crate::translator::{LogKind, Translator};
use crate::transport::{
    self, AckOutcome, DropReason, EndpointConfig, Failure, Full, LabeledCounter, Side, State, Transmit,
    Transport,
};
use crate::{ConfigError, Profile, StreamId, Timestamp, duration_ms};

pub(crate) use acks::AckQueue;
pub use action::{Action, ShutdownSummary};
pub use config::{BatchFormat, PipelineConfig};
pub(crate) use encoding::BatchEncoder;
pub use metrics::PipelineMetrics;

use budget::{BATCH_OVERHEAD, admission_bound, context_bytes, datums_cost, message_data_limit};

/// The metric label of records still held when shutdown ends.
const UNACKNOWLEDGED_AT_SHUTDOWN: &str = "unacknowledged_at_shutdown";

/// Why `handle_record` refused a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Backpressure: the open batch is full and the Transport has no room, or the memory
    /// budget is full. Keep the record and retry once `input_ready()` is true.
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
    /// The open batch must reach the Transport (or `deadline` pass) before
    /// `Transport::shutdown` is called; while input is still open, records keep arriving.
    Draining {
        deadline: Timestamp,
    },
    /// `Transport::shutdown` was called.
    HandedOver,
    /// `ShutdownComplete` was emitted.
    Done,
}

/// One logs pipeline: translator, batcher, encoding step, ack queue and a [`Transport`].
///
/// Calling discipline as for the Transport: after every call, drain `poll_action()`, pull
/// with `poll_transmit()` while the stream can take a message, then wait for I/O or
/// `poll_timeout()`.
#[derive(Debug)]
pub struct Pipeline {
    transport: Transport<AckedState>,
    translator: Translator,
    batcher: Batcher,
    encoder: BatchEncoder,
    acks: AckQueue,
    actions: VecDeque<Action>,
    /// A flush is due but waits for room in the tracker (or for `resume` after an encoding
    /// failure).
    flush_waiting: bool,
    /// The last flush could not be encoded; the Transport halted with `Internal`.
    encode_failed: bool,
    shutdown: Shutdown,
    /// Records may still arrive (from the driver's queue). `shutdown` closes it at once,
    /// `begin_shutdown` leaves it open until `end_input`.
    input_open: bool,
    /// The Transport reported `ShutdownComplete`.
    transport_done: bool,
    shutdown_timeout_ms: u64,
    records_dropped: LabeledCounter,
    bytes_dropped: LabeledCounter,
    /// The memory budget and the part of it the compression context takes.
    max_buffer_bytes: u64,
    context_bytes: u64,
    /// The largest `StatefulBatch.data` a batch may reach (from `max_message_bytes`).
    message_limit: u64,
    /// Whether the translator may split a record's content (patterns, JSON schemas), which
    /// makes its worst-case size larger than its text.
    structured: bool,
    outcomes: ShutdownSummary,
    last_now: Timestamp,
}

impl Pipeline {
    /// Validates `config` and starts: the Transport is `Connecting` with its first
    /// `OpenStream` queued. `seed` drives every jittered value.
    pub fn new(config: PipelineConfig, seed: u64, now: Timestamp) -> Result<Self, ConfigError> {
        config.validate()?;
        let format = config.wire_format();
        let encoder = BatchEncoder::new(&config);
        let structured = config.batch_format == BatchFormat::HttpJson
            || config.translator.patterns.enabled
            || config.profile() == Profile::V2;
        let compression = encoder.compression();
        let mut transport_config = config.transport;
        transport_config.compression = compression;
        let shutdown_timeout_ms = duration_ms(transport_config.shutdown_timeout);
        let message_limit = message_data_limit(transport_config.max_message_bytes);
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
            encoder,
            acks: AckQueue::default(),
            actions: VecDeque::new(),
            flush_waiting: false,
            encode_failed: false,
            shutdown: Shutdown::Running,
            input_open: true,
            transport_done: false,
            shutdown_timeout_ms,
            records_dropped: LabeledCounter::default(),
            bytes_dropped: LabeledCounter::default(),
            max_buffer_bytes: config.max_buffer_bytes,
            context_bytes: context_bytes(&compression),
            message_limit,
            structured,
            outcomes: ShutdownSummary::default(),
            last_now: now,
        };
        pipeline.after_call(now);
        Ok(pipeline)
    }

    // ---- records in ----

    /// Admits a record (`encoding.md` §3.2). A record too large for any batch (its raw size
    /// above `max_batch_bytes`, or its worst-case encoding above `max_message_bytes`) is
    /// dropped and its token resolves `Dropped(TooLarge)` in input order; the call still
    /// returns `Ok`. `Full` when the open batch cannot take it now or the memory budget is full.
    ///
    /// After `begin_shutdown`, records are admitted until the shutdown deadline; past it, each
    /// is discarded at once, its token `Unacknowledged` (the driver empties its queue into the
    /// Pipeline, which reports every token).
    // The spec hands the record back by value in `Rejected`; boxing it would cost an
    // allocation per refused record for no gain on the `Ok` path.
    #[allow(clippy::result_large_err)]
    pub fn handle_record(&mut self, now: Timestamp, record: Record) -> Result<(), Rejected> {
        let now = self.observe(now);
        match self.shutdown {
            Shutdown::Done => return Err(Rejected { record, reason: RejectReason::Closed }),
            _ if !self.input_open => return Err(Rejected { record, reason: RejectReason::ShuttingDown }),
            Shutdown::Running | Shutdown::Draining { .. } => {}
            Shutdown::HandedOver => {
                self.discard_at_shutdown(&record);
                self.after_call(now);
                return Ok(());
            }
        }
        let raw_len = record.raw_len();
        let bound = admission_bound(&record, self.structured);
        if self.translator.is_too_large(&record, self.batcher.limits().max_bytes)
            || bound + BATCH_OVERHEAD > self.message_limit
        {
            self.drop_too_large(&record);
            self.after_call(now);
            return Ok(());
        }
        if !self.batcher.fits(raw_len) || self.batcher.open().cost + bound > self.message_limit {
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
        if !self.is_empty() && self.buffered_bytes() + bound + BATCH_OVERHEAD > self.max_buffer_bytes {
            return Err(Rejected { record, reason: RejectReason::Full });
        }
        let cost = self.append(now, &record);
        self.batcher.record_added(now, raw_len, record.ack_token.is_some(), cost);
        if let Some(token) = record.ack_token {
            self.acks.push_waiting(token);
        }
        if self.batcher.is_full() {
            self.request_flush(now);
        }
        self.after_call(now);
        Ok(())
    }

    /// Appends `record` to the open batch in the batch format; returns its cost.
    fn append(&mut self, now: Timestamp, record: &Record) -> u64 {
        // The first record also pays for the batch's own entry in the tracker.
        let first = if self.batcher.is_empty() { BATCH_OVERHEAD } else { 0 };
        match self.encoder.batch_format() {
            BatchFormat::HttpJson => {
                let json = self.batcher.json_mut();
                let before = json.len();
                if before > 0 {
                    json.push(b',');
                }
                crate::http_json::write_http_json_record(record, json);
                first + (json.len() - before) as u64 + budget::RECORD_OVERHEAD
            }
            BatchFormat::Stateful => {
                let datums = self.batcher.datums_mut();
                let before = datums.len();
                let kind = self.translator.translate(now, record, datums);
                let mut cost = first + datums_cost(&self.batcher.datums_mut()[before..]);
                if self.encoder.keeps_pattern_texts() && kind == LogKind::Pattern {
                    cost += record.content.len() as u64;
                    self.batcher.keep_pattern_text(record.content.clone());
                }
                cost
            }
        }
    }

    /// Flushes the open batch now, or as soon as the Transport has room.
    pub fn flush(&mut self, now: Timestamp) {
        let now = self.observe(now);
        self.request_flush(now);
        self.after_call(now);
    }

    /// True when every record of acceptable size would be accepted now: the Pipeline takes
    /// input, its open batch is empty or can be flushed, and the budget has room for a record
    /// of the largest size a message can carry (or the Pipeline holds nothing). Past the
    /// deadline of a `begin_shutdown`, records are taken (and discarded) at once: true.
    pub fn input_ready(&self) -> bool {
        match self.shutdown {
            Shutdown::Done => false,
            _ if !self.input_open => false,
            Shutdown::HandedOver => true,
            Shutdown::Running | Shutdown::Draining { .. } => {
                (self.batcher.is_empty() || self.can_flush())
                    && (self.is_empty()
                        || self.buffered_bytes() + self.message_limit + BATCH_OVERHEAD
                            <= self.max_buffer_bytes)
            }
        }
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
        if let Shutdown::Draining { deadline } = self.shutdown
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

    /// Graceful shutdown (§14.2) with input closed: refuse records, flush, hand the last batch
    /// to the Transport, then report every token still unacknowledged once the Transport is
    /// done or `deadline` (default `now + shutdown_timeout`) passes.
    pub fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        self.begin_shutdown(now, deadline);
        self.end_input(now);
    }

    /// Starts a graceful shutdown while records may still arrive: a driver calls it when the
    /// producers stop, keeps handing in the records it had queued (admitted until the
    /// deadline, discarded as `Unacknowledged` after it), then calls [`end_input`]. The
    /// deadline is kept here, not by the driver. No-op when already shutting down.
    ///
    /// [`end_input`]: Pipeline::end_input
    pub fn begin_shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        let now = self.observe(now);
        if self.shutdown != Shutdown::Running {
            return;
        }
        let deadline = deadline.unwrap_or(now.add_millis(self.shutdown_timeout_ms));
        self.shutdown = Shutdown::Draining { deadline };
        self.request_flush(now);
        self.after_call(now);
    }

    /// No more records will arrive: the shutdown completes once what is held is acknowledged
    /// or the deadline passes. Starts a shutdown with the default deadline if none was begun.
    pub fn end_input(&mut self, now: Timestamp) {
        let now = self.observe(now);
        if self.shutdown == Shutdown::Running {
            self.begin_shutdown(now, None);
        }
        if self.input_open {
            self.input_open = false;
            self.request_flush(now);
            self.after_call(now);
        }
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

    /// How long the last [`Pipeline::poll_transmit`] that returned a batch took, as the
    /// driver measured it: with `zstd-stream` that is the batch's compression, the input the
    /// adaptive level decides from (see [`Transport::handle_compression_time`]).
    pub fn handle_compression_time(&mut self, now: Timestamp, elapsed: std::time::Duration) {
        let now = self.observe(now);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.transport.handle_compression_time(now, nanos);
    }

    /// The driver's calibration of the adaptive compression level (see
    /// [`Transport::handle_compression_calibration`]).
    pub fn handle_compression_calibration(&mut self, nanos_per_byte: &[f64]) {
        self.transport.handle_compression_calibration(nanos_per_byte);
    }

    /// The earliest of the Transport's deadline, the flush deadline (while the open batch can
    /// be flushed) and the shutdown deadline (while the last batch waits to be handed over).
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        let flush = if !self.batcher.is_empty() && self.can_flush() { self.batcher.deadline() } else { None };
        let shutdown = match self.shutdown {
            Shutdown::Draining { deadline } => Some(deadline),
            _ => None,
        };
        [self.transport.poll_timeout(), flush, shutdown].into_iter().flatten().min()
    }

    // ---- internals ----

    fn observe(&mut self, now: Timestamp) -> Timestamp {
        self.last_now = self.last_now.max(now);
        self.last_now
    }

    /// Whether no record is held (open batch and tracker empty).
    fn is_empty(&self) -> bool {
        self.batcher.is_empty() && self.transport.tracker_len() == 0
    }

    fn can_flush(&self) -> bool {
        !self.encode_failed && self.transport.has_room()
    }

    fn drop_too_large(&mut self, record: &Record) {
        let reason = DropReason::TooLarge;
        self.records_dropped.increment(reason.label());
        self.bytes_dropped.add(reason.label(), record.raw_len());
        if let Some(token) = record.ack_token {
            self.acks.push_resolved(token, AckOutcome::Dropped(reason));
        }
    }

    fn discard_at_shutdown(&mut self, record: &Record) {
        self.records_dropped.increment(UNACKNOWLEDGED_AT_SHUTDOWN);
        self.bytes_dropped.add(UNACKNOWLEDGED_AT_SHUTDOWN, record.raw_len());
        if let Some(token) = record.ack_token {
            self.acks.push_resolved(token, AckOutcome::Unacknowledged);
        }
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
        match self.encoder.encode(self.batcher.open()) {
            Ok(encoded) => match self.transport.push_batch(now, encoded) {
                Ok(()) => {
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

    /// The end of every call: run a waiting flush, hand over at shutdown, turn the
    /// Transport's actions into the Pipeline's, and release resolved tokens.
    fn after_call(&mut self, now: Timestamp) {
        if self.flush_waiting && self.can_flush() {
            self.flush_now(now);
        }
        if let Shutdown::Draining { deadline } = self.shutdown {
            let last_batch_handed =
                !self.input_open && (self.batcher.is_empty() || self.transport.state() == State::Halted);
            if last_batch_handed || now >= deadline {
                self.hand_over(now, deadline);
            }
        }
        while let Some(action) = self.transport.poll_action() {
            match Action::try_from(action) {
                Ok(action) => self.actions.push_back(action),
                Err(transport::Action::BatchAcked { ack_tokens, .. }) => self.acks.resolve_acked(ack_tokens),
                Err(_shutdown_complete) => self.transport_done = true,
            }
        }
        self.release_acks();
        if self.transport_done && !self.input_open && self.shutdown != Shutdown::Done {
            self.finish_shutdown();
        }
    }

    fn release_acks(&mut self) {
        let released = self.acks.release();
        if !released.is_empty() {
            released.iter().for_each(|e| self.outcomes.count(e));
            self.actions.push_back(Action::Acknowledge(released));
        }
    }

    /// The Transport is done and no record will arrive: report every queued entry, in input
    /// order (the unresolved ones `Unacknowledged`), discard the open batch, and end.
    fn finish_shutdown(&mut self) {
        let open = self.batcher.take();
        if open.records > 0 {
            self.records_dropped.add(UNACKNOWLEDGED_AT_SHUTDOWN, u64::from(open.records));
            self.bytes_dropped.add(UNACKNOWLEDGED_AT_SHUTDOWN, open.raw_bytes);
        }
        let entries = self.acks.release_all();
        if !entries.is_empty() {
            entries.iter().for_each(|e| self.outcomes.count(e));
            self.actions.push_back(Action::Acknowledge(entries));
        }
        self.actions.push_back(Action::ShutdownComplete(self.outcomes));
        self.flush_waiting = false;
        self.shutdown = Shutdown::Done;
    }
}

#[cfg(test)]
mod tests;
