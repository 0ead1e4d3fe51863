//! The driver-facing surface of a sans-IO core (`transport.md` §2.3): what the event loop
//! calls. Implemented for the record [`Pipeline`](stateful_logs::pipeline::Pipeline) and for the
//! JSON baseline of the benchmark, so both travel over exactly the same driver.

use stateful_logs::transport::{Action, EndpointConfig, Failure, Metrics, Side, State, Transmit};
use stateful_logs::{ConfigError, StreamId, Timestamp};

/// Why a core refused a record; the record comes back unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefusalReason {
    /// Backpressure: retry once `input_ready()` is true.
    Full,
    /// `shutdown` was called.
    ShuttingDown,
    /// The core is closed.
    Closed,
}

/// Settings a core is built from: the Pipeline's (transport, batching, compression,
/// translator); a core uses the parts it needs.
pub type CoreSettings = stateful_logs::PipelineConfig;

/// A sans-IO core the driver can run: records in, stream actions and acks out.
pub trait Core: Send + 'static {
    /// What producers send.
    type Record: Send + 'static;

    /// Builds a core; `now` is the driver's clock at construction.
    fn build(settings: &CoreSettings, seed: u64, now: Timestamp) -> Result<Self, ConfigError>
    where
        Self: Sized;
    /// The ack token of a record, if it carries one.
    fn ack_token(record: &Self::Record) -> Option<u64>;

    /// Admits a record, or hands it back with the reason.
    fn handle_record(
        &mut self,
        now: Timestamp,
        record: Self::Record,
    ) -> Result<(), (Self::Record, RefusalReason)>;
    /// Whether every record of acceptable size would be admitted now.
    fn input_ready(&self) -> bool;
    /// Encodes and queues the open batch.
    fn flush(&mut self, now: Timestamp);
    /// The stream can take request messages.
    fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId);
    /// The stream could not be opened.
    fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure);
    /// A `BatchStatus` arrived.
    fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, status: i32);
    /// The stream failed or ended.
    fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, side: Side, failure: Failure);
    /// The clock reached `poll_timeout()`.
    fn handle_timeout(&mut self, now: Timestamp);
    /// Starts a graceful shutdown ending at `deadline`.
    fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>);
    /// Leaves `Halted`.
    fn resume(&mut self, now: Timestamp);
    /// Replaces one endpoint's settings from the next stream on.
    fn update_endpoint(&mut self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError>;
    /// The next action.
    fn poll_action(&mut self) -> Option<Action>;
    /// The next message for `stream`, if it may send one.
    fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Timestamp>;
    /// Endpoint `index`'s current settings.
    fn endpoint(&self, index: usize) -> &EndpointConfig;
    /// The transport state.
    fn state(&self) -> State;
    /// The transport metrics (exported by the driver).
    fn transport_metrics(&self) -> &Metrics;
    /// Exports core-specific metrics beyond the transport's (default: none).
    fn export_extra_metrics(&self, _pipeline: &str) {}
}

impl Core for stateful_logs::Pipeline {
    type Record = stateful_logs::Record;

    fn build(settings: &CoreSettings, seed: u64, now: Timestamp) -> Result<Self, ConfigError> {
        stateful_logs::Pipeline::new(settings.clone(), seed, now)
    }
    fn ack_token(record: &Self::Record) -> Option<u64> {
        record.ack_token
    }
    fn handle_record(
        &mut self,
        now: Timestamp,
        record: Self::Record,
    ) -> Result<(), (Self::Record, RefusalReason)> {
        use stateful_logs::RejectReason;
        self.handle_record(now, record).map_err(|rejected| {
            let reason = match rejected.reason {
                RejectReason::Full => RefusalReason::Full,
                RejectReason::ShuttingDown => RefusalReason::ShuttingDown,
                RejectReason::Closed => RefusalReason::Closed,
            };
            (rejected.record, reason)
        })
    }
    fn input_ready(&self) -> bool {
        self.input_ready()
    }
    fn flush(&mut self, now: Timestamp) {
        self.flush(now)
    }
    fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId) {
        self.handle_stream_opened(now, stream)
    }
    fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        self.handle_stream_open_failed(now, stream, failure)
    }
    fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32, status: i32) {
        self.handle_ack(now, stream, batch_id, status)
    }
    fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, side: Side, failure: Failure) {
        self.handle_stream_error(now, stream, side, failure)
    }
    fn handle_timeout(&mut self, now: Timestamp) {
        self.handle_timeout(now)
    }
    fn shutdown(&mut self, now: Timestamp, deadline: Option<Timestamp>) {
        self.shutdown(now, deadline)
    }
    fn resume(&mut self, now: Timestamp) {
        self.resume(now)
    }
    fn update_endpoint(&mut self, index: usize, endpoint: EndpointConfig) -> Result<(), ConfigError> {
        self.update_endpoint(index, endpoint)
    }
    fn poll_action(&mut self) -> Option<Action> {
        self.poll_action()
    }
    fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        self.poll_transmit(now, stream)
    }
    fn poll_timeout(&self) -> Option<Timestamp> {
        self.poll_timeout()
    }
    fn endpoint(&self, index: usize) -> &EndpointConfig {
        self.endpoint(index)
    }
    fn state(&self) -> State {
        self.state()
    }
    fn transport_metrics(&self) -> &Metrics {
        self.transport().metrics()
    }
    fn export_extra_metrics(&self, pipeline: &str) {
        crate::metrics_export::export_pipeline(pipeline, &self.metrics());
    }
}
