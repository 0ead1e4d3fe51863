//! The command line: commands and their arguments.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// Ship logs over the gRPC stateful-encoding logs protocol, run a reference intake, measure.
#[derive(Debug, Parser)]
#[command(name = "stateful-logs", version, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Ship real sample logs to a local intake and show what the encoding saves.
    Demo(DemoArgs),
    /// Send each line of a file or stdin as one record to an intake.
    #[command(after_long_help = crate::exit::SHIP_HELP)]
    Ship(ShipArgs),
    /// Run the reference intake: receive, acknowledge and write records as JSON lines.
    #[command(after_long_help = crate::exit::INTAKE_HELP)]
    Intake(IntakeArgs),
    /// Measure wire bytes and encode throughput against the HTTP JSON + zstd-1 baseline.
    Bench(BenchArgs),
    /// Simulate a fleet of clients (real cores) against intakes that fail, deterministically.
    Simulate(SimulateArgs),
    /// Ship records over loopback through faults (killed streams, restarts, withheld acks,
    /// a rejected key, failover) and check that nothing is lost.
    Soak(SoakArgs),
    /// Make a throwaway CA and a server certificate signed by it, to try TLS on one machine:
    /// `intake --tls-cert DIR/server.pem --tls-key DIR/server.key`, `ship --ca DIR/ca.pem`.
    TlsCerts(TlsCertsArgs),
}

/// A wire profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// `v1`: the reference agent's profile.
    V1,
    /// `v2`.
    V2,
}

impl From<ProfileArg> for stateful_logs::Profile {
    fn from(p: ProfileArg) -> Self {
        match p {
            ProfileArg::V1 => stateful_logs::Profile::V1,
            ProfileArg::V2 => stateful_logs::Profile::V2,
        }
    }
}

/// A batch compression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// One zstd stream per gRPC stream (the default; intakes without it get zstd level 1).
    ZstdStream,
    /// zstd level 1, one frame per batch.
    Zstd,
    /// gzip level 6.
    Gzip,
    /// No compression.
    None,
}

/// A compression level: `auto` or a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelArg {
    /// Picked from the input rate within the CPU budget (`zstd-stream`; others use their
    /// default level).
    Auto,
    /// This level.
    Fixed(i32),
}

impl std::str::FromStr for LevelArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(LevelArg::Auto);
        }
        s.parse().map(LevelArg::Fixed).map_err(|_| format!("'{s}' is not a level: use auto or a number"))
    }
}

impl CompressionArg {
    /// The library's compression for this codec, level, CPU budget (percent) and window.
    pub fn with(
        self,
        level: LevelArg,
        cpu_percent: u16,
        window_log: u8,
    ) -> stateful_logs::codec::Compression {
        use stateful_logs::codec::{Compression, CpuBudget};
        let compression = match (self, level) {
            (CompressionArg::ZstdStream, LevelArg::Auto) => {
                Compression::adaptive(CpuBudget::percent(cpu_percent))
            }
            (CompressionArg::ZstdStream, LevelArg::Fixed(l)) => Compression::zstd_stream(l),
            (CompressionArg::Zstd, LevelArg::Auto) => Compression::zstd(1),
            (CompressionArg::Zstd, LevelArg::Fixed(l)) => Compression::zstd(l),
            (CompressionArg::Gzip, LevelArg::Auto) => Compression::gzip(6),
            (CompressionArg::Gzip, LevelArg::Fixed(l)) => Compression::gzip(l),
            (CompressionArg::None, _) => Compression::identity(),
        };
        Compression { window_log, ..compression }
    }
}

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Ship this file instead of the bundled Loghub samples (repeat for several).
    #[arg(long, value_name = "FILE")]
    pub input: Vec<PathBuf>,
    /// Kill streams and delay acks during the run, to show that nothing is lost.
    #[arg(long)]
    pub faults: bool,
    /// Records per batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// The wire profile.
    #[arg(long, value_enum, default_value_t = ProfileArg::V1)]
    pub profile: ProfileArg,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Arguments of `ship`.
