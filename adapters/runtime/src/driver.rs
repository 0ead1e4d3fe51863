//! The event loop of one pipeline: moves records, stream events, time and commands into the
//! core and its actions out (`transport.md` §15). It makes no protocol decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use futures_lite::FutureExt;
use stateful_logs::proto::StatefulBatch;
use stateful_logs::transport::{
    AckEntry, AckOutcome, Action, CloseMode, EndpointConfig, Failure, HaltError, State,
};
use stateful_logs::{ConfigError, StreamId, Timestamp};

use crate::connector::{ConnectionPool, Connector};
use crate::core::{Core, RefusalReason};
use crate::metrics_export;
use crate::runtime::{BoxFuture, Runtime};
use crate::stream_io::{StreamEvent, StreamHandle, StreamStart, spawn_stream};

/// Records taken from the queue per wake-up at most, before the core's outputs are drained.
const INPUT_BURST: usize = 256;

/// What producer handles send, in order.
pub(crate) enum Input<Rec> {
    /// A record.
    Record(Rec),
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

/// What the client reads about a pipeline without asking its driver.
#[derive(Debug)]
pub(crate) struct PipelineStatus {
    pub state: State,
    pub halted: Option<HaltError>,
}

/// Where the driver delivers what the application sees.
#[derive(Clone)]
pub(crate) struct Outputs {
    pub acks: Sender<AckEntry>,
    pub halts: Sender<HaltError>,
}

/// Static settings of a driver.
pub(crate) struct DriverSettings {
    pub pipeline: usize,
    pub user_agent: String,
    pub drain_timeout: Duration,
}

pub(crate) struct Driver<C: Core, R: Runtime, K: Connector> {
    core: C,
    runtime: R,
    origin: Instant,
    pool: Arc<ConnectionPool<K>>,
    settings: DriverSettings,
    label: String,
    inputs: Receiver<Input<C::Record>>,
    commands: Receiver<Command>,
    events_tx: Sender<StreamEvent>,
    events: Receiver<StreamEvent>,
    outputs: Outputs,
    status: Arc<Mutex<PipelineStatus>>,
    /// A record the core refused with `Full`, retried first once input is ready.
    held: Option<C::Record>,
    streams: HashMap<StreamId, StreamHandle>,
    timer: Option<(Timestamp, BoxFuture)>,
    shutdown: Option<PendingShutdown>,
    report: PipelineReport,
    done: bool,
    last_export: Option<Instant>,
}

struct PendingShutdown {
    deadline: Timestamp,
    reply: Sender<PipelineReport>,
    core_told: bool,
}

enum Wake<Rec> {
    Event(Option<StreamEvent>),
    Command(Option<Command>),
    Input(Option<Input<Rec>>),
    Timer,
}

impl<C, R, K> Driver<C, R, K>
where
    C: Core,
    R: Runtime,
    K: Connector,
{
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        core: C,
        runtime: R,
        origin: Instant,
        pool: Arc<ConnectionPool<K>>,
        settings: DriverSettings,
        inputs: Receiver<Input<C::Record>>,
        commands: Receiver<Command>,
        outputs: Outputs,
        status: Arc<Mutex<PipelineStatus>>,
    ) -> Self {
        let (events_tx, events) = async_channel::unbounded();
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
            status,
            held: None,
            streams: HashMap::new(),
            timer: None,
            shutdown: None,
            report: PipelineReport::default(),
            done: false,
            last_export: None,
        }
    }

    fn now(&self) -> Timestamp {
        Timestamp(stateful_logs::duration_ms(self.runtime.now().saturating_duration_since(self.origin)))
    }

    fn instant_of(&self, t: Timestamp) -> Instant {
        self.origin + Duration::from_millis(t.0)
    }

    fn timestamp_of(&self, instant: Instant) -> Timestamp {
        Timestamp(stateful_logs::duration_ms(instant.saturating_duration_since(self.origin)))
    }

    /// Runs until the core's shutdown completes or the client is dropped.
    pub(crate) async fn run(mut self) {
        self.pump();
        while !self.done {
            let wake = self.wait().await;
            match wake {
                Wake::Event(Some(event)) => self.handle_event(event),
                Wake::Command(Some(command)) => self.handle_command(command),
                Wake::Input(Some(input)) => self.handle_input(input),
                Wake::Timer => self.handle_timer(),
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
            // Records already queued go in together (bounded, so events are not starved).
            for _ in 0..INPUT_BURST {
                if self.held.is_some() || !self.core.input_ready() {
                    break;
                }
                match self.inputs.try_recv() {
                    Ok(input) => {
                        self.handle_input(input);
                        self.drain_actions();
                    }
                    Err(_) => break,
                }
            }
            self.pump();
        }
        self.export_metrics(true);
        for (_, stream) in self.streams.drain() {
            stream.close(CloseMode::Abort);
        }
    }

    /// Waits for a stream event, a command, an input (only when the core can take one) or the
    /// timer.
    async fn wait(&mut self) -> Wake<C::Record> {
        let accept_input = self.held.is_none()
            && self.core.input_ready()
            && !(self.inputs.is_closed() && self.inputs.is_empty());
        let Driver { events, commands, inputs, timer, .. } = self;
        let events = async { Wake::Event(events.recv().await.ok()) };
        let commands = async { Wake::Command(commands.recv().await.ok()) };
        let inputs = async {
            if accept_input { Wake::Input(inputs.recv().await.ok()) } else { std::future::pending().await }
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
        events.or(commands).or(timer).or(inputs).await
    }

    fn handle_event(&mut self, event: StreamEvent) {
        let now = self.now();
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
        match command {
            Command::Shutdown { deadline, reply } => {
                if self.shutdown.is_some() {
                    return;
                }
                // New sends fail from now on; records already queued are still fed in.
                self.inputs.close();
                self.shutdown =
                    Some(PendingShutdown { deadline: self.timestamp_of(deadline), reply, core_told: false });
            }
            Command::Resume => {
                if let Ok(mut status) = self.status.lock() {
                    status.halted = None;
                }
                self.core.resume(now);
            }
            Command::UpdateEndpoint { index, endpoint, reply } => {
                let _ = reply.try_send(self.core.update_endpoint(index, *endpoint));
            }
        }
    }

    fn handle_input(&mut self, input: Input<C::Record>) {
        let now = self.now();
        match input {
            Input::Record(record) => self.offer(now, record),
            Input::Flush(reply) => {
                self.core.flush(now);
                let _ = reply.try_send(());
            }
        }
    }

    fn offer(&mut self, now: Timestamp, record: C::Record) {
        match self.core.handle_record(now, record) {
            Ok(()) => {}
            Err((record, RefusalReason::Full)) => self.held = Some(record),
            Err((record, reason)) => {
                // Only possible for records queued before a shutdown whose deadline passed.
                tracing::warn!(pipeline = self.settings.pipeline, ?reason, "record refused at shutdown");
                self.unqueued_token(C::ack_token(&record));
            }
        }
    }

    fn unqueued_token(&mut self, token: Option<u64>) {
        if let Some(token) = token {
            self.report.unacknowledged.push(token);
            let _ = self.outputs.acks.try_send(AckEntry { token, outcome: AckOutcome::Unacknowledged });
        }
    }

    fn handle_timer(&mut self) {
        let Some((deadline, _)) = self.timer.take() else { return };
        let now = self.now();
        // Only once the clock has reached the core's own deadline (§15.7); the timer may also
        // have been armed for the driver's shutdown deadline, handled in `pump`.
        if now >= deadline
            && let Some(due) = self.core.poll_timeout()
            && now >= due
        {
            self.core.handle_timeout(now);
        }
    }

    /// After every input: retry a held record, start a due shutdown, drain actions, send what
    /// the streams can take, re-arm the timer.
    fn pump(&mut self) {
        let now = self.now();
        if self.core.input_ready()
            && let Some(record) = self.held.take()
        {
            self.offer(now, record);
        }
        self.advance_shutdown(now);
        loop {
            while let Some(action) = self.core.poll_action() {
                self.handle_action(action);
            }
            if !self.transmit(now) {
                break;
            }
        }
        let shutdown_deadline = self.shutdown.as_ref().filter(|s| !s.core_told).map(|s| s.deadline);
        let wanted = [self.core.poll_timeout(), shutdown_deadline].into_iter().flatten().min();
        if self.timer.as_ref().map(|(deadline, _)| *deadline) != wanted {
            self.timer =
                wanted.map(|deadline| (deadline, self.runtime.sleep_until(self.instant_of(deadline))));
        }
        if let Ok(mut status) = self.status.lock() {
            status.state = self.core.state();
        }
        self.export_metrics(false);
    }

    /// Tells the core to shut down once every queued record was fed in, or at the deadline.
    fn advance_shutdown(&mut self, now: Timestamp) {
        let Some(shutdown) = &mut self.shutdown else { return };
        if shutdown.core_told {
            return;
        }
        let queue_empty = self.held.is_none() && self.inputs.is_empty();
        if queue_empty || now >= shutdown.deadline {
            shutdown.core_told = true;
            let deadline = shutdown.deadline;
            self.core.shutdown(now, Some(deadline));
        }
    }

    /// Pulls one message for every stream that can take one; true if any was sent.
    fn transmit(&mut self, now: Timestamp) -> bool {
        let mut sent = false;
        for (&stream, handle) in &self.streams {
            if !handle.writable() {
                continue;
            }
            if let Some(transmit) = self.core.poll_transmit(now, stream)
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

    fn handle_action(&mut self, action: Action) {
        match action {
            Action::OpenStream { stream, endpoint, path, metadata } => {
                let settings = self.core.endpoint(endpoint).clone();
                tracing::debug!(pipeline = self.settings.pipeline, %stream, endpoint, host = %settings.host, "opening stream");
                let start = StreamStart {
                    stream,
                    path,
                    metadata,
                    user_agent: self.settings.user_agent.clone(),
                    drain_timeout: self.settings.drain_timeout,
                    events: self.events_tx.clone(),
                };
                match self.pool.service(&settings) {
                    Ok(service) => {
                        let handle = spawn_stream(&self.runtime, service, start);
                        self.streams.insert(stream, handle);
                    }
                    Err(error) => {
                        let failure = if error.tls {
                            Failure::Tls(error.to_string())
                        } else {
                            Failure::Connection(error.to_string())
                        };
                        let now = self.now();
                        self.core.handle_stream_open_failed(now, stream, failure);
                    }
                }
            }
            Action::CloseStream { stream, mode } => {
                if let Some(handle) = self.streams.remove(&stream) {
                    tracing::debug!(pipeline = self.settings.pipeline, %stream, ?mode, "closing stream");
                    handle.close(mode);
                }
            }
            Action::Acknowledge(entries) => {
                for entry in entries {
                    match entry.outcome {
                        AckOutcome::Acked => self.report.acked += 1,
                        AckOutcome::Dropped(_) => self.report.dropped += 1,
                        AckOutcome::Unacknowledged => {}
                    }
                    let _ = self.outputs.acks.try_send(entry);
                }
            }
            Action::CodecFallback { endpoint, from, to, message } => {
                tracing::warn!(
                    pipeline = self.settings.pipeline,
                    endpoint,
                    "endpoint {endpoint} refused the {from} content encoding ({message}); \
                     it gets {to} from now on, and the unacknowledged batches are sent again"
                );
            }
            Action::Halted(error) => {
                tracing::error!(pipeline = self.settings.pipeline, reason = error.label(), "{error}");
                if let Ok(mut status) = self.status.lock() {
                    status.halted = Some(error.clone());
                }
                let _ = self.outputs.halts.try_send(error);
            }
            Action::ShutdownComplete { mut unacknowledged } => {
                let mut report = std::mem::take(&mut self.report);
                // Records still queued behind the core were never admitted: they follow, in order.
                let mut rest = Vec::new();
                if let Some(record) = self.held.take() {
                    rest.extend(C::ack_token(&record));
                }
                while let Ok(input) = self.inputs.try_recv() {
                    if let Input::Record(record) = input {
                        rest.extend(C::ack_token(&record));
                    }
                }
                for &token in &rest {
                    let _ =
                        self.outputs.acks.try_send(AckEntry { token, outcome: AckOutcome::Unacknowledged });
                }
                report.unacknowledged.append(&mut unacknowledged);
                report.unacknowledged.extend(rest);
                tracing::info!(
                    pipeline = self.settings.pipeline,
                    acked = report.acked,
                    unacknowledged = report.unacknowledged.len(),
                    "shutdown complete"
                );
                // Final metrics before the report, so that a caller sees them once it returns.
                self.export_metrics(true);
                if let Some(shutdown) = self.shutdown.take() {
                    let _ = shutdown.reply.try_send(report);
                }
                self.done = true;
            }
        }
    }

    fn export_metrics(&mut self, force: bool) {
        let now = self.runtime.now();
        if !force
            && self
                .last_export
                .is_some_and(|last| now.saturating_duration_since(last) < Duration::from_secs(1))
        {
            return;
        }
        self.last_export = Some(now);
        metrics_export::export_transport(&self.label, self.core.transport_metrics());
        self.core.export_extra_metrics(&self.label);
    }
}

fn log_failure(stream: StreamId, failure: &Failure, what: &str) {
    match failure {
        Failure::Eof => tracing::info!(%stream, "{what}: the intake ended the stream"),
        Failure::Status { code, message, retry_pushback_ms } => {
            tracing::warn!(%stream, code, %message, ?retry_pushback_ms, "{what}")
        }
        Failure::Tls(message) => tracing::warn!(%stream, %message, "{what}: TLS"),
        Failure::Connection(message) => tracing::warn!(%stream, %message, "{what}: connection"),
    }
}
