//! # stateful-logs-intake: the reference intake server
//!
//! A gRPC server on tokio (tonic's server codec over hyper's HTTP/2) that serves both method
//! paths of the stateful logs protocol and hands every stream to the sans-IO receiver of the
//! core: API key check, content encodings, limits, in-order acks. Reconstructed logs go to an
//! output ([`IntakeBuilder::output`]) that takes each batch before it is acked, or, for tests
//! and embedding, to an unbounded channel ([`Intake::deliveries`]) that acks on handing over.
//!
//! [`Intake::shutdown`] stops it gracefully: no new calls, every ack it owes sent, every open
//! call ended with `UNAVAILABLE`, connections closed with `GOAWAY`. [`IntakeStats`] counts,
//! among others, the calls whose request body was cut off instead of ended
//! (`streams_reset_by_client`).
//!
//! For tests it injects faults ([`StreamFault`], [`Intake::set_ack_delay`],
//! [`Intake::drop_connections`], [`Intake::stop`] / [`Intake::start`]), and for the benchmark
//! baseline its receiver reads the HTTP JSON batches instead ([`IntakeBuilder::pass_through`]).
//!
//! With [`IntakeBuilder::tls`] it serves TLS (rustls, ALPN `h2`) with a certificate and key
//! from PEM ([`ServerTls`]); without, plaintext HTTP/2.
//!
//! **An empty API-key set accepts any key.** The intake logs a warning when it starts so.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod body_watch;
mod faults;
mod limits;
mod service;
mod shutdown;
mod stats;
mod tls;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stateful_logs::receiver::{ApiKeys, Receiver, ReceiverConfig};
use stateful_logs::{Profile, StreamId};
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

pub use faults::StreamFault;
pub use limits::ServerLimits;
// The core's receiver processes every stream (the stateful encoding, or the HTTP JSON
// baseline with `BatchFormat::HttpJson`); what it delivers and does, under its own names.
pub use service::IntakeService;
pub use shutdown::IntakeShutdown;
pub use stateful_logs::{LogBody, ReceivedLog, ReceiverAction};
pub use stats::IntakeStats;
pub use tls::{ServerTls, TlsError};

use service::Shared;
use shutdown::{LiveConnection, LiveConnections, Phase};

/// Extra room above the decompressed-size limit for a request message (`wire.md` §1).
pub const MESSAGE_OVERHEAD: usize = 64 * 1024;

/// The logs of one acknowledged batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    /// The intake's id of the stream (call) that carried it.
    pub stream: StreamId,
    /// The batch id on that stream.
    pub batch_id: u32,
    /// The reconstructed logs, in order.
    pub logs: Vec<ReceivedLog>,
}

/// Takes each delivered batch before it is acked ([`IntakeBuilder::output`]).
pub(crate) type Output = Box<dyn FnMut(&Delivered) -> std::io::Result<()> + Send>;

