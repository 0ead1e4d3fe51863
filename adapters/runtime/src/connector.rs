//! Connections: one HTTP/2 connection per endpoint, built by the runtime adapter and shared by
//! every pipeline of a client (`transport.md` §2.4, §15.8).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stateful_logs::ConfigError;
use stateful_logs::transport::EndpointConfig;

use crate::grpc::GrpcChannel;

/// Connection-level settings of a client (the same for every endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive ping interval (30 s).
    pub keepalive_interval: Duration,
    /// HTTP/2 keepalive ping timeout (5 s).
    pub keepalive_timeout: Duration,
    /// Trust the WebPKI roots compiled into the binary in addition to the system roots.
    pub webpki_roots: bool,
}

impl Default for ConnectionSettings {
    fn default() -> Self {
        ConnectionSettings {
            connect_timeout: Duration::from_secs(10),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(5),
            webpki_roots: false,
        }
    }
}

/// What identifies one connection: two endpoints with the same target share it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnectionKey {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// TLS on or off.
    pub tls: bool,
    /// Custom CA file, if any.
    pub ca_file: Option<PathBuf>,
}

impl ConnectionKey {
    /// The key of an endpoint's connection.
    pub fn of(endpoint: &EndpointConfig) -> Self {
        ConnectionKey {
            host: endpoint.host.clone(),
            port: endpoint.port,
            tls: endpoint.tls,
            ca_file: endpoint.ca_file.clone(),
        }
    }
}

/// A connection could not be set up (bad URI, unreadable CA file, TLS configuration).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot set up the connection to {target}: {message}")]
pub struct ConnectError {
    /// `host:port`.
    pub target: String,
    /// What failed and how to fix it.
    pub message: String,
    /// Whether the failure is a TLS configuration problem (reported as `Failure::Tls`).
    pub tls: bool,
}

/// Builds the HTTP/2 connection of an endpoint. Connections must be lazy: building one does
/// not wait for the network, and a broken connection reconnects on the next call.
pub trait Connector: Send + Sync + 'static {
    /// The gRPC service over the connection (cheap to clone; clones share the connection).
    type Service: GrpcChannel + Clone;
    /// A lazily connecting service for `endpoint`.
    fn connect(
        &self,
        endpoint: &EndpointConfig,
        settings: &ConnectionSettings,
    ) -> Result<Self::Service, ConnectError>;
}

/// The connections of one client, one per [`ConnectionKey`], shared by its pipelines.
pub struct ConnectionPool<K: Connector> {
    connector: K,
    settings: ConnectionSettings,
    services: Mutex<HashMap<ConnectionKey, K::Service>>,
}

impl<K: Connector> ConnectionPool<K> {
    /// An empty pool.
    pub fn new(connector: K, settings: ConnectionSettings) -> Arc<Self> {
        Arc::new(ConnectionPool { connector, settings, services: Mutex::new(HashMap::new()) })
    }

    /// The shared service for `endpoint`, built on first use.
    pub fn service(&self, endpoint: &EndpointConfig) -> Result<K::Service, ConnectError> {
        let key = ConnectionKey::of(endpoint);
        let mut services = self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(service) = services.get(&key) {
            return Ok(service.clone());
        }
        let service = self.connector.connect(endpoint, &self.settings)?;
        services.insert(key, service.clone());
        Ok(service)
    }
}

/// Refuses a CA file that cannot be read, when the client is built (`transport.md` §11), so the
/// mistake shows before any record is accepted.
pub fn check_ca_files(endpoints: &[EndpointConfig]) -> Result<(), ConfigError> {
    for (index, endpoint) in endpoints.iter().enumerate() {
        if let Some(path) = &endpoint.ca_file
            && let Err(e) = std::fs::metadata(path)
        {
            return Err(ConfigError::new(
                format!("endpoints[{index}].ca_file"),
                format!(
                    "cannot read {}: {e}; give a readable PEM file or remove the setting",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}
