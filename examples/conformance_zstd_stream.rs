//! Writes the `zstd-stream` receiver conformance cases (`tests/data/conformance-zstd-stream/`)
//! from the independent vectors in `tests/data/conformance/`: every accepted case is sent
//! again with its batches compressed through one zstd stream (`encoding.md` §7.1), so the
//! expected logs stay those of the independent implementation. Two rejected cases per
//! profile follow: the last batch cut short, and a window above the receiver's default limit.
//!
//! `cargo run --example conformance_zstd_stream` (run it again after a change of the
//! vectors; the output is deterministic).

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use stateful_logs::codec::stream::StreamCompressor;
use stateful_logs::codec::{ContentEncoding, decompress};

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance");
const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance-zstd-stream");

/// One source case: its description and its batches decompressed.
struct Source {
    case: Value,
    batches: Vec<(u64, Vec<u8>)>,
    logs: Option<String>,
}

fn read_source(dir: &Path) -> Result<Option<Source>, Box<dyn std::error::Error>> {
    let case: Value = serde_json::from_str(&fs::read_to_string(dir.join("case.json"))?)?;
    let name = case["name"].as_str().unwrap_or_default();
    let encoding = case["headers"]["dd-content-encoding"].as_str().and_then(ContentEncoding::from_header);
    let (Some(encoding), true) = (encoding, case["expect"]["accept"] == json!(true)) else {
        return Ok(None);
    };
    if name.contains("two-frames") || name.contains("two-members") {
        return Ok(None); // their point is the per-batch framing
    }
    let mut batches = Vec::new();
    for batch in case["batches"].as_array().ok_or("no batches")? {
        let id = batch["batch_id"].as_u64().ok_or("batch_id")?;
        let data = fs::read(dir.join(batch["data_file"].as_str().ok_or("data_file")?))?;
        batches.push((id, decompress(encoding, &data, 64 << 20)?));
    }
    let logs = match case["expect"]["logs_file"].as_str() {
        Some(file) => Some(fs::read_to_string(dir.join(file))?),
        None => None,
    };
    Ok(Some(Source { case, batches, logs }))
}

/// Writes one case: `batches` compressed through one stream context at `window_log`, the
/// last one cut by `cut` bytes.
fn write_case(
    source: &Source,
    name: &str,
    summary: &str,
    window_log: u8,
    cut: usize,
    expect: Value,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(TARGET).join(name);
    fs::create_dir_all(&dir)?;
    let mut context = StreamCompressor::new(1, window_log)?;
    let mut batches = Vec::new();
    let last = source.batches.len() - 1;
    for (i, (id, plain)) in source.batches.iter().enumerate() {
        let mut data = context.compress_batch(plain)?;
        if i == last {
            data.truncate(data.len().saturating_sub(cut));
        }
        let file = format!("b{id}.bin");
        fs::write(dir.join(&file), data)?;
        batches.push(json!({"batch_id": id, "data_file": file}));
    }
    let mut headers = source.case["headers"].clone();
    headers["dd-content-encoding"] = json!("zstd-stream");
    let case = json!({
        "name": name,
        "profile": source.case["profile"],
        "summary": summary,
        "path": source.case["path"],
        "headers": headers,
        "batches": batches,
        "expect": expect,
    });
    fs::write(dir.join("case.json"), serde_json::to_string_pretty(&case)? + "\n")?;
    Ok(())
}

/// The expected logs of the batches before `at_batch`, as `logs.jsonl` lines.
fn logs_before(logs: &str, at_batch: u64) -> String {
    logs.lines()
        .filter(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["batch"].as_u64())
                .is_some_and(|b| b < at_batch)
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut dirs: Vec<_> = fs::read_dir(SOURCE)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    let mut written = 0;
    let mut bad_done = std::collections::BTreeSet::new();
    for dir in dirs.iter().filter(|d| d.join("case.json").is_file()) {
        let Some(source) = read_source(dir)? else { continue };
        let name = source.case["name"].as_str().unwrap_or_default().to_owned();
        let profile = source.case["profile"].as_str().unwrap_or_default().to_owned();
        let summary =
            format!("{} (its batches as one zstd stream)", source.case["summary"].as_str().unwrap_or(""));
        let mut expect = source.case["expect"].clone();
        let stream_name = format!("{name}-zstd-stream");
        write_case(&source, &stream_name, &summary, 20, 0, expect.clone())?;
        if let Some(logs) = &source.logs {
            fs::write(Path::new(TARGET).join(&stream_name).join("logs.jsonl"), logs)?;
        }
        written += 1;
        // The rejected cases, from the first source of each profile with two regular batches.
        let regular = source.batches.iter().filter(|(id, _)| *id > 0).count();
        if regular >= 2 && bad_done.insert(profile.clone()) {
            let (last_id, _) = *source.batches.last().ok_or("no batches")?;
            let acks: Vec<u64> =
                source.batches.iter().map(|(id, _)| *id).filter(|&id| id < last_id).collect();
            let before = source.logs.as_deref().map(|l| logs_before(l, last_id)).unwrap_or_default();
            let truncated = format!("{profile}-bad-zstd-stream-truncated");
            expect = json!({
                "accept": false, "code": "INVALID_ARGUMENT", "at_batch": last_id,
                "why": "the last batch ends inside a zstd block (3 bytes cut)", "acks": acks,
            });
            if !before.is_empty() {
                expect["logs_file"] = json!("logs.jsonl");
            }
            write_case(&source, &truncated, "zstd-stream: the last batch is cut short", 20, 3, expect)?;
            if !before.is_empty() {
                fs::write(Path::new(TARGET).join(&truncated).join("logs.jsonl"), &before)?;
            }
            let first_id = source.batches[0].0;
            let window = format!("{profile}-bad-zstd-stream-window");
            let expect = json!({
                "accept": false, "code": "INVALID_ARGUMENT", "at_batch": first_id,
                "why": "window log 24 (16 MiB) is above the default max_stream_window_log 23", "acks": [],
            });
            write_case(&source, &window, "zstd-stream with a 16 MiB window", 24, 0, expect)?;
            written += 2;
        }
    }
    println!("wrote {written} cases to {TARGET}");
    Ok(())
}