/// The intake could not start.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Binding the address failed.
    #[error("cannot listen on {address}: {source}; pick a free port or address")]
    Bind {
        /// The address asked for.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] stateful_logs::ConfigError),
    /// The TLS certificate or key cannot be used.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// Settings of an intake.
pub struct IntakeBuilder {
    receiver: Box<ReceiverConfig>,
    api_keys: Vec<String>,
    profiles: Option<Vec<Profile>>,
    ack_delay: Duration,
    limits: ServerLimits,
    output: Option<Output>,
    tls: Option<ServerTls>,
}

impl Default for IntakeBuilder {
    fn default() -> Self {
        IntakeBuilder {
            receiver: Box::default(),
            api_keys: Vec::new(),
            profiles: None,
            ack_delay: Duration::ZERO,
            limits: ServerLimits::default(),
            output: None,
            tls: None,
        }
    }
}

impl IntakeBuilder {
    /// Accepts this API key (repeat for several). With none, **any key is accepted**.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_keys.push(key.into());
        self
    }

    /// The receiver's settings (profiles, limits, `v1_delta_encoding`; `transport.md` §16).
    /// Its `api_keys` are replaced by those given with [`IntakeBuilder::api_key`] when any.
    pub fn receiver_config(mut self, config: ReceiverConfig) -> Self {
        self.receiver = Box::new(config);
        self
    }

    /// The profiles served (both by default).
    pub fn profiles(mut self, profiles: &[Profile]) -> Self {
        self.receiver.profiles = profiles.to_vec();
        self.profiles = Some(profiles.to_vec());
        self
    }

    /// Serves the HTTP JSON baseline (`BatchFormat::HttpJson`): the receiver reads each batch
    /// as a JSON array of logs and delivers them (same profiles, keys, order and limits).
    pub fn pass_through(mut self) -> Self {
        self.receiver.batch_format = stateful_logs::BatchFormat::HttpJson;
        self
    }

    /// Acts as an intake without `zstd-stream` (`encoding.md` §7.1): a stream announcing it
    /// ends at start with `INVALID_ARGUMENT`, and clients fall back to per-batch `zstd`.
    pub fn refuse_stream_codec(mut self) -> Self {
        self.receiver.encodings.retain(|e| !e.is_stream());
        self
    }

    /// Delays every ack by this long.
    pub fn ack_delay(mut self, delay: Duration) -> Self {
        self.ack_delay = delay;
        self
    }

    /// Limits of the HTTP/2 server: connections, streams per connection, header size, how
    /// long a connection may go without a request, keepalive ([`ServerLimits`]).
    pub fn server_limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Hands every batch to `output` before acking it: the ack goes out only after `output`
    /// returned `Ok` (write and flush there, and what the client saw acked is in the output
    /// even if the intake process is killed right after). A batch it refuses (`Err`) is not
    /// acked: its call ends `UNAVAILABLE` and the client sends the batch again.
    ///
    /// `output` runs on the intake's task while the batch is processed, nothing queues in
    /// between: a slow output slows every stream (backpressure) and nothing piles up in memory. With an
    /// output, [`Intake::deliveries`] receives nothing.
    pub fn output(mut self, output: impl FnMut(&Delivered) -> std::io::Result<()> + Send + 'static) -> Self {
        self.output = Some(Box::new(output));
        self
    }

    /// Serves TLS with this certificate and key (ALPN `h2`); clients then connect with
    /// `https://` and must trust the certificate's CA. Without it the intake speaks plaintext.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The receiver and the largest request message it accepts.
    fn processor(&self) -> Result<(Receiver, usize, bool), stateful_logs::ConfigError> {
        let mut config = (*self.receiver).clone();
        if !self.api_keys.is_empty() {
            config.api_keys = ApiKeys::set(self.api_keys.iter().cloned());
        }
        let accepts_any = config.api_keys.accepts_any();
        let limit = config.max_decompressed_bytes + MESSAGE_OVERHEAD;
        Ok((Receiver::new(config)?, limit, accepts_any))
    }

    /// Starts serving on `address` (`"127.0.0.1:0"` picks a free port).
    pub async fn bind(mut self, address: &str) -> Result<Intake, IntakeError> {
        self.limits.validate()?;
        let (processor, max_message_bytes, accepts_any) = self.processor()?;
        if accepts_any {
            tracing::warn!("the intake accepts ANY API key: authentication is off (no key configured)");
        }
        let (sink, deliveries) = async_channel::unbounded();
        let (timer_kick, kicks) = async_channel::bounded(1);
        let shared = Shared::new(processor, sink, self.output.take(), max_message_bytes, timer_kick);
        shared.faults.lock().unwrap_or_else(|p| p.into_inner()).ack_delay = self.ack_delay;
        *shared.admission.lock().unwrap_or_else(|p| p.into_inner()) = self
            .limits
            .max_stream_opens_per_sec
            .map(|per_sec| limits::OpenAdmission::new(per_sec, std::time::Instant::now()));
        let timer = tokio::spawn(run_timer(shared.clone(), kicks)).abort_handle();
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| IntakeError::Bind { address: address.to_owned(), source })?;
        let local = listener
            .local_addr()
            .map_err(|source| IntakeError::Bind { address: address.to_owned(), source })?;
        let mut intake = Intake {
            address: local,
            shared,
            deliveries,
            accept: None,
            connections: Arc::new(Mutex::new(Vec::new())),
            live: LiveConnections::default(),
            timer,
            limits: Arc::new(self.limits),
            tls: self.tls.as_ref().map(ServerTls::acceptor),
        };
        intake.serve(listener);
        tracing::info!(address = %local, tls = intake.tls.is_some(), "intake listening");
        Ok(intake)
    }
}

