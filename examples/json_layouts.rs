//! How much a column-major batch layout would save for JSON logs, measured for a spec proposal
//! (README, "JSON logs"): the flattened values of the v2 JSON path (§9.13) of each batch are
//! laid out row by row (as `v2` sends them: one log after another) and column by column (every
//! value of one key path of the batch together, then the messages), each compressed through
//! one `zstd-stream` context at level 1, against the lines themselves through the same stream
//! (what `v1` raw sends, without its framing). Only bytes of values are counted, no framing.
//!
//! `cargo run --release --example json_layouts -- corpora/json [batch]`

use std::collections::BTreeMap;

use stateful_logs::codec::stream::StreamCompressor;
use stateful_logs::pattern::{V2Leaf, detect_v2};
use stateful_logs_bench::lines;

fn value_text(leaf: &V2Leaf<'_>) -> String {
    match leaf {
        V2Leaf::Null => "null".into(),
        V2Leaf::Bool(b) => b.to_string(),
        V2Leaf::Int(i) => i.to_string(),
        V2Leaf::Float(f) => f.to_string(),
        V2Leaf::Str(s) | V2Leaf::Raw(s) => s.to_string(),
    }
}

fn push(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpora/json".into());
    let batch: usize = std::env::args().nth(2).map_or(Ok(100), |s| s.parse())?;
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    println!("{:<22} {:>9} {:>9} {:>9} {:>8}", "file (bytes/record)", "lines", "rows", "columns", "gain");
    let mut logs = [0.0f64; 3];
    for path in &files {
        let data = std::fs::read(path)?;
        let records: Vec<&str> = lines(&data).filter_map(|l| std::str::from_utf8(l).ok()).collect();
        let mut text = StreamCompressor::new(1, 23)?;
        let mut rows = StreamCompressor::new(1, 23)?;
        let mut columns = StreamCompressor::new(1, 23)?;
        let mut sizes = [0usize; 3];
        for chunk in records.chunks(batch) {
            let (mut t, mut r, mut c) = (Vec::new(), Vec::new(), Vec::new());
            let mut by_path: BTreeMap<String, Vec<u8>> = BTreeMap::new();
            let mut messages = Vec::new();
            for line in chunk {
                push(&mut t, line);
                match detect_v2(line, 256, false) {
                    Some(json) => {
                        push(&mut r, &json.message);
                        push(&mut messages, &json.message);
                        for column in &json.columns {
                            let value = value_text(&column.leaf);
                            push(&mut r, &value);
                            push(by_path.entry(column.path.to_string()).or_default(), &value);
                        }
                    }
                    None => {
                        push(&mut r, line);
                        push(&mut messages, line);
                    }
                }
            }
            for values in by_path.values() {
                c.extend_from_slice(values);
            }
            c.extend_from_slice(&messages);
            sizes[0] += text.compress_batch(&t)?.len();
            sizes[1] += rows.compress_batch(&r)?.len();
            sizes[2] += columns.compress_batch(&c)?.len();
        }
        let n = records.len().max(1) as f64;
        let per = sizes.map(|s| s as f64 / n);
        for (l, v) in logs.iter_mut().zip(per) {
            *l += v.ln();
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        println!("{:<22} {:>9.2} {:>9.2} {:>9.2} {:>7.2}×", name, per[0], per[1], per[2], per[1] / per[2]);
    }
    let k = files.len().max(1) as f64;
    let g = logs.map(|l| (l / k).exp());
    println!("{:<22} {:>9.2} {:>9.2} {:>9.2} {:>7.2}×", "geomean", g[0], g[1], g[2], g[1] / g[2]);
    Ok(())
}
