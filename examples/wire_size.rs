//! Wire bytes per record on the Loghub files (spec `encoding.md` §11), profiles `v1` and `v2`
//! side by side: the translator in raw mode (the default) and with patterns on, both with
//! `zstd-stream` (the default codec), next to the HTTP JSON + zstd-1 baseline (and, for JSON
//! logs, its parsed variant: the log's object merged with the metadata) and the whole file with
//! zstd -19; plus the encode throughput of the default in each profile, of patterns on (`v1`)
//! and of the baseline encoder, measured in the same run, and the Receiver's decode throughput
//! of the default's stream in each profile. (`stateful-logs bench --json` adds per-batch `zstd`.)
//!
//! `cargo run --release --example wire_size [DIR | json]` (default: `corpora/loghub`; `json`:
//! `corpora/json`).

mod loghub;

use std::time::{Duration, Instant};

use bytes::Bytes;
use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig, build_metadata};
use stateful_logs::{PipelineConfig, Profile, Record, StreamId, Timestamp};
use stateful_logs_bench::{
    BaselineMessage, FileSizes, benchmark_records, file_sizes, http_json_baseline_with, measure_pipeline,
    measure_pipeline_with,
};

/// Each throughput is the best of this many runs.
const RUNS: usize = 3;

fn config(batch: u32, profile: Profile) -> PipelineConfig {
    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
    let mut c = PipelineConfig::new(vec![endpoint]).with_profile(profile);
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
    /// `v1`, `v2`.
    sizes: [FileSizes; 2],
    /// The default in `v1`, in `v2`, patterns on in `v1`, the baseline, the receiver in `v1`, in `v2`.
    rates: [f64; 6],
    /// The baseline of reference: the parsed one for a file of JSON logs.
    baseline: f64,
}

/// Records per second of a Receiver decoding the default's stream of `records` (best of
/// `RUNS`), checking that every record arrives.
fn receiver_rate(config: PipelineConfig, records: &[Record]) -> Result<f64, Box<dyn std::error::Error>> {
    let endpoint = config.transport.endpoints[0].clone();
    let path = config.profile().path();
    let metadata = build_metadata(&endpoint, config.transport.compression.encoding);
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

fn print_header() {
    println!(
        "{:<20} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "file",
        "records",
        "v1 raw",
        "v1 pat",
        "v2 raw",
        "v2 pat",
        "JSON",
        "JSONobj",
        "zstd-19",
        "v1 x",
        "v2 x",
        "v1 rec/s",
        "v2 rec/s",
        "pat rec/s",
        "JSON rec/s",
        "v1 recv/s",
        "v2 recv/s"
    );
}

fn print_row(records: &str, r: &Row) {
    let [v1, v2] = &r.sizes;
    let parsed = if v1.json_objects > 0 { format!("{:.2}", v1.baseline_parsed) } else { "-".to_owned() };
    println!(
        "{:<20} {:>7} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2} {:>7} {:>7.2} {:>5.2}x {:>5.2}x {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>10.0}",
        r.name,
        records,
        v1.raw_stream,
        v1.patterns_stream,
        v2.raw_stream,
        v2.patterns_stream,
        v1.baseline,
        parsed,
        v1.zstd19,
        r.baseline / v1.raw_stream,
        r.baseline / v2.raw_stream,
        r.rates[0],
        r.rates[1],
        r.rates[2],
        r.rates[3],
        r.rates[4],
        r.rates[5],
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = match std::env::args().nth(1) {
        Some(arg) if arg == "json" => loghub::JSON_DIR.to_owned(),
        Some(dir) => dir,
        None => loghub::DEFAULT_DIR.to_owned(),
    };
    let inputs = loghub::log_files(&dir)?;
    for batch in [1000u32, 100] {
        println!(
            "\nbatch size {batch}, bytes per record (raw = patterns off, the default; pat = patterns on; both \
             zstd-stream; JSON = HTTP JSON + zstd-1, JSONobj = the same with JSON logs parsed and merged \
             with the metadata; x = the file's baseline (JSONobj for JSON logs) / raw)"
        );
        print_header();
        let mut rows = Vec::new();
        for (name, data) in &inputs {
            let sizes = [
                file_sizes(name, data, &config(batch, Profile::V1))?,
                file_sizes(name, data, &config(batch, Profile::V2))?,
            ];
            let records = benchmark_records(name, data);
            let json_logs = sizes[0].json_objects * 2 > sizes[0].records;
            let message = if json_logs { BaselineMessage::ParsedJson } else { BaselineMessage::Text };
            let mut patterns = config(batch, Profile::V1);
            patterns.translator = TranslatorConfig::default();
            let rates = [
                best_rate(&records, |r| measure_pipeline(config(batch, Profile::V1), r)),
                best_rate(&records, |r| measure_pipeline(config(batch, Profile::V2), r)),
                best_rate(&records, |r| measure_pipeline(patterns.clone(), r)),
                best_rate(&records, |r| http_json_baseline_with(&r, batch as usize, message)),
                receiver_rate(config(batch, Profile::V1), &records)?,
                receiver_rate(config(batch, Profile::V2), &records)?,
            ];
            let baseline = if json_logs { sizes[0].baseline_parsed } else { sizes[0].baseline };
            let row = Row { name: name.clone(), sizes, rates, baseline };
            print_row(&row.sizes[0].records.to_string(), &row);
            rows.push(row);
        }
        let g = |f: &dyn Fn(&Row) -> f64| geomean(rows.iter().map(f));
        let mean_sizes = |i: usize| FileSizes {
            records: 0,
            raw_stream: g(&|r| r.sizes[i].raw_stream),
            raw_zstd: g(&|r| r.sizes[i].raw_zstd),
            patterns_stream: g(&|r| r.sizes[i].patterns_stream),
            patterns_zstd: g(&|r| r.sizes[i].patterns_zstd),
            baseline: g(&|r| r.sizes[i].baseline),
            json_objects: rows.iter().map(|r| r.sizes[i].json_objects).sum(),
            baseline_parsed: g(&|r| r.sizes[i].baseline_parsed),
            zstd19: g(&|r| r.sizes[i].zstd19),
            patterns_defined: 0,
        };
        let mut mean = Row {
            name: "geometric mean".into(),
            sizes: [mean_sizes(0), mean_sizes(1)],
            rates: [0.0; 6],
            baseline: g(&|r| r.baseline),
        };
        for (i, rate) in mean.rates.iter_mut().enumerate() {
            *rate = g(&|r| r.rates[i]);
        }
        print_row("", &mean);
        let larger: Vec<String> = rows
            .iter()
            .flat_map(|r| {
                Profile::ALL
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| r.sizes[*i].patterns_stream > r.sizes[*i].raw_stream)
                    .map(move |(_, p)| format!("{} ({p})", r.name))
            })
            .collect();
        println!("patterns larger than raw mode (zstd-stream): {}", larger.join(", "));
    }
    Ok(())
}
