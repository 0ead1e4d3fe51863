//! An in-memory loopback: one [`Pipeline`], its peer (a [`Receiver`], or a stub that acks
//! every batch), a clock that only moves when told, and a network that can hold, delay or
//! lose acks and break streams. Deterministic: the same configuration, seed and calls give
//! the same bytes, deliveries and acks.
//!
//! Two ways to move it, after the models in `STYLE.md` (quinn's `Pair`, str0m's `progress`):
//! - by hand, one network event at a time: [`Loopback::pump`] (every batch the stream takes
//!   goes to the peer), [`Loopback::deliver_acks`], [`Loopback::kill_stream`],
//!   [`Loopback::advance`] (the clock moves and due deadlines fire);
//! - to a goal: [`Loopback::drive_until`] pumps, delivers due acks and, when nothing moves,
//!   jumps the clock to the next deadline or ack arrival; it fails with
//!   [`LoopbackError::Livelock`] after a bounded number of steps, or when a handled deadline
//!   is reported again, instead of spinning. [`Loopback::drive`] runs until every record
//!   handed in is resolved; [`Loopback::finish`] shuts down and runs until that completes.
//!
//! Not driven: the receiver's own idle deadline (the tests hold streams open on purpose), and
//! open failures (every `OpenStream` opens at once).

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::receiver::{BATCH_STATUS_OK, ReceivedLog, Receiver, ReceiverAction};
use crate::rng::SplitMix64;
use crate::status_code as code;
use crate::transport::{AckEntry, CloseMode, Failure, HaltError, Side};
use crate::{Action, Pipeline, PipelineConfig, Record, RejectReason, ShutdownSummary, StreamId, Timestamp};

use super::network::{
    AckDelivery, Counters, DEFAULT_MAX_STEPS, LoopbackConfig, LoopbackError, Peer, SentBatch,
};

#[derive(Clone, Copy, Debug)]
struct AckInFlight {
    stream: StreamId,
    batch_id: u32,
    status: i32,
    /// `None`: held until `deliver_acks`.
    due: Option<Timestamp>,
}

/// A Pipeline, its peer and the network between them; see the module doc.
pub struct Loopback {
    /// The Pipeline under test (feed it records through [`Loopback::record`] to keep the
    /// checks; read its metrics and state directly).
    pub pipeline: Pipeline,
    /// The receiver (`None` with [`Peer::AckOnly`]).
    pub receiver: Option<Receiver>,
    /// The clock. Move it with [`Loopback::advance`] so that due deadlines fire.
    pub now: Timestamp,
    /// Logs the receiver delivered, each batch's first delivery only, in order.
    pub delivered: Vec<ReceivedLog>,
    /// Every batch pulled, per stream, in order.
    pub wire: BTreeMap<StreamId, Vec<SentBatch>>,
    /// Every `Acknowledge` entry the Pipeline reported, in order.
    pub acks: Vec<AckEntry>,
    /// Every `CloseStream` the Pipeline emitted, in order.
    pub closes: Vec<(StreamId, CloseMode)>,
    /// Every `CodecFallback` the Pipeline emitted.
    pub fallbacks: Vec<Action>,
    /// The `ShutdownComplete` summary, once reported.
    pub shutdown: Option<ShutdownSummary>,
    /// The halt, when the Pipeline halted (and `halt_is_error` is off).
    pub halted: Option<HaltError>,
    /// The counters.
    pub counters: Counters,
    config: LoopbackConfig,
    rng: SplitMix64,
    stream: Option<StreamId>,
    in_flight: VecDeque<AckInFlight>,
    /// Per stream: the regular batches acked before it opened. Every unacked batch is re-sent
    /// in order on the next stream, so batch `n` of a stream is batch `base + n` of the run;
    /// a position already delivered is a replay (positions, not bytes: with `zstd-stream` a
    /// replayed batch's bytes differ).
    stream_base: HashMap<StreamId, u64>,
    delivered_batches: u64,
    /// `pre_compression_bytes` after the last pull: the next batch's size is the growth.
    serialized_bytes: u64,
    /// The first error seen while draining, reported by the next call that returns a result.
    error: Option<LoopbackError>,
}

