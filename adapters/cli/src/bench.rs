//! `stateful-logs bench`: per file, this project's wire bytes per record and encode throughput
//! next to the HTTP JSON + zstd-1 baseline's (`encoding.md` §11), measured by the core's
//! `measure` module, and a lossless round trip through the Receiver.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use stateful_logs::measure::{benchmark_records, http_json_baseline, measure_pipeline, whole_file_zstd};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile};

use crate::CliError;
use crate::cli::BenchArgs;
use crate::roundtrip::check_lossless;

/// One file's measures.
#[derive(Debug)]
struct Row {
    file: String,
    records: usize,
    batch_size: u32,
    profile: Profile,
    wire: f64,
    baseline: f64,
    raw: f64,
    zstd19: f64,
    records_per_sec: f64,
    baseline_records_per_sec: f64,
    patterns: u64,
    lossless: bool,
    lossless_error: Option<String>,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "file": self.file,
            "records": self.records,
            "batch_size": self.batch_size,
            "profile": self.profile.name(),
            "wire_bytes_per_record": self.wire,
            "baseline_bytes_per_record": self.baseline,
            "raw_mode_bytes_per_record": self.raw,
            "zstd19_bytes_per_record": self.zstd19,
            "size_ratio": self.baseline / self.wire.max(f64::MIN_POSITIVE),
            "records_per_sec": self.records_per_sec,
            "baseline_records_per_sec": self.baseline_records_per_sec,
            "speed_ratio": self.records_per_sec / self.baseline_records_per_sec.max(f64::MIN_POSITIVE),
            "patterns": self.patterns,
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

fn per_second(records: usize, elapsed: Duration) -> f64 {
    records as f64 / elapsed.as_secs_f64().max(1e-9)
}

fn measure(path: &std::path::Path, batch_size: u32, profile: Profile) -> Result<Row, CliError> {
    let data = std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let records = benchmark_records(&name, &data);
    let n = records.len();
    let failed =
        |e: stateful_logs::measure::MeasureError| CliError::Incomplete(format!("{}: {e}", path.display()));

    // The clone is outside the timed span: the measure consumes its records.
    let input = records.clone();
    let started = Instant::now();
    let ours =
        measure_pipeline(config(batch_size, profile, TranslatorConfig::default()), input).map_err(failed)?;
    let ours_time = started.elapsed();
    let started = Instant::now();
    let baseline = http_json_baseline(&records, batch_size as usize).map_err(failed)?;
    let baseline_time = started.elapsed();
    let raw = measure_pipeline(config(batch_size, profile, TranslatorConfig::raw()), records.clone())
        .map_err(failed)?;
    let zstd19 = whole_file_zstd(&data, 19).map_err(failed)?;
    let lossless = check_lossless(config(batch_size, profile, TranslatorConfig::default()), &records);

    let per_record = |bytes: u64| bytes as f64 / n.max(1) as f64;
    Ok(Row {
        file: path.display().to_string(),
        records: n,
        batch_size,
        profile,
        wire: ours.bytes_per_record(),
        baseline: per_record(baseline),
        raw: raw.bytes_per_record(),
        zstd19: per_record(zstd19),
        records_per_sec: per_second(n, ours_time),
        baseline_records_per_sec: per_second(n, baseline_time),
        patterns: ours.translator.patterns_added,
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
            "{:<28} {:>7} {:>9} {:>9} {:>7} {:>9} {:>9} {:>11} {:>11} {:>8} {:>8}",
            "file",
            "records",
            "wire B/r",
            "JSON B/r",
            "ratio",
            "raw B/r",
            "zstd19",
            "records/s",
            "JSON r/s",
            "patterns",
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
            println!(
                "{:<28} {:>7} {:>9.2} {:>9.2} {:>6.2}x {:>9.2} {:>9.2} {:>11.0} {:>11.0} {:>8} {:>8}",
                name,
                row.records,
                row.wire,
                row.baseline,
                row.baseline / row.wire.max(f64::MIN_POSITIVE),
                row.raw,
                row.zstd19,
                row.records_per_sec,
                row.baseline_records_per_sec,
                row.patterns,
                if row.lossless { "yes" } else { "NO" },
            );
            if let Some(error) = &row.lossless_error {
                eprintln!("{name}: not lossless: {error}");
            }
        }
    }
    Ok(if all_lossless { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
