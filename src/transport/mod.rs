//! The stream transport: a sans-IO state machine that carries pre-encoded batches over one
//! stream at a time (spec `transport.md`).

mod config;
mod types;

pub use config::{ApiKey, EndpointConfig, TransportConfig, is_reserved_header};
pub use types::{
    AckEntry, AckOutcome, Action, CloseMode, DropReason, EncodeError, EncodedBatch, Failure, Full, HaltError,
    Metadata, Side, Snapshot, SnapshotSource, State, Transmit,
};
