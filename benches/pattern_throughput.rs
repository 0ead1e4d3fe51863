//! Lines per second of tokenize + cluster (the pattern store's `add`) over the Loghub files,
//! and of the whole Pipeline (translator, wire encoding, zstd-1, batching, transport) with
//! patterns on and off, as `wire_size` measures it.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use stateful_logs::pattern::{PatternStore, tokenize};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Record, Timestamp};
use stateful_logs_bench::{benchmark_records, measure_pipeline};

const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");

/// Every Loghub file's name and bytes, in name order.
fn loghub_files() -> Vec<(String, Vec<u8>)> {
    let mut paths: Vec<_> = std::fs::read_dir(LOGHUB)
        .expect("corpora/loghub is part of the repository")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            (name, std::fs::read(path).expect("readable log file"))
        })
        .collect()
}

/// Every kept line (`encoding.md` §10.4) of every Loghub file, file by file in name order.
fn loghub_lines() -> Vec<Vec<String>> {
    loghub_files()
        .iter()
        .map(|(_, bytes)| {
            String::from_utf8_lossy(bytes)
                .split('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

/// The benchmark records (`encoding.md` §11) of every Loghub file, file by file.
fn loghub_records() -> Vec<Vec<Record>> {
    loghub_files().iter().map(|(name, bytes)| benchmark_records(name, bytes)).collect()
}

fn pattern_throughput(c: &mut Criterion) {
    let files = loghub_lines();
    let lines: u64 = files.iter().map(|f| f.len() as u64).sum();
    let mut group = c.benchmark_group("pattern");
    group.throughput(Throughput::Elements(lines));
    group.bench_function("tokenize_loghub", |b| {
        b.iter(|| {
            let mut tokens = 0;
            for line in files.iter().flatten() {
                tokens += tokenize(black_box(line)).len();
            }
            tokens
        })
    });
    group.bench_function("tokenize_and_cluster_loghub", |b| {
        b.iter(|| {
            let mut values = 0;
            // One store per file, as one pipeline per system.
            for file in &files {
                let mut store = PatternStore::default();
                for (i, line) in file.iter().enumerate() {
                    let m = store.add(black_box(line), Timestamp(i as u64)).expect("short lines");
                    values += m.values.len();
                }
            }
            values
        })
    });
    group.finish();
}

fn pipeline_throughput(c: &mut Criterion) {
    let files = loghub_records();
    let records: u64 = files.iter().map(|f| f.len() as u64).sum();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(records));
    group.sample_size(10);
    for (name, translator) in
        [("patterns_loghub", TranslatorConfig::default()), ("raw_loghub", TranslatorConfig::raw())]
    {
        let config = {
            let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("bench"));
            PipelineConfig { translator, ..PipelineConfig::new(vec![endpoint]) }
        };
        group.bench_function(name, |b| {
            // The records are cloned outside the timed part: the Pipeline takes them by value.
            b.iter_batched(
                || files.clone(),
                |files| {
                    // One Pipeline per file, as one pipeline per system.
                    let bytes = files.into_iter().map(|file| {
                        measure_pipeline(config.clone(), file)
                            .expect("the benchmark pipeline runs")
                            .wire_bytes
                    });
                    bytes.sum::<u64>()
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, pattern_throughput, pipeline_throughput);
criterion_main!(benches);
