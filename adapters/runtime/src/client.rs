//! The client API: a builder, producer handles with a memory budget, acks, halts, flush,
//! shutdown, resume (`transport.md` §2.4).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use stateful_logs::codec::Compression;
use stateful_logs::pipeline::budget::queued_cost;
use stateful_logs::transport::{ApiKey, EndpointConfig, HaltError, State, TransportConfig};
use stateful_logs::{BatchFormat, ConfigError, Pipeline, PipelineConfig, Profile, Record, Timestamp};

use crate::connector::{ConnectionPool, ConnectionSettings, Connector};
use crate::driver::{Command, Driver, DriverSettings, Input, Outputs, PipelineReport, Shared};
use crate::runtime::Runtime;

/// The default `user-agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("stateful-logs/", env!("CARGO_PKG_VERSION"));

pub use crate::driver::AckEvent;
pub use crate::errors::{ClientError, SendError, TrySendError};

/// What a shutdown achieved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Ack tokens acknowledged over the client's life.
    pub acked: u64,
    /// Ack tokens whose records were dropped (too large).
    pub dropped: u64,
    /// Ack tokens never acknowledged, per pipeline in input order.
    pub unacknowledged: Vec<u64>,
    /// The halt in force when the shutdown ended, if any.
    pub halted: Option<HaltError>,
}

/// A snapshot of the client's health.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientStatus {
    /// The first halted pipeline's error, if any pipeline is halted.
    pub halted: Option<HaltError>,
    /// The state of every pipeline.
    pub states: Vec<State>,
}

/// Settings of a client, set through [`ClientBuilder`].
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    endpoints: Vec<(String, u16)>,
    endpoint_configs: Vec<EndpointConfig>,
    api_key: ApiKey,
    tls: bool,
    ca_file: Option<PathBuf>,
    headers: Vec<(String, String)>,
    settings: PipelineConfig,
    connection: ConnectionSettings,
    pipelines: usize,
    seed: u64,
    user_agent: String,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoints: Vec::new(),
            endpoint_configs: Vec::new(),
            api_key: ApiKey::default(),
            tls: false,
            ca_file: None,
            headers: Vec::new(),
            settings: PipelineConfig::new(Vec::new()),
            connection: ConnectionSettings::default(),
            pipelines: 1,
            seed: 0,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
        }
    }
}

impl ClientBuilder {
    /// A builder with the spec's defaults and no endpoint.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an endpoint (priority order: the first is the primary). It takes the API key, TLS
    /// settings and extra headers of the builder.
    pub fn endpoint(mut self, host: impl Into<String>, port: u16) -> Self {
        self.endpoints.push((host.into(), port));
        self
    }

    /// Adds a fully specified endpoint (its own key, TLS, headers), after the others.
    pub fn endpoint_config(mut self, endpoint: EndpointConfig) -> Self {
        self.endpoint_configs.push(endpoint);
        self
    }

