//! The vocabulary of the transport: what goes in, what comes out (spec `transport.md` §2).

use std::fmt;

use bytes::Bytes;

use crate::codec::ContentEncoding;
use crate::time::StreamId;

/// The acked-state hook: the definitions a new stream must receive as batch 0 (§8).
///
/// The Pipeline's translator state implements it; tests use a simple define/delete state.
pub trait SnapshotSource {
    /// One batch's defines and deletes, in order.
    type Changes;
    /// The batch carrying `changes` was acked: apply them to the snapshot state.
    fn apply(&mut self, changes: &Self::Changes);
    /// How much `changes` grow a receiver's state when sent (0 when deletes are sent, §8.2).
    fn stream_bytes(&self, changes: &Self::Changes) -> u64;
    /// Batch 0 for a new stream: the whole acked state, in deterministic order.
    fn encode_snapshot(&mut self) -> Result<Snapshot, EncodeError>;
}

/// An encoded batch 0.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// `StatefulBatch.data` of batch 0.
    pub data: Bytes,
    /// How many define datums it holds (0 = the state is empty).
    pub definitions: usize,
    /// The receiver-side state it creates (§8.2).
    pub stream_bytes: u64,
}

/// A batch or snapshot could not be encoded; the core halts with `Internal`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("encoding failed: {0}")]
pub struct EncodeError(pub String);

/// A batch ready for the wire, stored in the inflight tracker until acked.
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedBatch<C> {
    /// `StatefulBatch.data`, stored and replayed unchanged.
    pub data: Bytes,
    /// Given to [`SnapshotSource::apply`] when the batch is acked.
    pub state_changes: C,
    /// Log records in the batch.
    pub records: u32,
    /// Their raw content bytes.
    pub raw_bytes: u64,
    /// Serialized size before compression.
    pub pre_compression_len: u64,
    /// How many of its records carry an ack token. The tokens themselves stay with the layer
    /// above (the Pipeline's ack queue): the Transport only counts them.
    pub ack_tokens: u32,
    /// What the batch holds in memory while tracked (its data, its state changes and the
    /// entry itself), as the Pipeline's memory budget counts it.
    pub held_bytes: u64,
}

/// `push_batch` found no room (or the transport is closed): the batch, handed back unchanged.
#[derive(Debug)]
pub struct Full<C>(pub EncodedBatch<C>);

/// A batch to write on a stream: the driver sends `StatefulBatch { batch_id, data }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The stream to write on (always the current one).
    pub stream: StreamId,
    /// 0 for the snapshot, then 1, 2, … on each stream.
    pub batch_id: u32,
    /// `StatefulBatch.data`.
    pub data: Bytes,
}

/// How the driver ends a stream (§15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// Half-close the request side, read until the server ends the call or the drain timeout.
    Graceful,
    /// Cancel at once (`RST_STREAM` with `CANCEL`).
    Abort,
}

/// Why a stream failed, as the driver saw it (§2.1, §12).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The call ended with a gRPC status.
    Status {
        /// The numeric gRPC code.
        code: i32,
        /// The status message.
        message: String,
        /// The intake's `grpc-retry-pushback-ms` trailer, when it sent one: when to try
        /// again, in ms; `u64::MAX` for a negative value ("do not retry now"). Honoured
        /// within bounds by [`RetryPolicy`](super::RetryPolicy).
        retry_pushback_ms: Option<u64>,
    },
    /// The response ended with status OK.
    Eof,
    /// Certificate rejected, or plaintext/TLS mismatch.
    Tls(String),
    /// Any other failure without a gRPC status.
    Connection(String),
}

impl Failure {
    /// A gRPC status without a retry pushback.
    pub fn status(code: i32, message: impl Into<String>) -> Self {
        Failure::Status { code, message: message.into(), retry_pushback_ms: None }
    }

    /// The retry pushback the failure carries, if any.
    pub fn retry_pushback_ms(&self) -> Option<u64> {
        match self {
            Failure::Status { retry_pushback_ms, .. } => *retry_pushback_ms,
            _ => None,
        }
    }
}

/// Where the driver saw a failure (metric reason only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Writing a request message.
    Send,
    /// Reading the response.
    Recv,
}

/// Why a record never reached the intake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Its content exceeds `max_batch_bytes` (or, in `v2`, its metadata the state bound).
    TooLarge,
}

impl DropReason {
    /// The metric label.
    pub const fn label(self) -> &'static str {
        match self {
            DropReason::TooLarge => "too_large",
        }
    }
}

/// What became of a record that carried an ack token (§7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckOutcome {
    /// The intake acknowledged its batch.
    Acked,
    /// It was dropped before batching.
    Dropped(DropReason),
    /// Shutdown ended before it was acknowledged.
    Unacknowledged,
}

/// One token and its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckEntry {
    /// The producer's token.
    pub token: u64,
    /// What became of the record.
    pub outcome: AckOutcome,
}

