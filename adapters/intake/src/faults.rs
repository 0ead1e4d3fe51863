//! Fault injection for tests: what the intake does wrong, stream by stream.

use std::collections::VecDeque;
use std::time::Duration;

/// A misbehaviour applied to one stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamFault {
    /// After acking `after_batches` regular batches, end the call with `code`.
    EndWithStatus {
        /// Regular batches acked first.
        after_batches: u32,
        /// The gRPC status code.
        code: tonic::Code,
    },
    /// After acking `after_batches` regular batches, end the call with status OK (EOF).
    Eof {
        /// Regular batches acked first.
        after_batches: u32,
    },
    /// Send the response headers only after the first request message arrived (as some
    /// servers do, `wire.md` §1); otherwise normal.
    HeadersAfterFirstBatch,
    /// Receive and deliver, but never send an ack.
    NeverAck,
    /// After `after_batches` correct acks, ack every further batch with a wrong id.
    WrongAckIds {
        /// Correct acks first.
        after_batches: u32,
    },
}

/// The intake's faults: one queued fault per new stream, then normal behaviour; an ack delay
/// for every stream.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub queue: VecDeque<StreamFault>,
    pub ack_delay: Duration,
}
