//! The adaptive level of `zstd-stream` (spec Amendment 5): the highest rung of the
//! [`ladder`](super::ladder) whose measured cost at the current input rate fits a CPU budget.
//!
//! Deterministic, like the rest of the core: the driver times each pulled batch's compression
//! and hands the time in ([`LevelController::record_cost`]); time itself comes in as
//! [`Timestamp`]s. The decision is a function of those inputs only.
//!
//! The rules, in the order they apply to each batch about to be compressed:
//! - **Down at once**: when the recent rate (the last [`RECENT_PULLS`] batches) times the
//!   current rung's cost exceeds the budget, drop to the highest rung that fits in
//!   [`DOWN_TARGET`] of it. A burst is felt within a few batches, so compression never
//!   becomes the reason a backlog grows.
//! - **Up slowly**: at most once per [`HOLD_MS`], to the highest rung that fits in
//!   [`UP_TARGET`] of the budget at the peak of the recent and the [`RATE_WINDOW_MS`] rates.
//!   Each change starts a new zstd frame, which forgets the stream's history, so changes are
//!   rare and the headroom absorbs ordinary jitter.
//! - **Nothing measured, nothing raised**: until a cost has been measured (or the driver handed
//!   in a calibration, [`LevelController::calibrate`]) the controller stays where it is; a rung
//!   not yet run is estimated from the nearest measured one and the ladder's relative costs.
//!   With a calibration the first batch already gets its rung (its rate counted from the
//!   controller's start), so a stream does not begin with a frame restart.

use std::collections::VecDeque;

use crate::Timestamp;

use super::ladder::{LADDER, Rung};

/// How many recent batches the burst check looks at.
pub const RECENT_PULLS: usize = 8;
/// The least time between two rung changes upwards.
pub const HOLD_MS: u64 = 1_000;
/// The span of the slower rate estimate (and of the CPU share metric).
pub const RATE_WINDOW_MS: u64 = 10_000;
/// Going up, the new rung's predicted share must fit in this fraction of the budget.
pub const UP_TARGET: f64 = 0.5;
/// Going down, the new rung's predicted share must fit in this fraction of the budget.
pub const DOWN_TARGET: f64 = 0.75;

/// A share of one CPU core for compression, in thousandths (`250` = 25 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CpuBudget(u16);

impl CpuBudget {
    /// The default: a quarter of one core per pipeline (see `docs/compression.md`).
    pub const DEFAULT: CpuBudget = CpuBudget(250);

    /// `percent` of one core (1 to 100).
    pub const fn percent(percent: u16) -> CpuBudget {
        CpuBudget(percent.saturating_mul(10))
    }

    /// `permille` thousandths of one core.
    pub const fn permille(permille: u16) -> CpuBudget {
        CpuBudget(permille)
    }

    /// In thousandths of one core.
    pub const fn as_permille(self) -> u16 {
        self.0
    }