    /// The API key sent as `dd-api-key`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = ApiKey::new(key);
        self
    }

    /// The wire profile (`v1` by default).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.settings.transport = self.settings.transport.with_profile(profile);
        self
    }

    /// Compression of the batches (`zstd-stream` at level 1 by default; `zstd`, `gzip` or
    /// identity for intakes without it, though an intake that refuses `zstd-stream` gets
    /// per-batch `zstd` automatically).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.settings.transport.compression = compression;
        self
    }

    /// The memory budget per pipeline (64 MiB): everything the client holds for a pipeline,
    /// queued records included, stays within it; `send` waits and `try_send` returns `Full`
    /// beyond it.
    pub fn max_buffer_bytes(mut self, bytes: u64) -> Self {
        self.settings.max_buffer_bytes = bytes;
        self
    }

    /// The largest encoded batch message the intake accepts (4 MiB less framing, the usual
    /// gRPC server limit); batches are closed early to stay under it.
    pub fn max_message_bytes(mut self, bytes: u64) -> Self {
        self.settings.transport.max_message_bytes = bytes;
        self
    }

    /// What batches carry: the stateful encoding (default) or the HTTP JSON baseline the
    /// benchmarks compare against.
    pub fn batch_format(mut self, format: BatchFormat) -> Self {
        self.settings.batch_format = format;
        self
    }

    /// TLS on or off (off by default), with the system roots unless a CA file is given.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Trusts this PEM CA file instead of the system roots (turns TLS on).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self.tls = true;
        self
    }

    /// Also trusts the WebPKI roots compiled into the binary.
    pub fn webpki_roots(mut self, on: bool) -> Self {
        self.connection.webpki_roots = on;
        self
    }

    /// An extra header sent on every stream; reserved names are refused at `build`.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The `user-agent` (`stateful-logs/<version>` by default).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Stream open timeout (10 s).
    pub fn open_timeout(mut self, timeout: Duration) -> Self {
        self.settings.transport.open_timeout = timeout;
        self
    }

    /// Oldest unacked batch → new stream after this long (30 s); `None` turns it off.
    pub fn ack_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.settings.transport.ack_timeout = timeout;
        self
    }

    /// How long a draining stream waits for its acks (5 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.settings.transport.drain_timeout = timeout;
        self
    }

    /// Planned stream rotation (900 s) and its jitter in percent (10).
    pub fn stream_lifetime(mut self, lifetime: Duration, jitter_percent: u8) -> Self {
        self.settings.transport.stream_lifetime = lifetime;
        self.settings.transport.lifetime_jitter_percent = jitter_percent;
        self
    }

    /// Backoff after failures: first delay and cap (1 s, 120 s).
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.settings.transport.backoff_base = base;
        self.settings.transport.backoff_max = max;
        self
    }

    /// Failures on one endpoint before switching to the next (3).
    pub fn failover_after(mut self, failures: u32) -> Self {
        self.settings.transport.failover_after = failures;
        self
    }

    /// Default shutdown deadline (10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.transport.shutdown_timeout = timeout;
        self
    }

    /// Batches per pipeline, sent and unsent (10,000).
    pub fn inflight_capacity(mut self, batches: usize) -> Self {
        self.settings.transport.inflight_capacity = batches;
        self
    }

    /// Optional cap on encoded bytes in flight per pipeline (0 = none).
    pub fn inflight_max_bytes(mut self, bytes: u64) -> Self {
        self.settings.transport.inflight_max_bytes = bytes;
        self
    }

    /// Records per batch (1,000), raw bytes per batch (5,000,000) and longest wait (5 s).
    pub fn batching(mut self, max_items: u32, max_bytes: u64, wait: Duration) -> Self {
        self.settings.max_batch_items = max_items;
        self.settings.max_batch_bytes = max_bytes;
        self.settings.batch_wait = wait;
        self
    }

    /// Pipelines sharing one HTTP/2 connection per endpoint (1).
    pub fn pipelines(mut self, pipelines: usize) -> Self {
        self.pipelines = pipelines;
        self
    }

    /// Seed of the cores' jitter (pipeline `i` uses `seed + i`).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// TCP connect timeout (10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connection.connect_timeout = timeout;
        self
    }

    /// HTTP/2 keepalive ping interval and timeout (30 s, 5 s).
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.connection.keepalive_interval = interval;
        self.connection.keepalive_timeout = timeout;
        self
    }

    /// `v1` batch delta encoding (true); must match the intake.
    pub fn v1_delta_encoding(mut self, on: bool) -> Self {
        self.settings.v1_delta_encoding = on;
        self
    }

    /// Any other transport setting (`transport.md` §11).
    pub fn transport_config(mut self, edit: impl FnOnce(&mut TransportConfig)) -> Self {
        edit(&mut self.settings.transport);
        self
    }

    /// Any other Pipeline setting (translator, deletes; `encoding.md` §9.15).
    pub fn pipeline_config(mut self, edit: impl FnOnce(&mut PipelineConfig)) -> Self {
        edit(&mut self.settings);
        self
    }

    /// The endpoint list this builder would configure.
    pub fn endpoint_list(&self) -> Vec<EndpointConfig> {
        let mut list: Vec<EndpointConfig> = self
            .endpoints
            .iter()
            .map(|(host, port)| EndpointConfig {
                host: host.clone(),
                port: *port,
                tls: self.tls,
                ca_file: self.ca_file.clone(),
                api_key: self.api_key.clone(),
                extra_headers: self.headers.clone(),
                ..Default::default()
            })
            .collect();
        list.extend(self.endpoint_configs.iter().cloned());
        list
    }

    /// The settings the core does not check: a zero timeout would fail every connection or
    /// ping at once (and a zero ping interval cannot be timed), and the user agent goes in a
    /// header, which must be printable ASCII.
    fn validate_connection(&self) -> Result<(), ConfigError> {
        let connection = &self.connection;
        for (name, value, default) in [
            ("connect_timeout", connection.connect_timeout, "10 s"),
            ("keepalive_interval", connection.keepalive_interval, "30 s"),
            ("keepalive_timeout", connection.keepalive_timeout, "5 s"),
        ] {
            if value.as_millis() == 0 {
                return Err(ConfigError::new(
                    name,
                    format!("must be at least 1 ms ({default} is the default)"),
                ));
            }
        }
        if self.user_agent.is_empty() || !self.user_agent.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ConfigError::new("user_agent", "must be non-empty printable ASCII (0x20-0x7E)"));
        }
        Ok(())
    }

    /// Starts the client's pipelines on `runtime`, connecting through `connector`.
    pub fn build<R, K>(self, runtime: R, connector: K) -> Result<Client, ClientError>
    where
        R: Runtime,
        K: Connector,
    {
        if self.pipelines == 0 {
            return Err(ConfigError::new("pipelines", "must be at least 1").into());
        }
        self.validate_connection()?;
        let mut settings = self.settings.clone();
        settings.transport.endpoints = self.endpoint_list();
        let origin = runtime.now();
        let pool = ConnectionPool::new(connector, self.connection.clone());
        let (acks_tx, acks) = async_channel::unbounded();
        let (halts_tx, halts) = async_channel::unbounded();
        let outputs = Outputs { acks: acks_tx, halts: halts_tx };
        let mut pipelines = Vec::with_capacity(self.pipelines);
        // The adaptive level's calibration: a few tens of milliseconds, once per client.
        let compression = settings.transport.compression;
        // The HTTP JSON baseline compresses per batch (the stream codec's fallback): no level
        // to adapt, nothing to calibrate.
        let adapts = compression.cpu_budget.is_some()
            && compression.encoding.is_stream()
            && settings.batch_format == BatchFormat::Stateful;
        let calibration = adapts.then(|| crate::calibration::calibrate_ladder(compression.window_log));
        for index in 0..self.pipelines {
            let mut core =
                Pipeline::new(settings.clone(), self.seed.wrapping_add(index as u64), Timestamp::ZERO)?;
            if let Some(calibration) = &calibration {
                core.handle_compression_calibration(calibration);
            }
            // Records wait in an unbounded channel whose bytes the shared budget bounds.
            let (inputs_tx, inputs_rx) = async_channel::unbounded();
            let (commands_tx, commands_rx) = async_channel::unbounded();
            let shared = Arc::new(Shared::new(&core));
            let driver = Driver::new(
                core,
                runtime.clone(),
                origin,
                pool.clone(),
                DriverSettings {
                    pipeline: index,
                    user_agent: self.user_agent.clone(),
                    drain_timeout: settings.transport.drain_timeout,
                },
                inputs_rx,
                commands_rx,
                outputs.clone(),
                shared.clone(),
            );
            runtime.spawn(Box::pin(driver.run()));
            pipelines.push(PipelineLink { inputs: inputs_tx, commands: commands_tx, shared });
        }
        tracing::info!(
            pipelines = self.pipelines,
            endpoints = settings.transport.endpoints.len(),
            profile = %settings.transport.profile,
            max_buffer_bytes = settings.max_buffer_bytes,
            "stateful-logs client started"
        );
        Ok(Client {
            pipelines,
            next_handle: AtomicUsize::new(0),
            acks,
            halts,
            runtime_now: Arc::new(move || runtime.now()),
            default_shutdown: settings.transport.shutdown_timeout,
        })
    }
}

