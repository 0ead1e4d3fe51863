//! Wire bytes per record on the Loghub files (spec `encoding.md` §11), next to the HTTP JSON +
//! zstd-1 baseline, this project's raw mode and the whole file with zstd -19; plus translator +
//! encoder throughput next to the baseline encoder's.
//!
//! `cargo run --release --example wire_size [DIR]` (default: `corpora/loghub`).

mod loghub;

use std::time::{Duration, Instant};

use stateful_logs::measure::{benchmark_records, http_json_baseline, measure_pipeline, whole_file_zstd};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile};

/// Each throughput is the best of this many runs.
const RUNS: usize = 3;

struct Row {
    name: String,
    records: usize,
    ours: f64,
    baseline: f64,
    raw: f64,
    bound: f64,
    ours_rps: f64,
    raw_rps: f64,
    baseline_rps: f64,
    patterns: u64,
}

fn config(batch: usize, translator: TranslatorConfig) -> PipelineConfig {
    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
    let mut c = PipelineConfig::new(vec![endpoint]).with_profile(Profile::V1);
    c.max_batch_items = u32::try_from(batch).unwrap_or(u32::MAX);
    c.translator = translator;
    c
}

fn best<T>(mut f: impl FnMut() -> T) -> (T, Duration) {
    let mut fastest = Duration::MAX;
    let mut out = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let value = f();
        fastest = fastest.min(start.elapsed());
        out = Some(value);
    }
    (out.expect("RUNS > 0"), fastest)
}

fn rate(records: usize, d: Duration) -> f64 {
    records as f64 / d.as_secs_f64().max(1e-9)
}

fn measure(name: &str, data: &[u8], batch: usize) -> Result<Row, Box<dyn std::error::Error>> {
    let records = benchmark_records(name, data);
    let n = records.len();
    let (ours, ours_time) =
        best(|| measure_pipeline(config(batch, TranslatorConfig::default()), records.clone()));
    let ours = ours?;
    let (baseline, baseline_time) = best(|| http_json_baseline(&records, batch));
    let (raw, raw_time) = best(|| measure_pipeline(config(batch, TranslatorConfig::raw()), records.clone()));
    let raw = raw?;
    let bound = whole_file_zstd(data, 19)?;
    let per = |bytes: u64| bytes as f64 / n.max(1) as f64;
    // Cloning the records is part of the timed pipeline run; time it alone and take it out.
    let (_, clone_time) = best(|| records.clone());
    let ours_time = ours_time.saturating_sub(clone_time);
    let raw_time = raw_time.saturating_sub(clone_time);
    Ok(Row {
        name: name.to_owned(),
        records: n,
        ours: ours.bytes_per_record(),
        baseline: per(baseline?),
        raw: raw.bytes_per_record(),
        bound: per(bound),
        ours_rps: rate(n, ours_time),
        raw_rps: rate(n, raw_time),
        baseline_rps: rate(n, baseline_time),
        patterns: ours.translator.patterns_added,
    })
}

fn geomean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v.ln(), n + 1));
    (sum / n.max(1) as f64).exp()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| loghub::DEFAULT_DIR.to_owned());
    let inputs = loghub::log_files(&dir)?;
    for batch in [1000, 100] {
        println!(
            "\nbatch size {batch} (bytes per record; ratios = baseline / ours, raw / ours, ours / bound)"
        );
        println!(
            "{:<18} {:>7} {:>8} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>12} {:>12} {:>12}",
            "file",
            "records",
            "ours",
            "baseline",
            "raw",
            "zstd-19",
            "base/x",
            "raw/x",
            "x/bound",
            "patterns",
            "ours rec/s",
            "raw rec/s",
            "base rec/s"
        );
        let mut rows = Vec::new();
        for (name, data) in &inputs {
            let r = measure(name, data, batch)?;
            println!(
                "{:<18} {:>7} {:>8.2} {:>9.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2} {:>7.2} {:>9} {:>12.0} {:>12.0} {:>12.0}",
                r.name,
                r.records,
                r.ours,
                r.baseline,
                r.raw,
                r.bound,
                r.baseline / r.ours,
                r.raw / r.ours,
                r.ours / r.bound,
                r.patterns,
                r.ours_rps,
                r.raw_rps,
                r.baseline_rps
            );
            rows.push(r);
        }
        let g = |f: fn(&Row) -> f64| geomean(rows.iter().map(f));
        let (ours, baseline, raw, bound) = (g(|r| r.ours), g(|r| r.baseline), g(|r| r.raw), g(|r| r.bound));
        println!(
            "{:<18} {:>7} {:>8.2} {:>9.2} {:>8.2} {:>8.2} {:>7.2} {:>7.2} {:>7.2} {:>9} {:>12.0} {:>12.0} {:>12.0}",
            "geometric mean",
            "",
            ours,
            baseline,
            raw,
            bound,
            baseline / ours,
            raw / ours,
            ours / bound,
            "",
            g(|r| r.ours_rps),
            g(|r| r.raw_rps),
            g(|r| r.baseline_rps)
        );
    }
    Ok(())
}
