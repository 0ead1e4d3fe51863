//! What a run measured: counters, per-second series and the summary printed for it.

use std::fmt;

use crate::config::{CoreKind, Policy, ScenarioName};

/// Counters of a run, summed over the fleet.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// `OpenStream` actions of every core.
    pub opens: u64,
    /// Opens an intake refused for capacity (`UNAVAILABLE`, or with pushback
    /// `RESOURCE_EXHAUSTED`).
    pub opens_overloaded: u64,
    /// Of those, the ones answered with a pushback.
    pub opens_pushed_back: u64,
    /// Opens that found their intake down (connection refused).
    pub opens_refused: u64,
    /// Regular batches pulled by the cores (re-sends included).
    pub batches_sent: u64,
    /// Batches that reached a dead, silent or crashed intake, or were lost in its crash.
    pub batches_unanswered: u64,
    /// Records the producers created.
    pub records_produced: u64,
    /// Records some intake wrote, counted once.
    pub records_delivered: u64,
    /// Records an intake wrote again (re-sent after their ack was lost with the stream).
    pub records_duplicated: u64,
    /// Tokens the cores reported acknowledged.
    pub records_acked: u64,
    /// Ack entries out of order, repeated or not `Acked` (must stay 0).
    pub ack_violations: u64,
    /// Tokens acknowledged although no intake wrote their record (must stay 0).
    pub acked_not_delivered: u64,
    /// Batches whose data the intake could not read (must stay 0).
    pub malformed_batches: u64,
    /// Halts of any core (must stay 0: the intakes never refuse a key).
    pub halts: u64,
    /// The longest producer backlog of any client (batches the core had no room for).
    pub peak_held_batches: u64,
    /// The longest queue of any intake, batches.
    pub peak_intake_queue: u64,
}

/// Per-second series over simulated time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Series {
    /// `OpenStream` actions in each second.
    pub opens: Vec<u64>,
    /// Records acknowledged to the producers in each second.
    pub acked: Vec<u64>,
    /// Clients behind (something produced more than the lag bound ago is unacknowledged),
    /// sampled at the end of each second.
    pub behind: Vec<u64>,
    /// Records an intake wrote again in each second (duplicates).
    pub duplicated: Vec<u64>,
    /// Per intake: clients whose current stream is open on it, sampled at the end of each
    /// second.
    pub connected: Vec<Vec<u64>>,
}

impl Series {
    fn slot(v: &mut Vec<u64>, now_ms: u64) -> &mut u64 {
        let second = (now_ms / 1000) as usize;
        if v.len() <= second {
            v.resize(second + 1, 0);
        }
        &mut v[second]
    }

    pub(crate) fn count_open(&mut self, now_ms: u64) {
        *Self::slot(&mut self.opens, now_ms) += 1;
    }

    pub(crate) fn count_acked(&mut self, now_ms: u64, n: u64) {
        *Self::slot(&mut self.acked, now_ms) += n;
    }

    pub(crate) fn count_duplicated(&mut self, now_ms: u64, n: u64) {
        *Self::slot(&mut self.duplicated, now_ms) += n;
    }

    pub(crate) fn set_behind(&mut self, now_ms: u64, n: u64) {
        *Self::slot(&mut self.behind, now_ms) = n;
    }

    pub(crate) fn set_connected(&mut self, now_ms: u64, per_intake: &[u64]) {
        if self.connected.len() < per_intake.len() {
            self.connected.resize(per_intake.len(), Vec::new());
        }
        for (series, &n) in self.connected.iter_mut().zip(per_intake) {
            *Self::slot(series, now_ms) = n;
        }
    }
}

/// The numbers of one run. Its `Display` is the printed summary; the same seed and settings
/// give the same summary, byte for byte (wall time is not part of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The scenario.
    pub scenario: ScenarioName,
    /// What happens in it.
    pub description: String,
    /// The policy.
    pub policy: Policy,
    /// What the clients run.
    pub core: CoreKind,
    /// Clients.
    pub clients: u32,
    /// Intakes.
    pub intakes: u8,
    /// The seed.
    pub seed: u64,
    /// The cores' stream lifetime, s.
    pub stream_lifetime_s: u64,
    /// The cores' lifetime jitter, percent.
    pub lifetime_jitter_percent: u8,
    /// The cores' ack timeout, s (`None` = off).
    pub ack_timeout_s: Option<u64>,
    /// Simulated time until the last record was acknowledged (or the drain gave up), s.
    pub simulated_s: u64,
    /// The most opens in one second during the fleet's start (before the warm-up ends).
    pub start_peak_opens_per_s: u64,
    /// The most opens in one second after the warm-up, and that second.
    pub peak_opens_per_s: u64,
    /// The second of `peak_opens_per_s`.
    pub peak_opens_at_s: u64,
    /// The most opens in one second once the fleet is healthy again (after the warm-up, or
    /// after the recovery), until the clients stop producing: the rotation waves.
    pub peak_rotation_opens_per_s: u64,
    /// The second of `peak_rotation_opens_per_s`.
    pub peak_rotation_opens_at_s: u64,
    /// Seconds from the incident's start until no client was behind any more (`None`: no
    /// incident; `Some(None)` inside: some client never recovered).
    pub recovery_s: Option<Option<u64>>,
    /// The same until at most 1 % of the clients were behind.
    pub recovery_99_s: Option<Option<u64>>,
    /// The most clients behind at once after the warm-up.
    pub peak_clients_behind: u64,
    /// The most clients connected to one intake at once after the warm-up (a sample per
    /// second), and that intake.
    pub peak_clients_on_one_intake: u64,
    /// The intake of `peak_clients_on_one_intake`.
    pub peak_clients_intake: u8,
    /// Retries whose delay an intake's pushback set, over the fleet.
    pub retry_pushbacks: u64,
    /// The largest tracker (encoded bytes) of any client.
    pub peak_inflight_bytes_per_client: u64,
    /// The mean over clients of each one's largest tracker.
    pub mean_peak_inflight_bytes_per_client: u64,
    /// The counters.
    pub counters: Counters,
    /// Records produced and never written by any intake.
    pub records_lost: u64,
    /// Records produced and not acknowledged when the run ended.
    pub records_unacked: u64,
    /// Failure rotations on ack timeouts, over the fleet.
    pub ack_timeouts: u64,
    /// Endpoint switches, over the fleet.
    pub failovers: u64,
    /// Events the simulator processed.
    pub events: u64,
}

