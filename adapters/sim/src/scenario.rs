//! The scripted incidents: what happens to which intake, when.

use crate::config::{ScenarioName, SimConfig};

/// One change to an intake at a point in simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntakeChange {
    /// The intake crashes: its streams are cut, its queued work is lost, connections refused.
    Down,
    /// The intake is back.
    Up,
    /// The intake stops acknowledging; streams open now or opened until `Acking` stay silent.
    Silent,
    /// New streams are acknowledged again (silent streams stay silent, like wedged backends).
    Acking,
    /// The intake processes batches at a twentieth of its share of the load.
    Slow,
    /// Normal speed again.
    Fast,
}

/// A scripted step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// Simulated time, ms.
    pub at_ms: u64,
    /// The intake.
    pub intake: u8,
    /// What happens to it.
    pub change: IntakeChange,
}

/// A scenario's timeline, in simulated milliseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Which one.
    pub name: ScenarioName,
    /// Opens before this are the fleet's start, not counted in the peak.
    pub warm_up_ms: u64,
    /// The incident's window, when there is one: recovery is measured from its start, and
    /// every record produced before its end must be acknowledged for a client to count as
    /// recovered.
    pub incident: Option<(u64, u64)>,
    /// The steps, in time order.
    pub steps: Vec<Step>,
    /// When the clients stop producing; the run then drains.
    pub produce_until_ms: u64,
    /// One line for the summary.
    pub description: String,
}

const INCIDENT_AT_MS: u64 = 400_000;
const RUN_MS: u64 = 1_300_000;

impl Scenario {
    /// The timeline of `config.scenario`.
    pub fn of(config: &SimConfig) -> Scenario {
        let all = 0..config.intakes;
        let at = INCIDENT_AT_MS;
        let (steps, incident, description) = match config.scenario {
            ScenarioName::Steady => {
                (Vec::new(), None, "no incident; streams rotate at their lifetime".to_owned())
            }
            ScenarioName::Outage => {
                let end = at + 60_000;
                let mut steps: Vec<Step> = all.clone().map(|i| step(at, i, IntakeChange::Down)).collect();
                steps.extend(all.map(|i| step(end, i, IntakeChange::Up)));
                (steps, Some((at, end)), format!("every intake down from {}s to {}s", at / 1000, end / 1000))
            }
            ScenarioName::Silent => {
                let end = at + 300_000;
                let steps = vec![step(at, 0, IntakeChange::Silent), step(end, 0, IntakeChange::Acking)];
                (
                    steps,
                    Some((at, end)),
                    format!("intake 0 stops acking from {}s to {}s", at / 1000, end / 1000),
                )
            }
            ScenarioName::RollingRestart => {
                let mut steps = Vec::new();
                let mut end = at;
                for i in all {
                    let down = at + 60_000 * u64::from(i);
                    end = down + 30_000;
                    steps.push(step(down, i, IntakeChange::Down));
                    steps.push(step(end, i, IntakeChange::Up));
                }
                steps.sort_by_key(|s| s.at_ms);
                let text = format!(
                    "intakes restart one by one, 30s down each, 60s apart, from {}s to {}s",
                    at / 1000,
                    end / 1000
                );
                (steps, Some((at, end)), text)
            }
            ScenarioName::DeadIntake => {
                let steps = vec![step(at, 0, IntakeChange::Down)];
                (steps, Some((at, at)), format!("intake 0 down for good from {}s", at / 1000))
            }
            ScenarioName::Slow => {
                let end = at + 300_000;
                let steps = vec![step(at, 0, IntakeChange::Slow), step(end, 0, IntakeChange::Fast)];
                let text = format!("intake 0 at 1/20 of its load from {}s to {}s", at / 1000, end / 1000);
                (steps, Some((at, end)), text)
            }
        };
        Scenario {
            name: config.scenario,
            warm_up_ms: 60_000,
            incident,
            steps,
            produce_until_ms: RUN_MS,
            description,
        }
    }
}

fn step(at_ms: u64, intake: u8, change: IntakeChange) -> Step {
    Step { at_ms, intake, change }
}
