//! What the intake re-exports of the core's receiver, which processes every stream (the
//! stateful encoding, or the HTTP JSON baseline with `BatchFormat::HttpJson`).

pub use stateful_logs::receiver::{LogBody, ReceivedLog};

/// What the server must do for a stream: the core receiver's actions (`transport.md` §16).
pub use stateful_logs::receiver::ReceiverAction as IntakeAction;
