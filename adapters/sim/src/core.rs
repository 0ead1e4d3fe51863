//! The core a simulated client runs: a bare `Transport` carrying synthetic batches (the
//! default: cheap, and the intake reads each batch's sequence number from its bytes), or a
//! whole `Pipeline` (translator, batcher, compression, Transport) encoding real log lines.

use std::collections::VecDeque;

use bytes::Bytes;
use stateful_logs::transport::testing::{self, Changes, SimpleState};
use stateful_logs::transport::{
    self, AckEntry, AckOutcome, EncodedBatch, Failure, Full, Metrics, Side, State, Transmit, Transport,
};
use stateful_logs::{Action, ConfigError, Pipeline, PipelineConfig, Record, StreamId, Timestamp};

use crate::config::{CoreKind, SimConfig};

/// One batch's worth of production, kept while the core has no room for it.
pub(crate) enum Held {
    /// A synthetic batch for a `Transport`, with its records' tokens.
    Batch((EncodedBatch<Changes>, Vec<u64>)),
    /// The records of one batch for a `Pipeline`, flushed together.
    Records(Vec<Record>),
}

/// A client's core.
pub(crate) enum Core {
    /// A bare Transport, with the tokens of its pushed batches in push order (the Transport
    /// only counts them; this plays the Pipeline's ack queue).
    Transport(Box<Transport<SimpleState>>, VecDeque<Vec<u64>>),
    /// A whole Pipeline.
    Pipeline(Box<Pipeline>),
}

impl Core {
    /// The core of `client`, seeded with `seed`, started at `now`.
    pub(crate) fn new(
        config: &SimConfig,
        client: u32,
        seed: u64,
        now: Timestamp,
    ) -> Result<Core, ConfigError> {
        let transport = config.transport_config(client);
        Ok(match config.core {
            CoreKind::Transport => Core::Transport(
                Box::new(Transport::new(transport, SimpleState::new(), seed, now)?),
                VecDeque::new(),
            ),
            CoreKind::Pipeline => {
                let mut pipeline = PipelineConfig::new(Vec::new());
                pipeline.transport = transport;
                Core::Pipeline(Box::new(Pipeline::new(pipeline, seed, now)?))
            }
        })
    }

    /// Batch `seq` of the producer: synthetic for a Transport (its data starts with `seq`;
    /// every 50th defines a pattern, so that batch 0 carries state), short log lines for a
    /// Pipeline. Tokens `seq·r .. (seq+1)·r`.
    pub(crate) fn make_batch(&self, seq: u64, config: &SimConfig, now: u64) -> Held {
        let records = u64::from(config.records_per_batch);
        let tokens = seq * records..(seq + 1) * records;
        match self {
            Core::Transport(..) => {
                let len = (records * u64::from(config.wire_bytes_per_record)).max(8);
                let mut data = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
                data[..8].copy_from_slice(&seq.to_le_bytes());
                let changes = if seq.is_multiple_of(50) {
                    vec![testing::define(seq / 50, "user <*> logged in from <*> after <*> ms")]
                } else {
                    Vec::new()
                };
                let tokens: Vec<u64> = tokens.collect();
                Held::Batch((
                    testing::batch(Bytes::from(data), changes, config.records_per_batch, tokens.clone()),
                    tokens,
                ))
            }
            Core::Pipeline(_) => Held::Records(
                tokens
                    .map(|token| {
                        let line = format!(
                            "user u{} logged in from 10.0.{}.{} after {} ms",
                            token % 97,
                            token % 7,
                            seq % 251,
                            (token * 13) % 1000
                        );
                        Record::new(now as i64, line).with_ack_token(token)
                    })
                    .collect(),
            ),
        }
    }

    /// Hands a batch to the core, or back when it has no room (then nothing of it was taken).
    pub(crate) fn push(&mut self, now: Timestamp, held: Held) -> Result<(), Held> {
        match (self, held) {
            (Core::Transport(t, pending), Held::Batch((batch, tokens))) => {
                t.push_batch(now, batch).map_err(|Full(b)| Held::Batch((b, tokens.clone())))?;
                pending.push_back(tokens);
                Ok(())
            }
            (Core::Pipeline(p), Held::Records(records)) => {
                // Only whole batches: one flush per batch keeps batch k = the k-th batch.
                if !p.transport().has_room() || !p.input_ready() {
                    return Err(Held::Records(records));
                }
                for record in records {
                    // Cannot be refused: the open batch is empty and the tracker has room (were
                    // one refused, its token would never be acked and the run would report it).
                    let _ = p.handle_record(now, record);
                }
                p.flush(now);
                Ok(())
            }
            (_, held) => Err(held),
        }
    }

