//! Why the client refused: building it, or taking a record (`send`, `try_send`). A refused
//! record always comes back to the caller unchanged.

use stateful_logs::transport::HaltError;
use stateful_logs::{ConfigError, Record};

#[cfg(doc)]
use crate::Client;

/// A client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A setting is invalid; the message names it and the fix.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// `send` did not take the record; it comes back (boxed: records are large, errors rare).
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The client is shut down (or dropped).
    #[error("the client is shut down; the record was not taken")]
    Closed(Box<Record>),
    /// The pipeline halted on an error only the user can fix; nothing is sent until
    /// [`Client::resume`].
    #[error("{error}; the record was not taken")]
    Halted {
        /// The record, unchanged.
        record: Box<Record>,
        /// Why the pipeline halted.
        error: HaltError,
    },
}

/// `try_send` did not take the record; it comes back.
#[derive(Debug, thiserror::Error)]
pub enum TrySendError {
    /// The pipeline's memory budget is full: retry later, or count the record as shed.
    #[error("the pipeline's buffer is full (max_buffer_bytes); the record was not taken")]
    Full(Box<Record>),
    /// The client is shut down (or dropped).
    #[error("the client is shut down; the record was not taken")]
    Closed(Box<Record>),
    /// The pipeline halted; nothing is sent until [`Client::resume`].
    #[error("{error}; the record was not taken")]
    Halted {
        /// The record, unchanged.
        record: Box<Record>,
        /// Why the pipeline halted.
        error: HaltError,
    },
}

impl SendError {
    /// The record that was not taken.
    pub fn into_record(self) -> Record {
        match self {
            SendError::Closed(record) | SendError::Halted { record, .. } => *record,
        }
    }
}

impl TrySendError {
    /// The record that was not taken.
    pub fn into_record(self) -> Record {
        match self {
            TrySendError::Full(record)
            | TrySendError::Closed(record)
            | TrySendError::Halted { record, .. } => *record,
        }
    }
}
