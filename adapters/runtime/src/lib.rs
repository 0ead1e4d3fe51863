//! # stateful-logs-runtime: the runtime-agnostic driver
//!
//! Everything the runtime adapters (`stateful-logs-tokio`, `stateful-logs-smol`) share, so that each of
//! them stays a few hundred lines: the gRPC call over any `tonic` connection with the method
//! path chosen at run time, the mapping of tonic errors to the core's failures, one event loop
//! per pipeline (over a tiny [`Runtime`] trait), the stream I/O tasks, `async-channel` queues
//! between them, and the client API.
//!
//! The adapter moves bytes, time and events; every protocol decision stays in the sans-IO core.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod calibration;
mod client;
pub mod connector;
mod driver;
mod errors;
pub mod grpc;
#[cfg(feature = "test-harness")]
pub mod harness;
pub mod metrics_export;
pub mod runtime;
mod send_many;
mod shared;
mod stream_io;

pub use client::{
    AckEvent, Client, ClientBuilder, ClientError, ClientStatus, DEFAULT_USER_AGENT, Handle, SendError,
    ShutdownReport, TrySendError,
};
pub use connector::{
    ConnectError, ConnectionKey, ConnectionPool, ConnectionSettings, Connector, check_ca_files,
};
pub use runtime::{BoxFuture, Runtime};
pub use send_many::{SendManyCause, SendManyError};

/// The API every runtime adapter re-exports (`pub use stateful_logs_runtime::api::*`), so the
/// client looks the same on every runtime; each adapter adds its `Client` alias and builder.
pub mod api {
    pub use crate::{
        AckEvent, BoxFuture, Client, ClientBuilder, ClientError, ClientStatus, ConnectionSettings,
        DEFAULT_USER_AGENT, Handle, Runtime, SendError, SendManyCause, SendManyError, ShutdownReport,
        TrySendError,
    };
    pub use stateful_logs::transport::{RetryPolicy, TransportConfig};
    pub use stateful_logs::{
        AckEntry, AckOutcome, ApiKey, BatchFormat, Compression, ConfigError, CpuBudget, DropReason,
        EndpointConfig, HaltError, Pipeline, PipelineConfig, Profile, Record,
    };
}
