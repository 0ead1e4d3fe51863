//! The Pipeline's metrics: the Transport's plus the encoding ones (spec `transport.md` §17).

use crate::translator::TranslatorMetrics;
use crate::transport::{LabeledCounter, Metrics};

/// A read-only view of every metric of a Pipeline.
///
/// `records_dropped` and `bytes_dropped` exist in both layers: the Transport counts the
/// batches still in its tracker at shutdown, the Pipeline the records it dropped as too large
/// and those still in its open batch at shutdown. The methods of the same names sum both.
#[derive(Clone, Copy, Debug)]
pub struct PipelineMetrics<'a> {
    /// Layer T.
    pub transport: &'a Metrics,
    /// Pattern, dictionary and log counters (layer P).
    pub translator: &'a TranslatorMetrics,
    /// Records dropped by the Pipeline, by reason (`too_large`, `unacknowledged_at_shutdown`).
    pub pipeline_records_dropped: &'a LabeledCounter,
    /// Their raw content bytes, by reason.
    pub pipeline_bytes_dropped: &'a LabeledCounter,
    /// Gauge: the translator's exact state size (`encoding.md` §9.9).
    pub state_size_bytes: u64,
    /// Batches sent with their pattern logs as raw text, because that was smaller.
    pub batches_rendered_raw: u64,
    /// Gauge: what the Pipeline holds against its memory budget (`Pipeline::buffered_bytes`).
    pub buffered_bytes: u64,
}

impl PipelineMetrics<'_> {
    /// `records_dropped{reason}` over both layers.
    pub fn records_dropped(&self, reason: &str) -> u64 {
        self.transport.records_dropped.get(reason) + self.pipeline_records_dropped.get(reason)
    }

    /// `bytes_dropped{reason}` over both layers.
    pub fn bytes_dropped(&self, reason: &str) -> u64 {
        self.transport.bytes_dropped.get(reason) + self.pipeline_bytes_dropped.get(reason)
    }
}
