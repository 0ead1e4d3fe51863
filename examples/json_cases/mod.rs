//! The cases of `examples/conformance_json.rs`: their datums and, written by hand from the
//! reconstruction rules, what the receiver must do with them.

mod accepted;

use serde_json::{Value, json};
use stateful_logs::proto::v2::{self, JsonValueKind, log_datum::Data};

/// One stream: its batches (id, datums) and what the receiver must do.
pub struct Case {
    pub name: &'static str,
    pub summary: &'static str,
    pub batches: Vec<(u32, Vec<v2::LogDatum>)>,
    pub expect: Expect,
}

/// What the receiver must do with a case.
pub enum Expect {
    /// Every batch acked; these logs delivered.
    Accept { logs: Vec<Value> },
    /// `INVALID_ARGUMENT` while handling `at_batch`, with `message_contains` in the message;
    /// `logs` are those of the batches before it.
    Reject { at_batch: u32, why: &'static str, message_contains: &'static str, logs: Vec<Value> },
}

/// 2026-01-01T00:00:00Z, the first timestamp of every batch.
pub const T0: i64 = 1_767_225_600_000;

pub const NULL: u8 = JsonValueKind::Null as u8;
pub const BOOL: u8 = JsonValueKind::Bool as u8;
pub const INT: u8 = JsonValueKind::Int as u8;
pub const FLOAT: u8 = JsonValueKind::Float as u8;
pub const DICT: u8 = JsonValueKind::DictString as u8;
pub const STRING: u8 = JsonValueKind::String as u8;
pub const RAW: u8 = JsonValueKind::RawJson as u8;

pub fn datum(data: Data) -> v2::LogDatum {
    v2::LogDatum { data: Some(data) }
}

/// Dictionary entries, in order.
pub fn dicts(entries: &[(u64, &str)]) -> Vec<v2::LogDatum> {
    entries
        .iter()
        .map(|&(id, value)| datum(Data::DictEntryDefine(v2::DictEntryDefine { id, value: value.into() })))
        .collect()
}

pub fn schema(schema_id: u64, keys: &[u64], message_key_id: u64, kinds: &[u8]) -> v2::LogDatum {
    datum(Data::JsonSchemaDefine(v2::JsonSchemaDefine {
        schema_id,
        keys: keys.to_vec(),
        message_key_id,
        value_kinds: kinds.to_vec(),
    }))
}

/// A log with no status, service or tags (1 = none), the message as `raw_log`, and no
/// column values: fill them with struct update syntax.
pub fn log(timestamp: i64, json_schema_id: u64, message: &str) -> v2::Log {
    v2::Log {
        timestamp,
        status: 1,
        service: 1,
        tags: 1,
        json_schema_id,
        raw_log: message.into(),
        ..Default::default()
    }
}

pub fn put(log: v2::Log) -> v2::LogDatum {
    datum(Data::Log(log))
}

pub fn sync(sync: v2::DeltaEncodingSync) -> v2::LogDatum {
    datum(Data::DeltaEncodingSync(sync))
}

/// A FLOAT as the receiver must write it: the `f64` `Display` text (`1e21` →
/// `1000000000000000000000`), kept as a number's text (`arbitrary_precision`).
pub fn float(v: f64) -> Value {
    Value::Number(v.to_string().parse().expect("a finite float's Display text is a JSON number"))
}

