//! The simulation loop: pop the earliest event, let the client's core or the intake handle
//! it, schedule what follows; the clock jumps from event to event.

use stateful_logs::rng::SplitMix64;
use stateful_logs::transport::Failure;
use stateful_logs::{StreamId, Timestamp};

use crate::client::SimClient;
use crate::config::{SimConfig, SimError};
use crate::ctx::Ctx;
use crate::intake::{BatchRef, Intake};
use crate::queue::{Event, EventQueue, OpenOutcome};
use crate::report::{Series, Summary};
use crate::scenario::Scenario;
use crate::wiring;

/// A client is *behind* when something it produced more than this long ago is not yet
/// acknowledged; recovery ends when no client is behind.
pub const MAX_LAG_MS: u64 = 10_000;

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// The numbers.
    pub summary: Summary,
    /// The per-second series (for the plot).
    pub series: Series,
}

/// A fleet of real cores and its intakes, ready to run.
pub struct Simulation {
    config: SimConfig,
    scenario: Scenario,
    clients: Vec<SimClient>,
    intakes: Vec<Intake>,
    ctx: Ctx,
    stopped: bool,
    now: u64,
}

impl Simulation {
    /// Builds the fleet: every client's core is constructed (its first `OpenStream` queued)
    /// and the scenario's steps are scheduled.
    pub fn new(config: SimConfig) -> Result<Simulation, SimError> {
        config.validate()?;
        let scenario = Scenario::of(&config);
        let mut rng = SplitMix64::new(config.seed);
        let mut queue = EventQueue::default();
        let window = config.start_window.as_millis() as u64;
        let n = u64::from(config.clients);
        let mut clients = Vec::with_capacity(config.clients as usize);
        for id in 0..config.clients {
            let start = window * u64::from(id) / n;
            let latency = config.link.min_latency_ms + rng.uniform(0, config.link.latency_spread_ms);
            clients.push(SimClient::new(&config, id, start, latency)?);
            queue.push(start, Event::Start { client: id });
        }
        for (index, step) in scenario.steps.iter().enumerate() {
            queue.push(step.at_ms, Event::Incident { index });
        }
        queue.push(scenario.produce_until_ms, Event::StopProducing);
        queue.push(1000, Event::Sample);
        let intakes = (0..config.intakes).map(|i| Intake::new(i, &config)).collect();
        let ctx = Ctx::new(queue, rng, config.link.clone());
        Ok(Simulation { config, scenario, clients, intakes, ctx, stopped: false, now: 0 })
    }

    /// Runs until every record is acknowledged after the clients stop producing, or the
    /// drain limit passes.
    pub fn run(mut self) -> RunResult {
        let give_up = self.scenario.produce_until_ms + self.config.max_drain.as_millis() as u64;
        while let Some((at, event)) = self.ctx.queue.pop() {
            if at > give_up {
                break;
            }
            self.now = at;
            self.handle(event);
            if self.stopped && self.ctx.counters.records_acked == self.ctx.counters.records_produced {
                break;
            }
        }
        self.sample();
        self.finish()
    }

