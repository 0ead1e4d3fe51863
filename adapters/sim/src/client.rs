//! One simulated client: a real core fed by a batch producer, the client side of its
//! streams, and the bookkeeping that checks every record it produced.

use std::collections::{BTreeSet, VecDeque};

use stateful_logs::Action;
use stateful_logs::transport::{AckEntry, AckOutcome, State, Transmit};
use stateful_logs::{ConfigError, Timestamp};

use crate::config::SimConfig;
use crate::core::{Core, Held};
use crate::ctx::Ctx;
use crate::link::LinkStream;
use crate::queue::Event;

/// A simulated client.
pub(crate) struct SimClient {
    /// The real core.
    pub core: Core,
    /// When the client started, ms.
    pub start_ms: u64,
    /// Its link's fixed one-way latency, ms.
    pub latency_ms: u64,
    /// The earliest `Timer` event queued for it, if any.
    pub timer_at: Option<u64>,
    /// Its streams that the intake side may still see.
    pub links: Vec<LinkStream>,
    /// Batches the core had no room for, oldest first (the producer's backlog).
    pub held: VecDeque<Held>,
    /// A Pipeline's batches are opaque: the stream whose batch 1 carries the batch after the
    /// last acknowledged one when it was first pulled, and that batch's sequence number.
    stream_base: Option<(u64, u64)>,
    /// Batches produced so far (batch `s` carries tokens `s·r .. (s+1)·r`).
    pub next_seq: u64,
    /// The next token the core must acknowledge (tokens come back in order, once each).
    pub next_ack_token: u64,
    /// Every batch sequence number below this one was delivered by some intake.
    delivered_upto: u64,
    /// Delivered sequence numbers above `delivered_upto` (deliveries out of order).
    delivered_ahead: BTreeSet<u64>,
    /// The most encoded bytes the core's tracker held at once.
    pub peak_inflight_bytes: u64,
}

impl SimClient {
    /// Client `id` of the fleet, started at `start_ms`.
    pub(crate) fn new(
        config: &SimConfig,
        id: u32,
        start_ms: u64,
        latency_ms: u64,
    ) -> Result<Self, ConfigError> {
        let seed = client_seed(config.seed, id);
        let core = Core::new(config, id, seed, Timestamp(start_ms))?;
        Ok(SimClient {
            core,
            start_ms,
            latency_ms,
            timer_at: None,
            links: Vec::new(),
            held: VecDeque::new(),
            stream_base: None,
            next_seq: 0,
            next_ack_token: 0,
            delivered_upto: 0,
            delivered_ahead: BTreeSet::new(),
            peak_inflight_bytes: 0,
        })
    }

    /// The stream `id` on the link, if the intake side may still see it.
    pub(crate) fn link_mut(&mut self, id: u64) -> Option<&mut LinkStream> {
        self.links.iter_mut().find(|l| l.id == id)
    }

    /// The intake the core's current stream is open on, if it stands.
    pub(crate) fn connected_intake(&self) -> Option<u8> {
        let stream = self.core.current_stream()?.0;
        self.links.iter().find(|l| l.id == stream && l.accepted && !l.dead).map(|l| l.intake)
    }

    /// Forgets stream `id` on the link.
    pub(crate) fn remove_link(&mut self, id: u64) {
        self.links.retain(|l| l.id != id);
    }

    /// When batch `seq` was produced (the producer runs on a fixed schedule).
    pub(crate) fn produced_at(&self, seq: u64, interval_ms: u64) -> u64 {
        self.start_ms + (seq + 1) * interval_ms
    }

    /// Whether everything produced more than `max_lag_ms` ago is acknowledged.
    pub(crate) fn is_behind(
        &self,
        now: u64,
        records_per_batch: u64,
        interval_ms: u64,
        max_lag_ms: u64,
    ) -> bool {
        let oldest_unacked = self.next_ack_token / records_per_batch;
        oldest_unacked < self.next_seq
            && now.saturating_sub(self.produced_at(oldest_unacked, interval_ms)) > max_lag_ms
    }