/// A running intake server.
pub struct Intake {
    address: SocketAddr,
    shared: Arc<Shared>,
    deliveries: async_channel::Receiver<Delivered>,
    accept: Option<AbortHandle>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    live: LiveConnections,
    timer: AbortHandle,
    limits: Arc<ServerLimits>,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Intake {
    /// A builder with the receiver's defaults: both profiles, any key, 64 MiB per batch.
    pub fn builder() -> IntakeBuilder {
        IntakeBuilder::default()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Delivered batches, in ack order per stream, when no [`IntakeBuilder::output`] is set.
    /// The channel is unbounded and a batch is acked as soon as it is queued here: for tests
    /// and embedding, not for an intake whose output must hold every acked batch.
    pub fn deliveries(&self) -> async_channel::Receiver<Delivered> {
        self.deliveries.clone()
    }

    /// Counters.
    pub fn stats(&self) -> IntakeStats {
        *self.shared.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The request headers of the last call started (they include the client's API key).
    pub fn last_metadata(&self) -> Vec<(String, String)> {
        self.shared.last_metadata.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The next new stream gets `fault` (faults queue up, one per stream).
    pub fn push_fault(&self, fault: StreamFault) {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).queue.push_back(fault);
    }

    /// Delays every ack from now on.
    pub fn set_ack_delay(&self, delay: Duration) {
        self.shared.faults.lock().unwrap_or_else(|p| p.into_inner()).ack_delay = delay;
    }

    /// The service, to mount in another server.
    pub fn service(&self) -> IntakeService {
        IntakeService { shared: self.shared.clone() }
    }

    fn serve(&mut self, listener: TcpListener) {
        let service = self.service();
        let connections = self.connections.clone();
        let limits = self.limits.clone();
        let live = self.live.clone();
        let tls = self.tls.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, peer)) = listener.accept().await else { continue };
                let mut list = connections.lock().unwrap_or_else(|p| p.into_inner());
                list.retain(|c| !c.is_finished());
                if list.len() >= limits.max_connections {
                    drop(list);
                    // Counted before the close, so that whoever sees the close sees the count.
                    service.shared.stats.lock().unwrap_or_else(|p| p.into_inner()).connections_refused += 1;
                    // Closing at once tells the client plainly; keeping it waiting would cost
                    // the very resources the limit protects.
                    drop(tcp);
                    tracing::warn!(%peer, max_connections = limits.max_connections,
                        "connection refused: the intake holds server_limits.max_connections connections");
                    continue;
                }
                let _ = tcp.set_nodelay(true);
                service.shared.stats.lock().unwrap_or_else(|p| p.into_inner()).connections_accepted += 1;
                let guard = live.open();
                // The deadline covers the TLS handshake too: a client that never finishes it
                // holds nothing longer than one that never sends a request.
                let deadline = tokio::time::Instant::now() + limits.first_request_timeout;
                let (service, limits, tls) = (service.clone(), limits.clone(), tls.clone());
                let connection = tokio::spawn(async move {
                    match tls {
                        None => serve_connection(tcp, peer, service, limits, guard, deadline).await,
                        Some(acceptor) => {
                            if let Some(stream) = tls::handshake(acceptor, tcp, peer, deadline).await {
                                serve_connection(stream, peer, service, limits, guard, deadline).await;
                            }
                        }
                    }
                });
                list.push(connection.abort_handle());
            }
        });
        self.accept = Some(accept.abort_handle());
    }

    /// Closes every connection at once (TCP close, no HTTP/2 GOAWAY); keeps listening.
    pub fn drop_connections(&self) {
        for connection in self.connections.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
            connection.abort();
        }
        self.shared.forget_all_streams();
    }

    /// Stops listening and drops every connection abruptly.
    pub fn stop(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.drop_connections();
    }

    /// Listens again on the same address after [`Intake::stop`].
    pub async fn start(&mut self) -> Result<(), IntakeError> {
        if self.accept.is_some() {
            return Ok(());
        }
        let address = self.address.to_string();
        let mut tries = 0;
        let listener = loop {
            // The aborted accept task releases its socket as soon as it is dropped.
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(source) if tries >= 50 => return Err(IntakeError::Bind { address, source }),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        self.serve(listener);
        Ok(())
    }
}

