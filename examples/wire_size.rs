//! Wire bytes per record on the Loghub files (spec `encoding.md` §11): the translator with
//! patterns on and in raw mode (the default), each with `zstd-stream` (the default codec) and
//! per-batch `zstd`, next to the HTTP JSON + zstd-1 baseline and the whole file with zstd -19;
//! plus the encode throughput of the default, of patterns on (both `zstd-stream`) and of the
//! baseline encoder, measured in the same run.
//!
//! `cargo run --release --example wire_size [DIR]` (default: `corpora/loghub`).

mod loghub;

use std::time::{Duration, Instant};

use stateful_logs::measure::{
    FileSizes, benchmark_records, file_sizes, http_json_baseline, measure_pipeline,
};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile, Record};

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
}

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v.ln(), n + 1));
    (sum / n.max(1) as f64).exp()
}

fn print_row(name: &str, records: &str, s: &FileSizes, rates: [f64; 3]) {
    println!(
        "{:<18} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2} {:>11.0} {:>11.0} {:>11.0} {:>6.2}",
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
            "{:<18} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>11} {:>11} {:>11} {:>6}",
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
            "speed"
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
            print_row(name, &sizes.records.to_string(), &sizes, [default_rps, patterns_rps, baseline_rps]);
            rows.push(Row { name: name.clone(), sizes, default_rps, patterns_rps, baseline_rps });
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
