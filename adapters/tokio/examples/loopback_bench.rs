//! Records per second end to end over loopback: the stateful encoding (Pipeline → Receiver)
//! next to the same records as HTTP-style JSON + zstd (one JSON array per batch, zstd level 1,
//! carried in `StatefulBatch.data`, acked by a pass-through intake) over the same client,
//! driver and gRPC stack. Both run in one process, alternately.
//!
//! ```text
//! cargo run --release -p stateful-logs-tokio --example loopback_bench [copies] [rounds] [patterns]
//! ```
//! `copies` (default 10) repeats the Loghub corpus (16,000 benchmark records of `encoding.md`
//! §11: status, hostname, service, source and tags besides the line) that many times per run.

use std::time::{Duration, Instant};

use stateful_logs_bench::benchmark_records;
use stateful_logs_intake::Intake;
use stateful_logs_tokio::{BatchFormat, BuildTokio, Client, ClientBuilder, Record};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/loghub");

struct Run {
    records: u64,
    elapsed: Duration,
    wire_bytes: u64,
}

async fn run(
    format: BatchFormat,
    records: &[Record],
    copies: usize,
    patterns: bool,
) -> Result<Run, Box<dyn std::error::Error>> {
    let intake = match format {
        BatchFormat::Stateful => Intake::builder(),
        // The baseline's batches are JSON arrays: a pass-through intake acks them.
        BatchFormat::HttpJson => Intake::builder().pass_through(),
    };
    let intake = intake.bind("127.0.0.1:0").await?;
    let deliveries = intake.deliveries();
    let drain = tokio::spawn(async move {
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
    let started = Instant::now();
    let mut seq = 0u64;
    for _ in 0..copies {
        for record in records {
            let record = record.clone().with_ack_token(seq);
            if handle.send(record).await.is_err() {
                return Err("the client refused a record".into());
            }
            seq += 1;
        }
    }
    client.flush().await;
    let acked = waiter.await?;
    let elapsed = started.elapsed();
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
    Ok(Run { records: total, elapsed, wire_bytes })
}

fn rate(run: &Run) -> f64 {
    run.records as f64 / run.elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let (mut best_stateful, mut best_json): (Option<Run>, Option<Run>) = (None, None);
    for round in 1..=rounds {
        let stateful = run(BatchFormat::Stateful, &records, copies, patterns).await?;
        let json = run(BatchFormat::HttpJson, &records, copies, patterns).await?;
        println!(
            "round {round}: stateful {:>9.0} records/s ({} wire bytes), json+zstd {:>9.0} records/s ({} wire bytes)",
            rate(&stateful),
            stateful.wire_bytes,
            rate(&json),
            json.wire_bytes
        );
        if best_stateful.as_ref().is_none_or(|b| rate(&stateful) > rate(b)) {
            best_stateful = Some(stateful);
        }
        if best_json.as_ref().is_none_or(|b| rate(&json) > rate(b)) {
            best_json = Some(json);
        }
    }
    if let (Some(s), Some(j)) = (best_stateful, best_json) {
        println!(
            "best: stateful {:.0} records/s, json+zstd {:.0} records/s, ratio {:.2}x; wire bytes ratio (json/stateful) {:.2}x",
            rate(&s),
            rate(&j),
            rate(&s) / rate(&j),
            j.wire_bytes as f64 / s.wire_bytes.max(1) as f64
        );
    }
    Ok(())
}
