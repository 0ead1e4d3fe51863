//! Receiver conformance: every case of `tests/data/conformance/` (the independent vectors, see
//! its README.md), of `tests/data/conformance-zstd-stream/` (the same streams sent with
//! `zstd-stream`, written by `examples/conformance_zstd_stream.rs`) and of
//! `tests/data/conformance-json/` (`v2` JSON logs, written by `examples/conformance_json.rs`)
//! must pass. A rejected case may name, in `expect.message_contains`, a substring the
//! `EndStream` message must contain: the typed error the case is about.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use bytes::Bytes;
use serde_json::Value;
use stateful_logs::receiver::{LogBody, ReceivedLog, Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::status_code as code;
use stateful_logs::{StreamId, Timestamp};

const CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance");
const STREAM_CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance-zstd-stream");
const JSON_CASES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/conformance-json");
const API_KEY: &str = "conformance-key";

fn case_dirs(root: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root)
        .expect("the conformance vectors are in the repository")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

/// What the receiver did while one input was handled.
#[derive(Default)]
struct Observed {
    acks: Vec<u32>,
    logs: Vec<(u32, ReceivedLog)>,
    /// The end code, and the batch whose handling produced it (`None` = at the start).
    end: Option<(i32, Option<u32>)>,
    /// The `EndStream` message.
    end_message: String,
    problems: Vec<String>,
}

impl Observed {
    fn drain(&mut self, receiver: &mut Receiver, during: Option<u32>) {
        while let Some(action) = receiver.poll_action() {
            match action {
                ReceiverAction::Deliver { batch_id, logs, .. } => {
                    self.logs.extend(logs.into_iter().map(|l| (batch_id, l)));
                }
                ReceiverAction::SendStatus { batch_id, status, .. } => {
                    if status != 1 {
                        self.problems.push(format!("ack of batch {batch_id} has status {status}"));
                    }
                    self.acks.push(batch_id);
                }
                ReceiverAction::EndStream { code, message, .. } => {
                    if self.end.is_some() {
                        self.problems.push("a second EndStream".into());
                    }
                    self.end = Some((code, during));
                    self.end_message = message;
                }
            }
        }
    }
}

fn run_case(dir: &Path) -> Result<(), String> {
    let case: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("case.json")).map_err(|e| e.to_string())?)
            .map_err(|e| format!("case.json: {e}"))?;
    let mut receiver =
        Receiver::new(ReceiverConfig::with_api_keys([API_KEY])).map_err(|e| format!("config: {e}"))?;
    let stream = StreamId(1);
    let now = Timestamp::from_millis(1_000);
    let headers: Vec<(String, String)> = case["headers"]
        .as_object()
        .ok_or("headers is not an object")?
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let path = case["path"].as_str().ok_or("no path")?;
    let mut seen = Observed::default();
    receiver.handle_stream_start(now, stream, path, &headers);
    seen.drain(&mut receiver, None);
    for batch in case["batches"].as_array().ok_or("no batches")? {
        if seen.end.is_some() {
            break;
        }
        let id = u32::try_from(batch["batch_id"].as_u64().ok_or("batch_id")?).map_err(|e| e.to_string())?;
        let file = dir.join(batch["data_file"].as_str().ok_or("data_file")?);
        let data = fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        receiver.handle_batch(now, stream, id, Bytes::from(data));
        seen.drain(&mut receiver, Some(id));
    }
    if seen.end.is_none() {
        receiver.handle_client_end(now, stream);
        seen.drain(&mut receiver, None);
    }
    if !seen.problems.is_empty() {
        return Err(seen.problems.join("; "));
    }

    let expect = &case["expect"];
    let expected_acks: Vec<u32> = expect["acks"]
        .as_array()
        .ok_or("no acks")?
        .iter()
        .map(|v| v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or("bad ack"))
        .collect::<Result<_, _>>()?;
    if seen.acks != expected_acks {
        return Err(format!("acks {:?}, expected {expected_acks:?}", seen.acks));
    }
    if expect["accept"].as_bool() == Some(true) {
        if seen.end != Some((code::OK, None)) {
            return Err(format!(
                "accepted stream ended with {:?}, expected OK after the half-close",
                seen.end
            ));
        }
    } else {
        let expected_code =
            code::from_name(expect["code"].as_str().ok_or("no code")?).ok_or("unknown code name")?;
        let at = expect["at_batch"].as_u64().map(|v| v as u32);
        if seen.end != Some((expected_code, at)) {
            return Err(format!(
                "ended with (code, during batch) {:?}, expected {:?}",
                seen.end,
                (expected_code, at)
            ));
        }
        if let Some(want) = expect.get("message_contains") {
            let want = want.as_str().ok_or("message_contains is not a string")?;
            if !seen.end_message.contains(want) {
                return Err(format!("EndStream message {:?} does not contain {want:?}", seen.end_message));
            }
        }
    }
    let expected_logs: Vec<Value> = match expect["logs_file"].as_str() {
        None => Vec::new(),
        Some(name) => fs::read_to_string(dir.join(name))
            .map_err(|e| e.to_string())?
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("{name}: {e}")))
            .collect::<Result<_, _>>()?,
    };
    if seen.logs.len() != expected_logs.len() {
        return Err(format!("{} logs delivered, expected {}", seen.logs.len(), expected_logs.len()));
    }
    for (i, ((batch, log), expected)) in seen.logs.iter().zip(&expected_logs).enumerate() {
        compare_log(*batch, log, expected).map_err(|e| format!("log {i}: {e}"))?;
    }
    Ok(())
}

