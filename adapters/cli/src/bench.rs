//! `stateful-logs bench`: per file and per profile (`v1` and `v2` side by side), this project's
//! wire bytes per record (raw mode, the default, and patterns on, each with `zstd-stream` and
//! per-batch `zstd`) and encode throughput next to the HTTP JSON + zstd-1 baseline's
//! (`encoding.md` §11), measured by the core's `measure` module, and a lossless round trip
//! through the Receiver. For files of JSON logs the baseline of reference is the parsed one
//! (`stateful_logs_bench::BaselineMessage::ParsedJson`: the log's object merged with the metadata).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile, Record};
use stateful_logs_bench::{
    BaselineMessage, FileSizes, benchmark_records, file_sizes, http_json_baseline_with, measure_pipeline,
};

use crate::CliError;
use crate::cli::{BenchArgs, CorpusArg};
use crate::roundtrip::check_lossless;

/// The bundled corpora (`--corpus`), read where the repository has them.
const CORPORA_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora");

/// One file's measures in one profile.
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
    /// The baseline this row compares with: the parsed one when the file holds JSON logs.
    fn baseline(&self) -> f64 {
        if self.json_logs() { self.sizes.baseline_parsed } else { self.sizes.baseline }
    }

    /// Whether most records are JSON objects (then the parsed baseline is the reference).
    fn json_logs(&self) -> bool {
        self.sizes.json_objects * 2 > self.sizes.records
    }

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
            "baseline_bytes_per_record": self.baseline(),
            "baseline_message": if self.json_logs() { "parsed_json" } else { "text" },
            "text_baseline_bytes_per_record": s.baseline,
            "parsed_json_baseline_bytes_per_record": s.baseline_parsed,
            "json_records": s.json_objects,
            "zstd19_bytes_per_record": s.zstd19,
            "size_ratio": self.baseline() / s.raw_stream.max(f64::MIN_POSITIVE),
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

