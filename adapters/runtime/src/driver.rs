//! The event loop of one pipeline: moves records, stream events, time and commands into the
//! core and its actions out (`transport.md` §15). It makes no protocol decision: the Pipeline
//! owns every record's fate, the shutdown deadline and the memory budget; the driver feeds
//! its queue in and forwards what comes out.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures_lite::FutureExt;
use stateful_logs::pipeline::budget::queued_cost;
use stateful_logs::proto::StatefulBatch;
use stateful_logs::transport::{AckOutcome, CloseMode, EndpointConfig, Failure};
use stateful_logs::{Action, ConfigError, Pipeline, Record, RejectReason, StreamId, Timestamp};

mod actions;

use crate::connector::{ConnectionPool, Connector};
use crate::metrics_export;
use crate::runtime::{BoxFuture, Runtime};
use crate::stream_io::{StreamEvent, StreamHandle, StreamStart, spawn_stream};

pub(crate) use crate::shared::Shared;

/// Records fed to the core per loop turn at most, before events and commands are looked at
/// again (a batch from `send_many` is fed over several turns).
const INPUT_BURST: usize = 256;
/// Metrics are exported after every change, but at most this often (coalesced).
const METRICS_INTERVAL: Duration = Duration::from_millis(250);
/// How long a finished shutdown waits, beyond the drain timeout, for its streams' tasks.
const CLOSE_GRACE: Duration = Duration::from_millis(500);

/// What producer handles send, in order.
pub(crate) enum Input {
    /// A record, having reserved its [`queued_cost`] in the budget.
    Record(Record),
    /// Records in order (`send_many`), each having reserved its [`queued_cost`].
    Records(Vec<Record>),
    /// Flush what was sent before; answered once done.
    Flush(Sender<()>),
}

/// Client-level commands.
pub(crate) enum Command {
    Shutdown { deadline: Instant, reply: Sender<PipelineReport> },
    Resume,
    UpdateEndpoint { index: usize, endpoint: Box<EndpointConfig>, reply: Sender<Result<(), ConfigError>> },
}

/// One pipeline's share of a shutdown report.
#[derive(Clone, Debug, Default)]
pub(crate) struct PipelineReport {
    pub acked: u64,
    pub dropped: u64,
    pub unacknowledged: Vec<u64>,
}

/// What the ack stream ([`Client::acks`](crate::Client::acks)) yields: a resolved token, or the
/// halt that stops delivery until the cause is fixed and
/// [`Client::resume`](crate::Client::resume) is called.
pub type AckEvent = Result<stateful_logs::transport::AckEntry, stateful_logs::transport::HaltError>;

/// Where the driver delivers what the application sees.
#[derive(Clone)]
pub(crate) struct Outputs {
    pub acks: Sender<AckEvent>,
    pub halts: Sender<stateful_logs::transport::HaltError>,
}

/// Static settings of a driver.
pub(crate) struct DriverSettings {
    pub pipeline: usize,
    pub user_agent: String,
    pub drain_timeout: Duration,
}

/// A shutdown in progress, from the command to the reply.
struct PendingShutdown {
    reply: Sender<PipelineReport>,
    /// `end_input` was called: the queue is empty and closed.
    input_ended: bool,
    /// The core's `ShutdownComplete` arrived: waiting for the streams' tasks to end.
    complete: bool,
    /// The latest the reply waits for the streams' tasks.
    close_deadline: Option<Instant>,
}

pub(crate) struct Driver<R: Runtime, K: Connector> {
    core: Pipeline,
    runtime: R,
    origin: Instant,
    pool: Arc<ConnectionPool<K>>,
    settings: DriverSettings,
    label: String,
    inputs: Receiver<Input>,
    commands: Receiver<Command>,
    events_tx: Sender<StreamEvent>,
    events: Receiver<StreamEvent>,
    outputs: Outputs,
    shared: Arc<Shared>,
    /// Records received but not taken by the core yet, in order, each still holding its
    /// [`queued_cost`] in the budget: the rest of a `send_many` batch, or a record the core
    /// refused with `Full`. No new input is read while any is held.
    held: VecDeque<Record>,
    /// The core refused the first held record although `input_ready` said it would take it:
    /// wait for an event before offering it again (never spin on it).
    stalled: bool,
    /// Budget reserved by records the core has taken, given back once the core's own figure
    /// is published (so that the sum never undercounts).
    taken_cost: u64,
    streams: HashMap<StreamId, StreamHandle>,
    /// Every stream task holds a clone; once the driver drops its own, the channel closes
    /// when the last task has ended (its half-close written, or cancelled).
    tasks_alive: Option<Sender<()>>,
    tasks_done: Receiver<()>,
    timer: Option<(Instant, BoxFuture)>,
    shutdown: Option<PendingShutdown>,
    report: PipelineReport,
    done: bool,
    last_export: Option<Instant>,
    /// A change not exported yet, exported at `last_export + METRICS_INTERVAL`.
    metrics_due: Option<Instant>,
}

