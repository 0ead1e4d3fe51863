//! `stateful-logs bench` (lands with the core's `measure` module).
use std::process::ExitCode;

use crate::CliError;
use crate::cli::BenchArgs;

/// Runs `bench`.
pub fn run(_args: BenchArgs) -> Result<ExitCode, CliError> {
    Err(CliError::Usage("bench is not available in this build yet".into()))
}