#[derive(Debug, clap::Args)]
pub struct ShipArgs {
    /// Intake URL, e.g. `http://127.0.0.1:4317` or `https://intake.example:443`; repeat for
    /// failover endpoints, in priority order.
    #[arg(long = "endpoint", value_name = "URL", required = true)]
    pub endpoints: Vec<String>,
    /// The environment variable holding the API key.
    #[arg(long, default_value = "DD_API_KEY", value_name = "VAR")]
    pub api_key_env: String,
    /// The wire profile.
    #[arg(long, value_enum, default_value_t = ProfileArg::V1)]
    pub profile: ProfileArg,
    /// Batch compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::ZstdStream)]
    pub compression: CompressionArg,
    /// Compression level: `auto` (zstd-stream: the highest the CPU budget allows at the
    /// current input rate) or a fixed number (zstd 1 to 22, gzip 0 to 9).
    #[arg(long, default_value = "auto", value_name = "auto|LEVEL")]
    pub compression_level: LevelArg,
    /// With `--compression-level auto`: the share of one core compression may use, in percent.
    #[arg(long, default_value_t = 25, value_name = "PERCENT", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub compression_cpu: u16,
    /// `zstd-stream` window: 2^LOG bytes per stream on both sides (10 to 27; the intake's
    /// limit is 23 by default).
    #[arg(long, default_value_t = 20, value_name = "LOG", value_parser = clap::value_parser!(u8).range(10..=27))]
    pub zstd_stream_window_log: u8,
    /// Use TLS for every endpoint (implied by `https://`).
    #[arg(long)]
    pub tls: bool,
    /// Trust this PEM CA file instead of the system roots (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// The file to read; `-` for stdin.
    #[arg(long, default_value = "-", value_name = "FILE|-")]
    pub input: String,
    /// Keep reading as the file grows (like `tail -F`), following rotation and truncation.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: persist the offset of the last acknowledged line here and resume from it.
    #[arg(long, value_name = "FILE", requires = "follow")]
    pub state_file: Option<PathBuf>,
    /// `v1` batch delta encoding; must match the intake.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub v1_delta_encoding: bool,
    /// Serve metrics in the Prometheus text format on http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Service of every record.
    #[arg(long)]
    pub service: Option<String>,
    /// Host name of every record.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Source (`ddsource`) of every record.
    #[arg(long)]
    pub source: Option<String>,
    /// Status of every record, e.g. `info`.
    #[arg(long)]
    pub status: Option<String>,
    /// A tag of every record, e.g. `env:prod` (repeat for several).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Records per batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// Raw bytes per batch, and so per line: a longer line is dropped with a warning naming
    /// it, and ship exits 3.
    #[arg(long, default_value_t = 5_000_000, value_name = "BYTES")]
    pub max_batch_bytes: u64,
    /// The largest batch message the intake accepts (4 MiB less framing: the default limit of
    /// gRPC servers). Batches close early to stay under it; a line that cannot fit one is
    /// dropped with a warning naming it, and ship exits 3.
    #[arg(long, default_value_t = stateful_logs::transport::DEFAULT_MAX_MESSAGE_BYTES, value_name = "BYTES")]
    pub max_message_bytes: u64,
    /// Memory budget: everything ship holds for the intake (queued lines, the open batch,
    /// batches awaiting their ack, the compression context) stays within it; reading the
    /// input pauses while it is full. 64 MiB by default.
    #[arg(long, default_value_t = stateful_logs::pipeline::budget::DEFAULT_MAX_BUFFER_BYTES, value_name = "BYTES")]
    pub max_buffer: u64,
    /// How long a stop (SIGTERM, SIGINT, or the end of the input) waits for the outstanding
    /// acknowledgements: e.g. 10s, 500ms, 2m (a bare number is seconds).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Without --follow: stop (exit 4, saying what failed) when nothing was acknowledged for
    /// this long while records wait: a wrong port or host, an intake that is down. The 60 s
    /// default rides out an intake restart or a failover (about six reconnection attempts
    /// with the client's backoff) yet tells a script about a wrong address within a minute.
    /// 0 never gives up. A --follow run never gives up (it is stopped by a signal).
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration,
          conflicts_with = "follow")]
    pub give_up_after: Duration,
}

/// Parses a duration: a number with a unit, `ms`, `s`, `m` or `h` (`500ms`, `10s`, `2m`), or a
/// bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?} is not a duration; write e.g. 10s, 500ms, 2m or a number of seconds");
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let unit_ms = match unit {
        "" | "s" => 1_000,
        "ms" => 1,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    number.checked_mul(unit_ms).map(Duration::from_millis).ok_or_else(bad)
}

/// A duration as a user would write it: `500 ms`, `10 s`, `2 min`.
pub fn show_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if !ms.is_multiple_of(1_000) {
        format!("{ms} ms")
    } else if ms >= 60_000 && ms.is_multiple_of(60_000) {
        format!("{} min", ms / 60_000)
    } else {
        format!("{} s", ms / 1_000)
    }
}

