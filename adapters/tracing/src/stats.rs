//! What became of the events: counters shared by the layer (application threads) and the
//! shipper's worker (acks, halts), and the snapshot users read.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use stateful_logs::transport::{AckEntry, AckOutcome, HaltError};

/// The counter of events the layer could not queue, labelled `reason` = `full` (the client's
/// memory budget was full), `halted` (the client is halted) or `closed` (the shipper is shut
/// down).
pub const DROPPED_EVENTS_METRIC: &str = "stateful_logs_tracing_dropped_events";

/// Why an event was not queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropCause {
    Full,
    Halted,
    Closed,
}

impl DropCause {
    fn label(self) -> &'static str {
        match self {
            DropCause::Full => "full",
            DropCause::Halted => "halted",
            DropCause::Closed => "closed",
        }
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    events: AtomicU64,
    queued: AtomicU64,
    dropped_full: AtomicU64,
    dropped_halted: AtomicU64,
    dropped_closed: AtomicU64,
    notices: AtomicU64,
    acked: AtomicU64,
    too_large: AtomicU64,
    /// Drops not yet announced by a notice record.
    pub(crate) unannounced: AtomicU64,
    /// When the last notice went out, in ms since the layer's start plus one (0 = never).
    pub(crate) last_notice: AtomicU64,
    halt: Mutex<Option<HaltError>>,
}

impl Counters {
    pub(crate) fn event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn queued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn notice_sent(&self) {
        self.notices.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn dropped(&self, cause: DropCause) {
        let counter = match cause {
            DropCause::Full => &self.dropped_full,
            DropCause::Halted => &self.dropped_halted,
            DropCause::Closed => &self.dropped_closed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        // Closed means the program is past its guard: nobody is left to read a notice.
        if cause != DropCause::Closed {
            self.unannounced.fetch_add(1, Ordering::Relaxed);
        }
        metrics::counter!(DROPPED_EVENTS_METRIC, "reason" => cause.label()).increment(1);
    }

    pub(crate) fn ack(&self, entry: &AckEntry) {
        match entry.outcome {
            AckOutcome::Acked => self.acked.fetch_add(1, Ordering::Relaxed),
            AckOutcome::Dropped(_) => self.too_large.fetch_add(1, Ordering::Relaxed),
            AckOutcome::Unacknowledged => 0,
        };
    }

    pub(crate) fn halt(&self, error: HaltError) {
        *self.halt.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }

    pub(crate) fn snapshot(&self) -> ShipperStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        ShipperStats {
            events: read(&self.events),
            queued: read(&self.queued),
            dropped_full: read(&self.dropped_full),
            dropped_halted: read(&self.dropped_halted),
            dropped_closed: read(&self.dropped_closed),
            notices: read(&self.notices),
            acked: read(&self.acked),
            too_large: read(&self.too_large),
            unannounced: read(&self.unannounced),
        }
    }

    pub(crate) fn last_halt(&self) -> Option<HaltError> {
        self.halt.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What became of the events so far. `events = queued + dropped()`, always; queued events and
/// notices end up acked, too large, or unacknowledged at shutdown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShipperStats {
    /// Events the layer turned into records (after excluding the client's own).
    pub events: u64,
    /// Events the client took.
    pub queued: u64,
    /// Events refused because the client's memory budget was full.
    pub dropped_full: u64,
    /// Events refused because the client was halted.
    pub dropped_halted: u64,
    /// Events refused because the shipper was already shut down.
    pub dropped_closed: u64,
    /// "N events were dropped" records the layer sent.
    pub notices: u64,
    /// Records (events and notices) the intake acknowledged.
    pub acked: u64,
    /// Records the client dropped as too large for a batch.
    pub too_large: u64,
    /// Drops (buffer full or halted) that no notice record has announced yet.
    pub unannounced: u64,
}

impl ShipperStats {
    /// Every event the layer could not queue.
    pub fn dropped(&self) -> u64 {
        self.dropped_full + self.dropped_halted + self.dropped_closed
    }
}

impl fmt::Display for ShipperStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} events: {} queued, {} dropped (buffer full {}, halted {}, after shutdown {}); \
             {} acked, {} too large",
            self.events,
            self.queued,
            self.dropped(),
            self.dropped_full,
            self.dropped_halted,
            self.dropped_closed,
            self.acked,
            self.too_large
        )
    }
}
