//! `bench`'s `lossless` column: the records go through a Pipeline into the core's Receiver in
//! memory, and every delivered record must equal its input record (`encoding.md` §10.1).

use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::transport::CloseMode;
use stateful_logs::{Action, Pipeline, PipelineConfig, Record, RejectReason, StreamId, Timestamp};

use crate::records::check_equivalent;

/// Why a round trip is not lossless.
#[derive(Debug, thiserror::Error)]
pub enum RoundTripError {
    /// The Pipeline or the Receiver refused something.
    #[error("{0}")]
    Refused(String),
    /// Records were missing or differed.
    #[error("{0}")]
    Differs(String),
}

/// A Pipeline and a Receiver joined by a perfect in-memory network, the clock standing still.
struct Loopback {
    pipeline: Pipeline,
    receiver: Receiver,
    stream: Option<StreamId>,
    delivered: Vec<stateful_logs::receiver::ReceivedLog>,
}

const NOW: Timestamp = Timestamp(0);

impl Loopback {
    /// Plays the network until nothing moves; returns how many batches went across.
    fn settle(&mut self) -> Result<usize, RoundTripError> {
        let mut batches = 0;
        loop {
            while let Some(action) = self.pipeline.poll_action() {
                match action {
                    Action::OpenStream { stream, path, metadata, .. } => {
                        self.receiver.handle_stream_start(NOW, stream, path, &metadata.0);
                        self.pipeline.handle_stream_opened(NOW, stream);
                        self.stream = Some(stream);
                    }
                    Action::CloseStream { stream, mode } => {
                        match mode {
                            CloseMode::Graceful => self.receiver.handle_client_end(NOW, stream),
                            CloseMode::Abort => self.receiver.handle_client_reset(NOW, stream),
                        }
                        if self.stream == Some(stream) {
                            self.stream = None;
                        }
                    }
                    Action::Halted(halt) => return Err(RoundTripError::Refused(halt.to_string())),
                    _ => {}
                }
            }
            let mut moved = false;
            while let Some(stream) = self.stream
                && let Some(transmit) = self.pipeline.poll_transmit(NOW, stream)
            {
                moved = true;
                batches += 1;
                self.receiver.handle_batch(NOW, stream, transmit.batch_id, transmit.data);
            }
            while let Some(action) = self.receiver.poll_action() {
                moved = true;
                match action {
                    ReceiverAction::Deliver { logs, .. } => self.delivered.extend(logs),
                    ReceiverAction::SendStatus { stream, batch_id, status } => {
                        self.pipeline.handle_ack(NOW, stream, batch_id, status)
                    }
                    ReceiverAction::EndStream { code, message, .. } if code != 0 => {
                        return Err(RoundTripError::Refused(format!(
                            "the receiver ended the stream: {message}"
                        )));
                    }
                    ReceiverAction::EndStream { .. } => {}
                }
            }
            if !moved {
                return Ok(batches);
            }
        }
    }
}

/// Sends `records` through a Pipeline with `config` into a Receiver and checks that the
/// delivered records equal the input, in order.
pub fn check_lossless(config: PipelineConfig, records: &[Record]) -> Result<(), RoundTripError> {
    let profile = config.profile();
    let receiver = Receiver::new(ReceiverConfig {
        v1_delta_encoding: config.v1_delta_encoding,
        ..ReceiverConfig::default()
    })
    .map_err(|e| RoundTripError::Refused(e.to_string()))?;
    let pipeline = Pipeline::new(config, 0, NOW).map_err(|e| RoundTripError::Refused(e.to_string()))?;
    let mut lo = Loopback { pipeline, receiver, stream: None, delivered: Vec::new() };
    lo.settle()?;
    for record in records {
        let mut record = record.clone();
        loop {
            match lo.pipeline.handle_record(NOW, record) {
                Ok(()) => break,
                Err(rejected) if rejected.reason == RejectReason::Full => {
                    record = rejected.record;
                    if lo.settle()? == 0 {
                        return Err(RoundTripError::Refused("the pipeline stays full".into()));
                    }
                }
                Err(rejected) => return Err(RoundTripError::Refused(rejected.reason.to_string())),
            }
        }
        lo.settle()?;
    }
    lo.pipeline.flush(NOW);
    lo.settle()?;
    if lo.delivered.len() != records.len() {
        return Err(RoundTripError::Differs(format!(
            "{} records delivered of {}",
            lo.delivered.len(),
            records.len()
        )));
    }
    for (index, (got, want)) in lo.delivered.iter().zip(records).enumerate() {
        check_equivalent(profile, got, want)
            .map_err(|mismatch| RoundTripError::Differs(format!("record {index}: {mismatch}")))?;
    }
    Ok(())
}
