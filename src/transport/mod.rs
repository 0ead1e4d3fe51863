//! The stream transport: a sans-IO state machine that carries pre-encoded batches over one
//! stream at a time (spec `transport.md`).
//!
//! - [`Transport`]: the state machine (`machine.rs` for the API and event dispatch,
//!   `procedures.rs` for the procedures of §5).
//! - The inflight tracker, backoff, failure classification, endpoint failover and stream
//!   metadata each live in their own module.
//! - [`testing`]: a simple define/delete [`SnapshotSource`] for tests and benchmarks.

mod backoff;
mod config;
mod endpoints;
mod failure;
mod machine;
mod metadata;
mod metrics;
mod procedures;
mod retry;
mod retry_steps;
pub mod testing;
mod tracker;
mod types;
mod wire_codec;

pub use backoff::Backoff;
pub use config::{ApiKey, DEFAULT_MAX_MESSAGE_BYTES, EndpointConfig, TransportConfig, is_reserved_header};
pub use failure::{FailureClass, classify, code_name, stream_error_reason};
pub use machine::Transport;
pub use metadata::{CLIENT_VERSION, build_metadata};
pub use metrics::{ACK_LATENCY_BUCKETS_MS, Histogram, LabeledCounter, Metrics};
pub use retry::{RetryDelayKind, RetryPolicy};
pub use types::{
    AckEntry, AckOutcome, Action, CloseMode, DropReason, EncodeError, EncodedBatch, Failure, Full, HaltError,
    Metadata, Side, Snapshot, SnapshotSource, State, Transmit,
};
