//! The loopback's network and reports: who answers the Pipeline ([`Peer`]), when acks arrive
//! ([`AckDelivery`]), the settings ([`LoopbackConfig`]), what it counts ([`Counters`]), the
//! batches on the wire ([`SentBatch`]) and why a run stops ([`LoopbackError`]).

use bytes::Bytes;

use crate::receiver::ReceiverConfig;
use crate::transport::HaltError;
use crate::{PipelineConfig, RejectReason, StreamId, Timestamp};

#[cfg(doc)]
use crate::receiver::Receiver;

/// Steps [`Loopback::drive`](super::Loopback::drive) and [`Loopback::finish`](super::Loopback::finish) take before reporting a livelock.
pub const DEFAULT_MAX_STEPS: usize = 10_000;

/// What answers the Pipeline's streams.
#[derive(Clone, Debug)]
pub enum Peer {
    /// A [`Receiver`] with this configuration: batches are decoded, logs delivered, acks sent
    /// as the receiver sends them.
    Receiver(ReceiverConfig),
    /// Every batch (batch 0 included) is acked with status OK, unread: for measurements
    /// that time the sender alone.
    AckOnly,
}

/// When an ack the peer sends reaches the Pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckDelivery {
    /// At once, before the next batch is pulled: a perfect network.
    Immediate,
    /// After this many milliseconds of the loopback's clock.
    AfterMillis(u64),
    /// Only when [`Loopback::deliver_acks`](super::Loopback::deliver_acks) is called (or during [`Loopback::finish`](super::Loopback::finish)).
    Held,
}

/// The loopback's settings; [`LoopbackConfig::perfect`] is a network that never fails.
#[derive(Clone, Debug)]
pub struct LoopbackConfig {
    /// The Pipeline's seed; also seeds the network's ack losses.
    pub seed: u64,
    /// The clock's start.
    pub start: Timestamp,
    /// Who answers.
    pub peer: Peer,
    /// When acks arrive.
    pub acks: AckDelivery,
    /// Percent of the peer's acks the network loses (seeded), 0 to 100.
    pub ack_loss_percent: u8,
    /// A stream the receiver ends with an error is reported to the Pipeline as a stream
    /// error, as a driver would; when false, such an end is an error of the run
    /// ([`LoopbackError::Refused`]).
    pub forward_stream_ends: bool,
    /// A `Halted` action is an error of the run ([`LoopbackError::Halted`]); when false it
    /// is only recorded ([`Loopback::halted`](super::Loopback::halted)).
    pub halt_is_error: bool,
    /// A model of the host for the adaptive compression level: nanoseconds to compress
    /// `bytes` serialized bytes at nominal zstd `level`, reported after each pull as a driver
    /// reports its timing (`Pipeline::handle_compression_time`). `None`: nothing reported, as
    /// in tools that do not time (the level then stays where it starts).
    pub compression_cost: Option<fn(level: u64, bytes: u64) -> u64>,
}

impl LoopbackConfig {
    /// A perfect network to a receiver that accepts what `pipeline` sends: seed 0, clock at
    /// 0, acks at once, nothing lost, any stream end or halt an error.
    pub fn perfect(pipeline: &PipelineConfig) -> Self {
        let receiver =
            ReceiverConfig { v1_delta_encoding: pipeline.v1_delta_encoding, ..ReceiverConfig::default() };
        LoopbackConfig {
            seed: 0,
            start: Timestamp::ZERO,
            peer: Peer::Receiver(receiver),
            acks: AckDelivery::Immediate,
            ack_loss_percent: 0,
            forward_stream_ends: false,
            halt_is_error: true,
            compression_cost: None,
        }
    }
}

/// Why a loopback run stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    /// The Pipeline or the Receiver refused its configuration.
    #[error("invalid configuration: {0}")]
    Config(#[from] crate::ConfigError),
    /// The Pipeline halted (only with [`LoopbackConfig::halt_is_error`]).
    #[error("the pipeline halted: {0}")]
    Halted(HaltError),
    /// The Pipeline refused a record for a reason other than backpressure, or stayed full.
    #[error("the pipeline refused a record: {0}")]
    Rejected(RejectReason),
    /// The receiver ended a stream with an error (without `forward_stream_ends`).
    #[error("the receiver ended stream {stream} with code {code}: {message}")]
    Refused {
        /// The stream.
        stream: StreamId,
        /// Its gRPC code.
        code: i32,
        /// The receiver's message.
        message: String,
    },
    /// A check of the run failed (batch order, the translator's state bound).
    #[error("{0}")]
    Invariant(String),
    /// No progress within the step bound, or a deadline that stays due once handled.
    #[error("livelock at {now}: {what}")]
    Livelock {
        /// The clock when it was detected.
        now: Timestamp,
        /// What did not progress.
        what: String,
    },
}

/// The loopback's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Streams the Pipeline opened.
    pub streams_opened: u64,
    /// Streams broken by [`Loopback::kill_stream`](super::Loopback::kill_stream).
    pub streams_killed: u64,
    /// Batches pulled (batch 0 included).
    pub batches_sent: u64,
    /// Their `StatefulBatch.data` bytes.
    pub wire_bytes: u64,
    /// Acks the peer sent.
    pub acks_sent: u64,
    /// Acks handed to the Pipeline.
    pub acks_delivered: u64,
    /// Acks lost: dropped by the network or in flight on a broken stream.
    pub acks_lost: u64,
    /// Regular batches delivered again after a replay (not added to `delivered`).
    pub duplicate_batches: u64,
}

/// One batch as pulled: its id and `StatefulBatch.data`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentBatch {
    /// 0 for the snapshot, then 1, 2, … on each stream.
    pub batch_id: u32,
    /// The bytes on the wire.
    pub data: Bytes,
    /// The nominal zstd level it was compressed at (adaptive `zstd-stream`; 0 otherwise).
    pub level: u64,
}
