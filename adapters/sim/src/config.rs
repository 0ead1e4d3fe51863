//! What a run simulates: the fleet, the links, the intakes, the policy and the scenario.

use std::fmt;
use std::time::Duration;

use stateful_logs::ConfigError;
use stateful_logs::transport::{ApiKey, EndpointConfig, TransportConfig};

/// How the clients' cores are configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Policy {
    /// This project's defaults: lifetime jitter 10 %, progress-based ack timeout 30 s, spread
    /// retries (first retry jittered over 6 s, 6–12 s retries during a young outage, spread
    /// failover, primary probe, pushback honoured).
    Ours,
    /// `TransportConfig::with_reference_policy()`: no lifetime jitter, no ack timeout, the
    /// backoff and failover of `transport.md` §9–§10 as written (pushback ignored).
    Reference,
}

impl Policy {
    /// The name used on the command line and in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            Policy::Ours => "ours",
            Policy::Reference => "reference",
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What each simulated client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CoreKind {
    /// A bare `Transport` carrying synthetic batches whose bytes name their records (cheap).
    Transport,
    /// A whole `Pipeline` encoding short log lines (translator, batcher, zstd, Transport):
    /// the same decisions, about 20 times the time and 3 times the memory.
    Pipeline,
}

impl CoreKind {
    /// The name used on the command line and in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            CoreKind::Transport => "transport",
            CoreKind::Pipeline => "pipeline",
        }
    }
}

/// The scripted incident of a run (timings in [`crate::Scenario`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScenarioName {
    /// No incident: the fleet starts within a few seconds and rotates its streams.
    Steady,
    /// Every intake is down (streams cut, connections refused) for 60 s.
    Outage,
    /// Intake 0 silently stops acknowledging for 300 s; its streams stay open.
    Silent,
    /// The intakes restart one after another, 30 s down each, 60 s apart.
    RollingRestart,
    /// Intake 0 processes batches at a twentieth of its share of the load for 300 s.
    Slow,
    /// Intake 0 goes down for good; its clients must spread over the others.
    DeadIntake,
}

impl ScenarioName {
    /// Every scenario, in the order the README lists them.
    pub const ALL: [ScenarioName; 6] = [
        ScenarioName::Steady,
        ScenarioName::Outage,
        ScenarioName::Silent,
        ScenarioName::RollingRestart,
        ScenarioName::Slow,
        ScenarioName::DeadIntake,
    ];

    /// The name used on the command line and in summaries.
    pub const fn name(self) -> &'static str {
        match self {
            ScenarioName::Steady => "steady",
            ScenarioName::Outage => "outage",
            ScenarioName::Silent => "silent",
            ScenarioName::RollingRestart => "rolling-restart",
            ScenarioName::Slow => "slow",
            ScenarioName::DeadIntake => "dead-intake",
        }
    }
}

impl fmt::Display for ScenarioName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Per-link latency and loss. Every message on a stream arrives in order (HTTP/2 over TCP):
/// a lost packet delays the message by one retransmission timeout instead of dropping it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkConfig {
    /// Smallest one-way latency of any client's link.
    pub min_latency_ms: u64,
    /// Each client's link adds a fixed, seeded 0..=this to the minimum (near and far clients).
    pub latency_spread_ms: u64,
    /// Each message adds a seeded 0..=this.
    pub jitter_ms: u64,
    /// Chance per message, in per mille, that a packet is lost and retransmitted.
    pub loss_per_mille: u64,
    /// The delay a loss adds.
    pub retransmit_ms: u64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            min_latency_ms: 5,
            latency_spread_ms: 60,
            jitter_ms: 5,
            loss_per_mille: 10,
            retransmit_ms: 200,
        }
    }
}

