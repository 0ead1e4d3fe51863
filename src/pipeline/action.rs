//! What a Pipeline asks of its driver (spec `transport.md` §2.3, §15).
//!
//! The stream actions are the Transport's, passed through; the record-level ones are the
//! Pipeline's own: every ack token is reported here exactly once, in input order, as
//! `Acked`, `Dropped(reason)` or `Unacknowledged`.

use crate::codec::ContentEncoding;
use crate::time::StreamId;
use crate::transport::{self, AckEntry, CloseMode, HaltError, Metadata};

/// Something the driver must do, drained with `Pipeline::poll_action` until `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a call on the HTTP/2 connection of endpoint `endpoint`.
    OpenStream {
        /// The new stream's id.
        stream: StreamId,
        /// Index into the endpoint list; `Pipeline::endpoint(index)` gives its settings.
        endpoint: usize,
        /// The gRPC method path (from the profile).
        path: &'static str,
        /// Request headers, lower-case names. Holds the API key: never log it.
        metadata: Metadata,
    },
    /// End a stream (exactly once per stream reported opened).
    CloseStream {
        /// The stream.
        stream: StreamId,
        /// How.
        mode: CloseMode,
    },
    /// Tokens resolved, in input order; each token appears exactly once over the
    /// Pipeline's life.
    Acknowledge(Vec<AckEntry>),
    /// The core stopped on an error only the user can fix; records are kept.
    Halted(HaltError),
    /// A failure rotation: log it (what failed, what to check, when the next attempt is).
    Retrying {
        /// Endpoint index of the stream that failed.
        endpoint: usize,
        /// The metric reason and, when known, the failure's message.
        cause: String,
        /// What the user can check.
        hint: &'static str,
        /// Milliseconds until the next attempt (0: at once).
        delay_ms: u64,
        /// Sent batches not acknowledged, sent again on the next stream.
        replayed_batches: usize,
    },
    /// An endpoint refused `zstd-stream` before any ack and now gets per-batch `zstd`
    /// (`encoding.md` §7.1); a new stream is already being opened. Log it.
    CodecFallback {
        /// Endpoint index.
        endpoint: usize,
        /// The codec it refused.
        from: ContentEncoding,
        /// The codec it gets now.
        to: ContentEncoding,
        /// The receiver's status (code name and message).
        message: String,
    },
    /// Shutdown finished: the last action. Every token was reported before it.
    ShutdownComplete(ShutdownSummary),
}

/// The Transport's stream actions pass through unchanged; its record-level ones
/// (`BatchAcked`, `ShutdownComplete`: counts, not tokens) come back as `Err` for the layer
/// that owns the tokens to turn into its own.
impl TryFrom<transport::Action> for Action {
    type Error = transport::Action;

    fn try_from(action: transport::Action) -> Result<Self, Self::Error> {
        use transport::Action as T;
        Ok(match action {
            T::OpenStream { stream, endpoint, path, metadata } => {
                Action::OpenStream { stream, endpoint, path, metadata }
            }
            T::CloseStream { stream, mode } => Action::CloseStream { stream, mode },
            T::Halted(error) => Action::Halted(error),
            T::Retrying { endpoint, cause, hint, delay_ms, replayed_batches } => {
                Action::Retrying { endpoint, cause, hint, delay_ms, replayed_batches }
            }
            T::CodecFallback { endpoint, from, to, message } => {
                Action::CodecFallback { endpoint, from, to, message }
            }
            record_level @ (T::BatchAcked { .. } | T::ShutdownComplete { .. }) => return Err(record_level),
        })
    }
}

/// How the Pipeline's ack tokens ended, counted over its whole life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownSummary {
    /// Tokens reported `Acked`.
    pub acked: u64,
    /// Tokens reported `Dropped`.
    pub dropped: u64,
    /// Tokens reported `Unacknowledged` (still held when the shutdown ended).
    pub unacknowledged: u64,
}

impl ShutdownSummary {
    /// Counts one reported entry.
    pub(crate) fn count(&mut self, entry: &AckEntry) {
        use crate::transport::AckOutcome;
        match entry.outcome {
            AckOutcome::Acked => self.acked += 1,
            AckOutcome::Dropped(_) => self.dropped += 1,
            AckOutcome::Unacknowledged => self.unacknowledged += 1,
        }
    }
}
