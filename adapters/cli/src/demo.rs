//! `stateful-logs demo`: the reference intake on a loopback port, the bundled Loghub samples
//! shipped through the tokio client, every record checked on arrival (`encoding.md` §10.1,
//! §10.2), and a short table of what the stateful encoding saved against the HTTP JSON +
//! zstd-1 baseline measured on the same records (§11).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use stateful_logs::{Profile, Record};
use stateful_logs_bench::{benchmark_records, http_json_baseline};
use stateful_logs_intake::{Intake, StreamFault};
use stateful_logs_tokio::{AckOutcome, BuildTokio, Client, ClientBuilder};

use crate::CliError;
use crate::cli::DemoArgs;
use crate::metrics_setup::Capture;
use crate::verify::DeliveryCheck;

/// The bundled samples, found at build time relative to this crate.
const LOGHUB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/loghub");
const DEMO_KEY: &str = "demo-key";
/// The acks' delay with `--faults`.
const ACK_DELAY: Duration = Duration::from_millis(25);

/// The Loghub sample files bundled with the repository, sorted by name.
pub fn bundled_files() -> Result<Vec<PathBuf>, CliError> {
    let entries = std::fs::read_dir(LOGHUB_DIR)
        .map_err(|e| CliError::io(format!("cannot list the bundled samples in {LOGHUB_DIR}"), e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(CliError::Usage(format!("no .log files in {LOGHUB_DIR}; give a file with --input FILE")));
    }
    Ok(files)
}

/// The records of `files` under the benchmark mapping (§11), in file order.
pub fn load_records(files: &[PathBuf]) -> Result<Vec<Record>, CliError> {
    let mut records = Vec::new();
    for file in files {
        let text =
            std::fs::read(file).map_err(|e| CliError::io(format!("cannot read {}", file.display()), e))?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        records.extend(benchmark_records(&name, &text));
    }
    Ok(records)
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<ExitCode, CliError> {
    let capture = Capture::install();
    let files = if args.input.is_empty() { bundled_files()? } else { args.input.clone() };
    let records = load_records(&files)?;
    if records.is_empty() {
        return Err(CliError::Usage("the input holds no non-empty lines".into()));
    }
    let profile: Profile = args.profile.into();
    let batch_size = args.batch_size.max(1);

    let intake = Intake::builder().api_key(DEMO_KEY).bind("127.0.0.1:0").await?;
    let faults = args.faults.then(|| inject_faults(&intake));
    let client: Client = ClientBuilder::new()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key(DEMO_KEY)
        .profile(profile)
        .batching(batch_size, 5_000_000, Duration::from_secs(5))
        // Quick recovery after the injected faults; the spec's defaults suit real networks.
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .ack_timeout(Some(Duration::from_secs(5)))
        .seed(1)
        .build_tokio()?;

    println!(
        "shipping {} records from {} to the reference intake on {} (profile {profile}, batches of {batch_size}{})",
        records.len(),
        describe_files(&files),
        intake.local_addr(),
        if args.faults { ", with faults" } else { "" },
    );
    let progress = if args.quiet { ProgressBar::hidden() } else { ProgressBar::new(records.len() as u64) };
    progress.set_style(
        ProgressStyle::with_template("{bar:40.cyan/blue} {pos}/{len} records acknowledged ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let started = Instant::now();
    let mut sender = {
        let handle = client.handle();
        let records = records.clone();
        tokio::spawn(async move {
            for (token, record) in records.into_iter().enumerate() {
                if handle.send(record.with_ack_token(token as u64)).await.is_err() {
                    break;
                }
            }
        })
    };
    let acks = client.acks();
    let halts = client.halts();
    let mut resolved = 0usize;
    let mut dropped = 0usize;
    let mut dropped_connections = false;
    let mut flushed = false;
    while resolved < records.len() {
        tokio::select! {
            entry = acks.recv() => {
                let entry = match entry {
                    Ok(Ok(entry)) => entry,
                    Ok(Err(halt)) => return Err(CliError::Halted(halt)),
                    Err(_) => return Err(CliError::Incomplete("the client stopped unexpectedly".into())),
                };
                resolved += 1;
                if entry.outcome != AckOutcome::Acked {
                    dropped += 1;
                }
                progress.inc(1);
            }
            halt = halts.recv() => return Err(halt.map_or_else(
                |_| CliError::Incomplete("the client stopped unexpectedly".into()),
                CliError::Halted,
            )),
            _ = &mut sender, if !flushed => {
                // Every record is in: send the open batch now rather than after its wait.
                flushed = true;
                client.flush().await;
            }
        }
        if faults.is_some() && !dropped_connections && resolved * 2 >= records.len() {
            // Mid-run: every connection closed abruptly, without GOAWAY.
            intake.drop_connections();
            dropped_connections = true;
        }
    }
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    let report = client.shutdown(Duration::from_secs(5)).await;
    if dropped > 0 || !report.unacknowledged.is_empty() {
        return Err(CliError::Incomplete(format!(
            "{dropped} records dropped, {} not acknowledged",
            report.unacknowledged.len()
        )));
    }

    let mut check = DeliveryCheck::new(&records, profile);
    let deliveries = intake.deliveries();
    while let Ok(batch) = deliveries.try_recv() {
        check.check_batch(&batch.logs)?;
    }
    if !check.complete() {
        return Err(CliError::Incomplete(format!(
            "only {} of {} records were delivered",
            check.verified(),
            records.len()
        )));
    }

    let stats = intake.stats();
    let baseline = http_json_baseline(&records, batch_size as usize)
        .map_err(|e| CliError::Incomplete(format!("cannot compute the baseline: {e}")))?;
    let n = records.len() as f64;
    let wire_per_record = stats.bytes_received as f64 / n;
    let baseline_per_record = baseline as f64 / n;
    let counter = |name: &str| capture.as_ref().map(|c| c.counter_sum(name));
    let show = |value: Option<u64>| value.map_or_else(|| "n/a".to_owned(), |v| v.to_string());

    println!("every record arrived intact and in order ({} checked)\n", records.len());
    let rows = [
        ("records", records.len().to_string()),
        ("records/s (end to end)", format!("{:.0}", n / elapsed.as_secs_f64().max(1e-9))),
        ("wire bytes per record", format!("{wire_per_record:.2}")),
        ("HTTP JSON + zstd-1 bytes per record", format!("{baseline_per_record:.2}")),
        ("ratio (baseline / wire)", format!("{:.2}x", baseline_per_record / wire_per_record.max(1e-9))),
        ("patterns created", show(counter("stateful_logs_patterns_added"))),
        ("dictionary entries created", show(counter("stateful_logs_dict_entries_added"))),
        ("streams opened", stats.streams_started.to_string()),
    ];
    for (name, value) in rows {
        println!("  {name:<38} {value:>12}");
    }
    if let Some(injected) = faults {
        println!(
            "\nfaults: {injected} streams ended by the intake, all connections dropped once, acks delayed by {} ms;\n\
             {} records were delivered again (batches re-sent after the faults, recognised and skipped); none lost.\n\
             (wire bytes include the re-sent batches and the state re-sent on every new stream.)",
            ACK_DELAY.as_millis(),
            check.duplicate_records(),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Queues stream faults (one per new stream) and delays every ack; returns how many streams
/// the intake will end.
fn inject_faults(intake: &Intake) -> usize {
    let faults = [
        StreamFault::EndWithStatus { after_batches: 2, code: tonic::Code::Unavailable },
        StreamFault::Eof { after_batches: 3 },
        StreamFault::EndWithStatus { after_batches: 1, code: tonic::Code::Internal },
    ];
    let count = faults.len();
    for fault in faults {
        intake.push_fault(fault);
    }
    intake.set_ack_delay(ACK_DELAY);
    count
}

fn describe_files(files: &[PathBuf]) -> String {
    match files {
        [one] => one.display().to_string(),
        _ => format!("{} files", files.len()),
    }
}
