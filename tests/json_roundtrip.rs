//! Arbitrary JSON values through the Pipeline and the Receiver in both profiles (spec
//! `encoding.md` §9.13, §9.14, §10.1): every record comes back equal to its input as a JSON
//! value when it travelled as a JSON log, byte for byte otherwise; and in `v2` every record the
//! §9.13 detection accepts does travel as a JSON log.

use proptest::prelude::*;
use stateful_logs::pattern::detect_v2;
use stateful_logs::receiver::LogBody;
use stateful_logs::testing::Loopback;
use stateful_logs::testing::round_trip::{assert_equivalent, base_config, world};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::{Profile, Record};

/// A JSON value whose numbers keep the text they are written with.
#[derive(Clone, Debug)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{19,30}",
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        proptest::sample::select(&["1.0", "-0", "-0.0", "0.1e-3", "12.50", "1E5", "5e-324", "0"][..])
            .prop_map(str::to_owned),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}",
        "\\PC{0,12}",
        proptest::sample::select(
            &["info", "warn", "GET /api", "tab\there", "q\"uote", "back\\slash", "ünï 😀"][..]
        )
        .prop_map(str::to_owned),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(&[
            "msg", "message", "log", "text", "data", "event", "payload", "attributes", "tags", "level",
            "a.b", "c\\d", "é", "ключ", "", "x", "y",
        ][..]).prop_map(str::to_owned),
        2 => "[a-z]{1,3}",
        1 => "\\PC{1,6}",
    ]
}

fn value() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        number().prop_map(Json::Number),
        text().prop_map(Json::String),
    ];
    leaf.prop_recursive(4, 48, 20, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Json::Array),
            proptest::collection::vec((key(), inner), 0..20).prop_map(Json::Object),
        ]
    })
}

/// A top-level object, usually with a message somewhere (top level or nested), sometimes
/// with a duplicate name (which makes it text).
fn record_object() -> impl Strategy<Value = (Vec<(String, Json)>, bool)> {
    (
        proptest::collection::vec((key(), value()), 0..12),
        proptest::option::of((0usize..7, "[a-z ]{1,30}")),
        any::<bool>(),
    )
        .prop_map(|(mut members, message, duplicate)| {
            if let Some((at, message)) = message {
                let message = Json::String(message);
                match at {
                    0..4 => members.insert(0, (["message", "msg", "log", "text"][at].to_owned(), message)),
                    _ => {
                        let parent = ["data", "event", "payload"][at - 4].to_owned();
                        members.push((parent, Json::Object(vec![("message".into(), message)])));
                    }
                }
            }
            (members, duplicate)
        })
}

fn write_string(s: &str, ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write(value: &Json, spaced: bool, out: &mut String) {
    let sep = if spaced { ", " } else { "," };
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_string(s, spaced, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write(item, spaced, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (name, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write_string(name, spaced, out);
                out.push_str(if spaced { " : " } else { ":" });
                write(item, spaced, out);
            }
            out.push('}');
        }
    }
}

fn line() -> impl Strategy<Value = String> {
    (record_object(), any::<bool>()).prop_map(|((mut members, duplicate), spaced)| {
        if duplicate && let Some(first) = members.first().cloned() {
            members.push(first);
        }
        let mut out = String::new();
        if spaced {
            out.push_str(" \t");
        }
        write(&Json::Object(members), spaced, &mut out);
        out
    })
}

/// The translator settings a case runs with.
#[derive(Clone, Copy, Debug)]
struct Settings {
    patterns: bool,
    float_columns: bool,
    dictionary_strings: bool,
}

fn settings() -> impl Strategy<Value = Settings> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(patterns, float_columns, dictionary_strings)| {
        Settings { patterns, float_columns, dictionary_strings }
    })
}

/// Runs `lines` through a world of `profile` with `settings` and checks every record.
fn round_trip(profile: Profile, settings: Settings, lines: &[String]) -> Loopback {
    let mut config = base_config(profile);
    if !settings.patterns {
        config.translator = TranslatorConfig::raw();
    }
    config.translator.json_float_columns = settings.float_columns;
    config.translator.json_dictionary_strings = settings.dictionary_strings;
    config.translator.dictionary.sighting_spacing = 0;
    config.max_batch_items = 7;
    let mut w = world(config);
    let records: Vec<Record> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| Record::new(1_700_000_000_000 + i as i64, l.clone()).with_ack_token(i as u64))
        .collect();
    for (i, r) in records.iter().enumerate() {
        w.record(r.clone()).unwrap();
        if i % 5 == 4 {
            w.pump().unwrap();
            w.deliver_acks().unwrap();
        }
    }
    w.finish().unwrap();
    assert_eq!(w.delivered.len(), records.len(), "{profile}: every record delivered");
    for (i, (got, want)) in w.delivered.iter().zip(&records).enumerate() {
        assert_equivalent(profile, got, want, i);
    }
    w
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: ProptestConfig::default().cases.min(96),
        failure_persistence: Some(Box::new(proptest::test_runner::FileFailurePersistence::Direct(
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/json_roundtrip.proptest-regressions"),
        ))),
        ..ProptestConfig::default()
    })]

    // Invariant (§10.1): arbitrary JSON objects (nesting, unicode and escaped names, dots and
    // backslashes in names, big, negative and float numbers in any form, duplicate names)
    // come back equal to the input as JSON values, or byte for byte when sent as text, in both
    // profiles with patterns on and off, floats as columns or text, strings through the
    // dictionary or inline; and a v2 record is a JSON log exactly when §9.13
    // detection accepts it (the state bound is never reached here).
    #[test]
    fn arbitrary_json_round_trips_and_v2_sends_every_detected_object_as_json(
        lines in proptest::collection::vec(line(), 1..30),
        settings in settings(),
    ) {
        for profile in Profile::ALL {
            let w = round_trip(profile, settings, &lines);
            if profile == Profile::V2 {
                for (i, (got, line)) in w.delivered.iter().zip(&lines).enumerate() {
                    let detected = detect_v2(line, 256, settings.float_columns).is_some();
                    prop_assert_eq!(matches!(got.body, LogBody::Json(_)), detected, "record {}: {}", i, line);
                }
            }
        }
    }
}

#[test]
fn duplicate_names_nested_deep_go_as_text_and_big_numbers_keep_their_text() {
    let lines = [
        r#"{"msg":"dup","o":{"a":1,"a":2}}"#.to_owned(),
        r#"{"msg":"big","n":123456789012345678901234567890,"f":1.50,"e":-2E+3}"#.to_owned(),
        format!(r#"{{"msg":"deep","d":{}1{}}}"#, "[".repeat(126), "]".repeat(126)),
        format!(r#"{{"msg":"too deep","d":{}1{}}}"#, "[".repeat(128), "]".repeat(128)),
    ];
    let settings = Settings { patterns: false, float_columns: true, dictionary_strings: false };
    let w = round_trip(Profile::V2, settings, &lines);
    let json: Vec<bool> = w.delivered.iter().map(|l| matches!(l.body, LogBody::Json(_))).collect();
    assert_eq!(json, [false, true, true, false]);
    let LogBody::Json(big) = &w.delivered[1].body else { unreachable!() };
    assert_eq!(big["n"].to_string(), "123456789012345678901234567890");
    assert_eq!(big["f"].to_string(), "1.50");
}