    fn fraction(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

/// Picks each batch's rung; see the module doc.
#[derive(Clone, Debug)]
pub struct LevelController {
    budget: CpuBudget,
    /// Rungs `0..rungs` may be used (the rest do not fit the memory budget).
    rungs: usize,
    current: usize,
    /// Measured nanoseconds per input byte, per rung (a moving average).
    cost: [Option<f64>; LADDER.len()],
    /// The driver's calibration, per rung: absolute until a batch is measured, then only the
    /// rungs' relative costs.
    calibration: [Option<f64>; LADDER.len()],
    /// (time, bytes) of the last [`RECENT_PULLS`] batches.
    recent: VecDeque<(Timestamp, u64)>,
    /// (time, bytes, nanoseconds) of the batches of the last [`RATE_WINDOW_MS`].
    window: VecDeque<(Timestamp, u64, u64)>,
    last_change: Timestamp,
    /// When the controller started: the first batch's rate counts from here.
    origin: Timestamp,
    /// The batch whose cost is expected next: its rung and size.
    pending: Option<(usize, u64)>,
    changes: u64,
}

impl LevelController {
    /// A controller for `budget` that may use the first `rungs` rungs of the ladder (at least
    /// one), starting at the cheapest at `origin`.
    pub fn new(budget: CpuBudget, rungs: usize, origin: Timestamp) -> Self {
        LevelController {
            budget,
            rungs: rungs.clamp(1, LADDER.len()),
            current: 0,
            cost: [None; LADDER.len()],
            calibration: [None; LADDER.len()],
            recent: VecDeque::with_capacity(RECENT_PULLS + 1),
            window: VecDeque::new(),
            last_change: origin,
            origin,
            pending: None,
            changes: 0,
        }
    }

    /// The rung in use.
    pub fn rung(&self) -> Rung {
        LADDER[self.current]
    }

    /// How many times the rung changed.
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The rung for a batch of `bytes` about to be compressed at `now`.
    pub fn rung_for_batch(&mut self, now: Timestamp, bytes: u64) -> Rung {
        self.recent.push_back((now, bytes));
        if self.recent.len() > RECENT_PULLS {
            self.recent.pop_front();
        }
        self.window.push_back((now, bytes, 0));
        while self.window.front().is_some_and(|&(t, _, _)| now.millis_since(t) > RATE_WINDOW_MS) {
            self.window.pop_front();
        }
        let next = self.decide(now);
        if next != self.current {
            self.current = next;
            self.last_change = now;
            self.changes += 1;
        }
        self.pending = Some((self.current, bytes));
        LADDER[self.current]
    }

    /// The driver's calibration: nanoseconds per input byte of each rung on this host (for
    /// example timed on a sample at start). Measured costs of real batches replace it.
    pub fn calibrate(&mut self, nanos_per_byte: &[f64]) {
        for (slot, &cost) in self.calibration.iter_mut().zip(nanos_per_byte) {
            *slot = (cost.is_finite() && cost > 0.0).then_some(cost);
        }
    }

    /// The driver measured `nanos` of compression for the last batch handed out.
    pub fn record_cost(&mut self, nanos: u64) {
        let Some((rung, bytes)) = self.pending.take() else { return };
        if let Some(last) = self.window.back_mut() {
            last.2 = last.2.saturating_add(nanos);
        }
        if bytes == 0 {
            return;
        }
        let sample = nanos as f64 / bytes as f64;
        let slot = &mut self.cost[rung];
        *slot = Some(match *slot {
            Some(old) => 0.75 * old + 0.25 * sample,
            None => sample,
        });
    }

    /// The share of one core spent compressing over the last [`RATE_WINDOW_MS`], in thousandths.
    pub fn cpu_share_permille(&self, now: Timestamp) -> u64 {
        let Some(&(first, _, _)) = self.window.front() else { return 0 };
        let span_ms = now.millis_since(first).max(1);
        let nanos: u64 = self.window.iter().map(|&(_, _, n)| n).sum();
        nanos / span_ms / 1_000
    }

    fn decide(&self, now: Timestamp) -> usize {
        // The first batch: its bytes arrived since the start.
        let first = self.window.len() == 1 && self.changes == 0;
        let recent_rate = if first {
            let bytes = self.window.iter().map(|&(_, b, _)| b).sum::<u64>();
            bytes as f64 * 1000.0 / now.millis_since(self.origin).max(1) as f64
        } else {
            rate(self.recent.iter().map(|&(t, b)| (t, b)), now)
        };
        let budget = self.budget.fraction();
        let fits = |rung: usize, rate: f64, target: f64| {
            self.estimated_cost(rung).is_some_and(|c| rate * c / 1e9 <= budget * target)
        };
        if let Some(cost) = self.estimated_cost(self.current)
            && recent_rate * cost / 1e9 > budget
        {
            return (0..self.current).rev().find(|&r| fits(r, recent_rate, DOWN_TARGET)).unwrap_or(0);
        }
        let held = now.millis_since(self.last_change) >= HOLD_MS || self.changes == 0;
        if !held || (self.window.len() < 2 && !first) {
            return self.current;
        }
        let window_rate =
            if first { recent_rate } else { rate(self.window.iter().map(|&(t, b, _)| (t, b)), now) };
        let peak = recent_rate.max(window_rate);
        (self.current + 1..self.rungs).rev().find(|&r| fits(r, peak, UP_TARGET)).unwrap_or(self.current)
    }

    /// Nanoseconds per byte at `rung`: measured; or scaled from the nearest measured rung by
    /// the calibration's ratio (the ladder's when there is none); or the calibration itself.
    fn estimated_cost(&self, rung: usize) -> Option<f64> {
        if let Some(c) = self.cost[rung] {
            return Some(c);
        }
        let Some(nearest) =
            (0..LADDER.len()).filter(|&r| self.cost[r].is_some()).min_by_key(|&r| r.abs_diff(rung))
        else {
            return self.calibration[rung];
        };
        let measured = self.cost[nearest]?;
        let ratio = match (self.calibration[rung], self.calibration[nearest]) {
            (Some(to), Some(from)) => to / from,
            _ => f64::from(LADDER[rung].relative_cost) / f64::from(LADDER[nearest].relative_cost),
        };
        Some(measured * ratio)
    }
}

/// Bytes per second over `pulls` (oldest first), counting the span to `now` and at least 1 ms.
fn rate(pulls: impl Iterator<Item = (Timestamp, u64)>, now: Timestamp) -> f64 {
    let mut first = None;
    let mut bytes = 0u64;
    for (t, b) in pulls {
        first.get_or_insert(t);
        bytes = bytes.saturating_add(b);
    }
    let span_ms = first.map_or(1, |f| now.millis_since(f).max(1));
    bytes as f64 * 1000.0 / span_ms as f64
}

#[cfg(test)]
mod tests;
