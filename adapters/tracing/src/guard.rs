//! The shipper's worker (a thread of its own that owns the client) and the guard that shuts it
//! down.

use std::fmt;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use stateful_logs::transport::HaltError;
use stateful_logs_runtime::{Client, Handle, ShutdownReport};

use crate::error::ShipperError;
use crate::stats::{Counters, ShipperStats};

/// How long past the shutdown deadline the guard waits for the worker's report before it
/// gives up (the worker reports right after `Client::shutdown`, which keeps to the deadline).
const REPORT_GRACE: Duration = Duration::from_secs(2);

/// The worker's task once its client is built: it ends when the client is shut down.
pub(crate) type ServeFuture = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// Hands the built client to the worker's task.
pub(crate) type Serve = Box<dyn FnOnce(Client) -> ServeFuture + Send>;

/// Where the runtime tells `init` that the client is built (or why not).
pub(crate) type Ready = mpsc::SyncSender<Result<Handle, ShipperError>>;

/// The worker: reads the acks and halts until told to stop, then shuts the client down.
pub(crate) struct Worker {
    stop: async_channel::Sender<()>,
    reports: mpsc::Receiver<ShutdownReport>,
    thread: JoinHandle<()>,
}

impl Worker {
    /// Starts a thread named `stateful-logs-shipper` running `run`, which starts a runtime,
    /// builds the client on it, sends its handle to `Ready` and runs `Serve` until it ends;
    /// returns once the client is built, with a handle to feed it.
    pub(crate) fn spawn(
        run: impl FnOnce(Ready, Serve) + Send + 'static,
        counters: Arc<Counters>,
        deadline: Duration,
    ) -> Result<(Worker, Handle), ShipperError> {
        let (stop, stopped) = async_channel::bounded::<()>(1);
        let (report_tx, reports) = mpsc::sync_channel(1);
        let (ready_tx, ready) = mpsc::sync_channel(1);
        let serve_client: Serve = Box::new(move |client: Client| -> ServeFuture {
            Box::pin(async move {
                let report = serve(client, stopped, counters, deadline).await;
                let _ = report_tx.send(report);
            })
        });
        let thread = std::thread::Builder::new()
            .name("stateful-logs-shipper".into())
            .spawn(move || run(ready_tx, serve_client))
            .map_err(ShipperError::Thread)?;
        match ready.recv() {
            Ok(Ok(handle)) => Ok((Worker { stop, reports, thread }, handle)),
            Ok(Err(error)) => {
                let _ = thread.join();
                Err(error)
            }
            Err(_) => {
                let _ = thread.join();
                Err(ShipperError::WorkerGone)
            }
        }
    }
}

/// Counts acks and halts until `stop` closes, then shuts the client down within `deadline`.
async fn serve(
    client: Client,
    stop: async_channel::Receiver<()>,
    counters: Arc<Counters>,
    deadline: Duration,
) -> ShutdownReport {
    let acks = client.acks();
    loop {
        let next = futures_lite::future::or(async { Some(acks.recv().await) }, async {
            let _ = stop.recv().await;
            None
        })
        .await;
        match next {
            Some(Ok(Ok(entry))) => counters.ack(&entry),
            Some(Ok(Err(halt))) => counters.halt(halt),
            // The client holds its end while it lives; wait for the stop only.
            Some(Err(_)) => {
                let _ = stop.recv().await;
                break;
            }
            None => break,
        }
    }
    let report = client.shutdown(deadline).await;
    while let Ok(event) = acks.try_recv() {
        match event {
            Ok(entry) => counters.ack(&entry),
            Err(halt) => counters.halt(halt),
        }
    }
    report
}

/// What a shutdown of the shipper achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShipperReport {
    /// The client's shutdown report, or `None` when the shipper did not report within the
    /// deadline (and a grace of 2 s): its thread is left behind, and the records it held are
    /// lost.
    pub shutdown: Option<ShutdownReport>,
    /// The events' fate.
    pub stats: ShipperStats,
    /// The last halt the client reported, even if it was resumed since.
    pub last_halt: Option<HaltError>,
}

impl ShipperReport {
    /// The halt in force at the end, or the last one seen.
    pub fn halted(&self) -> Option<&HaltError> {
        self.shutdown.as_ref().and_then(|report| report.halted.as_ref()).or(self.last_halt.as_ref())
    }

    /// Records (events and notices) queued but never acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.shutdown.as_ref().map_or(0, |report| report.unacknowledged.len())
    }

    /// Whether every event was queued and acknowledged, with no halt.
    pub fn is_clean(&self) -> bool {
        self.shutdown.is_some()
            && self.halted().is_none()
            && self.unacknowledged() == 0
            && self.stats.dropped() == 0
            && self.stats.too_large == 0
    }
}

impl fmt::Display for ShipperReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stats)?;
        match &self.shutdown {
            Some(report) => write!(f, "; {} unacknowledged at shutdown", report.unacknowledged.len())?,
            None => write!(f, "; the shutdown did not finish in time")?,
        }
        if let Some(halt) = self.halted() {
            write!(f, "; halted: {halt}")?;
        }
        Ok(())
    }
}

/// Owns the shipper: dropping it (or calling [`ShipperGuard::shutdown`]) stops taking events,
/// delivers what the client holds within the deadline and stops the shipper's thread.
///
/// Keep it alive for as long as the program logs: `let _guard = …` in `main` (not `let _ = …`,
/// which drops it at once). Dropping it blocks the dropping thread until the client's shutdown
/// ends (at most the deadline, 5 s by default, plus 2 s of grace); this is safe anywhere,
/// inside an async runtime of any flavour too, because the client runs on the shipper's own
/// thread, not on the dropping one.
#[must_use = "dropping the guard shuts the shipper down at once"]
pub struct ShipperGuard {
    worker: Option<Worker>,
    counters: Arc<Counters>,
    deadline: Duration,
}

impl ShipperGuard {
    pub(crate) fn new(worker: Worker, counters: Arc<Counters>, deadline: Duration) -> Self {
        ShipperGuard { worker: Some(worker), counters, deadline }
    }

    /// What became of the events so far.
    pub fn stats(&self) -> ShipperStats {
        self.counters.snapshot()
    }

    /// The last halt the client reported (a bad key, a profile the intake refuses, TLS…);
    /// events are dropped (and counted) while it lasts.
    pub fn last_halt(&self) -> Option<HaltError> {
        self.counters.last_halt()
    }

    /// Shuts down now and tells what became of the events.
    pub fn shutdown(mut self) -> ShipperReport {
        self.finish()
    }

    fn finish(&mut self) -> ShipperReport {
        let shutdown = self.worker.take().and_then(|worker| {
            worker.stop.close();
            let report = worker.reports.recv_timeout(self.deadline + REPORT_GRACE).ok();
            if report.is_some() {
                let _ = worker.thread.join();
            }
            report
        });
        ShipperReport { shutdown, stats: self.counters.snapshot(), last_halt: self.counters.last_halt() }
    }
}

impl Drop for ShipperGuard {
    fn drop(&mut self) {
        if self.worker.is_none() {
            return;
        }
        let report = self.finish();
        // The subscriber may be gone by now, and this is the last word on lost logs.
        if !report.is_clean() {
            eprintln!("stateful-logs-tracing: {report}");
        }
    }
}

impl fmt::Debug for ShipperGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShipperGuard")
            .field("running", &self.worker.is_some())
            .field("deadline", &self.deadline)
            .field("stats", &self.counters.snapshot())
            .finish()
    }
}
