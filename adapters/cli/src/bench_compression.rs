//! `stateful-logs bench --rates …`, `--levels` and `--framing`: what the adaptive
//! `zstd-stream` level does (spec Amendment 5).
//!
//! - **Rates**: each file is fed to a Pipeline at a given input rate on a simulated clock (the
//!   record `i` arrives at `i / rate` s) with an in-memory intake that acks at once; every
//!   pulled batch's compression is timed on this machine's clock and handed to the Pipeline
//!   as a driver does, so the level follows what compression really costs here. Reported: wire
//!   bytes per record, the level at the end and its changes, and the CPU share of compression
//!   (compression time over the simulated span), beside HTTP JSON + zstd-1 and whole-file
//!   `zstd -19`.
//! - **Levels**: the Pipeline's serialized batches (captured once, codec `identity`) through
//!   one `zstd-stream` context per rung of the ladder and per fixed zstd level: bytes per
//!   record and records per second (encoding + compression), with `zstd -19` of the whole file.
//! - **Framing**: the same batches against the file's bare lines through the same stream
//!   compressor and batch boundaries, and against the records with their metadata or
//!   timestamps made constant, to show where the bytes beyond the text go.

use std::time::{Duration, Instant};

use stateful_logs::codec::ladder::{LADDER, Rung};
use stateful_logs::codec::stream::StreamCompressor;
use stateful_logs::codec::{Compression, CpuBudget};
use stateful_logs::proto::stateful::batch_status::Status;
use stateful_logs::{Action, Pipeline, PipelineConfig, Record, RejectReason, StreamId, Timestamp};
use stateful_logs_bench::{
    BaselineMessage, benchmark_records, http_json_baseline_with, is_json_object, lines,
    measure_pipeline_with, whole_file_zstd,
};

use stateful_logs_runtime::calibration::calibrate_ladder;

use crate::CliError;

/// One file fed at one input rate.
#[derive(Debug, Default)]
pub struct RateRun {
    /// Records fed.
    pub records: u64,
    /// `StatefulBatch.data` bytes pulled.
    pub wire_bytes: u64,
    /// Compression time measured on this machine.
    pub compression: Duration,
    /// The simulated span from the first record to the last batch.
    pub span_ms: u64,
    /// The nominal zstd level at the end.
    pub level: u64,
    /// Level changes (each a new zstd frame).
    pub level_changes: u64,
    /// Wall time of the whole run (encoding and compression).
    pub wall: Duration,
}

impl RateRun {
    /// Compression time over the simulated span, in percent of one core.
    pub fn cpu_percent(&self) -> f64 {
        self.compression.as_secs_f64() * 100_000.0 / self.span_ms.max(1) as f64
    }
}

fn failed(context: &str) -> impl Fn(String) -> CliError + '_ {
    move |e| CliError::Incomplete(format!("{context}: {e}"))
}

/// Feeds `records` to a Pipeline with `config` at `rate` records per second (see the module
/// doc); the intake opens streams and acks every batch at once.
pub fn run_at_rate(
    config: PipelineConfig,
    records: &[Record],
    rate: f64,
    calibration: &[f64],
) -> Result<RateRun, String> {
    let started = Instant::now();
    let at = |i: usize| Timestamp((i as f64 * 1000.0 / rate) as u64);
    let mut p = Pipeline::new(config, 0, Timestamp(0)).map_err(|e| e.to_string())?;
    p.handle_compression_calibration(calibration);
    let mut stream = None;
    let mut run = RateRun::default();
    for (i, record) in records.iter().enumerate() {
        let now = at(i);
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.handle_timeout(now);
        }
        let mut record = record.clone();
        loop {
            match p.handle_record(now, record) {
                Ok(()) => break,
                Err(rejected) if rejected.reason == RejectReason::Full => {
                    record = rejected.record;
                    if pump(&mut p, &mut stream, now, &mut run)? == 0 {
                        return Err("the pipeline stays full".into());
                    }
                }
                Err(rejected) => return Err(rejected.reason.to_string()),
            }
        }
        run.records += 1;
        pump(&mut p, &mut stream, now, &mut run)?;
    }
    let end = at(records.len());
    p.flush(end);
    while pump(&mut p, &mut stream, end, &mut run)? > 0 {}
    let m = p.metrics();
    run.span_ms = end.as_millis();
    run.level = m.transport.compression_level;
    run.level_changes = m.transport.compression_level_changes;
    run.wall = started.elapsed();
    Ok(run)
}

