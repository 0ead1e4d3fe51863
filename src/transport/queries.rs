//! What a Transport shows of itself: endpoints, state, metrics, its tracker's contents and
//! its current streams (for drivers, metrics exporters and tests).

use crate::time::{StreamId, Timestamp};

use super::config::{EndpointConfig, TransportConfig};
use super::machine::Transport;
use super::metrics::Metrics;
use super::types::{SnapshotSource, State};

impl<S: SnapshotSource> Transport<S> {
    /// Settings of endpoint `index` as named by an `OpenStream`; the primary's for an index
    /// outside the list.
    pub fn endpoint(&self, index: usize) -> &EndpointConfig {
        self.endpoints.get(index)
    }

    /// Every endpoint, in priority order.
    pub fn endpoints(&self) -> &[EndpointConfig] {
        self.endpoints.all()
    }

    /// The endpoint index the next OPEN starts from (before the primary-retry check). For the
    /// scenario tests, which check failover between two events; a driver learns the endpoint
    /// from `Action::OpenStream`.
    #[doc(hidden)]
    pub fn current_endpoint(&self) -> usize {
        self.endpoints.current()
    }

    /// The current state (§3).
    pub fn state(&self) -> State {
        self.state
    }

    /// The metrics (§17, layer T).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether `shutdown` was called and has not completed yet.
    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down && self.state != State::Closed
    }

    /// The shutdown deadline while shutting down.
    pub fn shutdown_deadline(&self) -> Option<Timestamp> {
        if self.is_shutting_down() { self.deadlines.shutdown } else { None }
    }

    /// Batches in the tracker, sent and unsent.
    pub fn tracker_len(&self) -> usize {
        self.tracker.len()
    }

    /// Encoded bytes in the tracker.
    pub fn tracker_bytes(&self) -> u64 {
        self.tracker.bytes()
    }

    /// What the tracked batches take in memory (the sum of their `held_bytes`).
    pub fn tracker_held_bytes(&self) -> u64 {
        self.tracker.held_bytes()
    }

    /// Batches pulled and awaiting their ack (including those sent on a failed stream, until
    /// the next stream starts).
    pub fn sent_len(&self) -> usize {
        self.tracker.sent_len()
    }

    /// The open stream (in `Active` and `Draining`).
    pub fn current_stream(&self) -> Option<StreamId> {
        self.current
    }

    /// The outstanding `OpenStream` (in `Connecting`).
    pub fn pending_stream(&self) -> Option<StreamId> {
        self.pending
    }

    /// The backoff error count (§9.2).
    pub fn nb_errors(&self) -> u32 {
        self.nb_errors
    }

    /// The error-count cap derived from the backoff settings (§9.1).
    pub fn max_errors(&self) -> u32 {
        self.backoff.max_errors()
    }

    /// The configuration (its endpoint list is empty: see [`endpoints`](Self::endpoints)).
    pub fn config(&self) -> &TransportConfig {
        &self.config
    }

    /// The acked-state hook.
    pub fn snapshot_source(&self) -> &S {
        &self.snapshot
    }

    /// The acked-state hook, mutably (the Pipeline's translator lives there). Changing what
    /// it reports affects the next batch 0 only.
    pub fn snapshot_source_mut(&mut self) -> &mut S {
        &mut self.snapshot
    }
}
