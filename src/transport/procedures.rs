//! The procedures of spec `transport.md` §5: OPEN, ACTIVATE, LIFETIME_END, ROTATE, FAIL, HALT,
//! OPEN_TIMEOUT, PULL, ACK and SHUTDOWN_DONE (RESUME and PUSH are small enough to live with
//! their public entry points in `machine.rs`).

use std::borrow::Cow;

use bytes::Bytes;

use crate::time::{StreamId, Timestamp};

use super::compression::refuses_stream_codec;
use super::failure::{self, FailureClass, classify, code_name};
use super::machine::Transport;
use super::metadata::build_metadata;
use super::types::{Action, CloseMode, Failure, HaltError, SnapshotSource, State, Transmit};

/// Protobuf size of `StatefulBatch { batch_id, data }` (proto3: zero fields are not written).
pub(super) fn stateful_batch_len(batch_id: u32, data_len: usize) -> u64 {
    fn varint_len(mut v: u64) -> u64 {
        let mut n = 1;
        while v >= 0x80 {
            v >>= 7;
            n += 1;
        }
        n
    }
    let id = if batch_id == 0 { 0 } else { 1 + varint_len(u64::from(batch_id)) };
    let data = if data_len == 0 { 0 } else { 1 + varint_len(data_len as u64) + data_len as u64 };
    id + data
}

impl<S: SnapshotSource> Transport<S> {
    /// OPEN: select the endpoint, emit `OpenStream`, arm the open deadline.
    pub(super) fn open(&mut self, now: Timestamp) {
        let endpoint = self.endpoints.select(now);
        let stream = StreamId(self.next_stream_id);
        self.next_stream_id += 1;
        self.pending = Some(stream);
        self.stream_endpoint = endpoint;
        self.deadlines.backoff = None;
        self.deadlines.open = Some(now.add_millis(self.timing.open_timeout));
        self.stream_acked = false;
        let metadata = build_metadata(self.endpoints.get(endpoint), self.compression.encoding(endpoint));
        self.actions.push_back(Action::OpenStream {
            stream,
            endpoint,
            path: self.config.profile.path(),
            metadata,
        });
        self.metrics.streams_opened += 1;
        self.state = State::Connecting;
    }

    /// ACTIVATE: the pending stream opened.
    pub(super) fn activate(&mut self, now: Timestamp, stream: StreamId) {
        self.pending = None;
        self.deadlines.open = None;
        self.current = Some(stream);
        self.state = State::Active;
        self.tracker.restart();
        self.next_batch_id = 1;
        if let Err(e) = self.compression.start_stream(self.stream_endpoint) {
            self.halt(now, HaltError::Internal { cause: format!("the stream's zstd context: {e}") });
            return;
        }
        match self.snapshot.encode_snapshot() {
            Err(e) => {
                self.halt(now, HaltError::Internal { cause: format!("the snapshot (batch 0): {e}") });
                return;
            }
            Ok(snapshot) => {
                self.stream_state_bytes = snapshot.stream_bytes;
                self.pending_snapshot = if snapshot.definitions == 0 && !self.config.send_empty_snapshot {
                    None
                } else {
                    Some(snapshot.data)
                };
            }
        }
        if !self.shutting_down {
            let lifetime = self.timing.stream_lifetime;
            let window = lifetime.saturating_mul(self.timing.lifetime_jitter_percent) / 100;
            let jitter = if window > 0 { self.rng.uniform(0, window) } else { 0 };
            // At least 1 ms, so that a 100 % jitter cannot arm a deadline that is already due.
            self.deadlines.lifetime = Some(now.add_millis(lifetime.saturating_sub(jitter).max(1)));
        }
        self.draw_stream_ack_timeout();
    }

    /// LIFETIME_END: drain when a sent batch awaits its ack, else rotate at once.
    pub(super) fn lifetime_end(&mut self, now: Timestamp, reason: &'static str) {
        self.deadlines.lifetime = None;
        if self.tracker.awaits_ack() {
            self.state = State::Draining;
            self.deadlines.drain = Some(now.add_millis(self.timing.drain_timeout));
        } else {
            self.rotate_soft(now, reason);
        }
    }

    /// Step 1 of ROTATE: close the current stream, forget its per-stream state.
    fn close_current(&mut self, soft: bool) {
        if let Some(stream) = self.current.take() {
            let mode =
                if soft && !self.tracker.awaits_ack() { CloseMode::Graceful } else { CloseMode::Abort };
            self.actions.push_back(Action::CloseStream { stream, mode });
        }
        self.pending_snapshot = None;
        self.compression.end_stream();
        self.deadlines.lifetime = None;
        self.deadlines.drain = None;
        self.stream_state_bytes = 0;
    }

