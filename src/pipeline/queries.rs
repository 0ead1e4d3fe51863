//! What a driver, a test or a metrics exporter can read of a [`Pipeline`]: its state, its
//! metrics, its layers (read-only) and what it holds against the memory budget.

use crate::snapshot::AckedState;
use crate::translator::Translator;
use crate::transport::{EndpointConfig, State, Transport};

use super::{Pipeline, PipelineMetrics};

impl Pipeline {
    /// Settings of endpoint `index` (forwarded).
    pub fn endpoint(&self, index: usize) -> &EndpointConfig {
        self.transport.endpoint(index)
    }

    /// The Transport's state.
    pub fn state(&self) -> State {
        self.transport.state()
    }

    /// Every metric: the Transport's plus the encoding ones.
    pub fn metrics(&self) -> PipelineMetrics<'_> {
        PipelineMetrics {
            transport: self.transport.metrics(),
            translator: self.translator.metrics(),
            pipeline_records_dropped: &self.records_dropped,
            pipeline_bytes_dropped: &self.bytes_dropped,
            state_size_bytes: self.translator.state_size_bytes(),
            batches_rendered_raw: self.encoder.batches_rendered_raw(),
            buffered_bytes: self.buffered_bytes(),
        }
    }

    /// The Transport (read-only).
    pub fn transport(&self) -> &Transport<AckedState> {
        &self.transport
    }

    /// The translator (read-only).
    pub fn translator(&self) -> &Translator {
        &self.translator
    }

    /// Records in the open batch.
    pub fn open_batch_records(&self) -> u32 {
        self.batcher.open().records
    }

    /// Ack entries not yet delivered to the producer.
    pub fn pending_acks(&self) -> usize {
        self.acks.len()
    }

    /// What the Pipeline holds against its memory budget: the open batch, the tracked
    /// batches and the compression context. Never above [`max_buffer_bytes`] once a record
    /// was admitted on top of others.
    ///
    /// [`max_buffer_bytes`]: Pipeline::max_buffer_bytes
    pub fn buffered_bytes(&self) -> u64 {
        self.batcher.open().cost + self.transport.tracker_held_bytes() + self.context_bytes
    }

    /// The memory budget (`PipelineConfig::max_buffer_bytes`).
    pub fn max_buffer_bytes(&self) -> u64 {
        self.max_buffer_bytes
    }
}
