//! The exit codes of `ship` and `intake`, and how a stop signal ends them. The same table is
//! in `ship --help`, `intake --help` and `docs/cli.md`.
//!
//! | code | `ship` | `intake` |
//! |---|---|---|
//! | 0 | every record read was acknowledged (after a stop signal: every record sent) | stopped by a signal, everything it received answered |
//! | 1 | error: the intake refused the key or the profile, TLS failed, the input cannot be read | error: the output cannot be written |
//! | 2 | usage: an invalid option or setting, no API key | usage: an invalid option or setting |
//! | 3 | every record was resolved, but some lines were dropped as too large | — |
//! | 4 | not everything was acknowledged: the `--shutdown-timeout` deadline passed, or `--give-up-after` gave up | — |
//! | 130 / 143 | a second SIGINT / SIGTERM stopped it at once | the same |

use std::process::ExitCode;

/// Everything done.
pub const SUCCESS: u8 = 0;
/// An error stopped the command.
pub const ERROR: u8 = 1;
/// The command line or a setting is invalid.
pub const USAGE: u8 = 2;
/// `ship`: some lines were dropped as too large, everything else was acknowledged.
pub const DROPPED: u8 = 3;
/// `ship`: some records were not acknowledged (deadline passed or gave up).
pub const NOT_ACKNOWLEDGED: u8 = 4;

/// The code of a `ship` that ended with `unacknowledged` records unresolved and `dropped`
/// lines dropped: not acknowledged outranks dropped.
pub fn ship_code(unacknowledged: u64, dropped: u64) -> ExitCode {
    ExitCode::from(match (unacknowledged, dropped) {
        (0, 0) => SUCCESS,
        (0, _) => DROPPED,
        _ => NOT_ACKNOWLEDGED,
    })
}

/// The end of `ship --help`.
pub const SHIP_HELP: &str = "\
Stopping:
  SIGTERM (systemd, docker stop, Kubernetes) and SIGINT (Ctrl-C) stop ship alike: it stops
  reading its input, waits up to --shutdown-timeout for the acknowledgements of the records it
  sent, saves --state-file (the last acknowledged line: a restart sends again only what was
  not acknowledged), prints a summary and exits with the code below. A second signal stops it
  at once.

Exit codes:
  0    every record was acknowledged (after a stop signal: every record sent)
  1    error: the intake refused the API key or the profile, TLS failed, the input cannot be read
  2    usage: an invalid option or setting, or no API key
  3    every line was delivered except some dropped as too large (each one is named in a warning)
  4    not everything was acknowledged: the --shutdown-timeout deadline passed, or nothing was
       acknowledged for --give-up-after
  130  a second SIGINT stopped it at once (143: a second SIGTERM); unacknowledged records stay
       after the state file's position and are sent again by the next run";

/// The end of `intake --help`.
pub const INTAKE_HELP: &str = "\
Stopping:
  SIGTERM and SIGINT (Ctrl-C) stop the intake alike: it stops accepting connections and
  calls, sends every acknowledgement it owes (each batch was written and flushed to the output
  before), ends the open calls with UNAVAILABLE so that clients send the rest again elsewhere or
  later, waits up to --shutdown-timeout for the connections to close, prints its final
  statistics and exits 0. A second signal stops it at once.

Exit codes:
  0    stopped by a signal
  1    error: the output cannot be written
  2    usage: an invalid option or setting
  130  a second SIGINT stopped it at once (143: a second SIGTERM)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_acknowledged_outranks_dropped() {
        assert_eq!(ship_code(0, 0), ExitCode::from(SUCCESS));
        assert_eq!(ship_code(0, 2), ExitCode::from(DROPPED));
        assert_eq!(ship_code(5, 2), ExitCode::from(NOT_ACKNOWLEDGED));
        assert_eq!(ship_code(5, 0), ExitCode::from(NOT_ACKNOWLEDGED));
    }
}