impl Loopback {
    /// A Pipeline built from `pipeline` with `config.seed`, its opening actions already played.
    pub fn new(pipeline: PipelineConfig, config: LoopbackConfig) -> Result<Self, LoopbackError> {
        let receiver = match &config.peer {
            Peer::Receiver(c) => Some(Receiver::new(c.clone())?),
            Peer::AckOnly => None,
        };
        let mut lo = Loopback {
            pipeline: Pipeline::new(pipeline, config.seed, config.start)?,
            receiver,
            now: config.start,
            delivered: Vec::new(),
            wire: BTreeMap::new(),
            acks: Vec::new(),
            closes: Vec::new(),
            fallbacks: Vec::new(),
            shutdown: None,
            halted: None,
            counters: Counters::default(),
            // The network's losses draw from their own sequence, not the Pipeline's.
            rng: SplitMix64::new(config.seed ^ 0x6c6f_6f70_6261_636b),
            config,
            stream: None,
            in_flight: VecDeque::new(),
            stream_base: HashMap::new(),
            delivered_batches: 0,
            serialized_bytes: 0,
            error: None,
        };
        lo.settle()?;
        Ok(lo)
    }

    /// The stream batches are pulled on, if one is open.
    pub fn stream(&self) -> Option<StreamId> {
        self.stream
    }

