//! SIGTERM and SIGINT, which `ship` and `intake` handle alike: the first stops cleanly, a
//! second stops at once.

use std::process::ExitCode;

use crate::CliError;

/// A stop signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM (systemd, `docker stop`, Kubernetes).
    Terminate,
}

impl StopSignal {
    /// The exit code when this signal, coming second, stops the process at once: 128 plus
    /// the signal's number, as a shell reports a process the signal killed.
    pub fn exit_code(self) -> ExitCode {
        ExitCode::from(match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        })
    }
}

impl std::fmt::Display for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        })
    }
}

/// The stop signals, caught from installation on (the default action, dying at once, no
/// longer applies).
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Catches SIGINT and SIGTERM (call within the tokio runtime).
    pub fn install() -> Result<Self, CliError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let caught = |kind| signal(kind).map_err(|e| CliError::io("cannot catch SIGINT and SIGTERM", e));
            Ok(StopSignals {
                interrupt: caught(SignalKind::interrupt())?,
                terminate: caught(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> StopSignal {
        #[cfg(unix)]
        {
            tokio::select! {
                Some(()) = self.interrupt.recv() => StopSignal::Interrupt,
                Some(()) = self.terminate.recv() => StopSignal::Terminate,
                else => std::future::pending().await,
            }
        }
        #[cfg(not(unix))]
        {
            // Only Ctrl-C exists there.
            match tokio::signal::ctrl_c().await {
                Ok(()) => StopSignal::Interrupt,
                Err(_) => std::future::pending().await,
            }
        }
    }
}