/// Everything a run needs. [`SimConfig::new`] gives the defaults the README's numbers use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Simulated clients, one core each.
    pub clients: u32,
    /// The incident.
    pub scenario: ScenarioName,
    /// Seeds every random choice: the same seed gives the same run.
    pub seed: u64,
    /// How the cores are configured.
    pub policy: Policy,
    /// What the clients run.
    pub core: CoreKind,
    /// Intakes in the fleet; every client lists all of them as endpoints, its primary first.
    pub intakes: u8,
    /// Records each client produces per batch (one batch per `batch_interval`).
    pub records_per_batch: u32,
    /// How often each client flushes a batch (the Pipeline's `batch_wait`).
    pub batch_interval: Duration,
    /// Encoded bytes per record on the wire (the Loghub corpus averages 11–14).
    pub wire_bytes_per_record: u32,
    /// The cores' `stream_lifetime` (shorter than the 900 s default so that a run sees
    /// several rotations; printed in the summary).
    pub stream_lifetime: Duration,
    /// The cores' `inflight_capacity`, in batches. The tracker pre-allocates up to 1,024
    /// entries, so the default 10,000 costs ~120 KB per client before anything is sent; 256
    /// batches hold 21 minutes of this load, more than any scenario needs.
    pub inflight_capacity: usize,
    /// The clients start spread evenly over this window (a fleet deploy).
    pub start_window: Duration,
    /// New streams each intake accepts per second, as a fraction of the fleet: the fleet's
    /// intakes together accept `clients / open_capacity_divisor` streams per second.
    pub open_capacity_divisor: u32,
    /// Batches each intake processes per second, as a multiple of its share of the load.
    pub batch_capacity_factor: u32,
    /// Admission control with pushback: an open beyond an intake's new-stream capacity gets
    /// `RESOURCE_EXHAUSTED` with `grpc-retry-pushback-ms` naming a free slot (the next one
    /// not yet promised, one per `1 / capacity` s), instead of a bare `UNAVAILABLE`.
    pub intake_pushback: bool,
    /// Links.
    pub link: LinkConfig,
    /// Longest wait after the scenario for the last records to be acknowledged.
    pub max_drain: Duration,
}

impl SimConfig {
    /// The defaults for `clients` clients in `scenario`, policy `ours`, seed 1.
    pub fn new(clients: u32, scenario: ScenarioName) -> Self {
        SimConfig {
            clients,
            scenario,
            seed: 1,
            policy: Policy::Ours,
            core: CoreKind::Transport,
            intakes: 4,
            records_per_batch: 10,
            batch_interval: Duration::from_secs(5),
            wire_bytes_per_record: 12,
            stream_lifetime: Duration::from_secs(300),
            inflight_capacity: 256,
            start_window: Duration::from_secs(5),
            open_capacity_divisor: 10,
            batch_capacity_factor: 3,
            intake_pushback: true,
            link: LinkConfig::default(),
            max_drain: Duration::from_secs(900),
        }
    }

    /// The same settings with another policy.
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The same settings with another core.
    pub fn with_core(mut self, core: CoreKind) -> Self {
        self.core = core;
        self
    }

    /// The same settings with or without pushback from the intakes.
    pub fn with_intake_pushback(mut self, pushback: bool) -> Self {
        self.intake_pushback = pushback;
        self
    }

    /// The same settings with another seed.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Checks the settings; the error names the setting and the fix.
    pub fn validate(&self) -> Result<(), SimError> {
        let positive = [
            ("clients", u64::from(self.clients)),
            ("intakes", u64::from(self.intakes)),
            ("records_per_batch", u64::from(self.records_per_batch)),
            ("batch_interval", self.batch_interval.as_millis() as u64),
            ("wire_bytes_per_record", u64::from(self.wire_bytes_per_record)),
            ("open_capacity_divisor", u64::from(self.open_capacity_divisor)),
            ("batch_capacity_factor", u64::from(self.batch_capacity_factor)),
        ];
        for (setting, value) in positive {
            if value == 0 {
                return Err(SimError::Invalid { setting, reason: "must be at least 1".into() });
            }
        }
        if u64::from(self.records_per_batch) * u64::from(self.wire_bytes_per_record) > 5_000_000 {
            return Err(SimError::Invalid {
                setting: "wire_bytes_per_record",
                reason: "times records_per_batch must not exceed 5,000,000 (the Pipeline's max_batch_bytes)"
                    .into(),
            });
        }
        self.transport_config(0).validate()?;
        Ok(())
    }

    /// The core configuration of `client`: every intake as an endpoint, starting with its
    /// primary (`client % intakes`), so failover walks the fleet in a per-client order.
    pub fn transport_config(&self, client: u32) -> TransportConfig {
        let intakes = u32::from(self.intakes.max(1));
        let endpoints = (0..intakes)
            .map(|i| {
                let intake = (client + i) % intakes;
                EndpointConfig::new(format!("intake-{intake}"), 443, ApiKey::new("sim"))
            })
            .collect();
        let mut config = TransportConfig::new(endpoints);
        config.stream_lifetime = self.stream_lifetime;
        config.inflight_capacity = self.inflight_capacity;
        match self.policy {
            Policy::Ours => config,
            Policy::Reference => config.with_reference_policy(),
        }
    }
}

/// A run could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A simulator setting is out of range.
    #[error("invalid simulation setting `{setting}`: {reason}")]
    Invalid {
        /// The setting.
        setting: &'static str,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The cores' configuration is invalid.
    #[error("invalid core configuration: {0}")]
    Core(#[from] ConfigError),
    /// The plot could not be drawn or written.
    #[error("cannot write the plot {path}: {reason}; check that the directory exists and is writable")]
    Plot {
        /// The file.
        path: String,
        /// What failed.
        reason: String,
    },
}
