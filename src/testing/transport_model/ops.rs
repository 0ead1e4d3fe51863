//! The model's driver events ([`Op`]), its configuration and what it knows per stream.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use crate::Timestamp;
use crate::transport::{ApiKey, EndpointConfig, Failure, Side, TransportConfig};

/// The model transport's inflight capacity (small, so that backpressure happens).
pub const CAPACITY: usize = 4;

/// Which stream an event names.
#[derive(Clone, Debug)]
pub enum Target {
    /// The transport's pending attempt (or current stream, for stream events).
    Live,
    /// The n-th (mod count) earlier stream.
    Old(usize),
}

/// Which batch id an ack carries.
#[derive(Clone, Debug)]
pub enum AckKind {
    /// The oldest outstanding batch on the current stream (what a receiver sends).
    Right,
    /// An id this far past the expected one.
    Wrong(u32),
    /// The id acked last.
    Duplicate,
    /// The snapshot's id, 0.
    Zero,
    /// Batch 1 on the n-th (mod count) earlier stream.
    Stale(usize),
}

/// One driver event.
#[derive(Clone, Debug)]
pub enum Op {
    /// Push a batch with this many tokens, optionally defining and deleting an id.
    Push {
        /// Ack tokens (one record each).
        tokens: u8,
        /// An id the batch defines.
        define_id: Option<u8>,
        /// An id the batch deletes.
        delete_id: Option<u8>,
    },
    /// Pull up to this many batches from the current stream, then one from another stream.
    Pull(u8),
    /// Report an unanswered open as opened.
    Opened(Target),
    /// Report an unanswered open as failed.
    OpenFailed(Target, Failure),
    /// An ack with this status.
    Ack(AckKind, i32),
    /// A stream error.
    StreamError(Target, Side, Failure),
    /// Move the clock this many ms and handle the timeout.
    Advance(u64),
    /// Move the clock to the next deadline and handle it.
    JumpToTimeout,
    /// The hook failed.
    InternalError,
    /// Shut down, with a deadline this many ms away (or none).
    Shutdown(Option<u64>),
    /// Resume after a halt.
    Resume,
    /// A healthy driver round: answer the pending open, pull up to 3 batches, ack everything
    /// outstanding on the current stream.
    HealthyRound,
}

/// The model's configuration: two endpoints, short timeouts, small limits, so that every
/// deadline, failover, the batch id limit and the stream state bound are reached.
pub fn config() -> TransportConfig {
    let endpoint = |h: &str| EndpointConfig::new(h, 443, ApiKey::new("model-key"));
    let mut c = TransportConfig::new(vec![endpoint("a.example"), endpoint("b.example")]);
    c.inflight_capacity = CAPACITY;
    c.open_timeout = Duration::from_millis(100);
    c.stream_lifetime = Duration::from_millis(1_000);
    c.drain_timeout = Duration::from_millis(200);
    // Longer than the lifetime, so that drains run to their deadline as well.
    c.ack_timeout = Some(Duration::from_millis(1_500));
    c.backoff_base = Duration::from_millis(10);
    c.backoff_max = Duration::from_millis(1_000);
    c.shutdown_timeout = Duration::from_millis(500);
    c.max_protocol_errors = 3;
    c.failover_after = 2;
    c.primary_retry_interval = Duration::from_millis(2_000);
    c.max_batch_id = 5;
    c.max_stream_state_bytes = 200;
    c
}

/// What the simulated driver knows about one stream.
#[derive(Debug, Default)]
pub struct StreamInfo {
    /// Its open was answered (opened or failed).
    pub answered: bool,
    /// It was reported opened.
    pub opened: bool,
    /// Its open failed.
    pub open_failed: bool,
    /// `CloseStream` actions received for it.
    pub closes: u32,
    /// Batch ids pulled, in order.
    pub pulled: Vec<u32>,
    /// Regular ids pulled and not yet acked by the driver (a well-behaved receiver's queue).
    pub outstanding: VecDeque<u32>,
    /// The id the driver acked last.
    pub last_acked: Option<u32>,
    /// Batches acked before this stream became active (its replay starts there).
    pub base: u64,
    /// Receiver-side state the stream created: batch 0 plus every regular batch pulled.
    pub state_bytes: u64,
    /// When each regular id was pulled.
    pub pulled_at: BTreeMap<u32, Timestamp>,
    /// When the transport last took an ack on this stream while it was current.
    pub last_ack_at: Option<Timestamp>,
}
