//! Writes the `v2` JSON-log receiver conformance cases (`tests/data/conformance-json/`, issue
//! #14): schemas and typed columns (`wire.md` §9.7) the receiver must refuse, each with the
//! typed error it must give, and streams it must accept, with the objects it must deliver.
//! The layout is that of `tests/data/conformance/README.md`; each rejected `case.json` adds
//! `message_contains`, a substring of the `EndStream` message.
//!
//! The expected objects are written here by hand from the reconstruction rules
//! (`src/receiver/json.rs`), not taken from the receiver's output.
//!
//! `cargo run --example conformance_json` (deterministic: same input, same bytes).

mod json_cases;

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use prost::Message;
use serde_json::json;
use stateful_logs::proto::v2;

use json_cases::{Case, Expect};

const TARGET: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance-json");
const PATH: &str = "/datadog.intake.stateful.StatefulIntake/StatefulStream";
/// zstd level of every batch: fixed, so that the output is deterministic.
const LEVEL: i32 = 3;

fn write_case(case: &Case) -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(TARGET).join(case.name);
    fs::create_dir_all(&dir)?;
    let mut batches = Vec::new();
    for (id, datums) in &case.batches {
        let plain = v2::LogDatumSequence { data: datums.clone() }.encode_to_vec();
        let file = format!("b{id}.bin");
        fs::write(dir.join(&file), zstd::encode_all(plain.as_slice(), LEVEL)?)?;
        batches.push(json!({"batch_id": id, "data_file": file}));
    }
    let logs = match &case.expect {
        Expect::Accept { logs } => logs,
        Expect::Reject { logs, .. } => logs,
    };
    let mut expect = match &case.expect {
        Expect::Accept { .. } => {
            let acks: Vec<u32> = case.batches.iter().map(|(id, _)| *id).collect();
            json!({"accept": true, "acks": acks})
        }
        Expect::Reject { at_batch, why, message_contains, .. } => {
            let acks: Vec<u32> = case.batches.iter().map(|(id, _)| *id).filter(|id| id < at_batch).collect();
            json!({
                "accept": false, "code": "INVALID_ARGUMENT", "at_batch": at_batch, "why": why,
                "acks": acks, "message_contains": message_contains,
            })
        }
    };
    if logs.is_empty() {
        let _ = fs::remove_file(dir.join("logs.jsonl"));
    } else {
        expect["logs_file"] = json!("logs.jsonl");
        let lines: String = logs.iter().map(|l| format!("{l}\n")).collect();
        fs::write(dir.join("logs.jsonl"), lines)?;
    }
    let case_json = json!({
        "name": case.name,
        "profile": "v2",
        "summary": case.summary,
        "path": PATH,
        "headers": {"dd-api-key": "conformance-key", "dd-content-encoding": "zstd"},
        "batches": batches,
        "expect": expect,
    });
    fs::write(dir.join("case.json"), serde_json::to_string_pretty(&case_json)? + "\n")?;
    Ok(())
}

fn readme(cases: &[Case]) -> String {
    let accepted = cases.iter().filter(|c| matches!(c.expect, Expect::Accept { .. })).count();
    let mut out = String::new();
    let _ = write!(
        out,
        "# `v2` JSON-log receiver conformance cases

This project's cases for `v2` JSON logs (`wire.md` §9.7, issue #14): a `JsonSchemaDefine` (key
paths and the message path as dictionary ids of escaped paths, one `JsonValueKind` byte per key)
and the typed columns of each `Log`. Layout, receiver configuration and comparison rules are
those of `../conformance/README.md` (API key `conformance-key`, default limits, `dd-content-encoding:
zstd`, one zstd frame per batch). Generated, do not edit by hand: `cargo run --example
conformance_json` writes them (deterministic; the datums are built with the `prost` types of
`stateful_logs::proto::v2`, compressed with zstd level {LEVEL}).

The expected objects in `logs.jsonl` were written by hand from the reconstruction rules
(documented in `src/receiver/json.rs`): a key path splits on `.`, `\\.` is a literal dot and
`\\\\` a literal backslash (any other escape is a violation); objects are created on the way, but
a path may not land on an existing member nor descend into a value (a RAW_JSON value included);
the message is placed last at its path, creating missing objects and descending into any object
(one a RAW_JSON value holds included); the columns are consumed in schema order, each exactly,
BOOLs bit-packed from the least significant bit, `ceil(n / 8)` bytes (padding bits ignored);
FLOAT text is Rust's `f64` `Display` and NaN or an infinity is a violation; `json_schema_id` 0
is the previous schema of the batch and 1 a text log.

Each rejected `case.json` has one member more than the independent format,
`message_contains`: a substring of the typed `Violation`'s `Display` that the `EndStream`
message must contain, so that the case fails for the reason it is about. Every rejected case
ends with `INVALID_ARGUMENT` (the code of every `Violation` but `StateTooLarge`). Each one
refused at batch 1 holds, before the fault, a valid JSON log, which must not be delivered
(a failing batch delivers nothing). A schema at fault is defined and used in the same batch,
so the expectation holds whether a receiver checks its key paths at the define or at a log.
`tests/conformance.rs` runs every case.

{} cases: {accepted} accepted, {} rejected.

| Case | Expect | Covers |
|---|---|---|
",
        cases.len(),
        cases.len() - accepted
    );
    for case in cases {
        let expect = match &case.expect {
            Expect::Accept { .. } => "accept".to_owned(),
            Expect::Reject { at_batch, message_contains, .. } => {
                format!("INVALID_ARGUMENT at batch {at_batch}: `{message_contains}`")
            }
        };
        let _ = writeln!(out, "| `{}` | {expect} | {} |", case.name, case.summary);
    }
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = json_cases::all();
    fs::create_dir_all(TARGET)?;
    for case in &cases {
        write_case(case)?;
    }
    fs::write(Path::new(TARGET).join("README.md"), readme(&cases))?;
    println!("wrote {} cases to {TARGET}", cases.len());
    Ok(())
}
