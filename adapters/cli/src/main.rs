//! # stateful-logs: the command-line tool
//!
//! `demo` ships the bundled Loghub samples to a local intake and shows what the stateful
//! encoding saves; `ship` sends lines of a file or stdin to an intake; `intake` runs the
//! reference intake; `bench` measures wire bytes and throughput against the HTTP JSON + zstd-1
//! baseline; `simulate` runs a fleet of real cores against simulated intakes that fail; `soak`
//! ships records through injected faults and checks that none is lost; `tls-certs` makes a
//! throwaway CA and server certificate to try TLS with. `stateful-logs COMMAND --help`
//! describes each.
//!
//! `ship` and `intake` stop cleanly on SIGTERM as on SIGINT, and exit with the codes of the
//! [`exit`] table (also in `ship --help` and `docs/cli.md`). Errors name the flags, not the
//! library settings behind them ([`flags`]). Logs go to stderr, coloured only on a terminal
//! and never with `NO_COLOR` set.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bench;
mod bench_compression;
mod cli;
mod demo;
mod endpoint;
mod exit;
mod failure_log;
mod flags;
mod follow;
mod intake_cmd;
mod lines;
mod metrics_setup;
mod records;
mod roundtrip;
mod ship;
mod signals;
mod simulate;
mod soak;
mod tls;
mod verify;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

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
    Intake(stateful_logs_intake::IntakeError),
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] metrics_setup::MetricsError),
    /// The client could not be built.
    #[error(transparent)]
    Client(stateful_logs_tokio::ClientError),
    /// A setting is invalid; told with the flag that sets it.
    #[error("{}", flags::describe(.0))]
    Config(#[from] stateful_logs::ConfigError),
    /// The client halted: the intake refused the key or the profile, or TLS failed.
    #[error("{halt}\n{advice}shipping stopped: fix the cause and run the command again", halt = .0, advice = tls::advice(.0))]
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

    /// The exit code ([`exit`]).
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) | CliError::Config(_) => exit::USAGE,
            _ => exit::ERROR,
        })
    }
}

// A setting error is told with its flag, wherever it comes from.
impl From<stateful_logs_tokio::ClientError> for CliError {
    fn from(error: stateful_logs_tokio::ClientError) -> Self {
        #[allow(unreachable_patterns)] // the client may grow other errors
        match error {
            stateful_logs_tokio::ClientError::Config(error) => CliError::Config(error),
            other => CliError::Client(other),
        }
    }
}

impl From<stateful_logs_intake::IntakeError> for CliError {
    fn from(error: stateful_logs_intake::IntakeError) -> Self {
        match error {
            stateful_logs_intake::IntakeError::Config(error) => CliError::Config(error),
            other => CliError::Intake(other),
        }
    }
}

/// Colour codes only for a terminal, and never when `NO_COLOR` is set to anything but the
/// empty string (<https://no-color.org>).
fn colour(stderr_is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo and the soak report the faults they inject themselves; the others show warnings
    // (stream failures, retries). RUST_LOG overrides either.
    let default_level =
        if matches!(cli.command, Command::Demo(_) | Command::Soak(_)) { "error" } else { "warn" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let ansi = colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR"));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi).with_filter(filter),
        )
        .with(failure_log::LastFailure::layer())
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
            Command::TlsCerts(args) => tls::run_tls_certs(args),
        }
    });
    // Background tasks (intake connections, metrics listener) end with the runtime.
    runtime.shutdown_background();
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some("".into())), "an empty NO_COLOR does not count");
        assert!(!colour(true, Some("1".into())));
        assert!(!colour(false, None));
    }
}
