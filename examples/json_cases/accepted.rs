//! The accepted cases, with the objects the receiver must deliver.

use serde_json::json;
use stateful_logs::proto::v2::{self, dynamic_value::Value as Dv, log_datum::Data};

use super::{
    BOOL, Case, DICT, Expect, FLOAT, INT, NULL, RAW, STRING, T0, datum, dicts, float, json_line, log, put,
    raw, schema, sync, text_line,
};

/// Every kind in one schema: NULL, nine BOOLs (two bytes), INT, FLOAT, DICT_STRING, STRING,
/// RAW_JSON array and object; the second log uses schema 0 (previous) and a pattern message.
fn every_kind() -> Case {
    let mut batch = dicts(&[
        (20, "msg"),
        (21, "z_null"),
        (22, "flags.f0"),
        (23, "flags.f1"),
        (24, "flags.f2"),
        (25, "flags.f3"),
        (26, "flags.f4"),
        (27, "flags.f5"),
        (28, "flags.f6"),
        (29, "flags.f7"),
        (30, "flags.f8"),
        (31, "i"),
        (32, "f"),
        (33, "d"),
        (34, "s"),
        (35, "arr"),
        (36, "obj"),
        (37, "GET"),
        (38, "POST"),
        (39, "info"),
    ]);
    let keys: Vec<u64> = (21..=36).collect();
    let kinds = [[NULL].as_slice(), &[BOOL; 9], &[INT, FLOAT, DICT, STRING, RAW, RAW]].concat();
    batch.push(schema(2, &keys, 20, &kinds));
    batch.push(datum(Data::PatternDefine(v2::PatternDefine {
        pattern_id: 2,
        template: "user  logged in".into(),
        pos_list: vec![5],
    })));
    batch.push(put(v2::Log {
        status: 39,
        // f0..f7 = 1 0 1 1 0 0 0 1 (bit 0 first), f8 = 1; the padding bits of byte 2 are set.
        json_context_bool_values: vec![0b1000_1101, 0b1111_0001],
        json_context_int_values: vec![-42],
        json_context_float_values: vec![12.5],
        json_context_dict_values: vec![37],
        json_context_string_values: vec!["plain \"quoted\" é ✓".into()],
        json_context_raw_values: vec![
            br#"[1,"two",null,[3]]"#.to_vec(),
            br#"{"k":{"deep":true},"n":1.50}"#.to_vec(),
        ],
        ..log(T0, 2, "first")
    }));
    batch.push(put(v2::Log {
        status: 0,
        dynamic_values: vec![v2::DynamicValue {
            value: Some(Dv::StringValue("bob".into())),
            render_as_string: false,
        }],
        // every BOOL false, f8 included; the padding bits of byte 2 are set.
        json_context_bool_values: vec![0, 0b1111_1110],
        json_context_int_values: vec![i64::MAX],
        json_context_float_values: vec![1e21],
        json_context_dict_values: vec![38],
        json_context_string_values: vec![String::new()],
        json_context_raw_values: vec![b"[]".to_vec(), br#" {"a" : -0.5e-3} "#.to_vec()],
        ..log(1, 0, "")
    }));
    let info = |mut line: serde_json::Value| {
        line["status"] = json!("info");
        line
    };
    let logs = vec![
        info(json_line(
            1,
            T0,
            json!({
                "z_null": null,
                "flags": {"f0": true, "f1": false, "f2": true, "f3": true, "f4": false,
                          "f5": false, "f6": false, "f7": true, "f8": true},
                "i": -42, "f": float(12.5), "d": "GET", "s": "plain \"quoted\" é ✓",
                "arr": raw(r#"[1,"two",null,[3]]"#),
                "obj": raw(r#"{"k":{"deep":true},"n":1.50}"#),
                "msg": "first"
            }),
        )),
        info(json_line(
            1,
            T0 + 1,
            json!({
                "z_null": null,
                "flags": {"f0": false, "f1": false, "f2": false, "f3": false, "f4": false,
                          "f5": false, "f6": false, "f7": false, "f8": false},
                "i": i64::MAX, "f": float(1e21), "d": "POST", "s": "",
                "arr": [],
                "obj": raw(r#"{"a":-0.5e-3}"#),
                "msg": "user bob logged in"
            }),
        )),
    ];
    Case {
        name: "v2-json-every-kind",
        summary: "one schema with every kind: NULL, 9 BOOLs over two bytes (bit 0 first, padding bits set and ignored), INT, FLOAT, DICT_STRING, STRING, RAW_JSON array and object; the second log uses json_schema_id 0 (previous), status 0 and a pattern message",
        batches: vec![(1, batch)],
        expect: Expect::Accept { logs },
    }
}

/// Escaped key paths: `a\.b`, `c\\d`, `e\\.f` (a key ending in a backslash, then `f`), nested
/// `http.status` / `http.method`, and an escaped dot in the message path.
fn escaped_paths() -> Case {
    let mut batch = dicts(&[
        (2, r"a\.b"),
        (3, r"c\\d"),
        (4, "http.status"),
        (5, "http.method"),
        (6, "msg"),
        (7, r"e\\.f"),
        (8, r"log\.text"),
        (9, "GET"),
    ]);
    batch.push(schema(2, &[2, 3, 4, 5, 7], 6, &[STRING, INT, INT, DICT, BOOL]));
    batch.push(schema(3, &[4], 8, &[INT]));
    batch.push(put(v2::Log {
        json_context_string_values: vec!["dotted".into()],
        json_context_int_values: vec![1, 200],
        json_context_dict_values: vec![9],
        json_context_bool_values: vec![1],
        ..log(T0, 2, "escaped keys")
    }));
    batch
        .push(put(v2::Log { json_context_int_values: vec![404], ..log(1, 3, r"a \. in the message stays") }));
    let logs = vec![
        json_line(
            1,
            T0,
            json!({"a.b": "dotted", "c\\d": 1, "http": {"status": 200, "method": "GET"}, "e\\": {"f": true},
                   "msg": "escaped keys"}),
        ),
        json_line(1, T0 + 1, json!({"http": {"status": 404}, "log.text": "a \\. in the message stays"})),
    ];
    Case {
        name: "v2-json-escaped-paths",
        summary: r"escaped key paths: `a\.b` (a literal dot), `c\\d` (a literal backslash), `e\\.f` (a key ending in a backslash, then `f`), nested `http.status` and `http.method` in one object; a message path with an escaped dot (`log\.text`)",
        batches: vec![(1, batch)],
        expect: Expect::Accept { logs },
    }
}

/// The message path `data.message`: with no other `data` member (the object is created), and
/// inside the object a RAW_JSON `data` holds (also an empty one).
fn message_path() -> Case {
    let mut batch = dicts(&[(2, "data.message"), (3, "level"), (4, "data")]);
    batch.push(schema(2, &[3], 2, &[STRING]));
    batch.push(schema(3, &[4, 3], 2, &[RAW, STRING]));
    batch.push(put(v2::Log { json_context_string_values: vec!["warn".into()], ..log(T0, 2, "m1") }));
    batch.push(put(v2::Log {
        json_context_raw_values: vec![br#"{"x":1,"tags":["a"]}"#.to_vec()],
        json_context_string_values: vec!["error".into()],
        ..log(1, 3, "m2")
    }));
    batch.push(put(v2::Log {
        json_context_raw_values: vec![b"{}".to_vec()],
        json_context_string_values: vec!["debug".into()],
        ..log(1, 0, "m3")
    }));
    let logs = vec![
        json_line(1, T0, json!({"level": "warn", "data": {"message": "m1"}})),
        json_line(1, T0 + 1, json!({"data": {"x": 1, "tags": ["a"], "message": "m2"}, "level": "error"})),
        json_line(1, T0 + 2, json!({"data": {"message": "m3"}, "level": "debug"})),
    ];
    Case {
        name: "v2-json-message-path",
        summary: "nested message path `data.message`: with no other `data` member (the object is created for it), and inside the object a RAW_JSON `data` value holds (boxed without its message; also `{}`)",
        batches: vec![(1, batch)],
        expect: Expect::Accept { logs },
    }
}

/// `json_schema_id` deltas across logs: 0 = previous, 1 = a text log (and 1 becomes the
/// previous), a switch of schema, and a `DeltaEncodingSync` that sets the previous schema.
fn schema_previous() -> Case {
    let mut batch = dicts(&[(2, "msg"), (3, "n"), (4, "k")]);
    batch.push(schema(2, &[3], 2, &[INT]));
    batch.push(schema(3, &[4], 2, &[STRING]));
    let int = |ts, id, n, m| put(v2::Log { json_context_int_values: vec![n], ..log(ts, id, m) });
    let string =
        |ts, id, s: &str, m| put(v2::Log { json_context_string_values: vec![s.into()], ..log(ts, id, m) });
    batch.extend([
        int(T0, 2, 1, "one"),
        int(1, 0, 2, "two"),
        put(log(1, 1, "a text log in between")),
        put(log(1, 0, "text again: 1 became the previous")),
        string(1, 3, "x", "three"),
        string(1, 0, "y", "four"),
        int(1, 2, 5, "five"),
    ]);
    let sync_to_3 = v2::DeltaEncodingSync {
        timestamp: (T0 + 100) as u64,
        json_schema_id: 3,
        status: 1,
        service: 1,
        tags: 1,
        ..Default::default()
    };
    let batch2 = vec![
        sync(sync_to_3),
        put(v2::Log {
            status: 0,
            service: 0,
            tags: 0,
            json_context_string_values: vec!["z".into()],
            ..log(1, 0, "after the sync")
        }),
    ];
    let logs = vec![
        json_line(1, T0, json!({"n": 1, "msg": "one"})),
        json_line(1, T0 + 1, json!({"n": 2, "msg": "two"})),
        text_line(1, T0 + 2, "a text log in between"),
        text_line(1, T0 + 3, "text again: 1 became the previous"),
        json_line(1, T0 + 4, json!({"k": "x", "msg": "three"})),
        json_line(1, T0 + 5, json!({"k": "y", "msg": "four"})),
        json_line(1, T0 + 6, json!({"n": 5, "msg": "five"})),
        json_line(2, T0 + 101, json!({"k": "z", "msg": "after the sync"})),
    ];
    Case {
        name: "v2-json-schema-previous",
        summary: "json_schema_id across logs: 0 = the previous schema, 1 = a text log in between (and 1 becomes the previous), a switch between two schemas; in batch 2 a DeltaEncodingSync sets the previous schema (and none for status, service, tags) for a first log that uses 0 everywhere",
        batches: vec![(1, batch), (2, batch2)],
        expect: Expect::Accept { logs },
    }
}

pub fn cases() -> Vec<Case> {
    vec![every_kind(), escaped_paths(), message_path(), schema_previous()]
}
