//! The intake's counters.

/// Counters a test can read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntakeStats {
    /// Calls started.
    pub streams_started: u64,
    /// `StatefulBatch` messages received.
    pub batches_received: u64,
    /// Acks sent.
    pub acks_sent: u64,
    /// Bytes of `StatefulBatch.data` received.
    pub bytes_received: u64,
    /// TCP connections accepted.
    pub connections_accepted: u64,
    /// TCP connections closed at once because `ServerLimits::max_connections` were open.
    pub connections_refused: u64,
    /// TCP connections closed because no request came within
    /// `ServerLimits::first_request_timeout`.
    pub connections_timed_out: u64,
    /// Calls whose request body ended without a clean `END_STREAM`: the client reset the
    /// stream or the connection broke while the intake still served the call. A client that
    /// shuts down properly half-closes every stream first, so this stays 0.
    pub streams_reset_by_client: u64,
    /// Calls refused by admission control (`ServerLimits::max_stream_opens_per_sec`) with a
    /// retry pushback.
    pub streams_pushed_back: u64,
}
