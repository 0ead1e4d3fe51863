//! Records per second end to end over loopback: the stateful encoding (Pipeline → Receiver)
//! next to the same records as HTTP-style JSON + zstd (one JSON array per batch, zstd level 1,
//! carried in `StatefulBatch.data`, acked by a pass-through intake) over the same client,
//! driver and gRPC stack. Each round runs, in one process, alternately: the stateful encoding
//! and the JSON baseline fed with `Handle::send_many` (batches of 1,000 records), then the
//! stateful encoding fed record by record with `Handle::send`.
//!
//! ```text
//! cargo run --release -p stateful-logs-tokio --example loopback_bench [copies] [rounds] [patterns]
//! ```
//! `copies` (default 10) repeats the Loghub corpus (16,000 benchmark records of `encoding.md`
//! §11: status, hostname, service, source and tags besides the line) that many times per run.
//! The intake runs on a runtime of its own (one worker thread, named `intake`), so that the
//! CPU time of the producer (the main thread), the client (its runtime's workers) and the
//! intake is read per thread (`/proc/self/task/*/schedstat`, Linux) and shown per record.
//!
//! `LOOPBACK_BENCH_ONLY=stateful` (or `json`, `send`) runs only that row, e.g. under `perf`.
//! The producer's time includes building its records (a clone of a corpus record each, as an
//! application builds a record per line).

use std::time::{Duration, Instant};

use stateful_logs_bench::benchmark_records;
use stateful_logs_intake::Intake;
use stateful_logs_tokio::{BatchFormat, BuildTokio, Client, ClientBuilder, Record};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/loghub");

/// Records per `send_many` call.
const SEND_MANY_BATCH: usize = 1_000;

/// How the producer hands records over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Feed {
    /// `send` per record.
    Send,
    /// `send_many` per [`SEND_MANY_BATCH`] records.
    SendMany,
}

struct Run {
    records: u64,
    elapsed: Duration,
    wire_bytes: u64,
    /// CPU time spent during the run, when the platform tells.
    cpu: Option<Cpu>,
}

/// CPU time of the process's threads by role, in nanoseconds.
#[derive(Clone, Copy, Default)]
struct Cpu {
    /// The main thread: builds the records and hands them over.
    producer: u64,
    /// The client's runtime: the pipeline's driver (encoding), stream I/O, HTTP/2.
    client: u64,
    /// The intake's runtime: HTTP/2, decoding, delivery, acks.
    intake: u64,
}

impl Cpu {
    /// The CPU time of every live thread so far (Linux; `None` elsewhere).
    fn now() -> Option<Cpu> {
        let mut cpu = Cpu::default();
        // The main thread's id is the process's.
        let main = std::process::id().to_string();
        for task in std::fs::read_dir("/proc/self/task").ok()? {
            let path = task.ok()?.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            let schedstat = std::fs::read_to_string(path.join("schedstat")).ok()?;
            let ns: u64 = schedstat.split_whitespace().next()?.parse().ok()?;
            if path.file_name().is_some_and(|tid| tid.to_string_lossy() == main) {
                cpu.producer += ns;
            } else if name.trim() == "intake" {
                cpu.intake += ns;
            } else {
                cpu.client += ns;
            }
        }
        Some(cpu)
    }

    fn since(self, before: Cpu) -> Cpu {
        Cpu {
            producer: self.producer.saturating_sub(before.producer),
            client: self.client.saturating_sub(before.client),
            intake: self.intake.saturating_sub(before.intake),
        }
    }

    /// `producer 0.41 + client 0.98 + intake 0.52 = 1.91 µs CPU per record`.
    fn per_record(&self, records: u64) -> String {
        let us = |ns: u64| ns as f64 / 1000.0 / records.max(1) as f64;
        format!(
            "producer {:.2} + client {:.2} + intake {:.2} = {:.2} µs CPU per record",
            us(self.producer),
            us(self.client),
            us(self.intake),
            us(self.producer + self.client + self.intake)
        )
    }
}

