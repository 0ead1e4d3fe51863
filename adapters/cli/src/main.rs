//! # stateful-logs: the command-line tool
//!
//! `demo` ships the bundled Loghub samples to a local intake and shows what the stateful
//! encoding saves; `ship` sends lines of a file or stdin to an intake; `intake` runs the
//! reference intake; `bench` measures wire bytes and throughput against the HTTP JSON + zstd-1
//! baseline; `simulate` runs a fleet of real cores against simulated intakes that fail; `soak`
//! ships records through injected faults and checks that none is lost.
//! `stateful-logs COMMAND --help` describes each.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bench;
mod cli;
mod demo;
mod endpoint;
mod follow;
mod intake_cmd;
mod lines;
mod metrics_setup;
mod records;
mod roundtrip;
mod ship;
mod simulate;
mod soak;
mod verify;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Why a command failed; the message tells the user what to do.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The intake could not start.
    #[error(transparent)]
    Intake(#[from] stateful_logs_intake::IntakeError),
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] metrics_setup::MetricsError),
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] stateful_logs_tokio::ClientError),
    /// A setting is invalid.
    #[error(transparent)]
    Config(#[from] stateful_logs::ConfigError),
    /// The client halted: the intake refused the key or the profile, or TLS failed.
    #[error("{0}\nshipping stopped: fix the cause and run the command again")]
    Halted(stateful_logs_tokio::HaltError),
    /// Delivered records do not match the input (demo).
    #[error("delivery check failed: {0}")]
    Delivery(#[from] verify::DeliveryError),
    /// Some records were not acknowledged.
    #[error("{0}")]
    Incomplete(String),
    /// A fleet simulation could not run.
    #[error(transparent)]
    Simulation(#[from] stateful_logs_sim::SimError),
}

impl CliError {
    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io { context: context.into(), source }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and the soak report the faults they inject themselves; the others show warnings
    // (stream failures, retries). RUST_LOG overrides either.
    let default_level =
        if matches!(cli.command, Command::Demo(_) | Command::Soak(_)) { "error" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Ship(args) => ship::run(args).await,
            Command::Intake(args) => intake_cmd::run(args).await,
            Command::Bench(args) => bench::run(args),
            Command::Simulate(args) => simulate::run(args),
            Command::Soak(args) => soak::run(args).await,
        }
    });
    // Background tasks (intake connections, metrics listener) end with the runtime.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            match error {
                CliError::Usage(_) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}
