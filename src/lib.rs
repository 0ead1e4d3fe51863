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
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batcher;
pub mod codec;
pub mod datum;
mod error;
pub mod escape;
pub mod measure;
pub mod pattern;
pub mod pipeline;
mod profile;
pub mod proto;
pub mod receiver;
pub mod record;
pub mod rng;
pub mod snapshot;
mod time;
pub mod translator;
pub mod transport;
pub mod wire;

pub use error::ConfigError;
pub use pipeline::{Pipeline, PipelineConfig, RejectReason, Rejected};
pub use profile::Profile;
pub use record::Record;
pub use time::{StreamId, Timestamp, duration_ms};