async fn run(
    intake_runtime: &tokio::runtime::Handle,
    format: BatchFormat,
    records: &[Record],
    copies: usize,
    patterns: bool,
    feed: Feed,
) -> Result<Run, Box<dyn std::error::Error>> {
    let intake = match format {
        BatchFormat::Stateful => Intake::builder(),
        // The baseline's batches are JSON arrays: a pass-through intake acks them.
        BatchFormat::HttpJson => Intake::builder().pass_through(),
    };
    let intake = intake_runtime.spawn(intake.bind("127.0.0.1:0")).await??;
    let deliveries = intake.deliveries();
    let drain = intake_runtime.spawn(async move {
        let mut logs = 0u64;
        while let Ok(batch) = deliveries.recv().await {
            logs += batch.logs.len() as u64;
        }
        logs
    });
    let client: Client = ClientBuilder::new()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key("bench")
        .batch_format(format)
        .pipeline_config(|config| config.translator.patterns.enabled = patterns)
        .build_tokio()?;
    let total = (records.len() * copies) as u64;
    let acks = client.acks();
    let waiter = tokio::spawn(async move {
        let mut acked = 0;
        while acked < total {
            if !matches!(acks.recv().await, Ok(Ok(_))) {
                break;
            }
            acked += 1;
        }
        acked
    });
    let handle = client.handle();
    let cpu_before = Cpu::now();
    let started = Instant::now();
    let mut seq = 0u64;
    let mut next_token = || {
        seq += 1;
        seq - 1
    };
    for _ in 0..copies {
        match feed {
            Feed::Send => {
                for record in records {
                    let record = record.clone().with_ack_token(next_token());
                    if handle.send(record).await.is_err() {
                        return Err("the client refused a record".into());
                    }
                }
            }
            Feed::SendMany => {
                for batch in records.chunks(SEND_MANY_BATCH) {
                    let batch = batch.iter().map(|record| record.clone().with_ack_token(next_token()));
                    if let Err(error) = handle.send_many(batch).await {
                        return Err(format!("the client refused records: {error}").into());
                    }
                }
            }
        }
    }
    client.flush().await;
    let acked = waiter.await?;
    let elapsed = started.elapsed();
    let cpu = Cpu::now().zip(cpu_before).map(|(after, before)| after.since(before));
    let report = client.shutdown(Duration::from_secs(10)).await;
    if acked != total || !report.unacknowledged.is_empty() {
        return Err(format!("only {acked} of {total} records acked").into());
    }
    let wire_bytes = intake.stats().bytes_received;
    drop(intake);
    let delivered = drain.await?;
    if delivered < total {
        return Err(format!("only {delivered} of {total} records delivered").into());
    }
    Ok(Run { records: total, elapsed, wire_bytes, cpu })
}

fn rate(run: &Run) -> f64 {
    run.records as f64 / run.elapsed.as_secs_f64()
}

fn cpu(run: &Run) -> String {
    run.cpu.map(|cpu| cpu.per_record(run.records)).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let intake_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("intake")
        .enable_all()
        .build()?;
    let result = bench(intake_runtime.handle()).await;
    // Not dropped here: a runtime cannot be dropped inside another's task.
    intake_runtime.shutdown_background();
    result
}

async fn bench(intake: &tokio::runtime::Handle) -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let copies: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(10);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3);
    // `patterns` as third argument: the stateful side with patterns on (the default is raw
    // mode, `encoding.md` §9.1).
    let patterns = args.next().as_deref() == Some("patterns");
    let mut records = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        records.extend(benchmark_records(&name, &std::fs::read(&file)?));
    }
    println!(
        "{} Loghub records (encoding.md §11) x {copies} copies, {rounds} rounds, 1 pipeline, zstd-stream level 1 (JSON: zstd level 1 per batch), patterns {}",
        records.len(),
        if patterns { "on" } else { "off" }
    );
    let (mut best_stateful, mut best_json, mut best_send): (Option<Run>, Option<Run>, Option<Run>) =
        (None, None, None);
    let keep_best = |best: &mut Option<Run>, run: Run| {
        if best.as_ref().is_none_or(|b| rate(&run) > rate(b)) {
            *best = Some(run);
        }
    };
    let only = std::env::var("LOOPBACK_BENCH_ONLY").ok();
    if let Some(only) = only.as_deref() {
        let (format, feed) = match only {
            "stateful" => (BatchFormat::Stateful, Feed::SendMany),
            "json" => (BatchFormat::HttpJson, Feed::SendMany),
            "send" => (BatchFormat::Stateful, Feed::Send),
            other => return Err(format!("LOOPBACK_BENCH_ONLY={other}: use stateful, json or send").into()),
        };
        for round in 1..=rounds {
            let one = run(intake, format, &records, copies, patterns, feed).await?;
            println!(
                "round {round}: {only} {:>9.0} records/s ({} wire bytes); {}",
                rate(&one),
                one.wire_bytes,
                cpu(&one)
            );
        }
        return Ok(());
    }
    for round in 1..=rounds {
        let stateful = run(intake, BatchFormat::Stateful, &records, copies, patterns, Feed::SendMany).await?;
        let json = run(intake, BatchFormat::HttpJson, &records, copies, patterns, Feed::SendMany).await?;
        let send = run(intake, BatchFormat::Stateful, &records, copies, patterns, Feed::Send).await?;
        println!(
            "round {round}: stateful {:>9.0} records/s ({} wire bytes), json+zstd {:>9.0} records/s ({} wire bytes), stateful per-record send {:>9.0} records/s",
            rate(&stateful),
            stateful.wire_bytes,
            rate(&json),
            json.wire_bytes,
            rate(&send)
        );
        println!("    stateful: {}", cpu(&stateful));
        println!("    json+zstd: {}", cpu(&json));
        println!("    per-record send: {}", cpu(&send));
        keep_best(&mut best_stateful, stateful);
        keep_best(&mut best_json, json);
        keep_best(&mut best_send, send);
    }
    if let (Some(s), Some(j), Some(one)) = (best_stateful, best_json, best_send) {
        println!(
            "best: stateful {:.0} records/s, json+zstd {:.0} records/s, ratio {:.2}x; wire bytes ratio (json/stateful) {:.2}x; per-record send {:.0} records/s (send_many {:.2}x faster)",
            rate(&s),
            rate(&j),
            rate(&s) / rate(&j),
            j.wire_bytes as f64 / s.wire_bytes.max(1) as f64,
            rate(&one),
            rate(&s) / rate(&one)
        );
    }
    Ok(())
}
