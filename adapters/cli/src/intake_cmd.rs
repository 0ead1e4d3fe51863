//! `stateful-logs intake`: the reference intake, writing every record as one JSON line
//! (`encoding.md` §10.3). SIGTERM and SIGINT stop it gracefully ([`Intake::shutdown`]): every
//! ack it owes sent, the open calls ended, the output flushed, the final statistics printed,
//! exit 0; a second signal stops it at once (130 / 143, [`crate::exit`]).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stateful_logs::receiver::ReceiverConfig;
use stateful_logs_intake::{Intake, IntakeStats, ServerLimits};

use crate::CliError;
use crate::cli::{IntakeArgs, show_duration};
use crate::signals::StopSignals;

/// The output, shared by the intake (which writes each batch) and the final flush.
type SharedOutput = Arc<Mutex<Box<dyn Write + Send>>>;

/// Runs the intake until SIGTERM or SIGINT.
pub async fn run(args: IntakeArgs) -> Result<std::process::ExitCode, CliError> {
    let mut signals = StopSignals::install()?;
    if args.api_keys.is_empty() && !args.insecure_accept_any_key {
        return Err(CliError::Usage(
            "the intake needs at least one --api-key KEY; to accept any key (authentication off), \
             pass --insecure-accept-any-key"
                .into(),
        ));
    }
    let mut config = ReceiverConfig {
        v1_delta_encoding: args.v1_delta_encoding,
        max_stream_window_log: args.max_stream_window_log,
        max_streams: args.max_streams,
        hash_seed: unguessable_seed(),
        ..ReceiverConfig::with_api_keys(args.api_keys.iter().cloned())
    };
    let limits = ServerLimits {
        max_connections: args.max_connections,
        first_request_timeout: Duration::from_secs(args.first_request_timeout),
        max_stream_opens_per_sec: args.max_stream_opens_per_sec,
        ..ServerLimits::default()
    };
    // Refuse a bad setting before anything starts (metrics listener, output file, port).
    config.validate()?;
    limits.validate()?;
    let tls = crate::tls::server_tls(&args)?;
    if let Some(address) = args.metrics_listen {
        crate::metrics_setup::serve_prometheus(address)?;
    }
    let output: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .map_err(|e| CliError::io(format!("cannot create {}", path.display()), e))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let output: SharedOutput = Arc::new(Mutex::new(output));
    let writer = output.clone();

    if args.refuse_zstd_stream {
        config.encodings.retain(|e| !e.is_stream());
    }
    // The output takes each batch before the intake acks it: written and flushed (to the
    // kernel) first, so an acked record is in the output even if this process is killed.
    let records_written = Arc::new(AtomicU64::new(0));
    let (written, batches_written) = async_channel::bounded::<()>(1);
    let (failed, write_failure) = async_channel::bounded::<std::io::Error>(1);
    let counter = records_written.clone();
    let mut builder = Intake::builder()
        .receiver_config(config)
        .server_limits(limits)
        .ack_delay(Duration::from_millis(args.ack_delay_ms))
        .output(move |batch| {
            let mut output = writer.lock().unwrap_or_else(|p| p.into_inner());
            let result = write_batch(&mut **output, &batch.logs);
            match &result {
                Ok(()) => {
                    counter.fetch_add(batch.logs.len() as u64, Ordering::Relaxed);
                    let _ = written.try_send(());
                }
                Err(error) => {
                    let _ = failed.try_send(std::io::Error::new(error.kind(), error.to_string()));
                }
            }
            result
        });
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    let mut intake = builder.bind(&args.listen).await?;
    println!("listening on {}", intake.local_addr());
    if let Some(certificate) = &args.tls_cert {
        eprintln!("intake: TLS on ({}); clients connect with https://", certificate.display());
    }
    if args.api_keys.is_empty() {
        eprintln!(
            "WARNING: this intake accepts ANY API key (--insecure-accept-any-key): authentication is off"
        );
    }
    let _ = std::io::stdout().flush();

    let mut ticker = stats_ticker(args.stats_interval);
    let records = || records_written.load(Ordering::Relaxed);
    let signal = loop {
        tokio::select! {
            Ok(()) = batches_written.recv() => publish(&intake.stats(), records()),
            Ok(error) = write_failure.recv() => {
                report("", &intake.stats(), records());
                return Err(CliError::io("cannot write a record", error));
            }
            _ = tick(&mut ticker) => report("", &intake.stats(), records()),
            signal = signals.recv() => break signal,
        }
    };
    eprintln!(
        "intake: {signal}: refusing new streams, sending the acks it owes, ending the open streams \
         (up to {}; another signal stops at once)",
        show_duration(args.shutdown_timeout)
    );
    let second = tokio::select! {
        shutdown = intake.shutdown(args.shutdown_timeout) => {
            if shutdown.connections_cut > 0 {
                eprintln!(
                    "intake: {} connections were still open at the deadline and were closed",
                    shutdown.connections_cut
                );
            }
            None
        }
        second = signals.recv() => Some(second),
    };
    // Each batch was flushed before its ack; this flush is for the output's own buffers.
    let flushed = output.lock().unwrap_or_else(|p| p.into_inner()).flush();
    report("stopped: ", &intake.stats(), records());
    flushed.map_err(|e| CliError::io("cannot flush the output", e))?;
    Ok(second.map_or(std::process::ExitCode::SUCCESS, |second| second.exit_code()))
}

/// A hash seed clients cannot guess (`ReceiverConfig::hash_seed`): the intake, unlike the
/// sans-IO receiver, may draw randomness; std's `RandomState` draws it from the OS.
fn unguessable_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

/// Writes the records of one batch as JSON lines and flushes them.
fn write_batch(output: &mut dyn Write, logs: &[stateful_logs_intake::ReceivedLog]) -> std::io::Result<()> {
    for log in logs {
        writeln!(output, "{}", log.to_jsonl())?;
    }
    output.flush()
}

fn stats_ticker(seconds: u64) -> Option<tokio::time::Interval> {
    (seconds > 0).then(|| {
        let period = Duration::from_secs(seconds);
        tokio::time::interval_at(tokio::time::Instant::now() + period, period)
    })
}

async fn tick(ticker: &mut Option<tokio::time::Interval>) {
    match ticker {
        Some(ticker) => {
            ticker.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// The statistics line on stderr (`prefix` says when it is the last).
fn report(prefix: &str, stats: &IntakeStats, records: u64) {
    eprintln!(
        "intake: {prefix}{} streams, {} batches, {} acks, {} bytes of batch data, {} records written, \
         {} streams reset by the client",
        stats.streams_started,
        stats.batches_received,
        stats.acks_sent,
        stats.bytes_received,
        records,
        stats.streams_reset_by_client
    );
    publish(stats, records);
}

/// Sets the intake's counters (served with --metrics-listen).
fn publish(stats: &IntakeStats, records: u64) {
    let counters = [
        ("stateful_logs_intake_records_written", records),
        ("stateful_logs_intake_streams_started", stats.streams_started),
        ("stateful_logs_intake_batches_received", stats.batches_received),
        ("stateful_logs_intake_acks_sent", stats.acks_sent),
        ("stateful_logs_intake_bytes_received", stats.bytes_received),
        ("stateful_logs_intake_streams_reset_by_client", stats.streams_reset_by_client),
    ];
    for (name, value) in counters {
        metrics::counter!(name).absolute(value);
    }
}