    fn handle(&mut self, event: Event) {
        let now = self.now;
        let t = Timestamp(now);
        match event {
            Event::Start { client } => {
                self.ctx
                    .queue
                    .push(now + self.config.batch_interval.as_millis() as u64, Event::Produce { client });
                self.sync(client);
            }
            Event::Produce { client } => {
                if !self.stopped {
                    let c = &mut self.clients[client as usize];
                    c.produce(now, &self.config, &mut self.ctx);
                    self.ctx.queue.push(now + self.config.batch_interval.as_millis() as u64, event);
                    self.sync(client);
                }
            }
            Event::Timer { client } => {
                let c = &mut self.clients[client as usize];
                if c.timer_at == Some(now) {
                    c.timer_at = None;
                    c.core.handle_timeout(t);
                    self.sync(client);
                }
            }
            Event::OpenArrive { client, stream } => {
                if let Some(intake) = self.intake_of(client, stream) {
                    let c = &mut self.clients[client as usize];
                    wiring::open(&mut self.intakes[intake], now, client, c, stream, &mut self.ctx);
                }
            }
            Event::OpenReply { client, stream, outcome } => {
                let c = &mut self.clients[client as usize];
                match outcome {
                    OpenOutcome::Opened => c.core.handle_stream_opened(t, StreamId(stream)),
                    OpenOutcome::Overloaded { pushback_ms } => {
                        c.remove_link(stream);
                        let failure = match pushback_ms {
                            None => Failure::status(14, "intake overloaded"),
                            Some(ms) => Failure::Status {
                                code: 8,
                                message: "too many new streams".into(),
                                retry_pushback_ms: Some(u64::from(ms)),
                            },
                        };
                        c.core.handle_stream_open_failed(t, StreamId(stream), failure);
                    }
                    OpenOutcome::Refused => {
                        c.remove_link(stream);
                        let failure = Failure::Connection("connection refused".into());
                        c.core.handle_stream_open_failed(t, StreamId(stream), failure);
                    }
                }
                self.sync(client);
            }
            Event::BatchArrive { client, stream, batch_id, seq } => {
                if let Some(intake) = self.intake_of(client, stream) {
                    let batch = BatchRef { stream, batch_id, seq };
                    wiring::batch(
                        &mut self.intakes[intake],
                        now,
                        client,
                        &self.clients,
                        batch,
                        &mut self.ctx,
                    );
                }
            }
            Event::BatchDone { intake, epoch } => {
                let records = u64::from(self.config.records_per_batch);
                let intake = &mut self.intakes[usize::from(intake)];
                wiring::batch_done(intake, now, epoch, &mut self.clients, records, &mut self.ctx);
            }
            Event::AckArrive { client, stream, batch_id } => {
                self.clients[client as usize].core.handle_ack(t, StreamId(stream), batch_id);
                self.sync(client);
            }
            Event::StreamCut { client, stream } => {
                let failure = Failure::status(14, "intake restarting");
                self.clients[client as usize].core.handle_stream_error(t, StreamId(stream), failure);
                self.sync(client);
            }
            Event::CloseArrive { client, stream } => self.clients[client as usize].remove_link(stream),
            Event::Incident { index } => {
                let step = self.scenario.steps[index];
                let intake = &mut self.intakes[usize::from(step.intake)];
                if let Some(streams) = intake.change(now, step.change, &mut self.ctx) {
                    wiring::apply(streams, now, &mut self.clients, &mut self.ctx);
                }
            }
            Event::StopProducing => self.stopped = true,
            Event::Sample => {
                self.sample();
                self.ctx.queue.push(now + 1000, Event::Sample);
            }
        }
    }

    /// The intake that stream `stream` of `client` goes to.
    fn intake_of(&mut self, client: u32, stream: u64) -> Option<usize> {
        self.clients[client as usize].link_mut(stream).map(|l| usize::from(l.intake))
    }

    fn sync(&mut self, client: u32) {
        self.clients[client as usize].sync(client, self.now, &self.config, &mut self.ctx);
    }

    fn sample(&mut self) {
        let per_batch = u64::from(self.config.records_per_batch);
        let interval = self.config.batch_interval.as_millis() as u64;
        let now = self.now;
        let behind =
            self.clients.iter().filter(|c| c.is_behind(now, per_batch, interval, MAX_LAG_MS)).count();
        self.ctx.series.set_behind(now, behind as u64);
        let mut connected = vec![0u64; usize::from(self.config.intakes)];
        for intake in self.clients.iter().filter_map(SimClient::connected_intake) {
            if let Some(n) = connected.get_mut(usize::from(intake)) {
                *n += 1;
            }
        }
        self.ctx.series.set_connected(now, &connected);
    }

