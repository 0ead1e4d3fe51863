//! The sans-IO receiver (intake side): `transport.md` §16 and `wire.md` §9.
//!
//! A [`Receiver`] holds every open stream of an intake. The driver reports what happens on each
//! gRPC call (start with its path and headers, each `StatefulBatch`, half-close, cancel) and the
//! passing of time; after each call it drains [`Receiver::poll_action`] until `None` and
//! performs the actions in order: hand the logs of a [`ReceiverAction::Deliver`] to their
//! destination, write each [`ReceiverAction::SendStatus`] as a `BatchStatus`, and finish the
//! call with the code of a [`ReceiverAction::EndStream`]. It then sleeps until
//! [`Receiver::poll_timeout`] (or the next event) and calls [`Receiver::handle_timeout`].
//!
//! Every malformed input — arbitrary bytes, ids or orders — ends its stream with a gRPC code
//! and a message naming the rule; nothing panics and nothing of a failing batch is delivered
//! or acknowledged.

mod batch;
mod config;
mod delta;
mod error;
mod http_json;
mod json;
mod log;
mod metrics;
mod render;
mod sequence;
mod state;
mod stream;
mod template;
mod v1;
mod v2;

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

pub use config::{ApiKeys, MAX_JSON_DEPTH_LIMIT, ReceiverConfig};
pub use error::{BatchError, Violation};
pub use log::{LogBody, ReceivedLog};
pub use metrics::ReceiverMetrics;

use crate::codec::ContentEncoding;
use crate::status_code as code;
use crate::{ConfigError, Profile, StreamId, Timestamp};
use stream::Stream;

/// `BatchStatus.Status.OK`, the status of every acknowledgement the receiver sends.
pub const BATCH_STATUS_OK: i32 = crate::proto::stateful::batch_status::Status::Ok as i32;

/// What the driver must do, in the order returned.
#[derive(Clone, Debug, PartialEq)]
pub enum ReceiverAction {
    /// Hand these logs of a regular batch to their destination; always followed by the
    /// batch's `SendStatus`.
    Deliver {
        /// The stream.
        stream: StreamId,
        /// The batch that carried them.
        batch_id: u32,
        /// The reconstructed logs, in order.
        logs: Vec<ReceivedLog>,
    },
    /// Send `BatchStatus { batch_id, status }` on the stream.
    SendStatus {
        /// The stream.
        stream: StreamId,
        /// The batch acknowledged.
        batch_id: u32,
        /// Always [`BATCH_STATUS_OK`].
        status: i32,
    },
    /// Finish the call with this gRPC status; the receiver has forgotten the stream.
    EndStream {
        /// The stream.
        stream: StreamId,
        /// A gRPC code from [`code`].
        code: i32,
        /// What went wrong (empty for `OK`). Never contains an API key.
        message: String,
    },
}

/// The intake-side state machine for any number of concurrent streams.
#[derive(Debug)]
pub struct Receiver {
    config: ReceiverConfig,
    streams: BTreeMap<StreamId, Stream>,
    actions: VecDeque<ReceiverAction>,
    metrics: ReceiverMetrics,
}

