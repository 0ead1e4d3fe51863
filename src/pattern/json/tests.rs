//! Tests of the JSON scanner and `v1` detection.

use super::*;
use proptest::prelude::*;

fn members(text: &str) -> Vec<(String, JsonValue<'_>)> {
    parse_object(text).unwrap().into_iter().map(|m| (m.name.into_owned(), m.value)).collect()
}

#[test]
fn parses_objects_with_every_kind_of_value() {
    let parsed = members(
        r#"  {"a": 1, "b":-2.5e3 ,"c":"x\"y\u00e9\ud83d\ude00","d":[true,false,null,{}],"e":{"f":[]}}  "#,
    );
    assert_eq!(parsed[0], ("a".into(), JsonValue::Number("1")));
    assert_eq!(parsed[1], ("b".into(), JsonValue::Number("-2.5e3")));
    assert_eq!(parsed[2], ("c".into(), JsonValue::String("x\"yé😀".into())));
    assert_eq!(
        parsed[3].1,
        JsonValue::Array(vec![
            JsonValue::Bool(true),
            JsonValue::Bool(false),
            JsonValue::Null,
            JsonValue::Object(vec![])
        ])
    );
    let raw: Vec<&str> =
        parse_object(r#"{"a" : [1, 2] ,"b":"\n"}"#).unwrap().iter().map(|m| m.raw_value).collect();
    assert_eq!(raw, vec!["[1, 2]", r#""\n""#]);
    let raw: Vec<&str> =
        parse_object(r#"{"a" : [1, 2] ,"b":"\n"}"#).unwrap().iter().map(|m| m.raw_member).collect();
    assert_eq!(raw, vec![r#""a" : [1, 2]"#, r#""b":"\n""#]);
}

#[test]
fn rejects_what_is_not_exactly_one_object() {
    for text in [
        "",
        "[]",
        "\"x\"",
        "{",
        "{}}",
        "{} {}",
        "{}x",
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{a:1}"#,
        r#"{"a":01}"#,
        r#"{"a":1.}"#,
        r#"{"a":.5}"#,
        r#"{"a":1e}"#,
        r#"{"a":+1}"#,
        r#"{"a":tru}"#,
        r#"{"a":"\x"}"#,
        r#"{"a":"\ud800"}"#,
        r#"{"a":"\udc00\ud800"}"#,
        "{\"a\":\"tab\there\"}",
        r#"{"a":"unterminated}"#,
        r#"{"a":[1 2]}"#,
        "\u{c}{} \u{c}",
    ] {
        assert!(parse_object(text).is_none(), "{text:?}");
    }
}

#[test]
fn rejects_duplicate_member_names_at_any_depth() {
    assert!(parse_object(r#"{"a":1,"a":2}"#).is_none());
    assert!(parse_object(r#"{"a":1,"\u0061":2}"#).is_none());
    assert!(parse_object(r#"{"x":[{"b":1,"b":1}]}"#).is_none());
    assert!(parse_object(r#"{"a":{"a":1}}"#).is_some());
}

#[test]
fn nesting_depth_is_limited_to_128() {
    let nested = |depth: usize| format!("{}{}{}", "{\"a\":".repeat(depth - 1) + "{", "", "}".repeat(depth));
    assert!(parse_object(&nested(128)).is_some());
    assert!(parse_object(&nested(129)).is_none());
    let arrays = |depth: usize| format!("{{\"a\":{}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1));
    assert!(parse_object(&arrays(128)).is_some());
    assert!(parse_object(&arrays(129)).is_none());
    // Deep garbage neither panics nor overflows the stack.
    assert!(parse_object(&"[".repeat(100_000)).is_none());
    assert!(parse_object(&format!("{{\"a\":{}", "[".repeat(100_000))).is_none());
}

#[test]
fn v1_detection_finds_the_message_and_sorts_the_context() {
    let json = detect_v1(r#"{"level":"info","msg":"user 42 logged in","z":7,"b":1.5,"a":"x"}"#).unwrap();
    assert_eq!(json.message_key, "msg");
    assert_eq!(json.message, "user 42 logged in");
    assert_eq!(
        json.context,
        vec![
            ("a".into(), V1Value::String("x".into())),
            ("b".into(), V1Value::Float(1.5)),
            ("level".into(), V1Value::String("info".into())),
            ("z".into(), V1Value::Int(7)),
        ]
    );
    assert_eq!(json.schema(), "a,b,level,z");
    let alone = detect_v1(r#"{"message":"hi"}"#).unwrap();
    assert!(alone.context.is_empty());
    assert_eq!(alone.schema(), "");
}

#[test]
fn v1_message_is_the_first_key_in_preference_order_with_a_non_empty_string() {
    let json = detect_v1(r#"{"text":"t","log":"l","msg":"","message":5}"#).unwrap();
    assert_eq!((json.message_key, json.message.as_ref()), ("log", "l"));
    assert_eq!(json.schema(), "message,msg,text");
    assert_eq!(json.context[0].1, V1Value::Int(5));
}

#[test]
fn v1_detection_rejects_other_records() {
    for text in [
        r#"{"level":"info"}"#,
        r#"{"message":""}"#,
        r#"{"message":5}"#,
        r#"{"message":"m","ok":true}"#,
        r#"{"message":"m","n":null}"#,
        r#"{"message":"m","o":{}}"#,
        r#"{"message":"m","a":[]}"#,
        r#"{"message":"m","a,b":"x"}"#,
        r#"{"message":"m","n":1e3}"#,
        r#"{"message":"m","n":1.50}"#,
        r#"{"message":"m","n":007}"#,
        r#"{"message":"m","n":-0.0}"#,
        r#"{"message":"m","n":99999999999999999999}"#,
        r#"{"data":{"message":"nested"}}"#,
        "not json",
    ] {
        assert!(detect_v1(text).is_none(), "{text:?}");
    }
}

#[test]
fn v1_numbers_are_int_when_canonical_else_float_when_rendered_exactly() {
    let json = detect_v1(r#"{"message":"m","a":-9223372036854775808,"b":0.1,"c":-0,"d":100}"#).unwrap();
    let values: Vec<_> = json.context.into_iter().map(|(_, v)| v).collect();
    assert_eq!(
        values,
        vec![V1Value::Int(i64::MIN), V1Value::Float(0.1), V1Value::Float(-0.0), V1Value::Int(100)]
    );
}

proptest! {
    /// Invariant: the scanner never panics, whatever the input.
    #[test]
    fn scanner_never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = parse_object(&text);
        let _ = detect_v1(&text);
    }

    /// Invariant: on JSON-like text the scanner accepts exactly what serde_json accepts as an
    /// object, except objects with duplicate names (which serde_json's map de-duplicates).
    #[test]
    fn scanner_agrees_with_serde_json_on_json_like_text(text in r#"\{("[a-c]":([0-9.e\-]{1,4}|"[a-c\\]{0,3}"|\[\]|\{\}|true|null),?){0,4}\}"#) {
        let ours = parse_object(&text).is_some();
        let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text).is_ok();
        if ours {
            prop_assert!(theirs, "{text:?} accepted here only");
        } else if theirs {
            // Only duplicate names may make us stricter (serde_json keeps the last one).
            let deduped = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text).map(|m| m.len()).unwrap_or(0);
            let raw_members = text.matches("\":").count();
            prop_assert!(deduped < raw_members, "{text:?} rejected here only");
        }
    }
}

#[test]
fn plain_run_stops_at_the_first_quote_backslash_or_control_byte() {
    for text in ["", "a", "abcdefgh", "abcdefghijklmnopq", "ünïcødé long enough to need chunks"] {
        assert_eq!(super::plain_run(text.as_bytes()), text.len(), "{text}");
        for (i, stop) in [(0, "\""), (3, "\\"), (7, "\n"), (8, "\u{1f}"), (9, "\"")] {
            let padded = format!("{}{stop}{text}\"", "x".repeat(i));
            assert_eq!(super::plain_run(padded.as_bytes()), i, "{padded:?}");
        }
    }
    // Bytes at and above 0x80 and just above 0x20 are plain.
    assert_eq!(super::plain_run(&[0x80, 0xff, 0x20, 0x21, 0x7f, 0x5b, 0x5d, 0x23, 0x22]), 8);
}
