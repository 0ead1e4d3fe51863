//! The benchmark baseline: records as HTTP-style JSON (one JSON array per batch, zstd, objects
//! as `stateful_logs::measure::write_http_json_record` writes them, `encoding.md` §11) carried
//! in `StatefulBatch.data` over the same transport, driver and gRPC stack as the stateful
//! encoding. No patterns, no dictionary, no snapshot state: what the logs HTTP intake receives.

use std::collections::VecDeque;

use bytes::Bytes;
use stateful_logs::codec::Compression;
use stateful_logs::measure::write_http_json_record;
use stateful_logs::transport::{
    AckEntry, AckOutcome, Action, EncodeError, EncodedBatch, EndpointConfig, Failure, Metrics, Side,
    Snapshot, SnapshotSource, State, Transmit, Transport,
};
use stateful_logs::{ConfigError, Record, StreamId, Timestamp, duration_ms};

use crate::core::{Core, CoreSettings, RefusalReason};

/// The baseline keeps no state across batches: its snapshot is always empty.
#[derive(Debug, Default)]
pub struct NoState;

impl SnapshotSource for NoState {
    type Changes = ();
    fn apply(&mut self, _changes: &()) {}
    fn stream_bytes(&self, _changes: &()) -> u64 {
        0
    }
    fn encode_snapshot(&mut self) -> Result<Snapshot, EncodeError> {
        Ok(Snapshot::default())
    }
}

/// A batcher of JSON arrays in front of a [`Transport`]: the JSON + zstd baseline.
pub struct JsonCore {
    transport: Transport<NoState>,
    compression: Compression,
    max_items: usize,
    max_bytes: usize,
    batch_wait_ms: u64,
    open: OpenBatch,
    flush_waiting: bool,
    shutdown_deadline: Option<Timestamp>,
    transport_shutdown: bool,
    actions: VecDeque<Action>,
}

#[derive(Default)]
struct OpenBatch {
    json: Vec<u8>,
    records: u32,
    raw_bytes: u64,
    tokens: Vec<u64>,
    deadline: Option<Timestamp>,
}

impl JsonCore {
    fn push_json(&mut self, now: Timestamp, record: &Record) {
        let open = &mut self.open;
        open.json.push(if open.records == 0 { b'[' } else { b',' });
        write_http_json_record(record, &mut open.json);
        if open.records == 0 {
            open.deadline = Some(now.add_millis(self.batch_wait_ms));
        }
        open.records += 1;
        open.raw_bytes += record.content.len() as u64;
        open.tokens.extend(record.ack_token);
    }

    /// Encodes and pushes the open batch when the transport has room; else the flush waits.
    fn try_flush(&mut self, now: Timestamp) {
        if self.open.records == 0 {
            self.flush_waiting = false;
            return;
        }
        if !self.transport.has_room() {
            self.flush_waiting = true;
            return;
        }
        self.flush_waiting = false;
        let mut open = std::mem::take(&mut self.open);
        open.json.push(b']');
        let data = match self.compression.compress(&open.json) {
            Ok(data) => data,
            Err(error) => {
                self.transport.handle_internal_error(now, format!("compressing a JSON batch: {error}"));
                return;
            }
        };
        let batch = EncodedBatch {
            data: Bytes::from(data),
            state_changes: (),
            records: open.records,
            raw_bytes: open.raw_bytes,
            pre_compression_len: open.json.len() as u64,
            ack_tokens: open.tokens,
        };
        if let Err(full) = self.transport.push_batch(now, batch) {
            // has_room() was true, so only a closed transport refuses: its tokens are lost.
            tracing::warn!(records = full.0.records, "the transport refused a baseline batch after shutdown");
        }
    }

    /// Runs what a call may have unblocked: a waiting flush, the transport's shutdown.
    fn after_call(&mut self, now: Timestamp) {
        if self.flush_waiting {
            self.try_flush(now);
        }
        if let Some(deadline) = self.shutdown_deadline
            && !self.transport_shutdown
            && (self.open.records == 0 || now >= deadline || self.transport.state() == State::Halted)
        {
            self.transport_shutdown = true;
            self.transport.shutdown(now, Some(deadline));
        }
    }
}

impl Core for JsonCore {
    type Record = Record;