    /// Acks sent by the peer and not yet handed to the Pipeline.
    pub fn acks_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Hands `record` to the Pipeline. On backpressure it lets the network catch up (every
    /// batch pulled, every ack in flight delivered, held ones too; the clock jumps to the
    /// next deadline only when nothing moves) and retries; any other refusal is an error.
    /// Then checks the translator's state bound (`encoding.md` §9.9).
    pub fn record(&mut self, record: Record) -> Result<(), LoopbackError> {
        let mut record = record;
        let mut steps = 0;
        loop {
            match self.pipeline.handle_record(self.now, record) {
                Ok(()) => break,
                Err(rejected) if rejected.reason == RejectReason::Full => record = rejected.record,
                Err(rejected) => return Err(LoopbackError::Rejected(rejected.reason)),
            }
            while !self.pipeline.input_ready() {
                steps += 1;
                let moved = self.pump()? + self.deliver_acks()?;
                if moved == 0 && !self.pipeline.input_ready() {
                    match self.next_event() {
                        Some(next) if steps < DEFAULT_MAX_STEPS => {
                            self.now = self.now.max(next);
                            self.fire_due()?;
                        }
                        _ => return Err(LoopbackError::Rejected(RejectReason::Full)),
                    }
                }
            }
        }
        let state = self.pipeline.translator().state_size_bytes();
        let bound = self.pipeline.translator().config().state_max_bytes;
        if state > bound {
            return Err(LoopbackError::Invariant(format!(
                "translator state {state} B above its bound {bound} B"
            )));
        }
        self.settle()
    }

    /// Takes the batches pulled since the last call, in the order sent.
    pub fn take_wire(&mut self) -> impl Iterator<Item = SentBatch> + use<> {
        std::mem::take(&mut self.wire).into_values().flatten()
    }

    /// Flushes the open batch and plays the resulting actions.
    pub fn flush(&mut self) -> Result<(), LoopbackError> {
        self.pipeline.flush(self.now);
        self.settle()
    }

    /// Moves every batch the stream takes to the peer (acks delivered at once with
    /// [`AckDelivery::Immediate`]); returns how many.
    pub fn pump(&mut self) -> Result<usize, LoopbackError> {
        let mut count = 0;
        loop {
            self.settle()?;
            let Some(stream) = self.stream else { break };
            let Some(transmit) = self.pipeline.poll_transmit(self.now, stream) else { break };
            count += 1;
            self.counters.batches_sent += 1;
            self.counters.wire_bytes += transmit.data.len() as u64;
            let level = self.report_compression_time();
            let sent = SentBatch { batch_id: transmit.batch_id, data: transmit.data.clone(), level };
            self.wire.entry(stream).or_default().push(sent);
            match &mut self.receiver {
                Some(receiver) => receiver.handle_batch(self.now, stream, transmit.batch_id, transmit.data),
                None => self.peer_ack(stream, transmit.batch_id, BATCH_STATUS_OK),
            }
            self.drain_receiver();
            if self.config.acks == AckDelivery::Immediate {
                self.deliver_due()?;
            }
        }
        self.settle()?;
        Ok(count)
    }

    /// After a pull: the level the batch was compressed at, and the host model's time for it
    /// handed to the Pipeline ([`LoopbackConfig::compression_cost`]).
    fn report_compression_time(&mut self) -> u64 {
        let metrics = self.pipeline.metrics().transport;
        let (level, serialized) = (metrics.compression_level, metrics.pre_compression_bytes);
        let bytes = serialized.saturating_sub(self.serialized_bytes);
        self.serialized_bytes = serialized;
        if let Some(cost) = self.config.compression_cost {
            let nanos = cost(level, bytes);
            self.pipeline.handle_compression_time(self.now, std::time::Duration::from_nanos(nanos));
        }
        level
    }

    /// Hands every ack in flight to the Pipeline, due or not; returns how many.
    pub fn deliver_acks(&mut self) -> Result<usize, LoopbackError> {
        let acks = std::mem::take(&mut self.in_flight);
        for ack in &acks {
            self.hand_ack(*ack)?;
        }
        Ok(acks.len())
    }

    /// Hands the oldest ack in flight to the Pipeline, due or not; returns its stream and
    /// batch id.
    pub fn deliver_next_ack(&mut self) -> Result<Option<(StreamId, u32)>, LoopbackError> {
        let Some(ack) = self.in_flight.pop_front() else { return Ok(None) };
        self.hand_ack(ack)?;
        Ok(Some((ack.stream, ack.batch_id)))
    }

    /// The current stream breaks (a connection reset on both sides): acks in flight on it
    /// are lost.
    pub fn kill_stream(&mut self) -> Result<(), LoopbackError> {
        let Some(stream) = self.stream else { return Ok(()) };
        self.counters.streams_killed += 1;
        self.drop_acks_of(stream);
        if let Some(receiver) = &mut self.receiver {
            receiver.handle_client_reset(self.now, stream);
        }
        self.pipeline.handle_stream_error(self.now, stream, Side::Recv, Failure::Connection("reset".into()));
        self.settle()
    }

    /// Moves the clock `ms` forward, firing every deadline (and delivering every delayed
    /// ack) that falls due.
    pub fn advance(&mut self, ms: u64) -> Result<(), LoopbackError> {
        self.now = self.now.add_millis(ms);
        self.fire_due()
    }

    /// Drives the network until `done` holds (checked after each step): pump, deliver due
    /// acks, and when nothing moved, jump the clock to the next deadline or ack arrival.
    /// Returns the steps taken; fails after `max_steps`, or when nothing is left to happen.
    pub fn drive_until(
        &mut self,
        max_steps: usize,
        mut done: impl FnMut(&Loopback) -> bool,
    ) -> Result<usize, LoopbackError> {
        for step in 0..max_steps {
            if done(self) {
                return Ok(step);
            }
            let moved = self.pump()? + self.deliver_due()?;
            if moved == 0 && !done(self) {
                let Some(next) = self.next_event() else {
                    return Err(self.livelock("nothing left to happen and the goal is not reached"));
                };
                self.now = self.now.max(next);
                self.fire_due()?;
            }
        }
        Err(self.livelock(&format!("goal not reached in {max_steps} steps")))
    }

    /// Drives until every record handed in is resolved: nothing in the open batch, no ack
    /// entry or ack pending, nothing left to pull.
    pub fn drive(&mut self) -> Result<usize, LoopbackError> {
        self.drive_until(DEFAULT_MAX_STEPS, |lo| {
            lo.pipeline.open_batch_records() == 0
                && lo.pipeline.pending_acks() == 0
                && lo.pipeline.transport().tracker_len() == 0
                && lo.in_flight.is_empty()
        })
    }

    /// Flushes, shuts down with a far deadline and drives (held acks delivered too) until
    /// shutdown completes; returns its summary.
    pub fn finish(&mut self) -> Result<ShutdownSummary, LoopbackError> {
        self.flush()?;
        self.pipeline.shutdown(self.now, Some(self.now.add_millis(24 * 3_600_000)));
        self.settle()?;
        for _ in 0..DEFAULT_MAX_STEPS {
            if let Some(summary) = self.shutdown {
                return Ok(summary);
            }
            let moved = self.pump()? + self.deliver_acks()?;
            if moved == 0 && self.shutdown.is_none() {
                let next = self.next_event().unwrap_or(self.now.add_millis(1000));
                self.now = self.now.max(next).max(self.now.add_millis(1));
                self.fire_due()?;
            }
        }
        Err(self.livelock("shutdown did not complete"))
    }

    /// Plays the Pipeline's and the receiver's actions until neither has any.
    pub fn settle(&mut self) -> Result<(), LoopbackError> {
        loop {
            self.drain_pipeline();
            if !self.drain_receiver() {
                break;
            }
        }
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    // ---- internals ----

    fn livelock(&self, what: &str) -> LoopbackError {
        LoopbackError::Livelock { now: self.now, what: format!("{what} (state {:?})", self.pipeline.state()) }
    }

    fn fail(&mut self, error: LoopbackError) {
        self.error.get_or_insert(error);
    }

    /// The earliest of the Pipeline's deadline and the next timed ack arrival.
    fn next_event(&self) -> Option<Timestamp> {
        let ack = self.in_flight.iter().filter_map(|a| a.due).min();
        match (self.pipeline.poll_timeout(), ack) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Delivers due acks and fires due deadlines until none is due at `now`.
    fn fire_due(&mut self) -> Result<(), LoopbackError> {
        self.deliver_due()?;
        let mut handled = None;
        while let Some(deadline) = self.pipeline.poll_timeout()
            && deadline <= self.now
        {
            if handled == Some(deadline) {
                return Err(self.livelock(&format!("poll_timeout stays at {deadline} once handled")));
            }
            handled = Some(deadline);
            self.pipeline.handle_timeout(self.now);
            self.settle()?;
            self.deliver_due()?;
        }
        Ok(())
    }

    /// Hands the acks due by `now` to the Pipeline, in the order sent; returns how many.
    fn deliver_due(&mut self) -> Result<usize, LoopbackError> {
        let now = self.now;
        let (due, waiting): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut self.in_flight).into_iter().partition(|a| a.due.is_some_and(|t| t <= now));
        self.in_flight = waiting;
        for ack in &due {
            self.hand_ack(*ack)?;
        }
        Ok(due.len())
    }

    fn hand_ack(&mut self, ack: AckInFlight) -> Result<(), LoopbackError> {
        self.counters.acks_delivered += 1;
        self.pipeline.handle_ack(self.now, ack.stream, ack.batch_id, ack.status);
        self.settle()
    }

    /// The peer sends an ack: the network loses it, or it travels.
    fn peer_ack(&mut self, stream: StreamId, batch_id: u32, status: i32) {
        self.counters.acks_sent += 1;
        let loss = u64::from(self.config.ack_loss_percent.min(100));
        if loss > 0 && self.rng.uniform(0, 99) < loss {
            self.counters.acks_lost += 1;
            return;
        }
        let due = match self.config.acks {
            AckDelivery::Immediate => Some(self.now),
            AckDelivery::AfterMillis(ms) => Some(self.now.add_millis(ms)),
            AckDelivery::Held => None,
        };
        self.in_flight.push_back(AckInFlight { stream, batch_id, status, due });
    }

    fn drop_acks_of(&mut self, stream: StreamId) {
        let before = self.in_flight.len();
        self.in_flight.retain(|a| a.stream != stream);
        self.counters.acks_lost += (before - self.in_flight.len()) as u64;
    }

    fn drain_pipeline(&mut self) {
        while let Some(action) = self.pipeline.poll_action() {
            match action {
                Action::OpenStream { stream, path, metadata, .. } => {
                    self.counters.streams_opened += 1;
                    let acked = self.pipeline.transport().metrics().ack_latency_ms.count;
                    self.stream_base.insert(stream, acked);
                    if let Some(receiver) = &mut self.receiver {
                        receiver.handle_stream_start(self.now, stream, path, &metadata.0);
                    }
                    self.stream = Some(stream);
                    self.pipeline.handle_stream_opened(self.now, stream);
                }
                Action::CloseStream { stream, mode } => {
                    self.closes.push((stream, mode));
                    if let Some(receiver) = &mut self.receiver {
                        match mode {
                            CloseMode::Graceful => receiver.handle_client_end(self.now, stream),
                            CloseMode::Abort => receiver.handle_client_reset(self.now, stream),
                        }
                    }
                    if self.stream == Some(stream) {
                        self.stream = None;
                    }
                }
                Action::Acknowledge(entries) if entries.is_empty() => {
                    self.fail(LoopbackError::Invariant("an Acknowledge without entries".into()))
                }
                Action::Acknowledge(entries) => self.acks.extend(entries),
                Action::Halted(halt) if self.config.halt_is_error => self.fail(LoopbackError::Halted(halt)),
                Action::Halted(halt) => self.halted = Some(halt),
                // The Pipeline already opened the replacement stream; nothing else to do.
                fallback @ Action::CodecFallback { .. } => self.fallbacks.push(fallback),
                Action::ShutdownComplete(_) if self.shutdown.is_some() => {
                    self.fail(LoopbackError::Invariant("ShutdownComplete emitted twice".into()))
                }
                Action::ShutdownComplete(summary) => self.shutdown = Some(summary),
                Action::Retrying { .. } => {}
            }
        }
    }

    /// Plays the receiver's actions; true when a stream end was reported to the Pipeline.
    fn drain_receiver(&mut self) -> bool {
        let mut reported = false;
        while let Some(action) = self.receiver.as_mut().and_then(Receiver::poll_action) {
            match action {
                ReceiverAction::Deliver { stream, batch_id, logs } => {
                    let Some(base) = self.stream_base.get(&stream).copied() else {
                        self.fail(LoopbackError::Invariant(format!(
                            "a batch delivered on unopened {stream}"
                        )));
                        continue;
                    };
                    let position = base + u64::from(batch_id);
                    if position > self.delivered_batches {
                        if position != self.delivered_batches + 1 {
                            let e = format!("batch {position} delivered after {}", self.delivered_batches);
                            self.fail(LoopbackError::Invariant(e));
                        }
                        self.delivered_batches = position;
                        self.delivered.extend(logs);
                    } else {
                        self.counters.duplicate_batches += 1;
                    }
                }
                ReceiverAction::SendStatus { stream, batch_id, status } => {
                    self.peer_ack(stream, batch_id, status)
                }
                ReceiverAction::EndStream { stream, code: c, message } if c != code::OK => {
                    if self.config.forward_stream_ends {
                        self.drop_acks_of(stream);
                        let failure = Failure::status(c, message);
                        self.pipeline.handle_stream_error(self.now, stream, Side::Recv, failure);
                        reported = true;
                    } else {
                        self.fail(LoopbackError::Refused { stream, code: c, message });
                    }
                }
                ReceiverAction::EndStream { .. } => {}
            }
        }
        reported
    }
}
