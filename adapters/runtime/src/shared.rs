//! What a pipeline's driver and its producer handles share: the memory budget of the records
//! queued in front of the core, the halt in force and the state, readable without a round
//! trip to the driver.
//!
//! The budget is the Pipeline's (`PipelineConfig::max_buffer_bytes`): the core accounts what
//! it holds and enforces its share itself; the driver publishes that figure here after every
//! step, and a handle admits a record only while the queued records plus the core's figure
//! stay within the budget. A record moves from the queue to the core before its reservation
//! is released, so the sum never undercounts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use event_listener::{Event, EventListener};
use stateful_logs::Pipeline;
use stateful_logs::transport::{HaltError, State};

/// What the client reads about a pipeline without asking its driver.
#[derive(Clone, Debug)]
pub(crate) struct PipelineStatus {
    pub state: State,
    pub halted: Option<HaltError>,
}

/// The byte budget of one pipeline as the handles see it.
pub(crate) struct Budget {
    /// The budget less the core's fixed part (its compression context).
    limit: u64,
    /// Reserved by records in the queue (and the one the driver holds back).
    queued: AtomicU64,
    /// What the core holds beyond its fixed part, as last published by the driver.
    core: AtomicU64,
    /// Notified whenever room may have been freed, or the pipeline halted.
    freed: Event,
}

impl Budget {
    /// Reserves `cost` if it fits; a record always fits into an empty pipeline, so one larger
    /// than the budget still reaches the core (which drops it as too large, with its token).
    pub(crate) fn try_reserve(&self, cost: u64) -> bool {
        let core = self.core.load(Ordering::Acquire);
        self.queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                let empty = queued == 0 && core == 0;
                (empty || queued + core + cost <= self.limit).then_some(queued + cost)
            })
            .is_ok()
    }

    /// Gives back a reservation (the record reached the core, or was not queued).
    pub(crate) fn release(&self, cost: u64) {
        let _ =
            self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| Some(q.saturating_sub(cost)));
        self.freed.notify(usize::MAX);
    }

    /// Wakes every waiting sender (to see a closed queue or a halt).
    pub(crate) fn wake_all(&self) {
        self.freed.notify(usize::MAX);
    }

    /// A listener woken when room may have been freed.
    pub(crate) fn listen(&self) -> EventListener {
        self.freed.listen()
    }
}

/// The shared part of a pipeline.
pub(crate) struct Shared {
    status: Mutex<PipelineStatus>,
    halted: AtomicBool,
    /// The core's fixed part of the budget, subtracted from what it publishes.
    fixed: u64,
    pub(crate) budget: Budget,
}

impl Shared {
    pub(crate) fn new(core: &Pipeline) -> Self {
        let fixed = core.buffered_bytes();
        Shared {
            status: Mutex::new(PipelineStatus { state: core.state(), halted: None }),
            halted: AtomicBool::new(false),
            fixed,
            budget: Budget {
                limit: core.max_buffer_bytes().saturating_sub(fixed),
                queued: AtomicU64::new(0),
                core: AtomicU64::new(0),
                freed: Event::new(),
            },
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PipelineStatus> {
        self.status.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The state and halt in force.
    pub(crate) fn status(&self) -> PipelineStatus {
        self.lock().clone()
    }

    /// The halt in force, if any (a cheap check on every send).
    pub(crate) fn halted(&self) -> Option<HaltError> {
        if self.halted.load(Ordering::Acquire) { self.lock().halted.clone() } else { None }
    }

    /// Sets or clears the halt; wakes waiting senders so that they see it.
    pub(crate) fn set_halted(&self, error: Option<HaltError>) {
        let mut status = self.lock();
        self.halted.store(error.is_some(), Ordering::Release);
        status.halted = error;
        drop(status);
        self.budget.freed.notify(usize::MAX);
    }

    /// Publishes the core's state and what it holds; wakes senders when that shrank.
    pub(crate) fn publish(&self, core: &Pipeline) {
        self.lock().state = core.state();
        let held = core.buffered_bytes().saturating_sub(self.fixed);
        let before = self.budget.core.swap(held, Ordering::AcqRel);
        if held < before {
            self.budget.freed.notify(usize::MAX);
        }
    }
}