    fn build(settings: &CoreSettings, seed: u64, now: Timestamp) -> Result<Self, ConfigError> {
        let mut transport_config = settings.transport.clone();
        // The baseline is the HTTP intake's: one frame per batch, so zstd-stream becomes zstd.
        let compression = settings.compression.fallback();
        transport_config.compression = compression;
        compression.validate()?;
        Ok(JsonCore {
            transport: Transport::new(transport_config, NoState, seed, now)?,
            compression,
            max_items: (settings.max_batch_items as usize).max(1),
            max_bytes: (settings.max_batch_bytes as usize).max(1),
            batch_wait_ms: duration_ms(settings.batch_wait),
            open: OpenBatch::default(),
            flush_waiting: false,
            shutdown_deadline: None,
            transport_shutdown: false,
            actions: VecDeque::new(),
        })
    }

    fn ack_token(record: &Record) -> Option<u64> {
        record.ack_token
    }

    fn handle_record(&mut self, now: Timestamp, record: Record) -> Result<(), (Record, RefusalReason)> {
        if self.transport.state() == State::Closed {
            return Err((record, RefusalReason::Closed));
        }
        if self.shutdown_deadline.is_some() {
            return Err((record, RefusalReason::ShuttingDown));
        }
        let n = record.content.len();
        let fits = (self.open.records as usize) < self.max_items
            && self.open.raw_bytes as usize + n <= self.max_bytes;
        if !fits && self.open.records > 0 {
            if !self.transport.has_room() {
                return Err((record, RefusalReason::Full));
            }
            self.try_flush(now);
        }
        self.push_json(now, &record);
        if self.open.records as usize >= self.max_items || self.open.raw_bytes as usize >= self.max_bytes {
            self.try_flush(now);
        }
        Ok(())
    }

    fn input_ready(&self) -> bool {
        self.shutdown_deadline.is_none()
            && self.transport.state() != State::Closed
            && (self.open.records == 0 || self.transport.has_room())
    }

    fn flush(&mut self, now: Timestamp) {
        self.try_flush(now);
    }

    fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId) {
        self.transport.handle_stream_opened(now, stream);
        self.after_call(now);
    }

    fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        self.transport.handle_stream_open_failed(now, stream, failure);
        self.after_call(now);
    }

    fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, status: i32) {
        self.transport.handle_ack(now, stream, batch_id, status);
        self.after_call(now);
    }

    fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, side: Side, failure: Failure) {
        self.transport.handle_stream_error(now, stream, side, failure);
        self.after_call(now);
    }

    fn handle_timeout(&mut self, now: Timestamp) {
        self.transport.handle_timeout(now);
        if let Some(deadline) = self.open.deadline
            && now >= deadline
        {
            self.try_flush(now);
        }
        self.after_call(now);
    }

    fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        if self.shutdown_deadline.is_some() || self.transport.state() == State::Closed {
            return;
        }
        let deadline = deadline.unwrap_or(now.saturating_add(self.transport.config().shutdown_timeout));
        self.shutdown_deadline = Some(deadline);
        self.try_flush(now);
        self.after_call(now);
    }

    fn resume(&mut self, now: Timestamp) {
        self.transport.resume(now);
        self.after_call(now);
    }

    fn update_endpoint(&mut self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError> {
        self.transport.update_endpoint(index, endpoint)
    }

    fn poll_action(&mut self) -> Option<Action> {
        if let Some(action) = self.actions.pop_front() {
            return Some(action);
        }
        match self.transport.poll_action()? {
            Action::ShutdownComplete { mut unacknowledged } => {
                // Every token still queued, tracker then open batch, in input order (§14.2).
                unacknowledged.append(&mut std::mem::take(&mut self.open).tokens);
                let entries = unacknowledged
                    .iter()
                    .map(|&token| AckEntry { token, outcome: AckOutcome::Unacknowledged })
                    .collect::<Vec<_>>();
                self.actions.push_back(Action::ShutdownComplete { unacknowledged });
                Some(Action::Acknowledge(entries))
            }
            other => Some(other),
        }
    }

    fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        self.transport.poll_transmit(now, stream)
    }

    fn poll_timeout(&self) -> Option<Timestamp> {
        let flush = self.open.deadline.filter(|_| self.open.records > 0 && self.transport.has_room());
        let shutdown = self.shutdown_deadline.filter(|_| !self.transport_shutdown);
        [self.transport.poll_timeout(), flush, shutdown].into_iter().flatten().min()
    }

    fn endpoint(&self, index: usize) -> &EndpointConfig {
        self.transport.endpoint(index)
    }

    fn state(&self) -> State {
        self.transport.state()
    }

    fn transport_metrics(&self) -> &Metrics {
        self.transport.metrics()
    }
}