    /// Whether this core's batches carry their sequence number in their bytes.
    pub(crate) fn batches_are_synthetic(&self) -> bool {
        matches!(self, Core::Transport(..))
    }

    /// The next action, as a Pipeline reports it (a bare Transport's acks become the tokens of
    /// its batches).
    pub(crate) fn poll_action(&mut self) -> Option<Action> {
        match self {
            Core::Transport(t, pending) => Some(match Action::try_from(t.poll_action()?) {
                Ok(action) => action,
                Err(transport::Action::BatchAcked { .. }) => {
                    let tokens = pending.pop_front().unwrap_or_default();
                    let acked =
                        tokens.into_iter().map(|token| AckEntry { token, outcome: AckOutcome::Acked });
                    Action::Acknowledge(acked.collect())
                }
                Err(_shutdown_complete) => {
                    pending.clear();
                    Action::ShutdownComplete(Default::default())
                }
            }),
            Core::Pipeline(p) => p.poll_action(),
        }
    }

    pub(crate) fn poll_transmit(&mut self, now: Timestamp, stream: StreamId) -> Option<Transmit> {
        match self {
            Core::Transport(t, _) => t.poll_transmit(now, stream),
            Core::Pipeline(p) => p.poll_transmit(now, stream),
        }
    }

    pub(crate) fn poll_timeout(&self) -> Option<Timestamp> {
        match self {
            Core::Transport(t, _) => t.poll_timeout(),
            Core::Pipeline(p) => p.poll_timeout(),
        }
    }

    pub(crate) fn handle_timeout(&mut self, now: Timestamp) {
        match self {
            Core::Transport(t, _) => t.handle_timeout(now),
            Core::Pipeline(p) => p.handle_timeout(now),
        }
    }

    pub(crate) fn handle_stream_opened(&mut self, now: Timestamp, stream: StreamId) {
        match self {
            Core::Transport(t, _) => t.handle_stream_opened(now, stream),
            Core::Pipeline(p) => p.handle_stream_opened(now, stream),
        }
    }

    pub(crate) fn handle_stream_open_failed(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        match self {
            Core::Transport(t, _) => t.handle_stream_open_failed(now, stream, failure),
            Core::Pipeline(p) => p.handle_stream_open_failed(now, stream, failure),
        }
    }

    pub(crate) fn handle_ack(&mut self, now: Timestamp, stream: StreamId, batch_id: u32) {
        match self {
            Core::Transport(t, _) => t.handle_ack(now, stream, batch_id, 0),
            Core::Pipeline(p) => p.handle_ack(now, stream, batch_id, 0),
        }
    }

    pub(crate) fn handle_stream_error(&mut self, now: Timestamp, stream: StreamId, failure: Failure) {
        match self {
            Core::Transport(t, _) => t.handle_stream_error(now, stream, Side::Recv, failure),
            Core::Pipeline(p) => p.handle_stream_error(now, stream, Side::Recv, failure),
        }
    }

    pub(crate) fn state(&self) -> State {
        match self {
            Core::Transport(t, _) => t.state(),
            Core::Pipeline(p) => p.state(),
        }
    }

    pub(crate) fn current_stream(&self) -> Option<StreamId> {
        match self {
            Core::Transport(t, _) => t.current_stream(),
            Core::Pipeline(p) => p.transport().current_stream(),
        }
    }

    pub(crate) fn tracker_bytes(&self) -> u64 {
        match self {
            Core::Transport(t, _) => t.tracker_bytes(),
            Core::Pipeline(p) => p.transport().tracker_bytes(),
        }
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        match self {
            Core::Transport(t, _) => t.metrics(),
            Core::Pipeline(p) => p.transport().metrics(),
        }
    }
}