impl Drop for Intake {
    fn drop(&mut self) {
        self.stop();
        self.timer.abort();
    }
}

/// Serves one connection (TCP, or TLS over it) under `limits`, closing it at `deadline` if no
/// request came by then; `_live` counts it open until this returns (or the task is aborted).
async fn serve_connection<S>(
    io: S,
    peer: SocketAddr,
    service: IntakeService,
    limits: Arc<ServerLimits>,
    _live: LiveConnection,
    deadline: tokio::time::Instant,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut phase = service.shared.phase.subscribe();
    // Set once a request's headers are complete: the first-request deadline then no longer applies.
    let requested = Arc::new(AtomicBool::new(false));
    let seen = requested.clone();
    let stats_of = service.clone();
    let hyper_service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
        seen.store(true, Ordering::Relaxed);
        let mut service = service.clone();
        async move { tower::Service::call(&mut service, request.map(tonic::body::Body::new)).await }
    });
    let mut builder = hyper::server::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection)
        .max_header_list_size(limits.max_header_list_bytes)
        .keep_alive_interval(limits.keepalive_interval)
        .keep_alive_timeout(limits.keepalive_timeout);
    let connection = builder.serve_connection(hyper_util::rt::TokioIo::new(io), hyper_service);
    tokio::pin!(connection);
    let first_request_deadline = tokio::time::sleep_until(deadline);
    tokio::pin!(first_request_deadline);
    let (mut deadline_passed, mut going_away) = (false, false);
    let result = loop {
        tokio::select! {
            result = &mut connection => break result,
            () = &mut first_request_deadline, if !deadline_passed => {
                deadline_passed = true;
                if !requested.load(Ordering::Relaxed) {
                    // Dropping the connection closes the socket: a peer that sends nothing, or
                    // starts a header block and never ends it, holds nothing past the deadline.
                    stats_of.shared.stats.lock().unwrap_or_else(|p| p.into_inner()).connections_timed_out += 1;
                    tracing::debug!(%peer, timeout = ?limits.first_request_timeout,
                        "connection closed: no complete request within server_limits.first_request_timeout");
                    return;
                }
            }
            _ = phase.wait_for(|p| *p != Phase::Serving), if !going_away => {
                // GOAWAY: no new calls here; the connection closes once its calls ended.
                going_away = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended");
    }
}

/// Calls the processor's `handle_timeout` when its deadline passes (idle streams).
async fn run_timer(shared: Arc<Shared>, kicks: async_channel::Receiver<()>) {
    loop {
        let deadline = shared.processor.lock().unwrap_or_else(|p| p.into_inner()).poll_timeout();
        let wait = async {
            match deadline {
                Some(deadline) => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(shared.instant_of(deadline)))
                        .await
                }
                None => std::future::pending().await,
            }
            true
        };
        let kicked = async {
            let _ = kicks.recv().await;
            false
        };
        let due = futures_lite::FutureExt::or(wait, kicked).await;
        if due {
            let now = shared.now();
            if deadline.is_some_and(|d| now >= d) {
                shared.with_processor(|p, now| p.handle_timeout(now));
            }
        }
    }
}
