//! Wire-size measurement (spec `encoding.md` §10.4, §11), shared by the benchmark examples
//! (`wire_size`, `wire_hash`, `zstd_levels`, `json_layouts`, tokio's `loopback_bench`), the
//! criterion benches and the CLI's `bench` and `demo` commands. Benchmark tooling, kept out of
//! the protocol crate; not published.
//!
//! Sans-IO like the core: no clock, no files. The caller reads the input and times
//! the calls it wants a throughput for. Each function gives one measure of §11:
//! - [`benchmark_records`]: line input (§10.4) and the benchmark record mapping;
//! - [`http_json_baseline`]: the HTTP JSON + zstd-1 baseline, one compressed array per batch;
//!   [`http_json_baseline_with`] with [`BaselineMessage::ParsedJson`] is its variant for JSON
//!   logs (the log's object merged with the metadata, as from an agent that parses JSON logs);
//! - [`measure_pipeline`]: this project's wire bytes through a real [`Pipeline`] driven by the
//!   core's loopback (`stateful_logs::testing`), a perfect in-memory peer that acks every batch
//!   at once (raw mode: pass a configuration with `patterns.enabled = false`);
//! - [`whole_file_zstd`]: the whole file compressed at once, the practical bound.

pub mod json_corpus;

use bytes::Bytes;

#[cfg(doc)]
use stateful_logs::Pipeline;
use stateful_logs::PipelineConfig;
use stateful_logs::Record;
use stateful_logs::codec::Compression;
pub use stateful_logs::http_json::{write_http_json_object_record, write_http_json_record};
use stateful_logs::testing::{Loopback, LoopbackConfig, LoopbackError, Peer};
use stateful_logs::translator::{TranslatorConfig, TranslatorMetrics};

/// The first benchmark timestamp (§11): record `i` gets this + `i`.
pub const BENCHMARK_EPOCH_MS: i64 = 1_700_000_000_000;
/// The benchmark's tags (§11), also the baseline's `ddtags`.
pub const BENCHMARK_TAGS: [&str; 2] = ["env:prod", "version:1.2.3"];
/// The benchmark's hostname (§11).
pub const BENCHMARK_HOSTNAME: &str = "host-1";
/// The benchmark's status (§11).
pub const BENCHMARK_STATUS: &str = "info";

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// Compression failed (the codec reported an error).
    #[error("zstd compression failed: {0}")]
    Compress(#[from] std::io::Error),
    /// The Pipeline refused its configuration.
    #[error("invalid pipeline configuration: {0}")]
    Config(#[from] stateful_logs::ConfigError),
    /// The Pipeline halted or refused a record; the measurement is incomplete.
    #[error("the pipeline stopped during the measurement: {0}")]
    Pipeline(String),
}

/// Line input (§10.4): split on `\n`, strip one trailing `\r`, skip lines left empty.
pub fn lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    data.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).filter(|l| !l.is_empty())
}

/// A Loghub file's system name (§11): its file name up to the first `_`, or the whole name.
pub fn system_name(file_name: &str) -> &str {
    file_name.split('_').next().unwrap_or(file_name)
}

/// The benchmark records of a file (§11): line `i` becomes a record at
/// [`BENCHMARK_EPOCH_MS`] + `i`, status `info`, hostname `host-1`, service and source the
/// system name, tags [`BENCHMARK_TAGS`]; its ack token is `i`.
pub fn benchmark_records(file_name: &str, data: &[u8]) -> Vec<Record> {
    let system = system_name(file_name);
    lines(data)
        .enumerate()
        .map(|(i, line)| {
            Record::new(BENCHMARK_EPOCH_MS + i as i64, Bytes::copy_from_slice(line))
                .with_status(BENCHMARK_STATUS)
                .with_hostname(BENCHMARK_HOSTNAME)
                .with_service(system)
                .with_source(system)
                .with_tags(BENCHMARK_TAGS)
                .with_ack_token(i as u64)
        })
        .collect()
}

/// How the HTTP baseline carries a record's content.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BaselineMessage {
    /// The content as the `message` string (§11, [`write_http_json_record`]).
    #[default]
    Text,
    /// A content that is a JSON object as that object merged with the metadata
    /// ([`write_http_json_object_record`]); the fair baseline for JSON logs.
    ParsedJson,
}

/// Whether `content` is a JSON object (what [`BaselineMessage::ParsedJson`] merges).
pub fn is_json_object(content: &[u8]) -> bool {
    content.first() == Some(&b'{')
        && serde_json::from_slice::<serde_json::Value>(content).is_ok_and(|v| v.is_object())
}

/// The HTTP JSON + zstd-1 baseline (§11): the records of each batch of `batch_size` form one
/// JSON array, compressed on its own. Returns the sum of the compressed sizes.
pub fn http_json_baseline(records: &[Record], batch_size: usize) -> Result<u64, MeasureError> {
    http_json_baseline_with(records, batch_size, BaselineMessage::Text)
}

