//! A simulated intake: accepts a bounded number of new streams per second (admission control:
//! an open beyond it is refused, with a pushback naming a later slot when the intake sends
//! pushback), processes batches one after another at a bounded rate and acknowledges each
//! once processed; scripted incidents take it down, silence it or slow it.

use std::collections::VecDeque;

use crate::admission::Admission;
use crate::client::SimClient;
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

    /// Applies a scripted change; a crash cuts every stream the intake holds.
    pub(crate) fn change(
        &mut self,
        now: u64,
        change: IntakeChange,
        clients: &mut [SimClient],
        ctx: &mut Ctx,
    ) {
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
                for (id, client) in clients.iter_mut().enumerate() {
                    let latency = client.latency_ms;
                    for link in
                        client.links.iter_mut().filter(|l| l.intake == self.index && l.accepted && !l.dead)
                    {
                        link.dead = true;
                        let arrive = (now + ctx.delay(latency)).max(link.down_free);
                        link.down_free = arrive;
                        ctx.queue.push(arrive, Event::StreamCut { client: id as u32, stream: link.id });
                    }
                }
            }
            IntakeChange::Up => self.up = true,
            IntakeChange::Silent => {
                self.silent = true;
                for client in clients.iter_mut() {
                    for link in client.links.iter_mut().filter(|l| l.intake == self.index && l.accepted) {
                        link.wedged = true;
                    }
                }
            }
            IntakeChange::Acking => self.silent = false,
            IntakeChange::Slow => self.slow = true,
            IntakeChange::Fast => self.slow = false,
        }
    }

    /// An `OpenStream` arrived: refuse it when down or over capacity, else accept it.
    pub(crate) fn open(&mut self, now: u64, id: u32, client: &mut SimClient, stream: u64, ctx: &mut Ctx) {
        let latency = client.latency_ms;
        let Some(link) = client.link_mut(stream) else { return };
        let outcome = if !self.up {
            ctx.counters.opens_refused += 1;
            OpenOutcome::Refused
        } else {
            match self.admission.admit(now) {
                Ok(()) => {
                    link.accepted = true;
                    link.wedged = self.silent;
                    OpenOutcome::Opened
                }
                Err(pushback_ms) => {
                    ctx.counters.opens_overloaded += 1;
                    ctx.counters.opens_pushed_back += u64::from(pushback_ms.is_some());
                    OpenOutcome::Overloaded { pushback_ms }
                }
            }
        };
        let arrive = (now + ctx.delay(latency)).max(link.down_free);
        link.down_free = arrive;
        ctx.queue.push(arrive, Event::OpenReply { client: id, stream, outcome });
    }

    /// A batch arrived: queue it behind the intake's earlier work, unless the stream is gone
    /// or silent.
    pub(crate) fn batch(
        &mut self,
        now: u64,
        id: u32,
        clients: &mut [SimClient],
        event: BatchRef,
        ctx: &mut Ctx,
    ) {
        let usable = clients[id as usize].link_mut(event.stream).map(|l| !l.dead && !l.wedged);
        if usable != Some(true) || !self.up {
            ctx.counters.batches_unanswered += 1;
            return;
        }
        self.queue.push_back(Queued { client: id, batch: event });
        ctx.counters.peak_intake_queue = ctx.counters.peak_intake_queue.max(self.queue.len() as u64);
        if !self.busy {
            // Idle since its last batch: the processor starts now.
            self.free_at_ns = self.free_at_ns.max(now * 1_000_000);
            self.start_next(now, clients, ctx);
        }
    }

    /// Starts processing the oldest queued batch whose stream still stands, when the last one
    /// finished (`free_at_ns`, kept in ns: a batch takes less than the clock's millisecond);
    /// batches of streams closed, cut or silenced meanwhile are dropped without costing time.
    fn start_next(&mut self, now: u64, clients: &mut [SimClient], ctx: &mut Ctx) {
        while let Some(front) = self.queue.front() {
            let link = clients[front.client as usize].link_mut(front.batch.stream);
            if link.is_some_and(|l| !l.dead && !l.wedged) {
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

    /// The oldest queued batch is processed: its records are written (even when its stream
    /// closed meanwhile, so that a re-sent batch is a duplicate) and acknowledged if the
    /// stream still stands; then the next one starts.
    pub(crate) fn batch_done(
        &mut self,
        now: u64,
        epoch: u32,
        clients: &mut [SimClient],
        records: u64,
        ctx: &mut Ctx,
    ) {
        if epoch != self.epoch {
            return;
        }
        let Some(Queued { client: id, batch }) = self.queue.pop_front() else { return };
        let client = &mut clients[id as usize];
        if client.link_mut(batch.stream).is_some_and(|l| l.wedged) {
            ctx.counters.batches_unanswered += 1;
        } else {
            client.deliver(now, batch.seq, records, ctx);
            let latency = client.latency_ms;
            if let Some(link) = client.link_mut(batch.stream)
                && !link.dead
            {
                let arrive = (now + ctx.delay(latency)).max(link.down_free);
                link.down_free = arrive;
                let ack = Event::AckArrive { client: id, stream: batch.stream, batch_id: batch.batch_id };
                ctx.queue.push(arrive, ack);
            }
        }
        self.start_next(now, clients, ctx);
    }
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
    use crate::config::{ScenarioName, SimConfig};
    use crate::link::LinkStream;
    use crate::queue::EventQueue;

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
            intake.batch(0, 0, &mut clients, BatchRef { stream: 1, batch_id: seq as u32 + 1, seq }, &mut ctx);
        }
        let (mut processed, mut last) = (0, 0);
        while let Some((at, event)) = ctx.queue.pop() {
            if let Event::BatchDone { epoch, .. } = event {
                intake.batch_done(at, epoch, &mut clients, 10, &mut ctx);
                (processed, last) = (processed + 1, at);
            }
        }
        assert_eq!(processed, 3_000);
        // 3,000 batches at 1,500/s: 2 s, not 3 s (one whole millisecond each).
        assert!((1_999..=2_001).contains(&last), "the last batch finished at {last} ms");
        assert_eq!(ctx.counters.records_delivered, 30_000);
    }
}
