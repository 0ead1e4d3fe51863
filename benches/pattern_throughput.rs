//! Lines per second of tokenize + cluster (the pattern store's `add`) over the Loghub files.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stateful_logs::Timestamp;
use stateful_logs::pattern::{PatternStore, tokenize};

const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");

/// Every kept line (`encoding.md` §10.4) of every Loghub file, file by file in name order.
fn loghub_lines() -> Vec<Vec<String>> {
    let mut paths: Vec<_> = std::fs::read_dir(LOGHUB)
        .expect("corpora/loghub is part of the repository")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).expect("readable log file");
            String::from_utf8_lossy(&bytes)
                .split('\n')
                .map(|line| line.strip_suffix('\r').unwrap_or(line))
                .filter(|line| !line.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
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

criterion_group!(benches, pattern_throughput);
criterion_main!(benches);