/// [`http_json_baseline`] with the records written as `message` says.
pub fn http_json_baseline_with(
    records: &[Record],
    batch_size: usize,
    message: BaselineMessage,
) -> Result<u64, MeasureError> {
    let write = match message {
        BaselineMessage::Text => write_http_json_record,
        BaselineMessage::ParsedJson => write_http_json_object_record,
    };
    let mut total = 0;
    let mut array = Vec::new();
    for batch in records.chunks(batch_size.max(1)) {
        array.clear();
        array.push(b'[');
        for (i, record) in batch.iter().enumerate() {
            if i > 0 {
                array.push(b',');
            }
            write(record, &mut array);
        }
        array.push(b']');
        total += zstd::bulk::compress(&array, 1)?.len() as u64;
    }
    Ok(total)
}

/// The whole input compressed at once with zstd at `level` (19 for the §11 bound).
pub fn whole_file_zstd(data: &[u8], level: i32) -> Result<u64, MeasureError> {
    Ok(zstd::bulk::compress(data, level)?.len() as u64)
}

/// What [`measure_pipeline`] saw.
#[derive(Clone, Debug, PartialEq)]
pub struct WireMeasure {
    /// Records handed to the Pipeline.
    pub records: u64,
    /// Sum of the `StatefulBatch.data` lengths of every batch sent, batch 0 included (§11).
    pub wire_bytes: u64,
    /// Batches sent, batch 0 included.
    pub batches: u64,
    /// The translator's counters at the end.
    pub translator: TranslatorMetrics,
    /// The translator's state size at the end.
    pub state_size_bytes: u64,
}

impl WireMeasure {
    /// Wire bytes per record.
    pub fn bytes_per_record(&self) -> f64 {
        self.wire_bytes as f64 / self.records.max(1) as f64
    }
}

/// Sends `records` through a [`Pipeline`] with `config` and a perfect in-memory peer (the
/// core's `testing::Loopback` with an ack-only peer): every stream opens at once and every
/// batch is acked as soon as it is sent. The clock stands still at `Timestamp(0)`, so batches
/// close on `max_batch_items` or `max_batch_bytes` and streams never reach their lifetime;
/// the result depends only on the input and `config`.
pub fn measure_pipeline(
    config: PipelineConfig,
    records: impl IntoIterator<Item = Record>,
) -> Result<WireMeasure, MeasureError> {
    measure_pipeline_with(config, records, |_| {})
}

/// [`measure_pipeline`], handing every batch's `StatefulBatch.data` to `on_batch` in the
/// order sent (batch 0 included): lets a check compare the exact bytes across versions.
pub fn measure_pipeline_with(
    config: PipelineConfig,
    records: impl IntoIterator<Item = Record>,
    mut on_batch: impl FnMut(&[u8]),
) -> Result<WireMeasure, MeasureError> {
    let stopped = |e: LoopbackError| match e {
        LoopbackError::Config(e) => MeasureError::Config(e),
        other => MeasureError::Pipeline(other.to_string()),
    };
    let mut settings = LoopbackConfig::perfect(&config);
    settings.peer = Peer::AckOnly;
    let mut lo = Loopback::new(config, settings).map_err(stopped)?;
    let mut pump = |lo: &mut Loopback| -> Result<usize, MeasureError> {
        let sent = lo.pump().map_err(stopped)?;
        lo.take_wire().for_each(|batch| on_batch(&batch.data));
        Ok(sent)
    };
    pump(&mut lo)?;
    let mut count = 0u64;
    for record in records {
        count += 1;
        lo.record(record).map_err(stopped)?;
        pump(&mut lo)?;
    }
    lo.flush().map_err(stopped)?;
    while pump(&mut lo)? > 0 {}
    let translator = lo.pipeline.translator();
    Ok(WireMeasure {
        records: count,
        wire_bytes: lo.counters.wire_bytes,
        batches: lo.counters.batches_sent,
        translator: translator.metrics().clone(),
        state_size_bytes: translator.state_size_bytes(),
    })
}

/// The wire sizes `stateful-logs bench` and the `wire_size` example report for one file, in
/// bytes per record: the translator with patterns on and in raw mode, each with `zstd-stream`
/// and with per-batch `zstd` (at `base`'s level), the HTTP JSON + zstd-1 baseline at `base`'s
/// batch size, and the whole file with `zstd -19` (§11).
#[derive(Clone, Debug, PartialEq)]
pub struct FileSizes {
    /// Records in the file.
    pub records: usize,
    /// Patterns on, `zstd-stream`.
    pub patterns_stream: f64,
    /// Patterns on, per-batch `zstd`.
    pub patterns_zstd: f64,
    /// Raw mode (patterns off, the Pipeline's default), `zstd-stream` (the default codec).
    pub raw_stream: f64,
    /// Raw mode, per-batch `zstd`.
    pub raw_zstd: f64,
    /// HTTP JSON + zstd-1, the content as the `message` string.
    pub baseline: f64,
    /// Records whose content is a JSON object.
    pub json_objects: usize,
    /// HTTP JSON + zstd-1 with JSON-object contents merged ([`BaselineMessage::ParsedJson`]);
    /// equals `baseline` when no content is a JSON object.
    pub baseline_parsed: f64,
    /// The whole file, `zstd -19`.
    pub zstd19: f64,
    /// Patterns defined with patterns on and `zstd-stream`.
    pub patterns_defined: u64,
}

