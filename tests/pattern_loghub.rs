//! The pattern store on real logs (Loghub): every line round-trips through its pattern, the
//! pattern counts stay low, and the same lines always give the same patterns.

use stateful_logs::Timestamp;
use stateful_logs::pattern::{Change, PatternStore};

const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");

/// The Loghub files, sorted by name: (system name, contents).
fn loghub_files() -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(LOGHUB)
        .expect("corpora/loghub is part of the repository")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .log files in {LOGHUB}");
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
            let bytes = std::fs::read(&path).expect("readable log file");
            (name, String::from_utf8_lossy(&bytes).into_owned())
        })
        .collect()
}

/// `encoding.md` §10.4: split on `\n`, strip one trailing `\r`, skip empty lines.
fn lines(contents: &str) -> impl Iterator<Item = &str> {
    contents.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line)).filter(|line| !line.is_empty())
}

/// Template insertion (`wire.md` §9.4).
fn insert(template: &str, pos_list: &[u32], values: &[&str]) -> String {
    assert_eq!(pos_list.len(), values.len());
    let mut text = String::new();
    let mut previous = 0;
    for (&pos, value) in pos_list.iter().zip(values) {
        text.push_str(&template[previous..pos as usize]);
        text.push_str(value);
        previous = pos as usize;
    }
    text.push_str(&template[previous..]);
    text
}

struct FileStats {
    lines: usize,
    patterns: usize,
    clusters: usize,
    new: usize,
    updated: usize,
    values: usize,
    value_bytes: usize,
    template_bytes: usize,
}

fn run(contents: &str) -> FileStats {
    let mut store = PatternStore::default();
    let mut stats = FileStats {
        lines: 0,
        patterns: 0,
        clusters: 0,
        new: 0,
        updated: 0,
        values: 0,
        value_bytes: 0,
        template_bytes: 0,
    };
    for (i, line) in lines(contents).enumerate() {
        let m = store.add(line, Timestamp(i as u64)).expect("short lines");
        assert_eq!(insert(m.template, m.pos_list, &m.values), line, "line {i} does not round-trip");
        stats.lines += 1;
        match m.change {
            Change::New => stats.new += 1,
            Change::Updated => stats.updated += 1,
            Change::NoChange | Change::Deferred => {}
        }
        stats.values += m.values.len();
        stats.value_bytes += m.values.iter().map(|v| v.len()).sum::<usize>();
    }
    stats.patterns = store.len();
    stats.clusters = store.cluster_count();
    stats.template_bytes = store.template_bytes();
    stats
}

/// Every line of every Loghub file rebuilds exactly from its template and values, and the
/// pattern counts are those of a working clusterer: a few per hundred lines at most. Run with
/// `--nocapture` for the table.
#[test]
fn loghub_lines_round_trip_and_pattern_counts_stay_low() {
    println!(
        "{:<12} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10} {:>12} {:>10}",
        "file", "lines", "patterns", "clusters", "new", "updated", "values/ln", "valbytes/ln", "tmpl bytes"
    );
    for (name, contents) in loghub_files() {
        let stats = run(&contents);
        println!(
            "{:<12} {:>6} {:>8} {:>8} {:>8} {:>8} {:>10.2} {:>12.1} {:>10}",
            name,
            stats.lines,
            stats.patterns,
            stats.clusters,
            stats.new,
            stats.updated,
            stats.values as f64 / stats.lines as f64,
            stats.value_bytes as f64 / stats.lines as f64,
            stats.template_bytes
        );
        assert!(stats.lines >= 1_000, "{name}: {} lines", stats.lines);
        assert!(
            stats.patterns <= stats.lines / 8,
            "{name}: {} patterns for {} lines",
            stats.patterns,
            stats.lines
        );
        if name.starts_with("HDFS") {
            assert!((10..=100).contains(&stats.patterns), "HDFS: {} patterns", stats.patterns);
        }
    }
}

/// The same lines always give the same pattern ids, changes, templates and values.
#[test]
fn loghub_patterns_are_deterministic() {
    for (name, contents) in loghub_files() {
        let mut first = PatternStore::default();
        let mut second = PatternStore::default();
        for (i, line) in lines(&contents).enumerate() {
            let now = Timestamp(i as u64);
            let a = first.add(line, now).expect("short lines").pattern_id;
            let b = second.add(line, now).expect("short lines");
            assert_eq!(a, b.pattern_id, "{name} line {i}");
            let a = first.get(a).map(|p| (p.template().to_owned(), p.pos_list().to_vec()));
            assert_eq!(a, Some((b.template.to_owned(), b.pos_list.to_vec())), "{name} line {i}");
        }
        let ids: Vec<_> = first.iter().map(|p| (p.id(), p.template().to_owned())).collect();
        let other: Vec<_> = second.iter().map(|p| (p.id(), p.template().to_owned())).collect();
        assert_eq!(ids, other, "{name}");
    }
}