    /// ROTATE(soft, reason): planned; no backoff, error count unchanged.
    pub(super) fn rotate_soft(&mut self, now: Timestamp, reason: &'static str) {
        self.close_current(true);
        self.metrics.rotations.increment(reason);
        self.open(now);
    }

    /// ROTATE(failure): count the error, maybe fail over, back off or reopen at once (the
    /// failover and the delay follow the retry policy: `retry.rs`), and announce the retry
    /// (`Action::Retrying`) with what failed, what to check, its delay and its replay.
    pub(super) fn rotate_failure(&mut self, now: Timestamp, what: String, hint: &'static str) {
        let cause = std::mem::take(&mut self.retry_cause);
        let endpoint = self.stream_endpoint;
        let replayed_batches = self.tracker.sent_len();
        self.metrics.batches_replayed = self.metrics.batches_replayed.saturating_add(replayed_batches as u64);
        self.close_current(false);
        self.metrics.rotations.increment("failure");
        if self.nb_errors == 0 {
            self.failing_since = now;
        }
        self.nb_errors = (self.nb_errors + 1).min(self.backoff.max_errors());
        let delay = self.plan_retry(now, cause);
        self.actions.push_back(Action::Retrying {
            endpoint,
            cause: what,
            hint,
            delay_ms: delay,
            replayed_batches,
        });
        if delay > 0 {
            self.state = State::Disconnected;
            self.deadlines.open = None;
            self.deadlines.backoff = Some(now.add_millis(delay));
        } else {
            self.open(now);
        }
    }

    /// FAIL: count the failure under `reason`, then rotate or halt by its class (§12.2).
    pub(super) fn fail(&mut self, now: Timestamp, reason: Cow<'static, str>, failure: &Failure) {
        self.metrics.stream_errors.increment(reason.clone());
        let endpoint = self.stream_endpoint;
        let host = self.endpoints.get(endpoint).host.clone();
        let (code, message) = match failure {
            Failure::Status { code, message, .. } => (*code, message.clone()),
            Failure::Tls(m) | Failure::Connection(m) => (0, m.clone()),
            Failure::Eof => (0, String::new()),
        };
        let cause = if message.is_empty() { reason.to_string() } else { format!("{reason}: {message}") };
        let class = classify(failure);
        let hint = failure::hint(failure);
        match class {
            FailureClass::Retry => self.rotate_failure(now, cause, hint),
            FailureClass::TooLarge => {
                let error = HaltError::MessageTooLarge {
                    endpoint,
                    host,
                    code,
                    code_name: code_name(code),
                    message,
                    max_message_bytes: self.config.max_message_bytes,
                };
                self.halt(now, error);
            }
            FailureClass::Protocol => {
                self.protocol_errors = self.protocol_errors.saturating_add(1);
                if self.protocol_errors >= self.config.max_protocol_errors {
                    let error = HaltError::ProtocolRejected {
                        count: self.protocol_errors,
                        code,
                        code_name: code_name(code),
                        message,
                    };
                    self.halt(now, error);
                } else {
                    self.rotate_failure(now, cause, hint);
                }
            }
            FailureClass::Auth => {
                let error =
                    HaltError::Unauthenticated { endpoint, host, code, code_name: code_name(code), message };
                self.halt(now, error);
            }
            FailureClass::Unimplemented => {
                let profile = self.config.profile;
                let error = HaltError::WrongProfile {
                    endpoint,
                    host,
                    profile,
                    path: profile.path().to_owned(),
                    other: profile.other(),
                    message,
                };
                self.halt(now, error);
            }
            FailureClass::Config => self.halt(now, HaltError::TlsRejected { endpoint, host, message }),
        }
    }

    /// HALT: stop on an error only the user can fix; batches are kept.
    pub(super) fn halt(&mut self, now: Timestamp, error: HaltError) {
        if let Some(stream) = self.current.take() {
            self.actions.push_back(Action::CloseStream { stream, mode: CloseMode::Abort });
        }
        if let Some(stream) = self.pending.take() {
            self.abandoned.push(stream);
        }
        let shutdown = self.deadlines.shutdown;
        self.deadlines = Default::default();
        self.deadlines.shutdown = shutdown;
        self.pending_snapshot = None;
        self.compression.end_stream();
        self.stream_state_bytes = 0;
        self.state = State::Halted;
        self.metrics.halts.increment(error.label());
        self.actions.push_back(Action::Halted(error));
        if self.shutting_down {
            self.shutdown_done(now);
        }
    }