/// Measures [`FileSizes`] for the records of `data` (named `file_name`, §11 mapping), every
/// variant built from `base` (its profile, batch size and compression level). The baselines do
/// not depend on the profile.
pub fn file_sizes(file_name: &str, data: &[u8], base: &PipelineConfig) -> Result<FileSizes, MeasureError> {
    let records = benchmark_records(file_name, data);
    let level = base.transport.compression.level;
    let run = |patterns: bool, compression: Compression| {
        let mut config = base.clone();
        config.translator = if patterns { TranslatorConfig::default() } else { TranslatorConfig::raw() };
        config.transport.compression = compression;
        measure_pipeline(config, records.iter().cloned())
    };
    let patterns_stream = run(true, Compression::zstd_stream(level))?;
    let per = |bytes: u64| bytes as f64 / records.len().max(1) as f64;
    let batch = base.max_batch_items as usize;
    let baseline = per(http_json_baseline(&records, batch)?);
    let json_objects = records.iter().filter(|r| is_json_object(&r.content)).count();
    let baseline_parsed = if json_objects == 0 {
        baseline
    } else {
        per(http_json_baseline_with(&records, batch, BaselineMessage::ParsedJson)?)
    };
    Ok(FileSizes {
        records: records.len(),
        patterns_stream: patterns_stream.bytes_per_record(),
        patterns_zstd: run(true, Compression::zstd(level))?.bytes_per_record(),
        raw_stream: run(false, Compression::zstd_stream(level))?.bytes_per_record(),
        raw_zstd: run(false, Compression::zstd(level))?.bytes_per_record(),
        baseline,
        json_objects,
        baseline_parsed,
        zstd19: per(whole_file_zstd(data, 19)?),
        patterns_defined: patterns_stream.translator.patterns_added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateful_logs::Profile;
    use stateful_logs::transport::{ApiKey, EndpointConfig};

    #[test]
    fn line_input_strips_one_cr_and_skips_empty_lines() {
        let got: Vec<&[u8]> = lines(b"a\r\n\r\n\nb\r\r\nc").collect();
        assert_eq!(got, [&b"a"[..], b"b\r", b"c"]);
        assert_eq!(system_name("HDFS_2k.log"), "HDFS");
        assert_eq!(system_name("plain.log"), "plain.log");
    }

    #[test]
    fn the_baseline_record_has_the_members_of_section_11() {
        let r = &benchmark_records("HDFS_2k.log", b"x\xff\"y")[0];
        let mut out = Vec::new();
        write_http_json_record(r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"message": "x\u{FFFD}\"y", "status": "info", "timestamp": 1_700_000_000_000i64,
                "hostname": "host-1", "service": "HDFS", "ddsource": "HDFS", "ddtags": "env:prod,version:1.2.3"})
        );
    }

    #[test]
    fn the_parsed_json_baseline_merges_the_object_with_the_metadata_and_keeps_clashing_members() {
        let line = br#"{"msg":"hi","n":1.50,"service":{"name":"api"},"log.service":1,"timestamp":"t"}"#;
        let r = &benchmark_records("Z_x.jsonl", line)[0];
        assert!(is_json_object(&r.content));
        let mut out = Vec::new();
        write_http_json_object_record(r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let expected = r#"{"msg":"hi","n":1.50,"log.log.service":{"name":"api"},"log.service":1,
            "log.timestamp":"t","status":"info","timestamp":1700000000000,"hostname":"host-1",
            "service":"Z","ddsource":"Z","ddtags":"env:prod,version:1.2.3"}"#;
        assert_eq!(v, serde_json::from_str::<serde_json::Value>(expected).unwrap());
        // Other content: the text baseline's record, byte for byte.
        let text = &benchmark_records("Z_x.log", b"{not json")[0];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_http_json_object_record(text, &mut a);
        write_http_json_record(text, &mut b);
        assert_eq!(a, b);
        assert!(!is_json_object(b"[1]") && !is_json_object(b"{\"a\":1} x"));
    }

    #[test]
    fn the_pipeline_measure_counts_every_record_and_batch() {
        let data = b"user 1 in\nuser 2 in\nuser 3 in\n".repeat(10);
        let records = benchmark_records("T_x.log", &data);
        let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("k"));
        let mut config = PipelineConfig::new(vec![endpoint]).with_profile(Profile::V1);
        config.max_batch_items = 7;
        config.translator = stateful_logs::translator::TranslatorConfig::default();
        let m = measure_pipeline(config, records).unwrap();
        assert_eq!(m.records, 30);
        // The first two logs of the shape go raw while its pattern waits for a third.
        assert_eq!((m.translator.raw_logs, m.translator.pattern_logs), (2, 28));
        assert!(m.batches >= 5, "{} batches", m.batches);
        assert!(m.wire_bytes > 0);
    }
}