/// Why the core halted (§12.2). Records are kept; fix the cause, then `resume`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HaltError {
    /// The intake refused the API key (gRPC 16 or 7).
    #[error(
        "the intake at endpoint {endpoint} ({host}) refused the API key ({code_name}: {message}); \
         records are kept; update the key, then resume"
    )]
    Unauthenticated {
        /// Endpoint index.
        endpoint: usize,
        /// Endpoint host.
        host: String,
        /// The gRPC code (16 or 7).
        code: i32,
        /// Its name, e.g. `Unauthenticated`.
        code_name: String,
        /// The status message.
        message: String,
    },
    /// The intake does not implement the configured profile (gRPC 12).
    #[error(
        "the intake at endpoint {endpoint} ({host}) does not implement profile {profile} ({path}): \
         {message}; switch to profile {other} if the intake serves it"
    )]
    WrongProfile {
        /// Endpoint index.
        endpoint: usize,
        /// Endpoint host.
        host: String,
        /// The configured profile.
        profile: crate::Profile,
        /// Its full method path.
        path: String,
        /// The other profile.
        other: crate::Profile,
        /// The status message.
        message: String,
    },
    /// TLS with the endpoint failed in a way a retry cannot fix.
    #[error(
        "TLS with endpoint {endpoint} ({host}) failed: {message}; records are kept; fix the \
         endpoint's certificate, CA or TLS setting, then resume"
    )]
    TlsRejected {
        /// Endpoint index.
        endpoint: usize,
        /// Endpoint host.
        host: String,
        /// The TLS error.
        message: String,
    },
    /// The intake keeps rejecting the same data.
    #[error(
        "the intake rejected the same data {count} times in a row (last: {code_name}: {message}); \
         records are kept; check that client and intake agree on profile and v1_delta_encoding, then resume"
    )]
    ProtocolRejected {
        /// Consecutive protocol errors.
        count: u32,
        /// The last gRPC code.
        code: i32,
        /// Its name.
        code_name: String,
        /// The last status message.
        message: String,
    },
    /// The intake refused a message as too large for its limit.
    #[error(
        "the intake at endpoint {endpoint} ({host}) refused a batch as too large ({code_name}: \
         {message}); records are kept; lower max_message_bytes (now {max_message_bytes}) below the \
         intake's message limit, or raise that limit, then restart"
    )]
    MessageTooLarge {
        /// Endpoint index.
        endpoint: usize,
        /// Endpoint host.
        host: String,
        /// The gRPC code (8 or 11).
        code: i32,
        /// Its name.
        code_name: String,
        /// The status message.
        message: String,
        /// The configured bound on a `StatefulBatch`.
        max_message_bytes: u64,
    },
    /// A batch or the snapshot could not be encoded.
    #[error("internal error: {cause}; records are kept; resume retries")]
    Internal {
        /// What failed.
        cause: String,
    },
}

impl HaltError {
    /// The `halts` metric label.
    pub const fn label(&self) -> &'static str {
        match self {
            HaltError::Unauthenticated { .. } => "unauthenticated",
            HaltError::WrongProfile { .. } => "wrong_profile",
            HaltError::TlsRejected { .. } => "tls_rejected",
            HaltError::ProtocolRejected { .. } => "protocol_rejected",
            HaltError::MessageTooLarge { .. } => "message_too_large",
            HaltError::Internal { .. } => "internal",
        }
    }
}

/// Something the driver must do, drained with `poll_action` until `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a call on the HTTP/2 connection of endpoint `endpoint`.
    OpenStream {
        /// The new stream's id.
        stream: StreamId,
        /// Index into the endpoint list; `endpoint(index)` gives its settings.
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
    /// The oldest pushed batch was acknowledged (batches are acknowledged in push order).
    BatchAcked {
        /// Its log records.
        records: u32,
        /// How many of them carry an ack token.
        ack_tokens: u32,
    },
    /// The core stopped on an error only the user can fix.
    Halted(HaltError),
    /// A failure rotation: the stream failed (or could not open, or its acks stopped) and the
    /// next attempt starts after `delay_ms`. One per failure, so a driver can log each retry
    /// with its cause and delay.
    Retrying {
        /// Endpoint index of the stream that failed.
        endpoint: usize,
        /// The metric reason and, when known, the failure's message.
        cause: String,
        /// What the user can check for this kind of failure.
        hint: &'static str,
        /// Milliseconds until the next attempt (0: at once).
        delay_ms: u64,
        /// Sent batches that were not acknowledged and go again on the next stream.
        replayed_batches: usize,
    },
    /// An endpoint refused `zstd-stream` before any ack and now gets per-batch `zstd`
    /// (`encoding.md` §7.1); a new stream is already being opened. Log it: it happens once per
    /// endpoint (until the endpoint is replaced).
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
    /// Shutdown finished; the batches still held were never acknowledged and are discarded.
    ShutdownComplete {
        /// Batches discarded unacknowledged.
        batches: u64,
        /// Their log records.
        records: u64,
        /// How many of those records carry an ack token.
        ack_tokens: u64,
    },
}

/// Stream request headers. `Debug` hides the value of `dd-api-key`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata(pub Vec<(String, String)>);

impl Metadata {
    /// The value of header `name` (lower-case), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for (name, value) in &self.0 {
            if name == "dd-api-key" {
                list.entry(&(name, "<redacted>"));
            } else {
                list.entry(&(name, value));
            }
        }
        list.finish()
    }
}

/// The transport's state (§3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting out a backoff.
    Disconnected,
    /// One `OpenStream` outstanding.
    Connecting,
    /// Stream open; batches may be pulled.
    Active,
    /// Lifetime over; collecting acks, sending nothing new.
    Draining,
    /// Stopped on an error; waits for `resume`.
    Halted,
    /// Terminal, after shutdown.
    Closed,
}
