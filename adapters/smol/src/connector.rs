//! One hyper HTTP/2 connection per endpoint over smol's TCP (and rustls when TLS is on), made
//! on the first call and again on the first call after it broke (`transport.md` §15.8). tonic's
//! gRPC codec runs over it through tower's `Service`, so no tonic transport (and no tokio) is
//! involved.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_rustls::TlsConnector;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use smol::io::{AsyncRead, AsyncWrite};
use smol::lock::Mutex;
use smol_hyper::rt::{FuturesIo, SmolTimer};
use stateful_logs::transport::EndpointConfig;
use stateful_logs_runtime::grpc::BoxError;
use stateful_logs_runtime::{ConnectError, ConnectionSettings, Connector, Runtime};
use tonic::body::Body;

use crate::runtime::SmolRuntime;
use crate::tls::{TlsTarget, tls_target};

/// Builds [`SmolChannel`]s; the client shares one per endpoint among its pipelines.
#[derive(Clone, Debug, Default)]
pub struct SmolConnector {
    runtime: SmolRuntime,
}

impl SmolConnector {
    /// Connections whose background tasks run on `runtime`.
    pub fn new(runtime: SmolRuntime) -> Self {
        SmolConnector { runtime }
    }
}

impl Connector for SmolConnector {
    type Service = SmolChannel;

    fn connect(
        &self,
        endpoint: &EndpointConfig,
        settings: &ConnectionSettings,
    ) -> Result<SmolChannel, ConnectError> {
        let target = format!("{}:{}", endpoint.host, endpoint.port);
        let error = |message: String, tls: bool| ConnectError { target: target.clone(), message, tls };
        let host =
            if endpoint.host.contains(':') { format!("[{}]", endpoint.host) } else { endpoint.host.clone() };
        let authority = http::uri::Authority::try_from(format!("{host}:{}", endpoint.port))
            .map_err(|e| error(format!("not a valid address: {e}"), false))?;
        let tls = match endpoint.tls {
            true => Some(tls_target(endpoint, settings).map_err(|message| error(message, true))?),
            false => None,
        };
        let scheme = if tls.is_some() { http::uri::Scheme::HTTPS } else { http::uri::Scheme::HTTP };
        Ok(SmolChannel {
            shared: Arc::new(Shared {
                host: endpoint.host.clone(),
                port: endpoint.port,
                target: target.clone(),
                scheme,
                authority,
                tls,
                settings: settings.clone(),
                runtime: self.runtime.clone(),
                sender: Mutex::new(None),
            }),
        })
    }
}

/// A lazily connecting HTTP/2 connection to one endpoint; clones share it.
#[derive(Clone)]
pub struct SmolChannel {
    shared: Arc<Shared>,
}

impl fmt::Debug for SmolChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmolChannel").field("target", &self.shared.target).finish_non_exhaustive()
    }
}

struct Shared {
    host: String,
    port: u16,
    target: String,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    tls: Option<TlsTarget>,
    settings: ConnectionSettings,
    runtime: SmolRuntime,
    /// The live connection; the lock also makes concurrent first calls share one connect.
    sender: Mutex<Option<SendRequest<Body>>>,
}

/// Why no HTTP/2 connection could be made; the causes follow in the source chain (the client
/// reads certificate and TLS/plaintext problems there).
#[derive(Debug, thiserror::Error)]
pub enum ConnectionFailed {
    /// TCP connect (or name resolution) failed.
    #[error("cannot connect to {target}: {source}")]
    Tcp {
        /// `host:port`.
        target: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The connect timeout passed first.
    #[error(
        "connecting to {target} took longer than the connect timeout ({timeout:?}); check that it is reachable"
    )]
    Timeout {
        /// `host:port`.
        target: String,
        /// The connect timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed (certificate rejected, plaintext server, …).
    #[error("TLS handshake with {target} failed: {source}")]
    Tls {
        /// `host:port`.
        target: String,
        /// The rustls error, as an I/O error.
        source: std::io::Error,
    },
    /// The server did not agree to HTTP/2 over TLS.
    #[error("{target} did not negotiate HTTP/2 (ALPN h2) over TLS; check that it is a gRPC endpoint")]
    NoHttp2 {
        /// `host:port`.
        target: String,
    },
    /// The HTTP/2 handshake failed.
    #[error("HTTP/2 handshake with {target} failed: {source}")]
    Http2 {
        /// `host:port`.
        target: String,
        /// hyper's error.
        source: hyper::Error,
    },
}