/// Arguments of `intake`.
#[derive(Debug, clap::Args)]
pub struct IntakeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// An accepted API key (repeat for several).
    #[arg(long = "api-key", value_name = "KEY")]
    pub api_keys: Vec<String>,
    /// Accept any API key (authentication off). Required when no --api-key is given.
    #[arg(long)]
    pub insecure_accept_any_key: bool,
    /// Write the records here, one JSON object per line (default: stdout).
    #[arg(long, value_name = "FILE.jsonl")]
    pub output: Option<PathBuf>,
    /// `v1` batch delta encoding; must match the clients.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub v1_delta_encoding: bool,
    /// Serve metrics in the Prometheus text format on http://ADDR/metrics.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Delay every acknowledgement by this many milliseconds (fault injection, for tests).
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub ack_delay_ms: u64,
    /// Refuse the `zstd-stream` content encoding, as an intake without it would (clients
    /// then fall back to per-batch zstd); for tests.
    #[arg(long)]
    pub refuse_zstd_stream: bool,
    /// The largest `zstd-stream` window a client may use: 2^LOG bytes (10 to 27).
    #[arg(long, default_value_t = 23, value_name = "LOG", value_parser = clap::value_parser!(u8).range(10..=27))]
    pub max_stream_window_log: u8,
    /// Seconds between statistics lines on stderr; 0 for none.
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub stats_interval: u64,
    /// Open TCP connections at most; one more is closed at once.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_connections: usize,
    /// Concurrent streams (calls) at most, over all connections; one more is refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub max_streams: usize,
    /// Seconds a connection may take to send its first complete request before it is closed
    /// (slow or silent clients).
    #[arg(long, default_value_t = 10, value_name = "SECS")]
    pub first_request_timeout: u64,
    /// How long a stop (SIGTERM, SIGINT) waits for the open connections to take their last
    /// acknowledgements and close: e.g. 10s, 500ms (a bare number is seconds).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// Admission control: new streams admitted per second at most; one more is refused with
    /// RESOURCE_EXHAUSTED and a retry pushback naming a later slot (clients of this project
    /// come back then). Unlimited when not given.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_stream_opens_per_sec: Option<u32>,
    /// Serve TLS with this PEM certificate chain (the server's certificate first); clients
    /// then connect with https:// (`tls-certs` makes one to try). Needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// Arguments of `tls-certs`.
#[derive(Debug, clap::Args)]
pub struct TlsCertsArgs {
    /// The folder to write `ca.pem`, `server.pem` and `server.key` into (created if missing;
    /// existing files are never replaced).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// A host name or IP address the server certificate is valid for (repeat for several)
    /// [default: localhost, 127.0.0.1 and ::1].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,
}

/// A corpus bundled with the repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CorpusArg {
    /// `corpora/loghub/*.log`: the 8 Loghub text samples.
    Loghub,
    /// `corpora/json/*.jsonl`: the same, as JSON logs of common loggers.
    Json,
    /// `corpora/long/*.log.zst`: two whole Loghub data sets (56 k and 26 k lines).
    Long,
}

/// Arguments of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Files to measure, one record per kept line.
    #[arg(long, value_name = "FILE", num_args = 1.., required_unless_present = "corpus")]
    pub input: Vec<PathBuf>,
    /// Measure a bundled corpus (read from the repository's `corpora/`), after any `--input`.
    #[arg(long, value_enum, value_name = "CORPUS")]
    pub corpus: Option<CorpusArg>,
    /// Records per batch.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub batch_size: u32,
    /// Only this wire profile (default: both, side by side).
    #[arg(long, value_enum)]
    pub profile: Option<ProfileArg>,
    /// One JSON object per line, file and profile instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Instead: the adaptive level at these input rates (records/s; `k` and `M` suffixes).
    #[arg(long, value_name = "RATE,…", value_delimiter = ',', value_parser = parse_rate)]
    pub rates: Vec<f64>,
    /// The compression CPU budget for `--rates`, in percent of one core.
    #[arg(long, default_value_t = 25, value_name = "PERCENT", value_parser = clap::value_parser!(u16).range(1..=100))]
    pub compression_cpu: u16,
    /// Instead: bytes and speed at each zstd-stream level.
    #[arg(long)]
    pub levels: bool,
    /// Instead: where the wire's bytes beyond the log text go.
    #[arg(long)]
    pub framing: bool,
    /// `zstd-stream` window for `--rates`, `--levels` and `--framing`: 2^LOG bytes.
    #[arg(long, default_value_t = 20, value_name = "LOG", value_parser = clap::value_parser!(u8).range(10..=27))]
    pub zstd_stream_window_log: u8,
}

/// A rate such as `50000`, `50k` or `1M`.
fn parse_rate(s: &str) -> Result<f64, String> {
    let (digits, factor) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1e3),
        None => match s.strip_suffix('M') {
            Some(d) => (d, 1e6),
            None => (s, 1.0),
        },
    };
    match digits.parse::<f64>() {
        Ok(v) if v * factor >= 1.0 && v.is_finite() => Ok(v * factor),
        _ => Err(format!("'{s}' is not a rate: use records per second such as 10000, 50k or 1M")),
    }
}