fn opt_str(v: &Value, field: &str) -> Result<Option<String>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{field} is {other}")),
    }
}

fn compare_log(batch: u32, log: &ReceivedLog, expected: &Value) -> Result<(), String> {
    let check = |what: &str, ok: bool, got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
        if ok { Ok(()) } else { Err(format!("{what} is {got:?}, expected {want:?}")) }
    };
    check("batch", Some(u64::from(batch)) == expected["batch"].as_u64(), &batch, &expected["batch"])?;
    check(
        "timestamp",
        Some(log.timestamp_ms) == expected["timestamp"].as_i64(),
        &log.timestamp_ms,
        &expected["timestamp"],
    )?;
    for (name, got) in
        [("status", &log.status), ("service", &log.service), ("tags", &log.tags), ("uuid", &log.uuid)]
    {
        let want = opt_str(expected, name)?;
        check(name, *got == want, got, &want)?;
    }
    match (&log.body, expected.get("text"), expected.get("text_b64"), expected.get("json")) {
        (LogBody::Text(bytes), Some(Value::String(text)), None, None) => {
            check("text", bytes == text.as_bytes(), &String::from_utf8_lossy(bytes), text)
        }
        (LogBody::Text(bytes), None, Some(Value::String(b64)), None) => {
            let want = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|e| e.to_string())?;
            check("text bytes", *bytes == want, bytes, &want)
        }
        (LogBody::Json(value), None, None, Some(want)) => check("json", json_equal(value, want), value, want),
        (body, ..) => Err(format!("body {body:?} does not match the expected kind in {expected}")),
    }
}

/// JSON values equal as the README defines: members in any order, numbers by numeric value.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            canonical_number(&x.to_string()) == canonical_number(&y.to_string())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// A JSON number's exact value as `[-]digits e exponent` with no leading or trailing zeros;
/// every zero is `0`.
fn canonical_number(text: &str) -> String {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().unwrap_or(0)),
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let mut exponent = exponent - frac.len() as i64;
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return "0".into();
    }
    exponent += (digits.len() - trimmed.len()) as i64;
    format!("{}{trimmed}e{exponent}", if negative { "-" } else { "" })
}

#[test]
fn canonical_numbers_compare_by_value() {
    assert_eq!(canonical_number("1.50"), canonical_number("1.5"));
    assert_eq!(canonical_number("1e21"), canonical_number("1000000000000000000000"));
    assert_eq!(canonical_number("-0"), canonical_number("0"));
    assert_eq!(canonical_number("-0.5e-3"), canonical_number("-0.0005"));
    assert_ne!(canonical_number("12"), canonical_number("1.2"));
}

#[test]
fn all_75_cases_are_present() {
    assert_eq!(case_dirs(CASES_DIR).len(), 75, "expected the 75 cases the README lists");
}

#[test]
fn every_conformance_case_passes() {
    assert_cases_pass(CASES_DIR);
}

#[test]
fn every_zstd_stream_case_passes() {
    let dirs = case_dirs(STREAM_CASES_DIR);
    assert_eq!(dirs.len(), 42, "38 accepted streams and 4 rejected ones (see the folder's README)");
    assert_cases_pass(STREAM_CASES_DIR);
}

#[test]
fn every_json_case_passes() {
    let dirs = case_dirs(JSON_CASES_DIR);
    assert_eq!(dirs.len(), 17, "4 accepted streams and 13 rejected ones (see the folder's README)");
    let mut rejected = 0;
    for dir in &dirs {
        let case: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("case.json")).expect("readable case.json"))
                .expect("valid case.json");
        if case["expect"]["accept"] == Value::Bool(false) {
            rejected += 1;
            assert!(case["expect"]["message_contains"].is_string(), "{}: names no error", dir.display());
        }
    }
    assert_eq!(rejected, 13, "every rejected case names the typed error it expects");
    assert_cases_pass(JSON_CASES_DIR);
}

fn assert_cases_pass(root: &str) {
    let failures: Vec<String> = case_dirs(root)
        .iter()
        .filter_map(|dir| {
            let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            run_case(dir).err().map(|e| format!("{name}: {e}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} failing cases:\n{}", failures.len(), failures.join("\n"));
}
