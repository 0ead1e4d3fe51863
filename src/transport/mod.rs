//! The stream transport (spec `transport.md`): the settings, acks, halts, failures and metrics
//! a driver of a [`Pipeline`](crate::Pipeline) meets.
//!
//! The state machine itself (`Transport`: `machine.rs` for the API and event dispatch,
//! `procedures.rs` for the procedures of §5) carries pre-encoded batches over one stream at a
//! time; the Pipeline drives it, so it is hidden from these docs (public for the scenario
//! tests, the fuzz targets and the fleet simulator, with the define/delete snapshot source of
//! `testing`). The inflight tracker, backoff, failure classification, endpoint failover and
//! stream metadata each live in their own module.

mod backoff;
mod compression;
mod config;
mod endpoints;
mod failure;
mod machine;
mod metadata;
mod metrics;
mod procedures;
mod queries;
mod retry;
mod retry_steps;
#[doc(hidden)]
pub mod testing;
mod tracker;
mod types;

#[doc(hidden)]
pub use backoff::Backoff;
pub use config::{ApiKey, DEFAULT_MAX_MESSAGE_BYTES, EndpointConfig, TransportConfig, is_reserved_header};
pub use failure::code_name;
#[doc(hidden)]
pub use machine::Transport;
pub use metadata::{CLIENT_VERSION, build_metadata};
pub use metrics::{Histogram, LabeledCounter, Metrics};
pub use retry::{RetryDelayKind, RetryPolicy};
pub use types::{
    AckEntry, AckOutcome, CloseMode, DropReason, EncodeError, Failure, HaltError, Metadata, Side, State,
    Transmit,
};
// The Transport state machine on its own: the Pipeline drives it; the scenario tests, the
// fuzz targets and the fleet simulator drive it directly.
#[doc(hidden)]
pub use types::{Action, EncodedBatch, Full, Snapshot, SnapshotSource};
