//! # stateful-logs: the sans-IO core
//!
//! Ships logs over the gRPC "stateful encoding" logs protocol: one long-lived bidirectional
//! stream per pipeline, where the sender keeps state (log patterns, dictionary entries) that
//! the receiver mirrors, so each log travels as a pattern id plus its few changing values,
//! batch by batch, acknowledged one by one.
//!
//! This crate is the deterministic core. It never reads a clock, sleeps, spawns, draws
//! randomness from the environment or touches a socket: time comes in as a [`Timestamp`]
//! argument, randomness from a seed, and I/O is the driver's job (see the `adapters/` crates).
//!
//! ## Calling discipline
//!
//! One mutation, then drain every output:
//!
//! 1. Feed one input (`handle_record`, `handle_stream_opened`, `handle_ack`,
//!    `handle_stream_error`, `handle_timeout`, `shutdown`, …), always with the current `now`.
//! 2. Drain `poll_action()` until it returns `None` (open or close a stream, deliver acks,
//!    report a halt or the end of shutdown).
//! 3. Call `poll_transmit(now, stream)` only while the stream can take one more message: a
//!    batch counts as sent when it is pulled.
//! 4. Sleep until `poll_timeout()` (or the next I/O event); on waking, call
//!    `handle_timeout(now)` if the deadline has passed.
//!
//! The same seed and the same calls always give the same actions and the same bytes.
//!
//! ## Example: one record through a Pipeline
//!
//! A driver's whole job, minus the sockets: open the stream the Pipeline asks for, send what
//! it lets you pull, feed the intake's acks back, hand the acknowledged tokens to the
//! producer. (Tests run a Pipeline against a real `Receiver` in memory with
//! `testing::Loopback`, behind the `testing` feature.)
//!
//! ```
//! use stateful_logs::{AckOutcome, Action, ApiKey, EndpointConfig, Pipeline, PipelineConfig, Record, Timestamp};
//!
//! let now = Timestamp::ZERO;
//! let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("secret"));
//! let mut pipeline = Pipeline::new(PipelineConfig::new(vec![endpoint]), 42, now).unwrap();
//! let record = Record::new(1_700_000_000_000, "user alice logged in").with_ack_token(7);
//! pipeline.handle_record(now, record).unwrap();
//! pipeline.flush(now);
//!
//! let Some(Action::OpenStream { stream, .. }) = pipeline.poll_action() else { unreachable!() };
//! pipeline.handle_stream_opened(now, stream);
//! while let Some(batch) = pipeline.poll_transmit(now, stream) {
//!     // Write `batch.data` on the stream; the intake acknowledges each batch in order.
//!     pipeline.handle_ack(now, stream, batch.batch_id, 0);
//! }
//! let Some(Action::Acknowledge(acked)) = pipeline.poll_action() else { unreachable!() };
//! assert_eq!((acked[0].token, acked[0].outcome), (7, AckOutcome::Acked));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The driver's API is re-exported below; the modules hold the rest. Modules marked
// `doc(hidden)` are public only for this workspace's tests, fuzz targets, benches and
// adapters: they are internals, not part of the supported interface.
pub(crate) mod batcher;
pub mod codec;
pub(crate) mod datum;
mod error;
#[doc(hidden)]
pub mod escape;
pub(crate) mod hashing;
#[doc(hidden)]
pub mod http_json;
#[doc(hidden)]
pub mod pattern;
pub mod pipeline;
mod profile;
pub mod proto;
pub mod receiver;
mod record;
#[doc(hidden)]
pub mod rng;
pub(crate) mod snapshot;
pub mod status_code;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
pub mod translator;
pub mod transport;
pub(crate) mod wire;

pub use codec::{Compression, CpuBudget};
pub use error::ConfigError;
pub use pipeline::{Action, BatchFormat, Pipeline, PipelineConfig, RejectReason, Rejected, ShutdownSummary};
pub use profile::Profile;
pub use receiver::{LogBody, ReceivedLog, Receiver, ReceiverAction, ReceiverConfig};
pub use record::Record;
pub use time::{StreamId, Timestamp, duration_ms};
pub use translator::TranslatorConfig;
pub use transport::{AckEntry, AckOutcome, ApiKey, DropReason, EndpointConfig, HaltError, Transmit};
