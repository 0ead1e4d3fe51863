//! # stateful-logs-tokio: the stateful-logs client on tokio
//!
//! The tokio [`Runtime`] and the connection factory (one tonic `Channel` per endpoint, HTTP/2
//! keepalive, rustls TLS with system, WebPKI or custom roots); everything else is the shared
//! driver of `stateful-logs-runtime`, re-exported here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use stateful_logs_tokio::{BuildTokio, Client, ClientBuilder, Record};
//! let client: Client = ClientBuilder::new().endpoint("127.0.0.1", 4317).api_key("key").build_tokio()?;
//! let handle = client.handle();
//! handle.send(Record::new(1_700_000_000_000, "GET /health 200").with_ack_token(1)).await?;
//! let report = client.shutdown(std::time::Duration::from_secs(5)).await;
//! println!("{} acked, {} not", report.acked, report.unacknowledged.len());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connector;
mod runtime;

pub use connector::TonicConnector;
pub use runtime::TokioRuntime;
pub use stateful_logs_runtime::api::*;

/// Builds a [`ClientBuilder`] on the current tokio runtime.
pub trait BuildTokio {
    /// Starts the client's pipelines on the current tokio runtime (call it from within one).
    fn build_tokio(self) -> Result<Client, ClientError>;
}

impl BuildTokio for ClientBuilder {
    fn build_tokio(self) -> Result<Client, ClientError> {
        stateful_logs_runtime::check_ca_files(&self.endpoint_list())?;
        self.build(TokioRuntime::current(), TonicConnector)
    }
}
