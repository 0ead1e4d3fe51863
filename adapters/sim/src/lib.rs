//! # stateful-logs-sim: a fleet of real cores against intakes that fail
//!
//! A deterministic discrete-event simulator. It runs N real cores against simulated intakes,
//! on a simulated clock that jumps from one event to the next. A core is a
//! [`stateful_logs::transport::Transport`] (the state machine that decides streams, acks,
//! rotation with lifetime jitter, ack timeouts, backoff and failover; nothing of it is
//! mocked) carrying synthetic batches, or with [`CoreKind::Pipeline`] a whole
//! [`stateful_logs::Pipeline`] encoding log lines around the same Transport.
//!
//! - **clients**: each one core with every intake as an endpoint (its primary first), and a
//!   producer that flushes one batch of records with ack tokens every few seconds; the
//!   producer keeps what the core has no room for;
//! - **links**: a fixed per-client latency, per-message jitter and loss (a lost packet delays
//!   its message by a retransmission timeout; a stream stays in order, as HTTP/2 over TCP);
//! - **intakes**: a bounded number of new streams per second (beyond it `RESOURCE_EXHAUSTED`
//!   with a retry pushback that promises a later slot, or a bare `UNAVAILABLE`), one batch
//!   processor at a bounded rate, an ack per processed batch;
//! - **incidents** ([`ScenarioName`]): every intake down, one intake silent, a rolling
//!   restart, one slow intake, one intake down for good.
//!
//! Every record is checked: delivered at some intake (counted once; re-sends counted as
//! duplicates), acknowledged exactly once and in order by the core, and nothing lost. The
//! same seed gives the same run: events at the same millisecond run in the order they were
//! scheduled, and every random choice comes from seeded SplitMix64 generators.
//!
//! ```
//! use stateful_logs_sim::{Policy, ScenarioName, SimConfig, Simulation};
//!
//! let config = SimConfig::new(50, ScenarioName::Outage).with_policy(Policy::Ours).with_seed(7);
//! let result = Simulation::new(config).unwrap().run();
//! assert!(result.summary.invariants_hold());
//! assert_eq!(result.summary.records_lost, 0);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admission;
mod client;
mod config;
mod core;
mod ctx;
mod intake;
mod link;
pub mod plot;
mod queue;
mod report;
mod scenario;
mod wiring;
mod world;

pub use config::{CoreKind, LinkConfig, Policy, ScenarioName, SimConfig, SimError};
pub use report::{Counters, Series, Summary};
pub use scenario::{IntakeChange, Scenario, Step};
pub use world::{MAX_LAG_MS, RunResult, Simulation};