    /// OPEN_TIMEOUT: give up on the pending attempt (nothing is open yet, so no close).
    pub(super) fn open_timeout(&mut self, now: Timestamp) {
        if let Some(stream) = self.pending.take() {
            self.abandoned.push(stream);
        }
        self.deadlines.open = None;
        self.fail(now, failure::OPEN_TIMEOUT.into(), &Failure::Connection("open timed out".to_owned()));
    }

    /// PULL: batch 0 first, then the oldest unsent batch under the next id (§5, §7.2, §8.2).
    /// With `zstd-stream` each is compressed here, in pull order (`encoding.md` §7.1).
    pub(super) fn pull(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        if let Some(stored) = self.pending_snapshot.take() {
            let data = self.wire_bytes(now, &stored, stored.len() as u64)?;
            self.metrics.bytes_sent =
                self.metrics.bytes_sent.saturating_add(stateful_batch_len(0, data.len()));
            return Some(Transmit { stream, batch_id: 0, data });
        }
        let next = self.tracker.next_unsent()?;
        let (stored, pre_compression_len) = (next.data.clone(), next.pre_compression_len);
        let growth = self.snapshot.stream_bytes(&next.state_changes);
        if self.next_batch_id > 1
            && self.stream_state_bytes.saturating_add(growth) > self.config.max_stream_state_bytes
        {
            self.lifetime_end(now, "state_limit");
            return None;
        }
        // next_batch_id ≤ max_batch_id ≤ u32::MAX here: the stream stops at max_batch_id.
        let batch_id = u32::try_from(self.next_batch_id).unwrap_or(u32::MAX);
        let data = self.wire_bytes(now, &stored, pre_compression_len)?;
        self.next_batch_id += 1;
        self.stream_state_bytes = self.stream_state_bytes.saturating_add(growth);
        let batch = self.tracker.mark_next_sent(batch_id, now)?;
        let transmit = Transmit { stream, batch_id, data };
        self.metrics.bytes_sent =
            self.metrics.bytes_sent.saturating_add(stateful_batch_len(batch_id, transmit.data.len()));
        self.metrics.records_sent = self.metrics.records_sent.saturating_add(u64::from(batch.records));
        if batch_id >= self.config.max_batch_id {
            self.lifetime_end(now, "batch_id_exhausted");
        }
        Some(transmit)
    }

    /// The adaptive level's gauges, after a pull or a measured cost.
    pub(super) fn update_compression_gauges(&mut self, now: Timestamp) {
        if let Some((level, share, changes)) = self.compression.adaptive_state(now) {
            let m = &mut self.metrics;
            m.compression_level = u64::try_from(level).unwrap_or(0);
            m.compression_cpu_permille = share;
            m.compression_level_changes = changes;
        }
    }

    /// The wire bytes of a stored batch (see [`StreamCompression::encode`]); a compression failure
    /// halts with `Internal`, keeping the batch.
    fn wire_bytes(&mut self, now: Timestamp, stored: &Bytes, pre_compression_len: u64) -> Option<Bytes> {
        match self.compression.encode(now, stored) {
            Ok(data) => {
                if self.compression.compresses_at_pull() {
                    let m = &mut self.metrics;
                    m.pre_compression_bytes = m.pre_compression_bytes.saturating_add(pre_compression_len);
                    m.encoded_bytes = m.encoded_bytes.saturating_add(data.len() as u64);
                }
                self.update_compression_gauges(now);
                Some(data)
            }
            Err(e) => {
                self.halt(
                    now,
                    HaltError::Internal { cause: format!("compressing batch for the stream: {e}") },
                );
                None
            }
        }
    }

    /// CODEC_FALLBACK (`encoding.md` §7.1): a `zstd-stream` stream failed before any ack in a
    /// way that says the receiver does not know the codec. The endpoint switches to per-batch
    /// `zstd` and a new stream opens at once: no backoff, no protocol error counted, every
    /// unacked batch replayed. Returns false (nothing done) for any other failure.
    pub(super) fn codec_fallback(
        &mut self,
        now: Timestamp,
        reason: Cow<'static, str>,
        failure: &Failure,
    ) -> bool {
        let endpoint = self.stream_endpoint;
        let method_served = self.method_served.get(endpoint).copied().unwrap_or(false);
        if self.stream_acked
            || !self.compression.encoding(endpoint).is_stream()
            || !refuses_stream_codec(failure, method_served)
        {
            return false;
        }
        let (from, to) = self.compression.fall_back(endpoint);
        self.metrics.stream_errors.increment(reason);
        self.metrics.codec_fallbacks.increment(endpoint.to_string());
        let message = match failure {
            Failure::Status { code, message, .. } => format!("{}: {message}", code_name(*code)),
            _ => String::new(),
        };
        self.actions.push_back(Action::CodecFallback { endpoint, from, to, message });
        self.close_current(false);
        self.metrics.rotations.increment("codec_fallback");
        self.open(now);
        true
    }