/// A fleet simulation scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// No incident: the fleet starts within 5 s and rotates its streams.
    Steady,
    /// Every intake down for 60 s.
    Outage,
    /// Intake 0 silently stops acknowledging for 300 s.
    Silent,
    /// The 4 intakes restart one after another, 30 s down each.
    RollingRestart,
    /// Intake 0 processes batches at 1/20 of its load for 300 s.
    Slow,
    /// Intake 0 goes down for good; its clients spread over the others.
    DeadIntake,
}

impl From<ScenarioArg> for stateful_logs_sim::ScenarioName {
    fn from(s: ScenarioArg) -> Self {
        use stateful_logs_sim::ScenarioName;
        match s {
            ScenarioArg::Steady => ScenarioName::Steady,
            ScenarioArg::Outage => ScenarioName::Outage,
            ScenarioArg::Silent => ScenarioName::Silent,
            ScenarioArg::RollingRestart => ScenarioName::RollingRestart,
            ScenarioArg::Slow => ScenarioName::Slow,
            ScenarioArg::DeadIntake => ScenarioName::DeadIntake,
        }
    }
}

/// Which core configuration the simulated clients run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// This project's defaults: lifetime jitter 10 %, progress-based ack timeout 30 s, spread
    /// retries, spread failover, primary probe, pushback honoured.
    Ours,
    /// Like the reference agent: no lifetime jitter, no ack timeout, the spec's backoff and
    /// failover, pushback ignored.
    Reference,
    /// Both, one after the other, compared in one table and one plot.
    Both,
}

/// Whether the simulated intakes answer an open beyond their capacity with a pushback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PushbackArg {
    /// `RESOURCE_EXHAUSTED` with `grpc-retry-pushback-ms` naming a free slot.
    On,
    /// A bare `UNAVAILABLE`.
    Off,
    /// Each policy twice, with and without, in one table and one plot.
    Both,
}

/// What a simulated client runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoreArg {
    /// A bare Transport with synthetic batches.
    Transport,
    /// A whole Pipeline (translator, batcher, zstd, Transport).
    Pipeline,
}

impl From<CoreArg> for stateful_logs_sim::CoreKind {
    fn from(c: CoreArg) -> Self {
        match c {
            CoreArg::Transport => stateful_logs_sim::CoreKind::Transport,
            CoreArg::Pipeline => stateful_logs_sim::CoreKind::Pipeline,
        }
    }
}

/// Arguments of `simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Simulated clients, one real core each (1 to 100,000; about 40 KB each).
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub clients: u32,
    /// The incident to simulate.
    #[arg(long, value_enum, value_name = "NAME")]
    pub scenario: ScenarioArg,
    /// Seeds every random choice: the same seed prints the same summary.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// The clients' core configuration.
    #[arg(long, value_enum, default_value_t = PolicyArg::Ours)]
    pub policy: PolicyArg,
    /// What each client runs: a bare Transport carrying synthetic batches, or a whole
    /// Pipeline encoding log lines (about 20 times slower and 3 times the memory).
    #[arg(long, value_enum, default_value_t = CoreArg::Transport)]
    pub core: CoreArg,
    /// Admission control at the intakes: refused opens get a pushback (`on`), a bare
    /// `UNAVAILABLE` (`off`), or each policy runs both ways (`both`).
    #[arg(long, value_enum, default_value_t = PushbackArg::On)]
    pub pushback: PushbackArg,
    /// The intakes together admit clients/D new streams per second.
    #[arg(long, default_value_t = 10, value_name = "D",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub open_capacity_divisor: u32,
    /// Write the plot (SVG) here [default: simulate-<scenario>.svg].
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Arguments of `soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Records to ship (at least 1,000, so that every fault fits).
    #[arg(long, default_value_t = 200_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub records: u64,
    /// Seeds the fault schedule: which faults, in which order, at which point of the run.
    #[arg(long, default_value_t = 1, value_name = "S")]
    pub seed: u64,
    /// Records sent per second (the faults fall throughout the run).
    #[arg(long, default_value_t = 5_000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(50..=10_000_000))]
    pub rate: u64,
    /// Give up (and fail) after this many seconds.
    #[arg(long, default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit_or_are_seconds() {
        let ms = |text| parse_duration(text).map(|d| d.as_millis());
        assert_eq!(ms("10"), Ok(10_000));
        assert_eq!(ms("10s"), Ok(10_000));
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("1h"), Ok(3_600_000));
        assert_eq!(ms("0"), Ok(0));
        for bad in ["", "soon", "1.5s", "-1", "10 s", "5d", "99999999999999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(show_duration(Duration::from_millis(500)), "500 ms");
        assert_eq!(show_duration(Duration::from_secs(10)), "10 s");
        assert_eq!(show_duration(Duration::from_secs(120)), "2 min");
    }
}
