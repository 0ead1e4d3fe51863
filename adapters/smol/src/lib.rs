//! # stateful-logs-smol: the stateful-logs client on smol
//!
//! The smol [`Runtime`] (async-io timers, spawning on smol's global executor or on your own
//! `async_executor::Executor`) and the connection factory: one hyper HTTP/2 connection per
//! endpoint over smol's TCP, HTTP/2 keepalive on async-io timers, rustls TLS (ring, ALPN `h2`)
//! with system, WebPKI or custom roots, tonic's gRPC codec on top. No tokio runtime is started
//! or needed. Everything else is the shared driver of `stateful-logs-runtime`, re-exported
//! here with the same API as `stateful-logs-tokio`.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> { smol::block_on(async {
//! use stateful_logs_smol::{BuildSmol, Client, ClientBuilder, Record};
//! let client: Client = ClientBuilder::new().endpoint("127.0.0.1", 4317).api_key("key").build_smol()?;
//! let handle = client.handle();
//! handle.send(Record::new(1_700_000_000_000, "GET /health 200").with_ack_token(1)).await?;
//! let report = client.shutdown(std::time::Duration::from_secs(5)).await;
//! println!("{} acked, {} not", report.acked, report.unacknowledged.len());
//! # Ok(()) }) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connector;
mod runtime;
mod tls;

pub use connector::{ConnectionFailed, SmolChannel, SmolConnector};
pub use runtime::SmolRuntime;
pub use stateful_logs_runtime::api::*;

/// Builds a [`ClientBuilder`] on smol.
pub trait BuildSmol {
    /// Starts the client's pipelines on smol's global executor (`smol::spawn`).
    fn build_smol(self) -> Result<Client, ClientError>;
    /// Starts the client's pipelines on `runtime`, e.g. [`SmolRuntime::with_executor`].
    fn build_smol_on(self, runtime: SmolRuntime) -> Result<Client, ClientError>;
}

impl BuildSmol for ClientBuilder {
    fn build_smol(self) -> Result<Client, ClientError> {
        self.build_smol_on(SmolRuntime::global())
    }

    fn build_smol_on(self, runtime: SmolRuntime) -> Result<Client, ClientError> {
        stateful_logs_runtime::check_ca_files(&self.endpoint_list())?;
        self.build(runtime.clone(), SmolConnector::new(runtime))
    }
}