struct PipelineLink {
    inputs: Sender<Input>,
    commands: Sender<Command>,
    shared: Arc<Shared>,
}

/// A running client: N pipelines sharing one HTTP/2 connection per endpoint.
///
/// End it with [`Client::shutdown`]: dropping it instead cancels every stream at once, and
/// whatever was not acknowledged is lost without a report.
pub struct Client {
    pipelines: Vec<PipelineLink>,
    next_handle: AtomicUsize,
    acks: Receiver<AckEvent>,
    halts: Receiver<HaltError>,
    runtime_now: Arc<dyn Fn() -> Instant + Send + Sync>,
    default_shutdown: Duration,
}

/// A producer's handle: all its records go to one pipeline, in order.
#[derive(Clone)]
pub struct Handle {
    pub(crate) inputs: Sender<Input>,
    pub(crate) shared: Arc<Shared>,
    pipeline: usize,
}

impl Handle {
    /// Sends a record; waits while the pipeline's memory budget is full (backpressure).
    /// Fails at once, with the record, when the pipeline is halted or the client shut down.
    pub async fn send(&self, record: Record) -> Result<(), SendError> {
        // A first try without a listener (which costs an allocation): there usually is room.
        let mut record = match self.try_send(record) {
            Ok(()) => return Ok(()),
            Err(error) => refusal(error)?,
        };
        loop {
            // Listen before trying again, so that room freed in between is not missed.
            let freed = self.shared.budget.listen();
            record = match self.try_send(record) {
                Ok(()) => return Ok(()),
                Err(error) => refusal(error)?,
            };
            freed.await;
        }
    }