/// Plays the intake: opens streams, takes every batch, times its pull and acks it.
fn pump(
    p: &mut Pipeline,
    stream: &mut Option<StreamId>,
    now: Timestamp,
    run: &mut RateRun,
) -> Result<u64, String> {
    let mut sent = 0;
    loop {
        while let Some(action) = p.poll_action() {
            match action {
                Action::OpenStream { stream: s, .. } => {
                    p.handle_stream_opened(now, s);
                    *stream = Some(s);
                }
                Action::CloseStream { stream: s, .. } if *stream == Some(s) => *stream = None,
                Action::Halted(e) => return Err(e.to_string()),
                _ => {}
            }
        }
        let Some(s) = *stream else { return Ok(sent) };
        let pulled = Instant::now();
        let Some(transmit) = p.poll_transmit(now, s) else { return Ok(sent) };
        let elapsed = pulled.elapsed();
        p.handle_compression_time(now, elapsed);
        run.compression += elapsed;
        run.wire_bytes += transmit.data.len() as u64;
        sent += 1;
        p.handle_ack(now, s, transmit.batch_id, Status::Ok as i32);
    }
}

/// The serialized batches (`StatefulBatch.data` with codec `identity`) of `records`.
fn serialized_batches(config: &PipelineConfig, records: &[Record]) -> Result<Vec<Vec<u8>>, CliError> {
    let mut config = config.clone();
    config.transport.compression = Compression::identity();
    let mut batches = Vec::new();
    measure_pipeline_with(config, records.iter().cloned(), |b| batches.push(b.to_vec()))
        .map_err(|e| CliError::Incomplete(format!("serializing the batches: {e}")))?;
    Ok(batches)
}

/// Compressed bytes of `batches` through one stream context at `rung`, and the time it took.
fn through_stream(batches: &[Vec<u8>], rung: Rung, window_log: u8) -> Result<(u64, Duration), CliError> {
    let mut context = StreamCompressor::at_rung(rung, window_log)
        .map_err(|e| CliError::Incomplete(format!("zstd refused level {}: {e}", rung.level)))?;
    let started = Instant::now();
    let mut bytes = 0u64;
    for batch in batches {
        bytes += context.compress_batch(batch).map_err(|e| CliError::Incomplete(e.to_string()))?.len() as u64;
    }
    Ok((bytes, started.elapsed()))
}

/// The HTTP JSON + zstd-1 baseline (parsed for JSON logs) and whole-file `zstd -19`, per record.
fn references(records: &[Record], data: &[u8], batch: usize) -> Result<(f64, f64), CliError> {
    let json = records.iter().filter(|r| is_json_object(&r.content)).count() * 2 > records.len();
    let message = if json { BaselineMessage::ParsedJson } else { BaselineMessage::Text };
    let fail = |e: stateful_logs_bench::MeasureError| CliError::Incomplete(e.to_string());
    let n = records.len().max(1) as f64;
    let baseline = http_json_baseline_with(records, batch, message).map_err(fail)? as f64 / n;
    let zstd19 = whole_file_zstd(data, 19).map_err(fail)? as f64 / n;
    Ok((baseline, zstd19))
}

/// `--rates`: one line per file and rate.
pub fn print_rates(
    name: &str,
    data: &[u8],
    base: &PipelineConfig,
    rates: &[f64],
    budget: CpuBudget,
) -> Result<(), CliError> {
    let records = benchmark_records(name, data);
    let (baseline, zstd19) = references(&records, data, base.max_batch_items as usize)?;
    let mut fixed = base.clone();
    fixed.transport.compression =
        Compression { window_log: base.transport.compression.window_log, ..Compression::zstd_stream(1) };
    let level1 = run_at_rate(fixed, &records, 1e6, &[]).map_err(failed(name))?;
    // As the client does: the ladder timed on a sample before the first batch.
    let calibration = calibrate_ladder(base.transport.compression.window_log);
    let n = records.len().max(1) as f64;
    for &rate in rates {
        let mut config = base.clone();
        config.transport.compression = Compression {
            window_log: base.transport.compression.window_log,
            ..Compression::adaptive(budget)
        };
        let run = run_at_rate(config, &records, rate, &calibration).map_err(failed(name))?;
        let bytes = run.wire_bytes as f64 / n;
        println!(
            "{name:<22} {rate:>9.0} {bytes:>8.2} {:>8.2} {:>6} {:>7} {:>6.1} {baseline:>8.2} {zstd19:>8.2} {:>7.2}x {:>6.2}x {:>10.0}",
            level1.wire_bytes as f64 / n,
            run.level,
            run.level_changes,
            run.cpu_percent(),
            baseline / bytes,
            bytes / zstd19,
            n / run.wall.as_secs_f64().max(1e-9),
        );
    }
    Ok(())
}

/// The header of `--rates`.
pub fn print_rates_header(budget: CpuBudget, batch: u32) {
    println!(
        "adaptive zstd-stream, budget {:.1} % of one core, batch {batch}; bytes per record: ours, \
         fixed level 1 (the old default), HTTP JSON + zstd-1, whole-file zstd -19",
        f64::from(budget.as_permille()) / 10.0
    );
    println!(
        "{:<22} {:>9} {:>8} {:>8} {:>6} {:>7} {:>6} {:>8} {:>8} {:>8} {:>7} {:>10}",
        "file",
        "rec/s in",
        "B/rec",
        "level1",
        "level",
        "changes",
        "cpu %",
        "JSON",
        "zstd19",
        "JSON/x",
        "x/-19",
        "rec/s run"
    );
}