impl Summary {
    /// Whether every invariant held: nothing lost or left unacknowledged, acks exact, no
    /// halt, and every client recovered from the incident.
    pub fn invariants_hold(&self) -> bool {
        let c = &self.counters;
        self.records_lost == 0
            && self.records_unacked == 0
            && c.ack_violations == 0
            && c.acked_not_delivered == 0
            && c.malformed_batches == 0
            && c.halts == 0
            && c.records_acked == c.records_produced
            && !matches!(self.recovery_s, Some(None))
    }

    /// The recovery time (every client caught up) as printed.
    pub fn recovery_text(&self) -> String {
        Self::duration_text(self.recovery_s)
    }

    /// `peak_clients_on_one_intake` as a percentage of the fleet, one decimal.
    pub fn peak_intake_share_text(&self) -> String {
        let permille = self.peak_clients_on_one_intake * 1000 / u64::from(self.clients.max(1));
        format!("{}.{} %", permille / 10, permille % 10)
    }

    /// The time until 99 % of the clients caught up, as printed.
    pub fn recovery_99_text(&self) -> String {
        Self::duration_text(self.recovery_99_s)
    }

    fn duration_text(value: Option<Option<u64>>) -> String {
        match value {
            None => "n/a (no incident)".to_owned(),
            Some(None) => "never".to_owned(),
            Some(Some(s)) => format!("{s} s"),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counters;
        let ack_timeout = self.ack_timeout_s.map_or_else(|| "off".to_owned(), |s| format!("{s} s"));
        writeln!(
            f,
            "scenario {} ({}), policy {}, core {}",
            self.scenario,
            self.description,
            self.policy,
            self.core.name()
        )?;
        writeln!(
            f,
            "  {} clients, {} intakes, seed {}; stream lifetime {} s, lifetime jitter {} %, ack timeout {}",
            self.clients,
            self.intakes,
            self.seed,
            self.stream_lifetime_s,
            self.lifetime_jitter_percent,
            ack_timeout
        )?;
        writeln!(f, "  simulated time              {} s ({} events)", self.simulated_s, self.events)?;
        writeln!(
            f,
            "  peak stream opens/s         {} (at {} s; fleet start: {}; rotations once healthy: {} at {} s)",
            self.peak_opens_per_s,
            self.peak_opens_at_s,
            self.start_peak_opens_per_s,
            self.peak_rotation_opens_per_s,
            self.peak_rotation_opens_at_s
        )?;
        writeln!(
            f,
            "  stream opens                {} ({} over capacity, {} of them pushed back; {} refused while down)",
            c.opens, c.opens_overloaded, c.opens_pushed_back, c.opens_refused
        )?;
        writeln!(
            f,
            "  ack timeouts, failovers     {}, {} (retries set by pushback: {})",
            self.ack_timeouts, self.failovers, self.retry_pushbacks
        )?;
        writeln!(
            f,
            "  most clients on one intake  {} ({} of the fleet, intake {})",
            self.peak_clients_on_one_intake,
            self.peak_intake_share_text(),
            self.peak_clients_intake
        )?;
        writeln!(f, "  longest intake queue        {} batches", c.peak_intake_queue)?;
        writeln!(
            f,
            "  recovery (all caught up)    {} (99 % of clients: {})",
            self.recovery_text(),
            self.recovery_99_text()
        )?;
        writeln!(f, "  peak clients behind         {}", self.peak_clients_behind)?;
        writeln!(f, "  records produced            {}", c.records_produced)?;
        writeln!(f, "  records delivered           {}", c.records_delivered)?;
        writeln!(f, "  duplicates (re-sent)        {}", c.records_duplicated)?;
        writeln!(f, "  records lost                {}", self.records_lost)?;
        writeln!(f, "  records unacknowledged      {}", self.records_unacked)?;
        writeln!(
            f,
            "  peak inflight bytes/client  {} (mean of per-client peaks {})",
            self.peak_inflight_bytes_per_client, self.mean_peak_inflight_bytes_per_client
        )?;
        write!(
            f,
            "  invariants                  {}",
            if self.invariants_hold() { "hold" } else { "VIOLATED" }
        )?;
        if !self.invariants_hold() {
            write!(
                f,
                " (ack violations {}, acked but not delivered {}, malformed {}, halts {})",
                c.ack_violations, c.acked_not_delivered, c.malformed_batches, c.halts
            )?;
        }
        Ok(())
    }
}