    fn finish(self) -> RunResult {
        let Simulation { config, scenario, clients, ctx, now, .. } = self;
        let series = ctx.series;
        let counters = ctx.counters;
        let warm_up = (scenario.warm_up_ms / 1000) as usize;
        let peak = |v: &[u64]| v.iter().copied().enumerate().max_by_key(|&(s, n)| (n, std::cmp::Reverse(s)));
        let start_peak = peak(&series.opens[..warm_up.min(series.opens.len())]).map_or(0, |(_, n)| n);
        let (peak_at, peak_opens) =
            peak(series.opens.get(warm_up..).unwrap_or(&[])).map_or((0, 0), |(s, n)| (s + warm_up, n));
        let recovery = scenario.incident.map(|(start, _)| recovery_s(&series.behind, start, 0));
        let recovery_99 = scenario
            .incident
            .map(|(start, _)| recovery_s(&series.behind, start, u64::from(config.clients) / 100));
        // Rotations once the fleet is healthy again: after the warm-up without an incident,
        // after the last second anyone was behind with one, until the clients stop producing.
        let settled = match (scenario.incident, recovery) {
            (Some((start, _)), Some(Some(r))) => (start / 1000 + r) as usize,
            (Some(_), _) => series.opens.len(),
            (None, _) => warm_up,
        };
        let produce_end = (scenario.produce_until_ms / 1000) as usize;
        let rotation_window = series.opens.get(settled..produce_end.min(series.opens.len())).unwrap_or(&[]);
        let (rotation_at, rotation_peak) = peak(rotation_window).map_or((0, 0), |(s, n)| (s + settled, n));
        let peak_behind = series.behind.iter().skip(warm_up).copied().max().unwrap_or(0);
        let (peak_clients_intake, peak_clients_on_one_intake) = series
            .connected
            .iter()
            .enumerate()
            .map(|(i, v)| (i as u8, v.iter().skip(warm_up).copied().max().unwrap_or(0)))
            .max_by_key(|&(i, n)| (n, std::cmp::Reverse(i)))
            .unwrap_or((0, 0));
        let retry_pushbacks = clients.iter().map(|c| c.core.metrics().retry_pushbacks).sum();
        let peak_inflight = clients.iter().map(|c| c.peak_inflight_bytes).max().unwrap_or(0);
        let mean_peak =
            clients.iter().map(|c| c.peak_inflight_bytes).sum::<u64>() / u64::from(config.clients).max(1);
        let ack_timeouts = clients.iter().map(|c| c.core.metrics().stream_errors.get("ack_timeout")).sum();
        let failovers = clients.iter().map(|c| c.core.metrics().failovers).sum();
        let core_config = config.transport_config(0);
        let summary = Summary {
            scenario: config.scenario,
            description: scenario.description.clone(),
            policy: config.policy,
            core: config.core,
            clients: config.clients,
            intakes: config.intakes,
            seed: config.seed,
            stream_lifetime_s: core_config.stream_lifetime.as_secs(),
            lifetime_jitter_percent: core_config.lifetime_jitter_percent,
            ack_timeout_s: core_config.ack_timeout.map(|d| d.as_secs()),
            simulated_s: now.div_ceil(1000),
            start_peak_opens_per_s: start_peak,
            peak_opens_per_s: peak_opens,
            peak_opens_at_s: peak_at as u64,
            peak_rotation_opens_per_s: rotation_peak,
            peak_rotation_opens_at_s: rotation_at as u64,
            recovery_s: recovery,
            recovery_99_s: recovery_99,
            peak_clients_behind: peak_behind,
            peak_clients_on_one_intake,
            peak_clients_intake,
            retry_pushbacks,
            peak_inflight_bytes_per_client: peak_inflight,
            mean_peak_inflight_bytes_per_client: mean_peak,
            records_lost: counters.records_produced.saturating_sub(counters.records_delivered),
            records_unacked: counters.records_produced.saturating_sub(counters.records_acked),
            ack_timeouts,
            failovers,
            events: ctx.queue.processed(),
            counters,
        };
        RunResult { summary, series }
    }
}

/// Seconds from `start_ms` until the end of the last second in which more than `allowed`
/// clients were behind; `None` when more still were at the last sample.
fn recovery_s(behind: &[u64], start_ms: u64, allowed: u64) -> Option<u64> {
    let from = (start_ms / 1000) as usize;
    if behind.last().is_some_and(|&n| n > allowed) {
        return None;
    }
    let last_behind =
        behind.iter().enumerate().skip(from).filter(|&(_, &n)| n > allowed).map(|(s, _)| s).next_back();
    Some(last_behind.map_or(0, |s| (s + 1 - from) as u64))
}
