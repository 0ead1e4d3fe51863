//! The Transport's metrics (spec `transport.md` §17, layer T).
//!
//! Plain counters and gauges in a struct; labelled counters are small ordered maps so that
//! iteration (and so any export) is deterministic. Nothing here allocates on the ack hot path.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// A counter per label value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabeledCounter {
    values: BTreeMap<Cow<'static, str>, u64>,
}

impl LabeledCounter {
    /// Adds `n` to the counter of `label`.
    pub fn add(&mut self, label: impl Into<Cow<'static, str>>, n: u64) {
        let slot = self.values.entry(label.into()).or_insert(0);
        *slot = slot.saturating_add(n);
    }

    /// Adds 1 to the counter of `label`.
    pub fn increment(&mut self, label: impl Into<Cow<'static, str>>) {
        self.add(label, 1);
    }

    /// The counter of `label` (0 when never counted).
    pub fn get(&self, label: &str) -> u64 {
        self.values.get(label).copied().unwrap_or(0)
    }

    /// The sum over every label.
    pub fn total(&self) -> u64 {
        self.values.values().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// Every `(label, value)`, labels in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.values.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

/// Upper bounds (inclusive, ms) of the `ack_latency_ms` buckets; a last bucket holds the rest.
pub const ACK_LATENCY_BUCKETS_MS: [u64; 14] =
    [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000];

/// A fixed-bucket histogram of millisecond values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative): `counts[i]` for `ACK_LATENCY_BUCKETS_MS[i]`,
    /// the last entry for values above every bound (+Inf).
    pub counts: [u64; 15],
    /// Number of observations.
    pub count: u64,
    /// Sum of the observed values.
    pub sum: u64,
}

impl Histogram {
    /// Records one value.
    pub fn observe(&mut self, value_ms: u64) {
        let index = ACK_LATENCY_BUCKETS_MS.partition_point(|&bound| bound < value_ms);
        self.counts[index] += 1;
        self.count += 1;
        self.sum = self.sum.saturating_add(value_ms);
    }

    /// Observations at or below `bound_ms` (cumulative, as Prometheus `le` buckets).
    pub fn cumulative(&self, bound_ms: u64) -> u64 {
        let end = ACK_LATENCY_BUCKETS_MS.partition_point(|&bound| bound <= bound_ms);
        self.counts[..end].iter().sum()
    }
}

/// Transport metrics (§17). Counters only grow; gauges hold current values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Protobuf size of every `StatefulBatch` pulled, batch 0 and retransmissions included.
    pub bytes_sent: u64,
    /// Raw content bytes of dropped records, by reason (`unacknowledged_at_shutdown`).
    pub bytes_dropped: LabeledCounter,
    /// Log records in pulled regular batches (a retransmission counts again).
    pub records_sent: u64,
    /// Log records in acked batches.
    pub records_acked: u64,
    /// Dropped records, by reason (`unacknowledged_at_shutdown`).
    pub records_dropped: LabeledCounter,
    /// Raw content bytes of acked records.
    pub raw_bytes_acked: u64,
    /// Serialized size of every pushed batch.
    pub pre_compression_bytes: u64,
    /// Compressed size of every pushed batch.
    pub encoded_bytes: u64,
    /// Compression time the driver measured (`handle_compression_time`), in nanoseconds.
    pub compression_nanos: u64,
    /// Gauge, adaptive `zstd-stream` only: the nominal zstd level in use.
    pub compression_level: u64,
    /// Gauge, adaptive `zstd-stream` only: the share of one core spent compressing over the
    /// last 10 s, in thousandths.
    pub compression_cpu_permille: u64,
    /// Adaptive `zstd-stream` only: level changes (each starts a new zstd frame).
    pub compression_level_changes: u64,
    /// Gauge: receiver-side state size of the current stream (0 without one).
    pub stream_state_bytes: u64,
    /// Gauge: encoded bytes in the tracker.
    pub inflight_bytes: u64,
    /// Gauge: batches in the tracker.
    pub inflight_batches: u64,
    /// `OpenStream` actions.
    pub streams_opened: u64,
    /// Rotations by reason: `lifetime`, `batch_id_exhausted`, `state_limit`, `drain_complete`,
    /// `drain_timeout`, `failure`, `codec_fallback`.
    pub rotations: LabeledCounter,
    /// Failures by reason (§12.1).
    pub stream_errors: LabeledCounter,
    /// Halts by reason: `unauthenticated`, `wrong_profile`, `tls_rejected`,
    /// `protocol_rejected`, `internal`.
    pub halts: LabeledCounter,
    /// Endpoint switches by the failover rule (a failed probe of the primary included).
    pub failovers: u64,
    /// Sent batches that were not acknowledged when their stream failed, sent again on the
    /// next one (ack timeouts included).
    pub batches_replayed: u64,
    /// Retries whose delay an intake's `grpc-retry-pushback-ms` set.
    pub retry_pushbacks: u64,
    /// Endpoints switched from `zstd-stream` to per-batch `zstd` (`encoding.md` §7.1), by
    /// endpoint index.
    pub codec_fallbacks: LabeledCounter,
    /// Acks with a status other than 0 or 1, by status (decimal).
    pub ack_status_unexpected: LabeledCounter,
    /// Pull → ack of regular batches.
    pub ack_latency_ms: Histogram,
}

impl Metrics {
    /// Gauge `compression_ratio`: `pre_compression_bytes / encoded_bytes` (0 before any push).
    pub fn compression_ratio(&self) -> f64 {
        if self.encoded_bytes == 0 {
            0.0
        } else {
            self.pre_compression_bytes as f64 / self.encoded_bytes as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_puts_values_in_le_buckets() {
        let mut h = Histogram::default();
        for v in [0, 1, 2, 3, 30_000, 30_001] {
            h.observe(v);
        }
        assert_eq!(h.counts[0], 2); // 0 and 1
        assert_eq!(h.counts[1], 1); // 2
        assert_eq!(h.counts[2], 1); // 3 ≤ 5
        assert_eq!(h.counts[13], 1); // 30000
        assert_eq!(h.counts[14], 1); // +Inf
        assert_eq!(h.count, 6);
        assert_eq!(h.cumulative(5), 4);
        assert_eq!(h.cumulative(30_000), 5);
    }

    #[test]
    fn labeled_counter_counts_static_and_owned_labels() {
        let mut c = LabeledCounter::default();
        c.increment("lifetime");
        c.increment(String::from("lifetime"));
        c.add("failure", 3);
        assert_eq!(c.get("lifetime"), 2);
        assert_eq!(c.get("failure"), 3);
        assert_eq!(c.get("other"), 0);
        assert_eq!(c.total(), 5);
    }
}
