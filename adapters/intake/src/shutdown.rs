//! A graceful shutdown of the intake ([`Intake::shutdown`]): no new connections or calls,
//! every open call answered (its pending acks) and ended, every connection closed with
//! `GOAWAY`, all within a deadline.

use std::sync::Arc;
use std::time::Duration;

use crate::Intake;
use crate::stats::IntakeStats;

/// Where a graceful shutdown is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Normal service.
    Serving,
    /// New calls are refused with `UNAVAILABLE`; every connection got `GOAWAY`.
    Refusing,
}

/// What [`Intake::shutdown`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntakeShutdown {
    /// Calls open when the shutdown began: each sent the acks it owed, then ended with
    /// `UNAVAILABLE` (its client sends whatever is unacknowledged again).
    pub calls_ended: usize,
    /// Connections still open at the deadline, dropped then; 0 when every connection closed
    /// in time (its last acks and status written).
    pub connections_cut: usize,
    /// The counters at the end.
    pub stats: IntakeStats,
}

/// Counts the open connections; a connection's task holds one [`LiveConnection`].
#[derive(Clone, Default)]
pub(crate) struct LiveConnections(Arc<tokio::sync::watch::Sender<usize>>);

impl LiveConnections {
    /// One more open connection, until the guard is dropped (its task ended or was aborted).
    pub fn open(&self) -> LiveConnection {
        self.0.send_modify(|n| *n += 1);
        LiveConnection(self.clone())
    }

    fn count(&self) -> usize {
        *self.0.borrow()
    }
}

/// One open connection of [`LiveConnections`].
pub(crate) struct LiveConnection(LiveConnections);

impl Drop for LiveConnection {
    fn drop(&mut self) {
        self.0.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

impl Intake {
    /// Shuts down gracefully within `timeout`: stops listening, refuses new calls, sends
    /// `GOAWAY` on every connection, sends every ack it owes (batches it received were
    /// delivered, to the output when one is set, before their ack), ends each open call with
    /// `UNAVAILABLE`, and waits for the connections to close. Those still open at the
    /// deadline are dropped. The intake serves nothing afterwards; [`Intake::start`] listens
    /// again.
    pub async fn shutdown(&mut self, timeout: Duration) -> IntakeShutdown {
        let deadline = tokio::time::Instant::now() + timeout;
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        self.shared.phase.send_replace(Phase::Refusing);
        let calls_ended = self.shared.end_all_calls();
        let mut live = self.live.0.subscribe();
        let _ = tokio::time::timeout_at(deadline, live.wait_for(|&open| open == 0)).await;
        let connections_cut = self.live.count();
        self.drop_connections();
        // Ready for a later `start`.
        self.shared.phase.send_replace(Phase::Serving);
        tracing::info!(calls_ended, connections_cut, "intake shut down");
        IntakeShutdown { calls_ended, connections_cut, stats: self.stats() }
    }
}