fn measure(path: &Path, data: &[u8], batch_size: u32, profile: Profile) -> Result<Row, CliError> {
    let name = display_name(path);
    let records = benchmark_records(&name, data);
    let failed =
        |e: stateful_logs_bench::MeasureError| CliError::Incomplete(format!("{}: {e}", path.display()));

    let default = config(batch_size, profile, TranslatorConfig::raw());
    let (ours, records_per_sec) = rate(&records, |r| measure_pipeline(default.clone(), r));
    ours.map_err(failed)?;
    let patterns = config(batch_size, profile, TranslatorConfig::default());
    let (run, patterns_records_per_sec) = rate(&records, |r| measure_pipeline(patterns.clone(), r));
    run.map_err(failed)?;
    let sizes = file_sizes(&name, data, &default).map_err(failed)?;
    let message = if sizes.json_objects * 2 > sizes.records {
        BaselineMessage::ParsedJson
    } else {
        BaselineMessage::Text
    };
    let (baseline, baseline_records_per_sec) =
        rate(&records, |r| http_json_baseline_with(&r, batch_size as usize, message));
    baseline.map_err(failed)?;
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

/// The files of a bundled corpus, in name order.
fn corpus_files(corpus: CorpusArg) -> Result<Vec<PathBuf>, CliError> {
    let (dir, ext) = match corpus {
        CorpusArg::Loghub => ("loghub", "log"),
        CorpusArg::Json => ("json", "jsonl"),
        CorpusArg::Long => ("long", "zst"),
    };
    let dir = Path::new(CORPORA_DIR).join(dir);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        CliError::io(
            format!("cannot read the bundled corpus {} (outside the repository, use --input)", dir.display()),
            e,
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    Ok(files)
}

const HEADER: [&str; 14] = [
    "file", "records", "v1 raw", "v1 pat", "v2 raw", "v2 pat", "JSON", "JSONobj", "zstd19", "v1 x", "v2 x",
    "v1 rec/s", "v2 rec/s", "lossless",
];

fn print_header() {
    let h = HEADER;
    println!(
        "{:<22} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6} {:>6} {:>10} {:>10} {:>8}",
        h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13]
    );
}

/// One table line for a file: each profile's sizes and rates (`-` for a profile not measured).
fn print_file(name: &str, rows: &[Row]) {
    let of = |p: Profile| rows.iter().find(|r| r.profile == p);
    let size = |p: Profile, f: fn(&FileSizes) -> f64| {
        of(p).map_or("-".to_owned(), |r| format!("{:.2}", f(&r.sizes)))
    };
    let ratio = |p: Profile| {
        of(p).map_or("-".to_owned(), |r| {
            format!("{:.2}x", r.baseline() / r.sizes.raw_stream.max(f64::MIN_POSITIVE))
        })
    };
    let speed = |p: Profile| of(p).map_or("-".to_owned(), |r| format!("{:.0}", r.records_per_sec));
    let Some(first) = rows.first() else { return };
    let z = &first.sizes;
    let parsed = if first.json_logs() { format!("{:.2}", z.baseline_parsed) } else { "-".to_owned() };
    let lossless = if rows.iter().all(|r| r.lossless) { "yes" } else { "NO" };
    println!(
        "{:<22} {:>7} {:>8} {:>8} {:>8} {:>8} {:>8.2} {:>8} {:>8.2} {:>6} {:>6} {:>10} {:>10} {:>8}",
        name,
        z.records,
        size(Profile::V1, |s| s.raw_stream),
        size(Profile::V1, |s| s.patterns_stream),
        size(Profile::V2, |s| s.raw_stream),
        size(Profile::V2, |s| s.patterns_stream),
        z.baseline,
        parsed,
        z.zstd19,
        ratio(Profile::V1),
        ratio(Profile::V2),
        speed(Profile::V1),
        speed(Profile::V2),
        lossless,
    );
}

/// Runs `bench`.
pub fn run(args: BenchArgs) -> Result<ExitCode, CliError> {
    let profiles: Vec<Profile> = match args.profile {
        Some(p) => vec![p.into()],
        None => Profile::ALL.to_vec(),
    };
    let batch_size = args.batch_size.max(1);
    let mut inputs = args.input.clone();
    if let Some(corpus) = args.corpus {
        inputs.extend(corpus_files(corpus)?);
    }
    if inputs.is_empty() {
        return Err(CliError::Incomplete(
            "no input files (give --input FILE… or --corpus loghub|json)".into(),
        ));
    }
    if !args.rates.is_empty() || args.levels || args.framing {
        return run_compression(&args, &inputs);
    }
    if !args.json {
        println!(
            "bytes per record at batch {batch_size}: raw = the default (patterns off), pat = patterns on, \
             both zstd-stream; JSON = HTTP JSON + zstd-1 with the line as `message`; JSONobj = the \
             same with JSON logs parsed and merged with the metadata (the baseline of JSON files); \
             x = baseline / raw"
        );
        print_header();
    }
    let mut all_lossless = true;
    for path in &inputs {
        let data = read_input(path)?;
        let rows: Vec<Row> =
            profiles.iter().map(|&p| measure(path, &data, batch_size, p)).collect::<Result<_, _>>()?;
        all_lossless &= rows.iter().all(|r| r.lossless);
        let name = display_name(path);
        if args.json {
            for row in &rows {
                println!("{}", row.json());
            }
        } else {
            print_file(&name, &rows);
        }
        for row in &rows {
            if let Some(error) = &row.lossless_error {
                eprintln!("{name} ({}): not lossless: {error}", row.profile);
            }
        }
    }
    Ok(if all_lossless { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// A file's bytes; a `.zst` file (the long corpus) is decompressed.
fn read_input(path: &Path) -> Result<Vec<u8>, CliError> {
    let data = std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    if path.extension().is_some_and(|e| e == "zst") {
        return zstd::decode_all(&data[..])
            .map_err(|e| CliError::io(format!("cannot decompress {}", path.display()), e));
    }
    Ok(data)
}

/// A file's name without the directory and without `.zst` (the Loghub system name leads it).
fn display_name(path: &Path) -> String {
    let name =
        path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
    name.strip_suffix(".zst").map(str::to_owned).unwrap_or(name)
}

/// `--rates`, `--levels`, `--framing` (see [`crate::bench_compression`]), profile `v1` unless
/// `--profile` says otherwise.
fn run_compression(args: &BenchArgs, inputs: &[PathBuf]) -> Result<ExitCode, CliError> {
    use crate::bench_compression as bc;
    use stateful_logs::codec::{Compression, CpuBudget};
    let profile = args.profile.map_or(Profile::V1, Into::into);
    let batch_size = args.batch_size.max(1);
    let mut base = config(batch_size, profile, TranslatorConfig::raw());
    base.transport.compression =
        Compression { window_log: args.zstd_stream_window_log, ..Compression::default() };
    let budget = CpuBudget::percent(args.compression_cpu);
    let files: Vec<(String, Vec<u8>)> =
        inputs.iter().map(|p| Ok((display_name(p), read_input(p)?))).collect::<Result<_, CliError>>()?;
    if !args.rates.is_empty() {
        bc::print_rates_header(budget, batch_size);
        for (name, data) in &files {
            bc::print_rates(name, data, &base, &args.rates, budget)?;
        }
    }
    if args.levels {
        bc::print_levels_header(batch_size, args.zstd_stream_window_log);
        for (name, data) in &files {
            bc::print_levels(name, data, &base)?;
        }
    }
    if args.framing {
        for rung in [stateful_logs::codec::ladder::LADDER[0], stateful_logs::codec::ladder::LADDER[3]] {
            bc::print_framing_header(rung, batch_size);
            for (name, data) in &files {
                bc::print_framing(name, data, &base, rung)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