    /// Sends a record if the pipeline's memory budget has room now; never waits, so it may be
    /// called from any thread, async or not (a logging layer does).
    pub fn try_send(&self, record: Record) -> Result<(), TrySendError> {
        if let Some(error) = self.shared.halted() {
            return Err(TrySendError::Halted { record: Box::new(record), error });
        }
        if self.inputs.is_closed() {
            return Err(TrySendError::Closed(Box::new(record)));
        }
        let cost = queued_cost(&record);
        if !self.shared.budget.try_reserve(cost) {
            return Err(TrySendError::Full(Box::new(record)));
        }
        match self.inputs.try_send(Input::Record(record)) {
            Ok(()) => Ok(()),
            Err(error) => {
                self.shared.budget.release(cost);
                match error.into_inner() {
                    Input::Record(record) => Err(TrySendError::Closed(Box::new(record))),
                    // A failed send hands back what was sent: a record.
                    Input::Records(_) | Input::Flush(_) => {
                        unreachable!("a record send returned another input")
                    }
                }
            }
        }
    }

    /// The pipeline this handle feeds.
    pub fn pipeline(&self) -> usize {
        self.pipeline
    }
}

/// What `send` does after a refusal of `try_send`: wait for room with the record, or fail.
fn refusal(error: TrySendError) -> Result<Record, SendError> {
    match error {
        TrySendError::Full(record) => Ok(*record),
        TrySendError::Closed(record) => Err(SendError::Closed(record)),
        TrySendError::Halted { record, error } => Err(SendError::Halted { record, error }),
    }
}

impl Client {
    /// A new producer handle, assigned to the next pipeline round-robin.
    pub fn handle(&self) -> Handle {
        let pipeline = self.next_handle.fetch_add(1, Ordering::Relaxed) % self.pipelines.len();
        let link = &self.pipelines[pipeline];
        Handle { inputs: link.inputs.clone(), shared: link.shared.clone(), pipeline }
    }

    /// Resolved ack tokens of every pipeline (in input order per handle), and each halt as an
    /// `Err` when it happens, so a program that awaits its acks learns of it. One consumer
    /// should read it; entries accumulate until read.
    pub fn acks(&self) -> Receiver<AckEvent> {
        self.acks.clone()
    }

    /// Halts as they happen (bad key, wrong profile, TLS, message too large, repeated protocol
    /// errors).
    pub fn halts(&self) -> Receiver<HaltError> {
        self.halts.clone()
    }

    /// The pipelines' states and the halt in force, if any.
    pub fn status(&self) -> ClientStatus {
        let mut halted = None;
        let mut states = Vec::with_capacity(self.pipelines.len());
        for link in &self.pipelines {
            let status = link.shared.status();
            states.push(status.state);
            if halted.is_none() {
                halted = status.halted.clone();
            }
        }
        ClientStatus { halted, states }
    }

    /// Flushes every pipeline's open batch, after the records sent before this call.
    pub async fn flush(&self) {
        let mut replies = Vec::new();
        for link in &self.pipelines {
            let (tx, rx) = async_channel::bounded(1);
            if link.inputs.send(Input::Flush(tx)).await.is_ok() {
                replies.push(rx);
            }
        }
        for reply in replies {
            let _ = reply.recv().await;
        }
    }

    /// Leaves a halt: every pipeline opens a new stream and resends what it holds.
    pub fn resume(&self) {
        for link in &self.pipelines {
            let _ = link.commands.try_send(Command::Resume);
        }
    }

    /// Replaces endpoint `index` in every pipeline (from its next stream on).
    pub async fn update_endpoint(&self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError> {
        for link in &self.pipelines {
            let (tx, rx) = async_channel::bounded(1);
            let command = Command::UpdateEndpoint { index, endpoint: Box::new(endpoint.clone()), reply: tx };
            if link.commands.send(command).await.is_err() {
                continue;
            }
            if let Ok(result) = rx.recv().await {
                result?;
            }
        }
        Ok(())
    }

    /// Shuts down with the configured default deadline.
    pub async fn shutdown_default(self) -> ShutdownReport {
        let timeout = self.default_shutdown;
        self.shutdown(timeout).await
    }

    /// Stops taking records, delivers what it can within `timeout`, and reports the rest. It
    /// returns once every stream has been closed (each graceful close's half-close written),
    /// so a program may exit right after it without the intake seeing a reset.
    pub async fn shutdown(self, timeout: Duration) -> ShutdownReport {
        let deadline = (self.runtime_now)() + timeout;
        let mut replies = Vec::new();
        for link in &self.pipelines {
            let (tx, rx) = async_channel::bounded(1);
            if link.commands.send(Command::Shutdown { deadline, reply: tx }).await.is_ok() {
                replies.push(rx);
            }
        }
        let mut report = ShutdownReport::default();
        for reply in replies {
            if let Ok(part) = reply.recv().await {
                let PipelineReport { acked, dropped, mut unacknowledged } = part;
                report.acked += acked;
                report.dropped += dropped;
                report.unacknowledged.append(&mut unacknowledged);
            }
        }
        report.halted = self.status().halted;
        report
    }
}