/// A RAW_JSON value as sent: `text` parsed, its numbers' text kept (`1.50` stays `1.50`).
pub fn raw(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// An expected JSON log with no status, service or tags.
pub fn json_line(batch: u32, timestamp: i64, object: Value) -> Value {
    json!({"batch": batch, "timestamp": timestamp, "json": object, "status": null, "service": null, "tags": null})
}

/// An expected text log with no status, service or tags.
pub fn text_line(batch: u32, timestamp: i64, text: &str) -> Value {
    json!({"batch": batch, "timestamp": timestamp, "text": text, "status": null, "service": null, "tags": null})
}

/// The dictionary of every rejected case: key paths, the message path `msg`, one string.
const BAD_DICT: &[(u64, &str)] = &[
    (2, "msg"),
    (3, "n"),
    (4, "s"),
    (5, "b"),
    (6, "a"),
    (7, "a.b"),
    (8, "data"),
    (9, "data.y"),
    (10, r"a\x"),
    (11, "f"),
    (12, "d"),
    (13, "r"),
    (14, "GET"),
];

/// A case refused at batch 1: the dictionary, schema 2 (`n` INT, message `msg`) and a valid
/// log of it (which must not be delivered), then `datums`.
fn rejected(
    name: &'static str,
    summary: &'static str,
    why: &'static str,
    message_contains: &'static str,
    datums: Vec<v2::LogDatum>,
) -> Case {
    let mut batch = dicts(BAD_DICT);
    batch.push(schema(2, &[3], 2, &[INT]));
    batch.push(put(v2::Log { json_context_int_values: vec![1], ..log(T0, 2, "valid, not delivered") }));
    batch.extend(datums);
    Case {
        name,
        summary,
        batches: vec![(1, batch)],
        expect: Expect::Reject { at_batch: 1, why, message_contains, logs: Vec::new() },
    }
}

fn rejected_cases() -> Vec<Case> {
    let unknown_schema = Case {
        name: "v2-bad-json-unknown-schema",
        summary: "batch 2: a log whose json_schema_id (3) was never defined; batch 1 (schema 2 and a log of it) is delivered",
        batches: vec![
            (
                1,
                [
                    dicts(BAD_DICT),
                    vec![
                        schema(2, &[3], 2, &[INT]),
                        put(v2::Log { json_context_int_values: vec![1], ..log(T0, 2, "first") }),
                    ],
                ]
                .concat(),
            ),
            (2, vec![put(v2::Log { json_context_int_values: vec![2], ..log(T0 + 10, 3, "undefined") })]),
        ],
        expect: Expect::Reject {
            at_batch: 2,
            why: "json_schema_id 3 names no schema",
            message_contains: "unknown schema id 3",
            logs: vec![json_line(1, T0, json!({"n": 1, "msg": "first"}))],
        },
    };
    vec![
        unknown_schema,
        rejected(
            "v2-bad-json-sync-unknown-schema",
            "a DeltaEncodingSync whose json_schema_id (4) was never defined",
            "DeltaEncodingSync.json_schema_id 4 names no schema",
            "unknown schema id 4",
            vec![
                sync(v2::DeltaEncodingSync { json_schema_id: 4, ..Default::default() }),
                put(v2::Log { json_context_int_values: vec![2], ..log(1, 0, "after the sync") }),
            ],
        ),
        rejected(
            "v2-bad-json-schema-unknown-key",
            "a JsonSchemaDefine whose second key is an undefined dictionary id (40)",
            "schema keys are dictionary ids, and 40 is not defined",
            "unknown dictionary id 40",
            vec![
                schema(3, &[3, 40], 2, &[INT, INT]),
                put(v2::Log { json_context_int_values: vec![1, 2], ..log(1, 3, "unknown key") }),
            ],
        ),
        rejected(
            "v2-bad-json-int-column-short",
            "a schema with two INT keys and a log with one json_context_int_values value",
            "the INT column runs out before the schema's second INT key",
            "JSON column json_context_int_values has fewer values than the schema needs",
            vec![
                schema(3, &[3, 6], 2, &[INT, INT]),
                put(v2::Log { json_context_int_values: vec![7], ..log(1, 3, "one int short") }),
            ],
        ),
        rejected(
            "v2-bad-json-string-column-long",
            "a schema with one STRING key and a log with two json_context_string_values values",
            "one STRING value is left over after the schema's keys",
            "JSON column json_context_string_values has 1 values more than the schema consumes",
            vec![
                schema(3, &[4], 2, &[STRING]),
                put(v2::Log {
                    json_context_string_values: vec!["one".into(), "two".into()],
                    ..log(1, 3, "one string too many")
                }),
            ],
        ),
        rejected(
            "v2-bad-json-bool-bytes-long",
            "a schema with three BOOL keys and a log with two json_context_bool_values bytes (one is needed)",
            "3 BOOLs pack into ceil(3 / 8) = 1 byte; a second byte is a violation",
            "json_context_bool_values has 2 bytes but 3 BOOL values need 1",
            vec![
                schema(3, &[5, 6, 11], 2, &[BOOL, BOOL, BOOL]),
                put(v2::Log {
                    json_context_bool_values: vec![0b101, 0],
                    ..log(1, 3, "one bool byte too many")
                }),
            ],
        ),
        rejected(
            "v2-bad-json-raw-invalid",
            "a RAW_JSON value that is not valid JSON (an object with a trailing comma)",
            "RAW_JSON bytes must parse as one JSON value",
            "a RAW_JSON value is not valid JSON",
            vec![
                schema(3, &[13], 2, &[RAW]),
                put(v2::Log {
                    json_context_raw_values: vec![br#"{"a":1,}"#.to_vec()],
                    ..log(1, 3, "bad raw")
                }),
            ],
        ),
        rejected(
            "v2-bad-json-float-nan",
            "a FLOAT value that is NaN",
            "NaN is not a JSON number",
            "float NaN cannot be a JSON number",
            vec![
                schema(3, &[11], 2, &[FLOAT]),
                put(v2::Log { json_context_float_values: vec![f64::NAN], ..log(1, 3, "nan") }),
            ],
        ),
        rejected(
            "v2-bad-json-key-collision",
            "key paths `a` (INT) and `a.b`: the second descends into the INT value of the first",
            "a key path may not descend into a value",
            r#"key path "a.b" collides with an existing member"#,
            vec![
                schema(3, &[6, 7], 2, &[INT, INT]),
                put(v2::Log { json_context_int_values: vec![1, 2], ..log(1, 3, "collision") }),
            ],
        ),
        rejected(
            "v2-bad-json-key-into-raw",
            "key paths `data` (RAW_JSON, an object) and `data.y` (INT): a key may not descend into a RAW_JSON value, even an object",
            "only the message may be placed inside an object a RAW_JSON value holds",
            r#"key path "data.y" descends into a RAW_JSON value"#,
            vec![
                schema(3, &[8, 9], 2, &[RAW, INT]),
                put(v2::Log {
                    json_context_raw_values: vec![br#"{"x":1}"#.to_vec()],
                    json_context_int_values: vec![2],
                    ..log(1, 3, "into raw")
                }),
            ],
        ),
        rejected(
            "v2-bad-json-key-bad-escape",
            r"a key path with an invalid escape (`a\x`): a backslash must precede `.` or `\`",
            r"'\x' is not an escape of a key path",
            r#"key path "a\\x" has an invalid escape"#,
            vec![
                schema(3, &[10], 2, &[INT]),
                put(v2::Log { json_context_int_values: vec![1], ..log(1, 3, "bad escape") }),
            ],
        ),
        rejected(
            "v2-bad-json-kind-8",
            "a JsonSchemaDefine with value kind byte 8 (above JSON_VALUE_KIND_RAW_JSON = 7)",
            "value kinds are 1 to 7",
            "schema 3 has value kind 8 at index 1; valid kinds are 1 to 7",
            vec![schema(3, &[3, 6], 2, &[INT, 8])],
        ),
        rejected(
            "v2-bad-json-dict-unknown",
            "a DICT_STRING value naming an undefined dictionary id (42)",
            "a DICT_STRING value is a dictionary id, and 42 is not defined",
            "unknown dictionary id 42",
            vec![
                schema(3, &[12], 2, &[DICT]),
                put(v2::Log { json_context_dict_values: vec![42], ..log(1, 3, "unknown dict value") }),
            ],
        ),
    ]
}

/// Every case, accepted first.
pub fn all() -> Vec<Case> {
    let mut cases = accepted::cases();
    cases.extend(rejected_cases());
    cases
}