impl Receiver {
    /// A receiver with no streams; fails when a setting is invalid.
    pub fn new(config: ReceiverConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Receiver {
            config,
            streams: BTreeMap::new(),
            actions: VecDeque::new(),
            metrics: ReceiverMetrics::default(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ReceiverConfig {
        &self.config
    }

    /// Counters and gauges (`transport.md` §16).
    pub fn metrics(&self) -> &ReceiverMetrics {
        &self.metrics
    }

    /// Streams currently open.
    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// The profile of an open stream.
    pub fn stream_profile(&self, stream: StreamId) -> Option<Profile> {
        self.streams.get(&stream).map(|s| s.profile)
    }

    /// A call arrived on `path` with these request headers (lower-case names). Checks, in
    /// order: path, `dd-api-key`, `dd-content-encoding`, `max_streams` (§16 rule 1). A start
    /// for a stream that is already open is ignored.
    pub fn handle_stream_start(
        &mut self,
        now: Timestamp,
        stream: StreamId,
        path: &str,
        metadata: &[(String, String)],
    ) {
        if self.streams.contains_key(&stream) {
            return;
        }
        self.metrics.streams_started += 1;
        match self.check_start(path, metadata) {
            Ok((profile, encoding)) => {
                let deadline = now.saturating_add(self.config.idle_timeout);
                match Stream::new(
                    profile,
                    encoding,
                    self.config.max_stream_window_log,
                    self.config.hash_seed,
                    deadline,
                ) {
                    Ok(state) => {
                        self.streams.insert(stream, state);
                    }
                    Err(e) => self.end(stream, code::INTERNAL, format!("cannot start the stream: {e}")),
                }
            }
            Err((code, message)) => self.end(stream, code, message),
        }
    }

    fn check_start(
        &self,
        path: &str,
        metadata: &[(String, String)],
    ) -> Result<(Profile, ContentEncoding), (i32, String)> {
        let header =
            |name: &str| metadata.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let profile =
            Profile::from_path(path).filter(|p| self.config.profiles.contains(p)).ok_or_else(|| {
                let served: Vec<&str> = self.config.profiles.iter().map(|p| p.path()).collect();
                let path = error::excerpt(path);
                (
                    code::UNIMPLEMENTED,
                    format!("method {path:?} is not served; this intake serves {}", served.join(", ")),
                )
            })?;
        let accepted = match header("dd-api-key") {
            Some(key) => self.config.api_keys.accepts(key),
            None => self.config.api_keys.accepts_any(),
        };
        if !accepted {
            return Err((
                code::UNAUTHENTICATED,
                "the dd-api-key header is missing or not an accepted API key".into(),
            ));
        }
        // The HTTP JSON baseline is the HTTP intake's: one frame per batch, no stream codec.
        let baseline = self.config.batch_format == crate::BatchFormat::HttpJson;
        let encoding = match header("dd-content-encoding") {
            None => return Err((code::INVALID_ARGUMENT, "the dd-content-encoding header is missing".into())),
            Some(value) => ContentEncoding::from_header(value)
                .filter(|e| self.config.encodings.contains(e) && !(baseline && e.is_stream()))
                .ok_or_else(|| {
                    let value = error::excerpt(value);
                    let served: Vec<&str> = self.config.encodings.iter().map(|e| e.header_value()).collect();
                    (
                        code::INVALID_ARGUMENT,
                        format!("dd-content-encoding {value:?} is not supported; use {}", served.join(", ")),
                    )
                })?,
        };
        if self.streams.len() >= self.config.max_streams {
            return Err((
                code::RESOURCE_EXHAUSTED,
                format!("this intake already has {} streams open (max_streams)", self.streams.len()),
            ));
        }
        Ok((profile, encoding))
    }

    /// One `StatefulBatch` arrived. Events for a stream that is not open are ignored.
    pub fn handle_batch(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, data: Bytes) {
        let Some(state) = self.streams.get_mut(&stream) else {
            return;
        };
        let before = state.tables.bytes();
        let result = state.handle_batch(&self.config, batch_id, &data, &mut self.metrics);
        let after = state.tables.bytes();
        state.deadline = now.saturating_add(self.config.idle_timeout);
        self.metrics.state_bytes = self.metrics.state_bytes.saturating_sub(before).saturating_add(after);
        match result {
            Ok(applied) => {
                if batch_id != 0 {
                    self.metrics.logs_delivered += applied.logs.len() as u64;
                    self.metrics.delivered_bytes += applied.delivered_bytes;
                    self.actions.push_back(ReceiverAction::Deliver { stream, batch_id, logs: applied.logs });
                }
                self.metrics.batches_acked += 1;
                self.actions.push_back(ReceiverAction::SendStatus {
                    stream,
                    batch_id,
                    status: BATCH_STATUS_OK,
                });
            }
            Err(error) => self.end(stream, error.violation.code(), error.to_string()),
        }
    }

    /// The client half-closed: every batch it sent is already acked, so the stream ends `OK`.
    pub fn handle_client_end(&mut self, _now: Timestamp, stream: StreamId) {
        if self.streams.contains_key(&stream) {
            self.end(stream, code::OK, String::new());
        }
    }

    /// The client cancelled: the stream's state is discarded without any action.
    pub fn handle_client_reset(&mut self, _now: Timestamp, stream: StreamId) {
        if let Some(state) = self.streams.remove(&stream) {
            self.metrics.state_bytes = self.metrics.state_bytes.saturating_sub(state.tables.bytes());
            self.metrics.streams_reset += 1;
        }
    }

    /// Ends every stream idle for `idle_timeout` with `DEADLINE_EXCEEDED`.
    pub fn handle_timeout(&mut self, now: Timestamp) {
        let expired: Vec<StreamId> =
            self.streams.iter().filter(|(_, s)| s.deadline <= now).map(|(&id, _)| id).collect();
        let idle_ms = crate::duration_ms(self.config.idle_timeout);
        for stream in expired {
            self.end(stream, code::DEADLINE_EXCEEDED, format!("no batch for {idle_ms} ms (idle_timeout)"));
        }
    }

    /// The next action, in order; `None` when there is nothing to do.
    pub fn poll_action(&mut self) -> Option<ReceiverAction> {
        self.actions.pop_front()
    }

    /// When [`Receiver::handle_timeout`] must next be called: the earliest idle deadline.
    pub fn poll_timeout(&self) -> Option<Timestamp> {
        self.streams.values().map(|s| s.deadline).min()
    }

    /// Forgets the stream (if open) and emits its `EndStream`.
    fn end(&mut self, stream: StreamId, code: i32, message: String) {
        if let Some(state) = self.streams.remove(&stream) {
            self.metrics.state_bytes = self.metrics.state_bytes.saturating_sub(state.tables.bytes());
        }
        *self.metrics.streams_ended.entry(code).or_default() += 1;
        self.actions.push_back(ReceiverAction::EndStream { stream, code, message });
    }
}
