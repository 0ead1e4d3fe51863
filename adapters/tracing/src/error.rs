//! Why the shipper could not start.

use stateful_logs_runtime::ClientError;

/// The shipper could not start.
#[derive(Debug, thiserror::Error)]
pub enum ShipperError {
    /// A client setting is invalid; the message names it and the fix.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The shipper's thread could not be started.
    #[error("cannot start the log shipper's thread: {0}; the system is out of threads or memory")]
    Thread(std::io::Error),
    /// The shipper's tokio runtime could not be started.
    #[error("cannot start the log shipper's tokio runtime: {0}")]
    Runtime(std::io::Error),
    /// The shipper's thread ended before the client was built (it panicked).
    #[error("the log shipper's thread stopped before its client was built; see the panic message above")]
    WorkerGone,
    /// `init` found a global subscriber already installed.
    #[error(
        "a global tracing subscriber is already installed; call `init` once, or add the layer \
         from `layer()` to your own subscriber instead"
    )]
    SubscriberAlreadySet,
    /// `init` (feature `log`) found a `log` logger already installed.
    #[error(
        "a `log` logger is already installed (by an earlier `init`, env_logger, LogTracer…); call \
         `init` once, or use `layer()` with your own subscriber"
    )]
    LoggerAlreadySet,
    /// The filter of `init` is not valid.
    #[error("invalid log filter {directives:?} (from {origin}): {message}; e.g. `info,my_crate=debug`")]
    Filter {
        /// Where the filter came from (`RUST_LOG` or `ShipperBuilder::filter`).
        origin: &'static str,
        /// The directives.
        directives: String,
        /// What is wrong with them.
        message: String,
    },
}
