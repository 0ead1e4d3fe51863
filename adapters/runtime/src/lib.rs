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

pub mod baseline;
mod client;
pub mod connector;
pub mod core;
mod driver;
pub mod grpc;
#[cfg(feature = "test-harness")]
pub mod harness;
pub mod metrics_export;
pub mod runtime;
mod stream_io;

pub use client::{
    Client, ClientBuilder, ClientError, ClientStatus, DEFAULT_USER_AGENT, Handle, SendError, ShutdownReport,
};
pub use connector::{
    ConnectError, ConnectionKey, ConnectionPool, ConnectionSettings, Connector, check_ca_files,
};
pub use core::{Core, CoreSettings, RefusalReason};
pub use runtime::{BoxFuture, Runtime};

/// The API every runtime adapter re-exports (`pub use stateful_logs_runtime::api::*`), so the
/// client looks the same on every runtime; each adapter adds its `Client` alias and builder.
pub mod api {
    pub use crate::{
        BoxFuture, ClientBuilder, ClientError, ClientStatus, ConnectionSettings, Core, CoreSettings,
        DEFAULT_USER_AGENT, Handle, RefusalReason, Runtime, SendError, ShutdownReport, baseline,
    };
    pub use stateful_logs::transport::{AckEntry, AckOutcome, HaltError};
    pub use stateful_logs::{Pipeline, Profile, Record};
}
