//! The `zstd-stream` level table (issue: choose the default level by measurement): for each
//! zstd level, the geometric mean over the Loghub files of wire bytes per record and of
//! records per second (best of 3, one core, translator + batcher + stream compression), with
//! patterns on and in raw mode, at batch 1,000 and 100; the HTTP JSON + zstd-1 baseline encoder
//! is timed in the same run, so the speeds read as ratios.
//!
//! `cargo run --release --example zstd_levels [DIR] [LEVEL…]` (default levels 1 2 3 4 5 6 7 9).

mod loghub;

use std::time::{Duration, Instant};

use stateful_logs::codec::Compression;
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile, Record};
use stateful_logs_bench::{benchmark_records, http_json_baseline, measure_pipeline};

const RUNS: usize = 3;

fn config(batch: u32, level: i32, translator: TranslatorConfig) -> PipelineConfig {
    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
    let mut c = PipelineConfig::new(vec![endpoint]).with_profile(Profile::V1);
    c.max_batch_items = batch;
    c.transport.compression = Compression::zstd_stream(level);
    c.translator = translator;
    c
}

/// The fastest of `RUNS` runs of `f` and its last value.
fn best<T>(mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut fastest = Duration::MAX;
    let mut out = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        out = Some(f());
        fastest = fastest.min(start.elapsed());
    }
    (out.expect("RUNS > 0"), fastest)
}

fn geomean(values: &[f64]) -> f64 {
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len().max(1) as f64).exp()
}

/// Geometric means of (bytes per record, records per second) over `files`.
fn run(
    files: &[Vec<Record>],
    make: impl Fn() -> PipelineConfig,
) -> Result<(f64, f64), Box<dyn std::error::Error>> {
    let (mut bytes, mut rates) = (Vec::new(), Vec::new());
    for records in files {
        // The records are cloned outside the timed span.
        let mut inputs: Vec<Vec<Record>> = (0..RUNS).map(|_| records.clone()).collect();
        let (m, time) = best(|| measure_pipeline(make(), inputs.pop().unwrap_or_default()));
        let m = m?;
        bytes.push(m.bytes_per_record());
        rates.push(records.len() as f64 / time.as_secs_f64().max(1e-9));
    }
    Ok((geomean(&bytes), geomean(&rates)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().cloned().unwrap_or_else(|| loghub::DEFAULT_DIR.to_owned());
    let mut levels: Vec<i32> = args.iter().skip(1).filter_map(|a| a.parse().ok()).collect();
    if levels.is_empty() {
        levels = vec![1, 2, 3, 4, 5, 6, 7, 9];
    }
    let files: Vec<Vec<Record>> =
        loghub::log_files(&dir)?.iter().map(|(name, data)| benchmark_records(name, data)).collect();
    for batch in [1000u32, 100] {
        let (mut base_bytes, mut base_rates) = (Vec::new(), Vec::new());
        for records in &files {
            let (bytes, time) = best(|| http_json_baseline(records, batch as usize));
            base_bytes.push(bytes? as f64 / records.len().max(1) as f64);
            base_rates.push(records.len() as f64 / time.as_secs_f64().max(1e-9));
        }
        let (base_b, base_r) = (geomean(&base_bytes), geomean(&base_rates));
        println!("\nbatch {batch}: HTTP JSON + zstd-1 baseline {base_b:.2} B/record, {base_r:.0} records/s");
        println!(
            "{:>5} {:>10} {:>8} {:>12} {:>8} {:>10} {:>8} {:>12} {:>8}",
            "level", "patterns", "base/x", "rec/s", "x/base", "raw mode", "base/x", "rec/s", "x/base"
        );
        for &level in &levels {
            let (pb, pr) = run(&files, || config(batch, level, TranslatorConfig::default()))?;
            let (rb, rr) = run(&files, || config(batch, level, TranslatorConfig::raw()))?;
            println!(
                "{level:>5} {pb:>10.2} {:>7.2}x {pr:>12.0} {:>7.2}x {rb:>10.2} {:>7.2}x {rr:>12.0} {:>7.2}x",
                base_b / pb,
                pr / base_r,
                base_b / rb,
                rr / base_r
            );
        }
    }
    Ok(())
}