    /// Produces the next batch (`Core::make_batch`) and hands it to the core, or keeps it
    /// behind the batches already waiting.
    pub(crate) fn produce(&mut self, now: u64, config: &SimConfig, ctx: &mut Ctx) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let batch = self.core.make_batch(seq, config, now);
        ctx.counters.records_produced += u64::from(config.records_per_batch);
        if self.held.is_empty() {
            if let Err(batch) = self.core.push(Timestamp(now), batch) {
                self.held.push_back(batch);
            }
        } else {
            self.held.push_back(batch);
        }
        ctx.counters.peak_held_batches = ctx.counters.peak_held_batches.max(self.held.len() as u64);
    }

    /// Records that an intake delivered batch `seq` (once or again).
    pub(crate) fn deliver(&mut self, now: u64, seq: u64, records: u64, ctx: &mut Ctx) {
        let again = seq < self.delivered_upto || !self.delivered_ahead.insert(seq);
        if again {
            ctx.counters.records_duplicated += records;
            ctx.series.count_duplicated(now, records);
            return;
        }
        ctx.counters.records_delivered += records;
        while self.delivered_ahead.remove(&self.delivered_upto) {
            self.delivered_upto += 1;
        }
    }

    fn is_delivered(&self, seq: u64) -> bool {
        seq < self.delivered_upto || self.delivered_ahead.contains(&seq)
    }

    /// The calling discipline after every input: push what the producer holds, drain the
    /// actions, pull every batch the stream takes (the simulated stream takes all), repeat
    /// until nothing moves, then make sure a `Timer` is queued for the next deadline.
    pub(crate) fn sync(&mut self, id: u32, now: u64, config: &SimConfig, ctx: &mut Ctx) {
        let t = Timestamp(now);
        loop {
            let mut moved = false;
            while let Some(batch) = self.held.pop_front() {
                if let Err(batch) = self.core.push(t, batch) {
                    self.held.push_front(batch);
                    break;
                }
            }
            while let Some(action) = self.core.poll_action() {
                moved = true;
                self.act(id, now, action, config, ctx);
            }
            if self.core.state() == State::Active
                && let Some(stream) = self.core.current_stream()
            {
                while let Some(transmit) = self.core.poll_transmit(t, stream) {
                    moved = true;
                    self.send(id, now, transmit, config, ctx);
                }
            }
            if !moved {
                break;
            }
        }
        if let Some(deadline) = self.core.poll_timeout() {
            let at = deadline.0.max(now);
            if self.timer_at.is_none_or(|queued| at < queued) {
                self.timer_at = Some(at);
                ctx.queue.push(at, Event::Timer { client: id });
            }
        }
        self.peak_inflight_bytes = self.peak_inflight_bytes.max(self.core.tracker_bytes());
    }

    fn act(&mut self, id: u32, now: u64, action: Action, config: &SimConfig, ctx: &mut Ctx) {
        match action {
            Action::OpenStream { stream, endpoint, .. } => {
                let intake = ((id as usize + endpoint) % usize::from(config.intakes)) as u8;
                ctx.counters.opens += 1;
                ctx.series.count_open(now);
                let arrive = now + ctx.delay(self.latency_ms);
                self.links.push(LinkStream {
                    id: stream.0,
                    intake,
                    accepted: false,
                    dead: false,
                    wedged: false,
                    up_free: arrive,
                    down_free: 0,
                });
                ctx.queue.push(arrive, Event::OpenArrive { client: id, stream: stream.0 });
            }
            Action::CloseStream { stream, .. } => {
                let latency = self.latency_ms;
                if let Some(link) = self.link_mut(stream.0) {
                    let arrive = (now + ctx.delay(latency)).max(link.up_free);
                    link.up_free = arrive;
                    ctx.queue.push(arrive, Event::CloseArrive { client: id, stream: stream.0 });
                }
            }
            Action::Acknowledge(entries) => self.acknowledged(now, &entries, config, ctx),
            Action::Halted(_) => ctx.counters.halts += 1,
            // The simulated intakes know every codec: a fallback never happens here.
            Action::CodecFallback { .. } | Action::Retrying { .. } | Action::ShutdownComplete(_) => {}
        }
    }

    fn send(&mut self, id: u32, now: u64, transmit: Transmit, config: &SimConfig, ctx: &mut Ctx) {
        if transmit.batch_id == 0 {
            // Batch 0 (the snapshot) carries no records; the intake only needs it first.
            return;
        }
        let Some(seq) = self.sequence_of(&transmit, config) else {
            ctx.counters.malformed_batches += 1;
            return;
        };
        let latency = self.latency_ms;
        let stream = transmit.stream.0;
        if let Some(link) = self.link_mut(stream) {
            let arrive = (now + ctx.delay(latency)).max(link.up_free);
            link.up_free = arrive;
            ctx.counters.batches_sent += 1;
            ctx.queue
                .push(arrive, Event::BatchArrive { client: id, stream, batch_id: transmit.batch_id, seq });
        }
    }

    /// Which batch of the producer a transmit carries: read from its bytes for synthetic
    /// batches; for a Pipeline's, counted from the stream's first batch, which is the oldest
    /// unacknowledged one (a new stream re-sends from there, in order, one producer batch per
    /// flush).
    fn sequence_of(&mut self, transmit: &Transmit, config: &SimConfig) -> Option<u64> {
        if self.core.batches_are_synthetic() {
            let bytes = transmit.data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok())?;
            return Some(u64::from_le_bytes(bytes));
        }
        let stream = transmit.stream.0;
        let base = match self.stream_base {
            Some((s, base)) if s == stream => base,
            _ => {
                let base = self.next_ack_token / u64::from(config.records_per_batch);
                self.stream_base = Some((stream, base));
                base
            }
        };
        Some(base + u64::from(transmit.batch_id) - 1)
    }

    fn acknowledged(&mut self, now: u64, entries: &[AckEntry], config: &SimConfig, ctx: &mut Ctx) {
        let per_batch = u64::from(config.records_per_batch);
        for entry in entries {
            if entry.outcome != AckOutcome::Acked || entry.token != self.next_ack_token {
                ctx.counters.ack_violations += 1;
                continue;
            }
            if !self.is_delivered(entry.token / per_batch) {
                ctx.counters.acked_not_delivered += 1;
            }
            self.next_ack_token += 1;
        }
        ctx.counters.records_acked += entries.len() as u64;
        ctx.series.count_acked(now, entries.len() as u64);
    }
}

/// A client's core seed: the run's seed mixed with the client's index.
fn client_seed(seed: u64, id: u32) -> u64 {
    let mut rng = stateful_logs::rng::SplitMix64::new(seed ^ (u64::from(id) << 32 | u64::from(id)));
    rng.next_u64()
}