enum Wake {
    Event(Option<StreamEvent>),
    Command(Option<Command>),
    Input(Option<Input>),
    TasksDone,
    Timer,
    /// Held records are ready to go in (fed by the loop).
    Backlog,
}

impl<R, K> Driver<R, K>
where
    R: Runtime,
    K: Connector,
{
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: Pipeline,
        runtime: R,
        origin: Instant,
        pool: Arc<ConnectionPool<K>>,
        settings: DriverSettings,
        inputs: Receiver<Input>,
        commands: Receiver<Command>,
        outputs: Outputs,
        shared: Arc<Shared>,
    ) -> Self {
        let (events_tx, events) = async_channel::unbounded();
        let (tasks_alive, tasks_done) = async_channel::bounded(1);
        let label = settings.pipeline.to_string();
        Driver {
            core,
            runtime,
            origin,
            pool,
            settings,
            label,
            inputs,
            commands,
            events_tx,
            events,
            outputs,
            shared,
            held: VecDeque::new(),
            stalled: false,
            taken_cost: 0,
            streams: HashMap::new(),
            tasks_alive: Some(tasks_alive),
            tasks_done,
            timer: None,
            shutdown: None,
            report: PipelineReport::default(),
            done: false,
            last_export: None,
            metrics_due: None,
        }
    }

    fn now(&self) -> Timestamp {
        self.timestamp_of(self.runtime.now())
    }

    fn instant_of(&self, t: Timestamp) -> Instant {
        self.origin + Duration::from_millis(t.0)
    }

    fn timestamp_of(&self, instant: Instant) -> Timestamp {
        Timestamp(stateful_logs::duration_ms(instant.saturating_duration_since(self.origin)))
    }

    /// Runs until the shutdown's reply is sent or the client is dropped.
    pub(crate) async fn run(mut self) {
        self.pump();
        while !self.done {
            match self.wait().await {
                Wake::Event(Some(event)) => self.handle_event(event),
                Wake::Command(Some(command)) => self.handle_command(command),
                Wake::Input(Some(input)) => self.handle_input(input),
                Wake::Timer => self.handle_timer(),
                Wake::TasksDone => self.finish_if_closed(true),
                Wake::Backlog => {}
                // The client and every handle are gone without a shutdown: cancel everything.
                Wake::Command(None) => break,
                Wake::Event(None) | Wake::Input(None) => {}
            }
            self.drain_actions();
            // Take whatever else is ready before pumping, without blocking; every input is
            // followed by draining the core's actions (its calling discipline).
            while let Ok(event) = self.events.try_recv() {
                self.handle_event(event);
                self.drain_actions();
            }
            while let Ok(command) = self.commands.try_recv() {
                self.handle_command(command);
                self.drain_actions();
            }
            self.feed_inputs();
            self.pump();
        }
        self.export_metrics();
        for (_, stream) in self.streams.drain() {
            stream.close(CloseMode::Abort);
        }
        // Senders waiting for room would wait forever: they wake and find the queue closed.
        self.inputs.close();
        self.shared.budget.wake_all();
    }

    /// Held records, then records already queued, go in together (bounded, so that events
    /// are not starved); every input is followed by draining the core's actions.
    fn feed_inputs(&mut self) {
        let mut budget = INPUT_BURST;
        let now = self.now();
        while budget > 0 && !self.stalled && self.core.input_ready() {
            if let Some(record) = self.held.pop_front() {
                budget -= 1;
                self.offer(now, record);
            } else if let Ok(input) = self.inputs.try_recv() {
                budget -= 1;
                self.handle_input(input);
            } else {
                break;
            }
            self.drain_actions();
        }
    }

    /// True when held records can go in without waiting for anything.
    fn backlog_ready(&self) -> bool {
        !self.held.is_empty() && !self.stalled && self.core.input_ready()
    }

    /// Waits for a stream event, a command, an input (only when the core can take one), the
    /// end of the last stream task (when a shutdown waits for it) or the timer; returns at
    /// once while held records can go in.
    async fn wait(&mut self) -> Wake {
        if self.backlog_ready() {
            // Let the stream tasks (and anything else on this thread) run between bursts.
            futures_lite::future::yield_now().await;
            return Wake::Backlog;
        }
        let accept_input = self.held.is_empty()
            && self.core.input_ready()
            && !(self.inputs.is_closed() && self.inputs.is_empty());
        let closing = self.shutdown.as_ref().is_some_and(|s| s.complete);
        let Driver { events, commands, inputs, timer, tasks_done, .. } = self;
        let events = async { Wake::Event(events.recv().await.ok()) };
        let commands = async { Wake::Command(commands.recv().await.ok()) };
        let inputs = async {
            if accept_input { Wake::Input(inputs.recv().await.ok()) } else { std::future::pending().await }
        };
        let tasks = async {
            if closing {
                // Closed (Err) once every stream task has ended.
                let _ = tasks_done.recv().await;
                Wake::TasksDone
            } else {
                std::future::pending().await
            }
        };
        let timer = async {
            match timer {
                Some((_, sleep)) => {
                    sleep.as_mut().await;
                    Wake::Timer
                }
                None => std::future::pending().await,
            }
        };
        events.or(commands).or(timer).or(tasks).or(inputs).await
    }

    fn handle_event(&mut self, event: StreamEvent) {
        let now = self.now();
        self.stalled = false;
        match event {
            StreamEvent::Opened(stream) => {
                if let Some(handle) = self.streams.get_mut(&stream) {
                    handle.opened = true;
                    self.core.handle_stream_opened(now, stream);
                }
            }
            StreamEvent::OpenFailed(stream, failure) => {
                // No CloseStream follows a failed open: forget the stream now.
                if self.streams.remove(&stream).is_some() {
                    log_failure(stream, &failure, "open failed");
                    self.core.handle_stream_open_failed(now, stream, failure);
                }
            }
            StreamEvent::Writable(stream) => tracing::trace!(%stream, "stream writable"),
            StreamEvent::Ack { stream, batch_id, status } => {
                if self.streams.contains_key(&stream) {
                    self.core.handle_ack(now, stream, batch_id, status);
                }
            }
            StreamEvent::Failed { stream, side, failure } => {
                if self.streams.contains_key(&stream) {
                    log_failure(stream, &failure, "stream ended");
                    self.core.handle_stream_error(now, stream, side, failure);
                }
            }
        }
    }

    fn handle_command(&mut self, command: Command) {
        let now = self.now();
        self.stalled = false;
        match command {
            Command::Shutdown { deadline, reply } => {
                if self.shutdown.is_some() {
                    return;
                }
                // New sends fail from now on (waiting ones wake to see it); records already
                // queued are still fed in, and the core keeps the deadline.
                self.inputs.close();
                self.shared.budget.wake_all();
                self.shutdown = Some(PendingShutdown {
                    reply,
                    input_ended: false,
                    complete: false,
                    close_deadline: None,
                });
                self.core.begin_shutdown(now, Some(self.timestamp_of(deadline)));
            }
            Command::Resume => {
                self.shared.set_halted(None);
                self.core.resume(now);
            }
            Command::UpdateEndpoint { index, endpoint, reply } => {
                let _ = reply.try_send(self.core.update_endpoint(index, *endpoint));
            }
        }
    }

    fn handle_input(&mut self, input: Input) {
        let now = self.now();
        match input {
            Input::Record(record) => self.offer(now, record),
            Input::Records(records) => {
                if self.held.is_empty() {
                    // No copy: the batch's vector becomes the queue.
                    self.held = VecDeque::from(records);
                } else {
                    self.held.extend(records);
                }
            }
            Input::Flush(reply) => {
                self.core.flush(now);
                let _ = reply.try_send(());
            }
        }
    }

    /// Offers `record` to the core; a record refused with `Full` goes back to the front of the
    /// held records.
    fn offer(&mut self, now: Timestamp, record: Record) {
        let cost = queued_cost(&record);
        match self.core.handle_record(now, record) {
            Ok(()) => self.taken_cost += cost,
            Err(rejected) if rejected.reason == RejectReason::Full => {
                if self.core.input_ready() {
                    // `input_ready` promised room: do not spin on the record.
                    self.stalled = true;
                }
                self.held.push_front(rejected.record);
            }
            Err(rejected) => {
                // The queue is fed in before `end_input`, so the core takes every record: this
                // would be a driver bug, and the core no longer knows the token.
                tracing::error!(
                    pipeline = self.settings.pipeline,
                    reason = %rejected.reason,
                    "a queued record was refused; its ack token is lost"
                );
                self.taken_cost += cost;
            }
        }
    }

    fn handle_timer(&mut self) {
        let Some((deadline, _)) = self.timer.take() else { return };
        self.stalled = false;
        let instant = self.runtime.now();
        let now = self.timestamp_of(instant);
        // Only once the clock has reached the core's own deadline (§15.7); the timer may also
        // have been armed for a metrics export or the end of a shutdown's close wait.
        if instant >= deadline
            && let Some(due) = self.core.poll_timeout()
            && now >= due
        {
            self.core.handle_timeout(now);
        }
        if self.metrics_due.is_some_and(|due| instant >= due) {
            self.export_metrics();
        }
        self.finish_if_closed(false);
    }

    /// After every input: retry a held record, end the input of a shutdown whose queue is
    /// empty, drain actions, send what the streams can take, publish the budget and status,
    /// export metrics, re-arm the timer.
    fn pump(&mut self) {
        let now = self.now();
        if self.core.input_ready()
            && !self.stalled
            && let Some(record) = self.held.pop_front()
        {
            self.offer(now, record);
        }
        if let Some(shutdown) = &mut self.shutdown
            && !shutdown.input_ended
            && self.held.is_empty()
            && self.inputs.is_empty()
        {
            shutdown.input_ended = true;
            self.core.end_input(now);
        }
        loop {
            while let Some(action) = self.core.poll_action() {
                self.handle_action(action);
            }
            if !self.transmit(now) {
                break;
            }
        }
        self.shared.publish(&self.core);
        // After the publication: what the core took is counted there before it leaves the queue.
        if self.taken_cost > 0 {
            self.shared.budget.release(std::mem::take(&mut self.taken_cost));
        }
        self.schedule_metrics();
        self.arm_timer();
    }

    fn arm_timer(&mut self) {
        let close = self.shutdown.as_ref().and_then(|s| s.close_deadline);
        let core = self.core.poll_timeout().map(|t| self.instant_of(t));
        let wanted = [core, self.metrics_due, close].into_iter().flatten().min();
        if self.timer.as_ref().map(|(deadline, _)| *deadline) != wanted {
            self.timer = wanted.map(|deadline| (deadline, self.runtime.sleep_until(deadline)));
        }
    }

    /// Pulls one message for every stream that can take one; true if any was sent.
    fn transmit(&mut self, now: Timestamp) -> bool {
        let mut sent = false;
        for (&stream, handle) in &self.streams {
            if !handle.writable() {
                continue;
            }
            // The pull compresses the batch (zstd-stream): its time is the adaptive level's
            // input. Wall time, so a busy host reads as a costlier level: the safe side.
            let started = Instant::now();
            let transmit = self.core.poll_transmit(now, stream);
            if transmit.is_some() {
                self.core.handle_compression_time(now, started.elapsed());
            }
            if let Some(transmit) = transmit
                && let Some(requests) = &handle.requests
            {
                let batch = StatefulBatch { batch_id: transmit.batch_id, data: transmit.data };
                // Capacity 1 and empty: this cannot be full. A closed channel means the call
                // already ended; its failure is on its way to the core.
                let _ = requests.try_send(batch);
                sent = true;
            }
        }
        sent
    }

    fn drain_actions(&mut self) {
        while let Some(action) = self.core.poll_action() {
            self.handle_action(action);
        }
    }

    /// Sends the shutdown's reply once the core completed and every stream task ended (or
    /// the close wait ran out).
    fn finish_if_closed(&mut self, tasks_done: bool) {
        let Some(shutdown) = &self.shutdown else { return };
        if !shutdown.complete {
            return;
        }
        let tasks_done = tasks_done || self.tasks_done.is_closed() && self.tasks_done.is_empty();
        let out_of_time = shutdown.close_deadline.is_some_and(|d| self.runtime.now() >= d);
        if !tasks_done && !out_of_time {
            return;
        }
        if out_of_time && !tasks_done {
            tracing::warn!(pipeline = self.settings.pipeline, "streams still closing at the end of shutdown");
        }
        // Final metrics before the report, so that a caller sees them once it returns.
        self.export_metrics();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.reply.try_send(std::mem::take(&mut self.report));
        }
        self.done = true;
    }

    /// Exports now if the last export is old enough, else once it is (coalescing changes).
    fn schedule_metrics(&mut self) {
        let now = self.runtime.now();
        match self.last_export {
            Some(last) if now.saturating_duration_since(last) < METRICS_INTERVAL => {
                self.metrics_due = Some(last + METRICS_INTERVAL);
            }
            _ => self.export_metrics(),
        }
    }

    fn export_metrics(&mut self) {
        self.last_export = Some(self.runtime.now());
        self.metrics_due = None;
        metrics_export::export_transport(&self.label, self.core.transport().metrics());
        metrics_export::export_pipeline(&self.label, &self.core.metrics());
    }
}

fn log_failure(stream: StreamId, failure: &Failure, what: &str) {
    // The retry (cause, delay, hint) or the halt is logged from the core's action; this is the
    // raw event, for debugging.
    tracing::debug!(%stream, ?failure, "{what}");
}
