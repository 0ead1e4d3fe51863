//! `stateful-logs simulate`: a fleet of real cores against simulated intakes
//! (`stateful-logs-sim`), with a summary per run, a comparison table and a plot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use stateful_logs_sim::{Policy, RunResult, ScenarioName, SimConfig, Simulation, Summary};

use crate::CliError;
use crate::cli::{PolicyArg, PushbackArg, SimulateArgs};

/// Runs the simulation(s), prints the summaries and writes the plot. Exits non-zero when an
/// invariant (nothing lost, exact acks, every client recovered) does not hold.
pub fn run(args: SimulateArgs) -> Result<ExitCode, CliError> {
    let scenario = ScenarioName::from(args.scenario);
    let policies: &[Policy] = match args.policy {
        PolicyArg::Ours => &[Policy::Ours],
        PolicyArg::Reference => &[Policy::Reference],
        PolicyArg::Both => &[Policy::Ours, Policy::Reference],
    };
    let pushbacks: &[bool] = match args.pushback {
        PushbackArg::On => &[true],
        PushbackArg::Off => &[false],
        PushbackArg::Both => &[true, false],
    };
    let plot = args.plot.unwrap_or_else(|| PathBuf::from(format!("simulate-{scenario}.svg")));
    let mut results: Vec<(String, RunResult)> = Vec::new();
    for &policy in policies {
        for &pushback in pushbacks {
            let mut config = SimConfig::new(args.clients, scenario)
                .with_policy(policy)
                .with_seed(args.seed)
                .with_core(args.core.into())
                .with_intake_pushback(pushback);
            config.open_capacity_divisor = args.open_capacity_divisor;
            let label = run_label(policy, pushback, args.pushback);
            let rss_before = resident_bytes("VmRSS");
            let started = Instant::now();
            let simulation = Simulation::new(config)?;
            let rss_built = resident_bytes("VmRSS");
            let result = simulation.run();
            let wall = started.elapsed();
            println!("{}", result.summary);
            if args.pushback != PushbackArg::On {
                println!("  intake pushback             {}", if pushback { "on" } else { "off" });
            }
            if args.open_capacity_divisor != 10 {
                println!(
                    "  intake admission            clients/{} new streams/s",
                    args.open_capacity_divisor
                );
            }
            println!("  wall time                   {:.1} s", wall.as_secs_f64());
            // Memory freed by an earlier run is reused by the next, so only the first run's
            // growth measures a client.
            if let (true, Some(before), Some(built)) = (results.is_empty(), rss_before, rss_built) {
                let per_client = built.saturating_sub(before) / u64::from(args.clients);
                let peak = resident_bytes("VmHWM").unwrap_or(0);
                println!(
                    "  memory                      {} bytes resident per client once built; process peak {} MiB ({} bytes per client)",
                    per_client,
                    peak / (1024 * 1024),
                    peak / u64::from(args.clients)
                );
            }
            println!();
            results.push((label, result));
        }
    }
    if results.len() > 1 {
        let runs: Vec<(&str, &Summary)> = results.iter().map(|(l, r)| (l.as_str(), &r.summary)).collect();
        println!("{}", comparison(&runs));
    }
    let runs: Vec<(&str, &stateful_logs_sim::Series)> =
        results.iter().map(|(label, r)| (label.as_str(), &r.series)).collect();
    let mut title = format!("{scenario}: {} clients, seed {}", args.clients, args.seed);
    if args.open_capacity_divisor != 10 {
        title.push_str(&format!(", intakes admit clients/{} opens/s", args.open_capacity_divisor));
    }
    stateful_logs_sim::plot::write_svg(&plot, &title, &runs)?;
    println!("plot written to {}", plot.display());
    let ok = results.iter().all(|(_, r)| r.summary.invariants_hold());
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The policy's name, and whether the intakes pushed back when both ways run.
fn run_label(policy: Policy, pushback: bool, arg: PushbackArg) -> String {
    match (arg, pushback) {
        (PushbackArg::Both, true) => format!("{policy}, pushback"),
        (PushbackArg::Both, false) => format!("{policy}, no pushback"),
        _ => policy.name().to_owned(),
    }
}

/// How a comparison row reads its value from a summary.
type Cell = fn(&Summary) -> String;

/// A Markdown table, one column per run.
fn comparison(runs: &[(&str, &Summary)]) -> String {
    let rows: [(&str, Cell); 14] = [
        ("peak stream opens/s (after warm-up)", |s| s.peak_opens_per_s.to_string()),
        ("peak stream opens/s of rotations once healthy", |s| s.peak_rotation_opens_per_s.to_string()),
        ("stream opens (over capacity; pushed back)", |s| {
            format!(
                "{} ({}; {})",
                s.counters.opens, s.counters.opens_overloaded, s.counters.opens_pushed_back
            )
        }),
        ("recovery: 99 % of clients caught up", Summary::recovery_99_text),
        ("recovery: every client caught up", Summary::recovery_text),
        ("peak clients behind", |s| s.peak_clients_behind.to_string()),
        ("most clients on one intake", |s| {
            format!("{} ({})", s.peak_clients_on_one_intake, s.peak_intake_share_text())
        }),
        ("ack timeouts / failovers", |s| format!("{} / {}", s.ack_timeouts, s.failovers)),
        ("retries set by pushback", |s| s.retry_pushbacks.to_string()),
        ("longest intake queue (batches)", |s| s.counters.peak_intake_queue.to_string()),
        ("records delivered", |s| s.counters.records_delivered.to_string()),
        ("duplicates (re-sent)", |s| s.counters.records_duplicated.to_string()),
        ("records lost", |s| s.records_lost.to_string()),
        ("peak inflight bytes per client", |s| s.peak_inflight_bytes_per_client.to_string()),
    ];
    let Some((_, first)) = runs.first() else { return String::new() };
    let mut out = format!("| {} ({} clients) |", first.scenario, first.clients);
    for (label, _) in runs {
        out.push_str(&format!(" {label} |"));
    }
    out.push_str(&format!("\n|---|{}\n", "---|".repeat(runs.len())));
    for (name, value) in rows {
        out.push_str(&format!("| {name} |"));
        for (_, summary) in runs {
            out.push_str(&format!(" {} |", value(summary)));
        }
        out.push('\n');
    }
    out
}

/// A `/proc/self/status` field in bytes (Linux); `None` elsewhere.
fn resident_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