    /// ACK on the current stream (§7.3).
    pub(super) fn ack(&mut self, now: Timestamp, batch_id: u32, status: i32) {
        self.stream_acked = true;
        if let Some(served) = self.method_served.get_mut(self.stream_endpoint) {
            *served = true;
        }
        if batch_id == 0 {
            return;
        }
        if status != 0 && status != 1 {
            self.metrics.ack_status_unexpected.increment(status.to_string());
        }
        const OUT_OF_ORDER: &str = "the intake acknowledged out of order; check the intake's version";
        let Some((oldest, _)) = self.tracker.oldest_sent() else {
            let reason = failure::RECEIVED_ACK_BUT_NO_SENT_PAYLOADS;
            self.metrics.stream_errors.increment(reason);
            self.rotate_failure(now, format!("{reason}: batch {batch_id}"), OUT_OF_ORDER);
            return;
        };
        if batch_id != oldest {
            let reason = failure::BATCH_ID_MISMATCH;
            self.metrics.stream_errors.increment(reason);
            self.rotate_failure(now, format!("{reason}: got {batch_id}, expected {oldest}"), OUT_OF_ORDER);
            return;
        }
        let Some(entry) = self.tracker.pop_acked() else { return };
        let batch = entry.batch;
        self.snapshot.apply(&batch.state_changes);
        self.actions.push_back(Action::BatchAcked { records: batch.records, ack_tokens: batch.ack_tokens });
        let m = &mut self.metrics;
        m.records_acked = m.records_acked.saturating_add(u64::from(batch.records));
        m.raw_bytes_acked = m.raw_bytes_acked.saturating_add(batch.raw_bytes);
        m.ack_latency_ms.observe(now.millis_since(entry.sent_at));
        self.protocol_errors = 0;
        self.endpoints.record_success();
        if batch_id == 1 {
            self.nb_errors = 0;
        }
        if self.shutting_down && self.tracker.is_empty() {
            self.shutdown_done(now);
        } else if self.state == State::Draining && !self.tracker.awaits_ack() {
            self.rotate_soft(now, "drain_complete");
        }
    }

    /// SHUTDOWN_DONE: close what is open, report what was never acknowledged, become `Closed`.
    pub(super) fn shutdown_done(&mut self, _now: Timestamp) {
        if let Some(stream) = self.current.take() {
            let mode = if self.tracker.awaits_ack() { CloseMode::Abort } else { CloseMode::Graceful };
            self.actions.push_back(Action::CloseStream { stream, mode });
        }
        if let Some(stream) = self.pending.take() {
            self.abandoned.push(stream);
        }
        self.deadlines = Default::default();
        self.pending_snapshot = None;
        self.compression.end_stream();
        self.stream_state_bytes = 0;
        let (mut batches, mut records, mut raw_bytes, mut ack_tokens) = (0u64, 0u64, 0u64, 0u64);
        for entry in self.tracker.drain_all() {
            batches += 1;
            records = records.saturating_add(u64::from(entry.batch.records));
            raw_bytes = raw_bytes.saturating_add(entry.batch.raw_bytes);
            ack_tokens = ack_tokens.saturating_add(u64::from(entry.batch.ack_tokens));
        }
        if records > 0 || raw_bytes > 0 {
            self.metrics.records_dropped.add("unacknowledged_at_shutdown", records);
            self.metrics.bytes_dropped.add("unacknowledged_at_shutdown", raw_bytes);
        }
        self.state = State::Closed;
        self.actions.push_back(Action::ShutdownComplete { batches, records, ack_tokens });
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use prost::Message;

    use super::stateful_batch_len;
    use crate::proto::StatefulBatch;

    #[test]
    fn stateful_batch_len_matches_prost() {
        for (id, len) in [(0u32, 0usize), (0, 5), (1, 0), (1, 127), (300, 128), (u32::MAX, 20_000)] {
            let msg = StatefulBatch { batch_id: id, data: Bytes::from(vec![7u8; len]) };
            assert_eq!(stateful_batch_len(id, len), msg.encoded_len() as u64, "id {id} len {len}");
        }
    }
}
