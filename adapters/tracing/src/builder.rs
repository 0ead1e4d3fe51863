//! The shipper's settings and its two ways to start: [`ShipperBuilder::init`] (a global
//! subscriber) and [`ShipperBuilder::layer`] (a layer for a subscriber of your own).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use stateful_logs::Profile;
use stateful_logs_runtime::ClientBuilder;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;

use crate::error::ShipperError;
use crate::flavor::Flavor;
use crate::guard::{ShipperGuard, Worker};
use crate::layer::{LayerSettings, ShipperLayer};
use crate::stats::Counters;

/// Settings of the shipper: the client's, the records' metadata and the guard's deadline.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let _guard = stateful_logs_tracing::tokio().endpoint("127.0.0.1", 4317).api_key("key").init()?;
/// tracing::info!(user = "ann", items = 3, "order placed");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ShipperBuilder {
    flavor: Flavor,
    client: ClientBuilder,
    settings: LayerSettings,
    shutdown_timeout: Duration,
    filter: String,
}

impl ShipperBuilder {
    /// A shipper running its client with `flavor`, with default settings and no endpoint.
    pub fn new(flavor: Flavor) -> Self {
        ShipperBuilder {
            flavor,
            client: ClientBuilder::new(),
            settings: LayerSettings::default(),
            shutdown_timeout: Duration::from_secs(5),
            filter: "info".to_owned(),
        }
    }

    /// Adds an intake endpoint (the first is the primary).
    pub fn endpoint(mut self, host: impl Into<String>, port: u16) -> Self {
        self.client = self.client.endpoint(host, port);
        self
    }

    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.client = self.client.api_key(key);
        self
    }

    /// The wire profile (`v1` by default; `v2` sends each event as a typed JSON log).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.client = self.client.profile(profile);
        self
    }

    /// Any other client setting (TLS, memory budget, batching…).
    pub fn client(mut self, edit: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Self {
        self.client = edit(self.client);
        self
    }

    /// The service name of every record (default: the binary's name).
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.settings = self.settings.service(service);
        self
    }

    /// The host name of every record (default: none).
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.settings = self.settings.hostname(hostname);
        self
    }

    /// The source (`ddsource`) of every record (default: none).
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.settings = self.settings.source(source);
        self
    }

    /// Adds a tag (e.g. `env:prod`) to every record.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.settings = self.settings.tag(tag);
        self
    }

    /// Leaves out the events of `target` and its submodules.
    pub fn exclude_target(mut self, target: impl Into<String>) -> Self {
        self.settings = self.settings.exclude_target(target);
        self
    }

    /// At most one "N events were dropped" record per this interval (10 s).
    pub fn drop_notice_interval(mut self, interval: Duration) -> Self {
        self.settings = self.settings.drop_notice_interval(interval);
        self
    }

    /// How long the guard's shutdown may take to deliver what is left (5 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The filter `init` installs when `RUST_LOG` is unset (`info`), in `RUST_LOG` syntax.
    pub fn filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = directives.into();
        self
    }

    /// Starts the client on the shipper's own thread and returns the layer feeding it, for a
    /// subscriber of yours, and the guard that shuts it down.
    pub fn layer(self) -> Result<(ShipperLayer, ShipperGuard), ShipperError> {
        let counters = Arc::new(Counters::default());
        let (worker, handle) =
            Worker::spawn(self.flavor.run(self.client), counters.clone(), self.shutdown_timeout)?;
        let layer = ShipperLayer::new(handle, self.settings, counters.clone(), true);
        Ok((layer, ShipperGuard::new(worker, counters, self.shutdown_timeout)))
    }

    /// Starts the shipper and installs the global subscriber: the filter (`RUST_LOG`, else
    /// [`ShipperBuilder::filter`]), human-readable logs on stderr, and the shipping layer; with
    /// the `log` feature, `log` records too. Keep the guard until the program ends.
    pub fn init(self) -> Result<ShipperGuard, ShipperError> {
        let filter = match std::env::var("RUST_LOG") {
            Ok(directives) if !directives.trim().is_empty() => parse_filter("RUST_LOG", directives)?,
            _ => parse_filter("ShipperBuilder::filter", self.filter.clone())?,
        };
        let (layer, guard) = self.layer()?;
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal());
        let subscriber = tracing_subscriber::registry().with(filter).with(stderr).with(layer);
        // The `log` bridge first: if its slot is taken, nothing of ours is installed yet; if
        // the subscriber's slot is taken after it, the bridge feeds that subscriber, which is
        // what it would do anyway.
        #[cfg(feature = "log")]
        tracing_log::LogTracer::init().map_err(|_| ShipperError::LoggerAlreadySet)?;
        tracing::subscriber::set_global_default(subscriber)
            .map_err(|_| ShipperError::SubscriberAlreadySet)?;
        Ok(guard)
    }
}

fn parse_filter(origin: &'static str, directives: String) -> Result<EnvFilter, ShipperError> {
    EnvFilter::try_new(&directives).map_err(|error| ShipperError::Filter {
        origin,
        directives,
        message: error.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "tokio")]
    #[test]
    fn the_api_key_never_shows_in_debug_output() {
        let builder = crate::tokio().endpoint("127.0.0.1", 4317).api_key("secret-key-123");
        assert!(!format!("{builder:?}").contains("secret-key-123"));
    }

    #[test]
    fn filter_errors_name_their_origin_and_an_example() {
        let error = parse_filter("RUST_LOG", "info,app=loud".into()).err().map(|e| e.to_string());
        let message = error.unwrap_or_default();
        assert!(message.contains("RUST_LOG") && message.contains("info,my_crate=debug"), "{message}");
    }
}
