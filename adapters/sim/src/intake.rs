//! A simulated intake: accepts a bounded number of new streams per second (admission control:
//! an open beyond it is refused, with a pushback naming a later slot when the intake sends
//! pushback), processes batches one after another at a bounded rate and acknowledges each
//! once processed; scripted incidents take it down, silence it or slow it.

use std::collections::VecDeque;

use crate::admission::Admission;
use crate::config::SimConfig;
use crate::ctx::Ctx;
use crate::queue::{Event, OpenOutcome};
use crate::scenario::IntakeChange;

/// One intake of the fleet.
#[derive(Clone, Debug)]
pub(crate) struct Intake {
    index: u8,
    up: bool,
    silent: bool,
    slow: bool,
    /// Bumped on every crash: a `BatchDone` scheduled before it is void.
    epoch: u32,
    /// Batches waiting for the processor, oldest first.
    queue: VecDeque<Queued>,
    /// The processor is working on the queue's front.
    busy: bool,
    /// When the processor finishes its current batch, ns.
    free_at_ns: u64,
    service_ns: u64,
    slow_service_ns: u64,
    /// New streams accepted per second, and the promises of pushback.
    admission: Admission,
}

impl Intake {
    /// Intake `index`, sized for `config`'s fleet: together the intakes accept
    /// `clients / open_capacity_divisor` new streams per second and process
    /// `batch_capacity_factor` times the fleet's batches; a slow intake processes a twentieth
    /// of its share.
    pub(crate) fn new(index: u8, config: &SimConfig) -> Intake {
        let intakes = u64::from(config.intakes);
        let clients = u64::from(config.clients);
        let interval_ms = config.batch_interval.as_millis() as u64;
        // Batches per second of one intake's share: clients / intakes / interval.
        let service_ns = interval_ms.saturating_mul(1_000_000 * intakes)
            / (clients * u64::from(config.batch_capacity_factor));
        let open_capacity = clients.div_ceil(u64::from(config.open_capacity_divisor) * intakes).max(1);
        Intake {
            index,
            up: true,
            silent: false,
            slow: false,
            epoch: 0,
            queue: VecDeque::new(),
            busy: false,
            free_at_ns: 0,
            service_ns: service_ns.max(1),
            slow_service_ns: service_ns.max(1) * u64::from(config.batch_capacity_factor) * 20,
            admission: Admission::new(
                u32::try_from(open_capacity).unwrap_or(u32::MAX),
                config.intake_pushback,
            ),
        }
    }

    /// Applies a scripted change. What it does to the streams the intake holds (a crash cuts
    /// them, silence wedges them) is returned for the clients' links.
    pub(crate) fn change(&mut self, now: u64, change: IntakeChange, ctx: &mut Ctx) -> Option<StreamsEvent> {
        match change {
            IntakeChange::Down => {
                self.up = false;
                self.epoch += 1;
                self.admission.forget();
                // Its queued work is lost with it.
                ctx.counters.batches_unanswered += self.queue.len() as u64;
                self.queue.clear();
                self.busy = false;
                self.free_at_ns = now * 1_000_000;
                return Some(StreamsEvent::Cut { intake: self.index });
            }
            IntakeChange::Up => self.up = true,
            IntakeChange::Silent => {
                self.silent = true;
                return Some(StreamsEvent::Wedged { intake: self.index });
            }
            IntakeChange::Acking => self.silent = false,
            IntakeChange::Slow => self.slow = true,
            IntakeChange::Fast => self.slow = false,
        }
        None
    }

    /// An `OpenStream` arrived: refuse it when down or over capacity, else accept it. Returns
    /// the outcome and, when accepted, whether the stream is wedged (a silent intake).
    pub(crate) fn open(&mut self, now: u64, ctx: &mut Ctx) -> (OpenOutcome, bool) {
        if !self.up {
            ctx.counters.opens_refused += 1;
            return (OpenOutcome::Refused, false);
        }
        match self.admission.admit(now) {
            Ok(()) => (OpenOutcome::Opened, self.silent),
            Err(pushback_ms) => {
                ctx.counters.opens_overloaded += 1;
                ctx.counters.opens_pushed_back += u64::from(pushback_ms.is_some());
                (OpenOutcome::Overloaded { pushback_ms }, false)
            }
        }
    }

