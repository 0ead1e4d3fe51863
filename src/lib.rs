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
//! ## Example: a Pipeline and a Receiver, wired together in memory
//!
//! A driver's whole job, minus the sockets: move actions, batches and acks between the two
//! state machines and keep time.
//!
//! ```
//! use stateful_logs::{
//!     AckOutcome, Action, ApiKey, EndpointConfig, LogBody, Pipeline, PipelineConfig, Receiver,
//!     ReceiverAction, ReceiverConfig, Record, Timestamp,
//! };
//!
//! let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("secret"));
//! let mut now = Timestamp::ZERO;
//! let mut pipeline = Pipeline::new(PipelineConfig::new(vec![endpoint]), 42, now).unwrap();
//! let mut receiver = Receiver::new(ReceiverConfig::with_api_keys(["secret"])).unwrap();
//!
//! for (i, line) in ["user alice logged in", "user bob logged in"].into_iter().enumerate() {
//!     let record = Record::new(1_700_000_000_000 + i as i64, line).with_ack_token(i as u64);
//!     pipeline.handle_record(now, record).unwrap();
//! }
//! pipeline.flush(now);
//!
//! let (mut acked, mut delivered, mut stream) = (Vec::new(), Vec::new(), None);
//! for _ in 0..10 {
//!     while let Some(action) = pipeline.poll_action() {
//!         match action {
//!             Action::OpenStream { stream: id, path, metadata, .. } => {
//!                 receiver.handle_stream_start(now, id, path, &metadata.0);
//!                 pipeline.handle_stream_opened(now, id);
//!                 stream = Some(id);
//!             }
//!             Action::Acknowledge(entries) => acked.extend(entries),
//!             _ => {}
//!         }
//!     }
//!     let Some(id) = stream else { continue };
//!     while let Some(batch) = pipeline.poll_transmit(now, id) {
//!         receiver.handle_batch(now, id, batch.batch_id, batch.data);
//!     }
//!     while let Some(action) = receiver.poll_action() {
//!         match action {
//!             ReceiverAction::Deliver { logs, .. } => delivered.extend(logs),
//!             ReceiverAction::SendStatus { stream, batch_id, status } => {
//!                 pipeline.handle_ack(now, stream, batch_id, status)
//!             }
//!             ReceiverAction::EndStream { .. } => unreachable!("the receiver accepts this stream"),
//!         }
//!     }
//!     now = now.add_millis(1);
//! }
//! assert_eq!(acked.iter().map(|e| (e.token, e.outcome)).collect::<Vec<_>>(),
//!            [(0, AckOutcome::Acked), (1, AckOutcome::Acked)]);
//! assert!(matches!(&delivered[1].body, LogBody::Text(t) if t == b"user bob logged in"));
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
