//! Wire bytes per record on the Loghub files (spec `encoding.md` §11): the translator with
//! patterns on and in raw mode (the default), each with `zstd-stream` (the default codec) and
//! per-batch `zstd`, next to the HTTP JSON + zstd-1 baseline and the whole file with zstd -19;
//! plus the encode throughput of the default, of patterns on (both `zstd-stream`) and of the
//! baseline encoder, measured in the same run, and the Receiver's decode throughput of the
//! default's stream.
//!
//! `cargo run --release --example wire_size [DIR]` (default: `corpora/loghub`).

mod loghub;

use std::time::{Duration, Instant};

use bytes::Bytes;
use stateful_logs::measure::{
    FileSizes, benchmark_records, file_sizes, http_json_baseline, measure_pipeline, measure_pipeline_with,
};
use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig, build_metadata};
use stateful_logs::{PipelineConfig, Profile, Record, StreamId, Timestamp};

/// Each throughput is the best of this many runs.
const RUNS: usize = 3;

fn config(batch: u32) -> PipelineConfig {
    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
    let mut c = PipelineConfig::new(vec![endpoint]).with_profile(Profile::V1);
    c.max_batch_items = batch;
    c
}

/// The fastest of `RUNS` runs of `f` on fresh copies of `records` (copied outside the timing).
fn best_rate<T>(records: &[Record], mut f: impl FnMut(Vec<Record>) -> T) -> f64 {
    let mut fastest = Duration::MAX;
    for _ in 0..RUNS {
        let input = records.to_vec();
        let start = Instant::now();
        std::hint::black_box(f(input));
        fastest = fastest.min(start.elapsed());
    }
    records.len() as f64 / fastest.as_secs_f64().max(1e-9)
}

struct Row {
    name: String,
    sizes: FileSizes,
    default_rps: f64,
    patterns_rps: f64,
    baseline_rps: f64,
    receiver_rps: f64,
}

/// Records per second of a Receiver decoding the default's stream of `records` (best of
/// `RUNS`), checking that every record arrives.
fn receiver_rate(config: PipelineConfig, records: &[Record]) -> Result<f64, Box<dyn std::error::Error>> {
    let endpoint = config.transport.endpoints[0].clone();
    let path = config.profile().path();
    let metadata = build_metadata(&endpoint, config.compression.encoding);
    let mut batches = Vec::new();
    measure_pipeline_with(config, records.to_vec(), |data| batches.push(Bytes::copy_from_slice(data)))?;
    let mut fastest = Duration::MAX;
    for _ in 0..RUNS {
        let mut receiver = Receiver::new(ReceiverConfig::default())?;
        let (stream, now) = (StreamId(1), Timestamp(0));
        let start = Instant::now();
        receiver.handle_stream_start(now, stream, path, &metadata.0);
        let mut delivered = 0;
        // The measure sends no empty batch 0, so the ids are 1, 2, … (§8.1).
        for (id, data) in (1u32..).zip(&batches) {
            receiver.handle_batch(now, stream, id, data.clone());
            while let Some(action) = receiver.poll_action() {
                match action {
                    ReceiverAction::Deliver { logs, .. } => delivered += logs.len(),
                    ReceiverAction::EndStream { message, .. } => return Err(message.into()),
                    ReceiverAction::SendStatus { .. } => {}
                }
            }
        }
        fastest = fastest.min(start.elapsed());
        if delivered != records.len() {
            return Err(format!("the receiver delivered {delivered} of {} records", records.len()).into());
        }
    }
    Ok(records.len() as f64 / fastest.as_secs_f64().max(1e-9))
}

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v.ln(), n + 1));
    (sum / n.max(1) as f64).exp()
}

fn print_row(name: &str, records: &str, s: &FileSizes, rates: [f64; 4]) {
    println!(
        "{:<18} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2} {:>11.0} {:>11.0} {:>11.0} {:>6.2} {:>11.0}",
        name,
        records,
        s.raw_stream,
        s.raw_zstd,
        s.patterns_stream,
        s.patterns_zstd,
        s.baseline,
        s.zstd19,
        s.baseline / s.raw_stream,
        s.raw_stream / s.zstd19,
        rates[0],
        rates[1],
        rates[2],
        rates[0] / rates[2],
        rates[3],
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| loghub::DEFAULT_DIR.to_owned());
    let inputs = loghub::log_files(&dir)?;
    for batch in [1000u32, 100] {
        println!(
            "\nbatch size {batch}, bytes per record (raw = patterns off, the default; stream = zstd-stream, the default codec)"
        );
        println!(
            "{:<18} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>11} {:>11} {:>11} {:>6} {:>11}",
            "file",
            "records",
            "raw+str",
            "raw+zstd",
            "pat+str",
            "pat+zstd",
            "JSON",
            "zstd-19",
            "JSON/x",
            "x/bound",
            "ours rec/s",
            "pat rec/s",
            "JSON rec/s",
            "speed",
            "recv rec/s"
        );
        let mut rows = Vec::new();
        for (name, data) in &inputs {
            let base = config(batch);
            let sizes = file_sizes(name, data, &base)?;
            let records = benchmark_records(name, data);
            let default_rps = best_rate(&records, |r| measure_pipeline(config(batch), r));
            let mut patterns = config(batch);
            patterns.translator = TranslatorConfig::default();
            let patterns_rps = best_rate(&records, |r| measure_pipeline(patterns.clone(), r));
            let baseline_rps = best_rate(&records, |r| http_json_baseline(&r, batch as usize));
            let receiver_rps = receiver_rate(config(batch), &records)?;
            let rates = [default_rps, patterns_rps, baseline_rps, receiver_rps];
            print_row(name, &sizes.records.to_string(), &sizes, rates);
            rows.push(Row {
                name: name.clone(),
                sizes,
                default_rps,
                patterns_rps,
                baseline_rps,
                receiver_rps,
            });
        }
        let g = |f: fn(&FileSizes) -> f64| geomean(rows.iter().map(|r| f(&r.sizes)));
        let mean = FileSizes {
            records: 0,
            raw_stream: g(|s| s.raw_stream),
            raw_zstd: g(|s| s.raw_zstd),
            patterns_stream: g(|s| s.patterns_stream),
            patterns_zstd: g(|s| s.patterns_zstd),
            baseline: g(|s| s.baseline),
            zstd19: g(|s| s.zstd19),
            patterns_defined: 0,
        };
        let rates = [
            geomean(rows.iter().map(|r| r.default_rps)),
            geomean(rows.iter().map(|r| r.patterns_rps)),
            geomean(rows.iter().map(|r| r.baseline_rps)),
            geomean(rows.iter().map(|r| r.receiver_rps)),
        ];
        print_row("geometric mean", "", &mean, rates);
        let larger: Vec<&str> = rows
            .iter()
            .filter(|r| r.sizes.patterns_stream > r.sizes.raw_stream)
            .map(|r| r.name.as_str())
            .collect();
        println!("patterns larger than raw mode (zstd-stream): {}", larger.join(", "));
    }
    Ok(())
}
