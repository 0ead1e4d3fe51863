//! The client API: a builder, producer handles with backpressure, acks, halts, flush,
//! shutdown, resume (`transport.md` §2.4).

use std::marker::PhantomData;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use stateful_logs::codec::Compression;
use stateful_logs::transport::{AckEntry, ApiKey, EndpointConfig, HaltError, State, TransportConfig};
use stateful_logs::{ConfigError, Profile, Timestamp};

use crate::connector::{ConnectionPool, ConnectionSettings, Connector};
use crate::core::{Core, CoreSettings};
use crate::driver::{Command, Driver, DriverSettings, Input, Outputs, PipelineReport, PipelineStatus};
use crate::runtime::Runtime;

/// The default `user-agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("stateful-logs/", env!("CARGO_PKG_VERSION"));

/// A client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A setting is invalid; the message names it and the fix.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// The client is shut down (or dropped): the record comes back.
#[derive(Debug, thiserror::Error)]
#[error("the client is shut down; the record was not taken")]
pub struct SendError<Rec>(pub Rec);

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
    settings: CoreSettings,
    connection: ConnectionSettings,
    pipelines: usize,
    input_queue: usize,
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
            settings: CoreSettings::new(Vec::new()),
            connection: ConnectionSettings::default(),
            pipelines: 1,
            input_queue: 1_024,
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
        self.settings.compression = compression;
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

    /// Records queued per pipeline between the handles and the core (1,024): the bound on
    /// memory in front of a full core; `send` waits beyond it.
    pub fn input_queue(mut self, records: usize) -> Self {
        self.input_queue = records;
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
    pub fn pipeline_config(mut self, edit: impl FnOnce(&mut CoreSettings)) -> Self {
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
    pub fn build<C, R, K>(self, runtime: R, connector: K) -> Result<Client<C>, ClientError>
    where
        C: Core,
        R: Runtime,
        K: Connector,
    {
        if self.pipelines == 0 {
            return Err(ConfigError::new("pipelines", "must be at least 1").into());
        }
        if self.input_queue == 0 {
            return Err(ConfigError::new("input_queue", "must be at least 1").into());
        }
        self.validate_connection()?;
        let mut settings = self.settings.clone();
        settings.transport.endpoints = self.endpoint_list();
        settings.transport.compression = settings.compression;
        let origin = runtime.now();
        let pool = ConnectionPool::new(connector, self.connection.clone());
        let (acks_tx, acks) = async_channel::unbounded();
        let (halts_tx, halts) = async_channel::unbounded();
        let outputs = Outputs { acks: acks_tx, halts: halts_tx };
        let mut pipelines = Vec::with_capacity(self.pipelines);
        for index in 0..self.pipelines {
            let core = C::build(&settings, self.seed.wrapping_add(index as u64), Timestamp::ZERO)?;
            let (inputs_tx, inputs_rx) = async_channel::bounded(self.input_queue);
            let (commands_tx, commands_rx) = async_channel::unbounded();
            let status = Arc::new(Mutex::new(PipelineStatus { state: core.state(), halted: None }));
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
                status.clone(),
            );
            runtime.spawn(Box::pin(driver.run()));
            pipelines.push(PipelineLink { inputs: inputs_tx, commands: commands_tx, status });
        }
        tracing::info!(
            pipelines = self.pipelines,
            endpoints = settings.transport.endpoints.len(),
            profile = %settings.transport.profile,
            "stateful-logs client started"
        );
        Ok(Client {
            pipelines,
            next_handle: AtomicUsize::new(0),
            acks,
            halts,
            runtime_now: Arc::new(move || runtime.now()),
            default_shutdown: settings.transport.shutdown_timeout,
            _core: PhantomData,
        })
    }
}

struct PipelineLink<Rec> {
    inputs: Sender<Input<Rec>>,
    commands: Sender<Command>,
    status: Arc<Mutex<PipelineStatus>>,
}

/// A running client: N pipelines sharing one HTTP/2 connection per endpoint.
///
/// End it with [`Client::shutdown`]: dropping it instead cancels every stream at once, and
/// whatever was not acknowledged is lost without a report.
pub struct Client<C: Core> {
    pipelines: Vec<PipelineLink<C::Record>>,
    next_handle: AtomicUsize,
    acks: Receiver<AckEntry>,
    halts: Receiver<HaltError>,
    runtime_now: Arc<dyn Fn() -> Instant + Send + Sync>,
    default_shutdown: Duration,
    _core: PhantomData<fn() -> C>,
}

/// A producer's handle: all its records go to one pipeline, in order.
pub struct Handle<Rec> {
    inputs: Sender<Input<Rec>>,
    pipeline: usize,
}

impl<Rec> Clone for Handle<Rec> {
    fn clone(&self) -> Self {
        Handle { inputs: self.inputs.clone(), pipeline: self.pipeline }
    }
}

impl<Rec: Send + 'static> Handle<Rec> {
    /// Sends a record; waits while the pipeline's queue is full (backpressure).
    pub async fn send(&self, record: Rec) -> Result<(), SendError<Rec>> {
        match self.inputs.send(Input::Record(record)).await {
            Ok(()) => Ok(()),
            Err(async_channel::SendError(Input::Record(record))) => Err(SendError(record)),
            // A failed send hands back exactly what was sent: a record.
            Err(async_channel::SendError(Input::Flush(_))) => unreachable!("a record send returned a flush"),
        }
    }

    /// The pipeline this handle feeds.
    pub fn pipeline(&self) -> usize {
        self.pipeline
    }
}

impl<C: Core> Client<C> {
    /// A new producer handle, assigned to the next pipeline round-robin.
    pub fn handle(&self) -> Handle<C::Record> {
        let pipeline = self.next_handle.fetch_add(1, Ordering::Relaxed) % self.pipelines.len();
        Handle { inputs: self.pipelines[pipeline].inputs.clone(), pipeline }
    }

    /// Resolved ack tokens of every pipeline (in input order per handle). One consumer should
    /// read it; entries accumulate until read.
    pub fn acks(&self) -> Receiver<AckEntry> {
        self.acks.clone()
    }

    /// Halts as they happen (bad key, wrong profile, TLS, repeated protocol errors).
    pub fn halts(&self) -> Receiver<HaltError> {
        self.halts.clone()
    }

    /// The pipelines' states and the halt in force, if any.
    pub fn status(&self) -> ClientStatus {
        let mut halted = None;
        let mut states = Vec::with_capacity(self.pipelines.len());
        for link in &self.pipelines {
            let status = link.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
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

    /// Stops taking records, delivers what it can within `timeout`, and reports the rest.
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