    /// A batch arrived: queue it behind the intake's earlier work, unless its stream is gone
    /// or silent (`usable` tells, per client and stream).
    pub(crate) fn batch(
        &mut self,
        now: u64,
        id: u32,
        event: BatchRef,
        usable: &dyn Fn(u32, u64) -> bool,
        ctx: &mut Ctx,
    ) {
        if !usable(id, event.stream) || !self.up {
            ctx.counters.batches_unanswered += 1;
            return;
        }
        self.queue.push_back(Queued { client: id, batch: event });
        ctx.counters.peak_intake_queue = ctx.counters.peak_intake_queue.max(self.queue.len() as u64);
        if !self.busy {
            // Idle since its last batch: the processor starts now.
            self.free_at_ns = self.free_at_ns.max(now * 1_000_000);
            self.start_next(now, usable, ctx);
        }
    }

    /// Starts processing the oldest queued batch whose stream still stands, when the last one
    /// finished (`free_at_ns`, kept in ns: a batch takes less than the clock's millisecond);
    /// batches of streams closed, cut or silenced meanwhile are dropped without costing time.
    pub(crate) fn start_next(&mut self, now: u64, usable: &dyn Fn(u32, u64) -> bool, ctx: &mut Ctx) {
        while let Some(front) = self.queue.front() {
            if usable(front.client, front.batch.stream) {
                break;
            }
            self.queue.pop_front();
            ctx.counters.batches_unanswered += 1;
        }
        self.busy = !self.queue.is_empty();
        if self.busy {
            let service = if self.slow { self.slow_service_ns } else { self.service_ns };
            self.free_at_ns += service;
            // Several batches may finish within one millisecond of the clock.
            let done = self.free_at_ns.div_ceil(1_000_000).max(now);
            ctx.queue.push(done, Event::BatchDone { intake: self.index, epoch: self.epoch });
        }
    }

    /// The oldest queued batch is processed (`BatchDone` of `epoch`): returns its client and
    /// batch, whose records are written (even when its stream closed meanwhile, so that a
    /// re-sent batch is a duplicate) and acknowledged if the stream still stands; the caller
    /// then starts the next one ([`Intake::start_next`]). `None` for a void event.
    pub(crate) fn finish(&mut self, epoch: u32) -> Option<(u32, BatchRef)> {
        if epoch != self.epoch {
            return None;
        }
        self.queue.pop_front().map(|Queued { client, batch }| (client, batch))
    }
}

/// What an intake's change did to every stream it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamsEvent {
    /// It crashed: its accepted streams end (the clients see a cut).
    Cut {
        /// The intake.
        intake: u8,
    },
    /// It went silent: its accepted streams are never acknowledged.
    Wedged {
        /// The intake.
        intake: u8,
    },
}

/// A batch waiting for the intake's processor.
#[derive(Clone, Copy, Debug)]
struct Queued {
    client: u32,
    batch: BatchRef,
}

/// Which batch an intake event is about.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BatchRef {
    /// The core's stream id.
    pub stream: u64,
    /// Its id on that stream.
    pub batch_id: u32,
    /// The producer's sequence number.
    pub seq: u64,
}

#[cfg(test)]
mod tests {
    use stateful_logs::rng::SplitMix64;

    use super::*;
    use crate::client::SimClient;
    use crate::config::{ScenarioName, SimConfig};
    use crate::link::LinkStream;
    use crate::queue::EventQueue;
    use crate::wiring;

    #[test]
    fn a_busy_intake_runs_at_its_capacity_even_when_a_batch_takes_under_a_millisecond() {
        // 10,000 clients: each intake processes 1,500 batches/s, 0.667 ms each.
        let config = SimConfig::new(10_000, ScenarioName::Steady);
        let mut intake = Intake::new(0, &config);
        let mut clients = vec![SimClient::new(&config, 0, 0, 10).expect("valid")];
        clients[0].links.push(LinkStream {
            id: 1,
            intake: 0,
            accepted: true,
            dead: false,
            wedged: false,
            up_free: 0,
            down_free: 0,
        });
        let mut ctx = Ctx::new(EventQueue::default(), SplitMix64::new(1), config.link.clone());
        for seq in 0..3_000 {
            let batch = BatchRef { stream: 1, batch_id: seq as u32 + 1, seq };
            wiring::batch(&mut intake, 0, 0, &clients, batch, &mut ctx);
        }
        let (mut processed, mut last) = (0, 0);
        while let Some((at, event)) = ctx.queue.pop() {
            if let Event::BatchDone { epoch, .. } = event {
                wiring::batch_done(&mut intake, at, epoch, &mut clients, 10, &mut ctx);
                (processed, last) = (processed + 1, at);
            }
        }
        assert_eq!(processed, 3_000);
        // 3,000 batches at 1,500/s: 2 s, not 3 s (one whole millisecond each).
        assert!((1_999..=2_001).contains(&last), "the last batch finished at {last} ms");
        assert_eq!(ctx.counters.records_delivered, 30_000);
    }
}
