//! The Transport's retry decisions, applying the policy of `retry.rs` (spec Amendments 3 and
//! 4): the delay and failover choice of a failure rotation, each stream's jittered ack
//! timeout, and leaving an intake whose acks lag.

use crate::time::{StreamId, Timestamp};

use super::failure::LAGGING_INTAKE;
use super::machine::Transport;
use super::retry::{RetryCause, RetryDelayKind};
use super::types::{SnapshotSource, State};

impl<S: SnapshotSource> Transport<S> {
    /// Step 4 of ROTATE(failure) after the error count: the failover check (§10; an honoured
    /// pushback is not an endpoint failure: the intake is up and said when to come back) and
    /// the delay before the next attempt. Returns the delay in ms.
    pub(super) fn plan_retry(&mut self, now: Timestamp, cause: RetryCause) -> u64 {
        if self.retry.pushback_delay(&cause).is_some() {
            self.metrics.retry_pushbacks += 1;
        } else {
            let immediate = cause.endpoint_lags && self.config.retry.ack_timeout_fails_over;
            if self.endpoints.record_failure(now, immediate, &mut self.rng) {
                self.metrics.failovers += 1;
            }
        }
        let streak_ms = now.millis_since(self.failing_since);
        let (delay, kind) =
            self.retry.delay_ms(&self.backoff, self.nb_errors, streak_ms, &cause, &mut self.rng);
        self.last_retry = Some((delay, kind));
        delay
    }

    /// How long the batch an ack names waited for it, when it is the oldest sent batch (the
    /// one the ack pops); read before ACK.
    pub(super) fn ack_wait_ms(&self, now: Timestamp, batch_id: u32) -> Option<u64> {
        if batch_id == 0 {
            return None;
        }
        let (oldest, sent_at) = self.tracker.oldest_sent()?;
        (oldest == batch_id).then(|| now.millis_since(sent_at))
    }

    /// After ACK on `stream`: with `leave_lagging_intake`, a batch that waited more than
    /// `ack_timeout` for its ack while others are still outstanding makes the core leave
    /// the intake now (`stream_errors{lagging_intake}`, a failure rotation that fails over
    /// at once under `ack_timeout_fails_over`). Not while shutting down or draining.
    pub(super) fn leave_if_lagging(&mut self, now: Timestamp, stream: StreamId, waited_ms: Option<u64>) {
        let lagging = match (waited_ms, self.timing.ack_timeout) {
            (Some(waited), Some(timeout)) => waited > timeout,
            _ => false,
        };
        if !lagging
            || !self.config.retry.leave_lagging_intake
            || self.shutting_down
            || self.state != State::Active
            || self.current != Some(stream)
            || !self.tracker.awaits_ack()
        {
            return;
        }
        self.metrics.stream_errors.increment(LAGGING_INTAKE);
        self.retry_cause = RetryCause { pushback_ms: None, endpoint_lags: true };
        let what = format!("{LAGGING_INTAKE}: an ack came later than the ack timeout");
        self.rotate_failure(
            now,
            what,
            "the intake acknowledges too slowly; the client moves to another endpoint",
        );
    }

    /// At ACTIVATE: the new stream's ack timeout, `ack_timeout` less its jitter (at least
    /// 1 ms); draws one number when the jitter window is not empty.
    pub(super) fn draw_stream_ack_timeout(&mut self) {
        self.stream_ack_timeout = self.timing.ack_timeout.map(|timeout| {
            let window = timeout.saturating_mul(self.retry.ack_timeout_jitter_percent) / 100;
            let jitter = if window > 0 { self.rng.uniform(0, window) } else { 0 };
            timeout.saturating_sub(jitter).max(1)
        });
    }

    /// The ack timeout of the current stream, ms (`ack_timeout` less the stream's jitter).
    pub fn stream_ack_timeout_ms(&self) -> Option<u64> {
        self.stream_ack_timeout
    }

    /// The delay of the last failure rotation and what set it (pushback, first-retry jitter,
    /// outage retries or the §9.1 backoff); `None` before the first.
    pub fn last_retry(&self) -> Option<(u64, RetryDelayKind)> {
        self.last_retry
    }

    /// Whether the pending or current stream probes the primary after a failover (it has not
    /// had a regular ack yet).
    pub fn probing_primary(&self) -> bool {
        self.endpoints.probing()
    }
}