impl Shared {
    /// The live connection, or a new one when there is none or it ended.
    async fn sender(&self) -> Result<SendRequest<Body>, ConnectionFailed> {
        let mut slot = self.sender.lock().await;
        if let Some(sender) = slot.as_ref().filter(|sender| !sender.is_closed()) {
            return Ok(sender.clone());
        }
        *slot = None;
        let timeout = self.settings.connect_timeout;
        let expired = async {
            smol::Timer::after(timeout).await;
            Err(ConnectionFailed::Timeout { target: self.target.clone(), timeout })
        };
        let sender = smol::future::or(self.connect(), expired).await?;
        *slot = Some(sender.clone());
        Ok(sender)
    }

    async fn connect(&self) -> Result<SendRequest<Body>, ConnectionFailed> {
        let target = || self.target.clone();
        let tcp = smol::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|source| ConnectionFailed::Tcp { target: target(), source })?;
        tcp.set_nodelay(true).map_err(|source| ConnectionFailed::Tcp { target: target(), source })?;
        let Some(tls) = &self.tls else { return self.handshake(tcp).await };
        let stream = TlsConnector::from(tls.config.clone())
            .connect(tls.server_name.clone(), tcp)
            .await
            .map_err(|source| ConnectionFailed::Tls { target: target(), source })?;
        if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
            return Err(ConnectionFailed::NoHttp2 { target: target() });
        }
        self.handshake(stream).await
    }

    /// HTTP/2 over `io`, with keepalive pings on async-io timers; the connection's task runs on
    /// the runtime until the connection ends.
    async fn handshake<I>(&self, io: I) -> Result<SendRequest<Body>, ConnectionFailed>
    where
        I: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let mut builder = hyper::client::conn::http2::Builder::new(self.runtime.clone());
        builder
            .timer(SmolTimer::new())
            .keep_alive_interval(self.settings.keepalive_interval)
            .keep_alive_timeout(self.settings.keepalive_timeout)
            .keep_alive_while_idle(true);
        let (sender, connection) = builder
            .handshake(FuturesIo::new(io))
            .await
            .map_err(|source| ConnectionFailed::Http2 { target: self.target.clone(), source })?;
        let target = self.target.clone();
        self.runtime.spawn(Box::pin(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%target, %error, "HTTP/2 connection ended");
            }
        }));
        Ok(sender)
    }

    /// Makes tonic's path-only URI absolute, as HTTP/2 needs `:scheme` and `:authority`.
    fn set_origin(&self, request: &mut http::Request<Body>) -> Result<(), http::uri::InvalidUriParts> {
        let mut parts = std::mem::take(request.uri_mut()).into_parts();
        parts.scheme = Some(self.scheme.clone());
        parts.authority = Some(self.authority.clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
        }
        *request.uri_mut() = http::Uri::from_parts(parts)?;
        Ok(())
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<http::Response<Incoming>, BoxError>> + Send>>;

/// tonic's `GrpcService` applies through this.
impl tower_service::Service<http::Request<Body>> for SmolChannel {
    type Response = http::Response<Incoming>;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Connecting happens in the call, so that its failure is the call's.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Body>) -> ResponseFuture {
        let shared = self.shared.clone();
        Box::pin(async move {
            shared.set_origin(&mut request)?;
            let mut sender = shared.sender().await?;
            if sender.ready().await.is_err() {
                // It ended since it was last used (GOAWAY, reset): this call gets a new one.
                sender = shared.sender().await?;
                sender.ready().await?;
            }
            Ok(sender.send_request(request).await?)
        })
    }
}
