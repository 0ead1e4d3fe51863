//! `stateful-logs bench`: per file, this project's wire bytes per record (raw mode, the default,
//! and patterns on, each with `zstd-stream` and per-batch `zstd`) and encode throughput next to
//! the HTTP JSON + zstd-1 baseline's (`encoding.md` §11), measured by the core's `measure`
//! module, and a lossless round trip through the Receiver.

use std::process::ExitCode;
use std::time::Instant;

use stateful_logs::measure::{
    FileSizes, benchmark_records, file_sizes, http_json_baseline, measure_pipeline,
};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile, Record};

use crate::CliError;
use crate::cli::BenchArgs;
use crate::roundtrip::check_lossless;

/// One file's measures.
#[derive(Debug)]
struct Row {
    file: String,
    batch_size: u32,
    profile: Profile,
    sizes: FileSizes,
    records_per_sec: f64,
    patterns_records_per_sec: f64,
    baseline_records_per_sec: f64,
    lossless: bool,
    lossless_error: Option<String>,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        let s = &self.sizes;
        serde_json::json!({
            "file": self.file,
            "records": s.records,
            "batch_size": self.batch_size,
            "profile": self.profile.name(),
            "wire_bytes_per_record": s.raw_stream,
            "raw_zstd_stream_bytes_per_record": s.raw_stream,
            "raw_zstd_bytes_per_record": s.raw_zstd,
            "patterns_zstd_stream_bytes_per_record": s.patterns_stream,
            "patterns_zstd_bytes_per_record": s.patterns_zstd,
            "baseline_bytes_per_record": s.baseline,
            "zstd19_bytes_per_record": s.zstd19,
            "size_ratio": s.baseline / s.raw_stream.max(f64::MIN_POSITIVE),
            "records_per_sec": self.records_per_sec,
            "patterns_records_per_sec": self.patterns_records_per_sec,
            "baseline_records_per_sec": self.baseline_records_per_sec,
            "speed_ratio": self.records_per_sec / self.baseline_records_per_sec.max(f64::MIN_POSITIVE),
            "patterns": s.patterns_defined,
            "lossless": self.lossless,
            "lossless_error": self.lossless_error,
        })
    }
}

fn config(batch_size: u32, profile: Profile, translator: TranslatorConfig) -> PipelineConfig {
    // The endpoint is never contacted: the measure plays the intake in memory.
    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
    let mut config = PipelineConfig::new(vec![endpoint]).with_profile(profile);
    config.max_batch_items = batch_size;
    config.translator = translator;
    config
}

/// Records per second of one run of `f` over a copy of `records` (copied outside the timing).
fn rate<T>(records: &[Record], f: impl FnOnce(Vec<Record>) -> T) -> (T, f64) {
    let input = records.to_vec();
    let started = Instant::now();
    let out = f(input);
    (out, records.len() as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

fn measure(path: &std::path::Path, batch_size: u32, profile: Profile) -> Result<Row, CliError> {
    let data = std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let records = benchmark_records(&name, &data);
    let failed =
        |e: stateful_logs::measure::MeasureError| CliError::Incomplete(format!("{}: {e}", path.display()));

    let default = config(batch_size, profile, TranslatorConfig::raw());
    let (ours, records_per_sec) = rate(&records, |r| measure_pipeline(default.clone(), r));
    ours.map_err(failed)?;
    let patterns = config(batch_size, profile, TranslatorConfig::default());
    let (run, patterns_records_per_sec) = rate(&records, |r| measure_pipeline(patterns.clone(), r));
    run.map_err(failed)?;
    let (baseline, baseline_records_per_sec) =
        rate(&records, |r| http_json_baseline(&r, batch_size as usize));
    baseline.map_err(failed)?;
    let sizes = file_sizes(&name, &data, &default).map_err(failed)?;
    // Both renderings must come back intact: the default and patterns on.
    let lossless = check_lossless(default, &records).and_then(|()| check_lossless(patterns, &records));
    Ok(Row {
        file: path.display().to_string(),
        batch_size,
        profile,
        sizes,
        records_per_sec,
        patterns_records_per_sec,
        baseline_records_per_sec,
        lossless: lossless.is_ok(),
        lossless_error: lossless.err().map(|e| e.to_string()),
    })
}

/// Runs `bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode, CliError> {
    let profile: Profile = args.profile.into();
    let batch_size = args.batch_size.max(1);
    if !args.json {
        println!(
            "{:<22} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10} {:>8}",
            "file",
            "records",
            "raw+str",
            "raw+zstd",
            "pat+str",
            "pat+zstd",
            "JSON",
            "zstd19",
            "ratio",
            "rec/s",
            "pat rec/s",
            "JSON r/s",
            "lossless"
        );
    }
    let mut all_lossless = true;
    for path in &args.input {
        let row = measure(path, batch_size, profile)?;
        all_lossless &= row.lossless;
        if args.json {
            println!("{}", row.json());
        } else {
            let name =
                path.file_name().map_or_else(|| row.file.clone(), |n| n.to_string_lossy().into_owned());
            let z = &row.sizes;
            println!(
                "{:<22} {:>7} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>6.2}x {:>10.0} {:>10.0} {:>10.0} {:>8}",
                name,
                z.records,
                z.raw_stream,
                z.raw_zstd,
                z.patterns_stream,
                z.patterns_zstd,
                z.baseline,
                z.zstd19,
                z.baseline / z.raw_stream.max(f64::MIN_POSITIVE),
                row.records_per_sec,
                row.patterns_records_per_sec,
                row.baseline_records_per_sec,
                if row.lossless { "yes" } else { "NO" },
            );
            if let Some(error) = &row.lossless_error {
                eprintln!("{name}: not lossless: {error}");
            }
        }
    }
    Ok(if all_lossless { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