/// `--levels`: one line per file and level.
pub fn print_levels(name: &str, data: &[u8], base: &PipelineConfig) -> Result<(), CliError> {
    let records = benchmark_records(name, data);
    let (baseline, zstd19) = references(&records, data, base.max_batch_items as usize)?;
    let started = Instant::now();
    let batches = serialized_batches(base, &records)?;
    let encode = started.elapsed();
    let n = records.len().max(1) as f64;
    let window = base.transport.compression.window_log;
    // Patterns on (the translator's default), for the same rungs.
    let mut with_patterns = base.clone();
    with_patterns.translator = stateful_logs::translator::TranslatorConfig::default();
    let started = Instant::now();
    let pattern_batches = serialized_batches(&with_patterns, &records)?;
    let pattern_encode = started.elapsed();
    let mut rows: Vec<(String, Rung, bool)> =
        LADDER.iter().enumerate().map(|(i, &r)| (format!("rung {i} (~{})", r.level), r, false)).collect();
    rows.extend(LADDER.iter().enumerate().map(|(i, &r)| (format!("patterns r{i}"), r, true)));
    rows.extend([1, 3, 6, 9, 12, 16, 19].map(|l| (format!("zstd {l}"), Rung::fixed(l), false)));
    for (label, rung, patterns) in rows {
        let (batches, encode) =
            if patterns { (&pattern_batches, pattern_encode) } else { (&batches, encode) };
        let (bytes, time) = through_stream(batches, rung, window)?;
        let bytes = bytes as f64 / n;
        println!(
            "{name:<22} {label:<14} {bytes:>8.2} {:>7.3}x {:>7.2}x {:>10.0} {:>10.0}",
            bytes / zstd19,
            baseline / bytes,
            n / (encode + time).as_secs_f64().max(1e-9),
            n / time.as_secs_f64().max(1e-9),
        );
    }
    Ok(())
}

/// The header of `--levels`.
pub fn print_levels_header(batch: u32, window_log: u8) {
    println!(
        "zstd-stream by level, batch {batch}, window 2^{window_log}: bytes per record, as a multiple of \
         whole-file zstd -19, HTTP JSON + zstd-1 over it, records/s encoding + compression and \
         compression alone (one core)"
    );
    println!(
        "{:<22} {:<14} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "file", "level", "B/rec", "x/-19", "JSON/x", "rec/s", "compress"
    );
}

/// `--framing`: where the bytes beyond the text go, at `rung`.
pub fn print_framing(name: &str, data: &[u8], base: &PipelineConfig, rung: Rung) -> Result<(), CliError> {
    let records = benchmark_records(name, data);
    let n = records.len().max(1) as f64;
    let window = base.transport.compression.window_log;
    let batch = base.max_batch_items.max(1) as usize;
    // The bare lines, newline-terminated, cut where the Pipeline cuts batches.
    let text: Vec<Vec<u8>> = lines(data)
        .collect::<Vec<_>>()
        .chunks(batch)
        .map(|c| c.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect())
        .collect();
    let size = |batches: &[Vec<u8>]| through_stream(batches, rung, window).map(|(b, _)| b as f64 / n);
    let variants: Vec<(&str, Vec<Record>)> = vec![
        ("records as sent", records.clone()),
        ("one timestamp", records.iter().cloned().map(|r| Record { timestamp_ms: 0, ..r }).collect()),
        (
            "no metadata",
            records
                .iter()
                .map(|r| Record { ack_token: r.ack_token, ..Record::new(r.timestamp_ms, r.content.clone()) })
                .collect(),
        ),
        (
            "neither",
            records
                .iter()
                .map(|r| Record { ack_token: r.ack_token, ..Record::new(0, r.content.clone()) })
                .collect(),
        ),
    ];
    let lines_bytes = size(&text)?;
    println!("{name:<22} {:<18} {lines_bytes:>8.2} {:>8}", "bare lines", "-");
    for (label, records) in variants {
        let batches = serialized_batches(base, &records)?;
        let bytes = size(&batches)?;
        println!("{name:<22} {label:<18} {bytes:>8.2} {:>+7.1}%", (bytes / lines_bytes - 1.0) * 100.0);
    }
    Ok(())
}

/// The header of `--framing`.
pub fn print_framing_header(rung: Rung, batch: u32) {
    println!(
        "framing overhead at zstd level ~{} (stream, batch {batch}): bytes per record of the wire against \
         the bare lines through the same compressor and batch boundaries",
        rung.level
    );
    println!("{:<22} {:<18} {:>8} {:>8}", "file", "variant", "B/rec", "vs lines");
}
