//! Receiver metrics (`transport.md` §16).

use std::collections::BTreeMap;

/// Counters (monotonic) and one gauge, for all streams of a receiver.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiverMetrics {
    /// Stream starts seen, refused ones included.
    pub streams_started: u64,
    /// `EndStream` actions by gRPC code (`OK` after a half-close included).
    pub streams_ended: BTreeMap<i32, u64>,
    /// Streams the client cancelled (no `EndStream`).
    pub streams_reset: u64,
    /// `SendStatus` actions.
    pub batches_acked: u64,
    /// Logs in `Deliver` actions.
    pub logs_delivered: u64,
    /// Bytes those logs count (§16 rule 5).
    pub delivered_bytes: u64,
    /// Bytes after decompression, of every batch that decompressed within the limit.
    pub decompressed_bytes: u64,
    /// Fields present but ignored, by name (`wire.md` §9.2): `pattern_id`, `dynamic_values`
    /// (`v2` logs with `raw_log`), `json_context` (`v1`).
    pub ignored_fields: BTreeMap<&'static str, u64>,
    /// Gauge: the counted state size of all open streams.
    pub state_bytes: u64,
}

impl ReceiverMetrics {
    /// Streams ended with `code`.
    pub fn streams_ended_with(&self, code: i32) -> u64 {
        self.streams_ended.get(&code).copied().unwrap_or(0)
    }

    /// How often `field` was ignored.
    pub fn ignored(&self, field: &str) -> u64 {
        self.ignored_fields.get(field).copied().unwrap_or(0)
    }
}
