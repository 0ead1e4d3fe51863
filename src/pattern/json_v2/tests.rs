use super::*;

fn columns(text: &str) -> Vec<(String, V2Leaf<'_>)> {
    let json = detect_v2(text, 256, true).unwrap_or_else(|| panic!("{text} is a v2 JSON log"));
    json.columns.into_iter().map(|c| (c.path.into_owned(), c.leaf)).collect()
}

fn raw(s: &str) -> V2Leaf<'_> {
    V2Leaf::Raw(Cow::Borrowed(s))
}

#[test]
fn members_become_typed_columns_in_name_order() {
    let text = r#"{"msg":"done","z":null,"b":true,"a":12,"f":12.5,"n":1.0,"s":"x","e":1e3}"#;
    let json = detect_v2(text, 256, true).expect("JSON");
    assert_eq!((json.message_path, json.message.as_ref()), ("msg", "done"));
    assert_eq!(
        columns(text),
        vec![
            ("a".into(), V2Leaf::Int(12)),
            ("b".into(), V2Leaf::Bool(true)),
            ("e".into(), raw("1e3")),
            ("f".into(), V2Leaf::Float(12.5)),
            ("n".into(), raw("1.0")),
            ("s".into(), V2Leaf::Str("x".into())),
            ("z".into(), V2Leaf::Null),
        ]
    );
}

#[test]
fn without_float_columns_non_integers_keep_their_text() {
    let json = detect_v2(r#"{"msg":"m","f":12.5,"i":-3}"#, 256, false).expect("JSON");
    let leaves: Vec<_> = json.columns.into_iter().map(|c| c.leaf).collect();
    assert_eq!(leaves, [raw("12.5"), V2Leaf::Int(-3)]);
}

#[test]
fn the_first_message_key_with_a_non_empty_string_wins() {
    let json = detect_v2(r#"{"message":"","msg":7,"log":"hello","text":"t"}"#, 256, true).expect("JSON");
    assert_eq!((json.message_path, json.message.as_ref()), ("log", "hello"));
    let paths: Vec<_> = json.columns.iter().map(|c| c.path.as_ref()).collect();
    assert_eq!(paths, ["message", "msg", "text"]);
}

#[test]
fn small_objects_expand_and_the_rest_is_boxed() {
    let many: Vec<String> = (0..17).map(|i| format!("\"k{i:02}\":{i}")).collect();
    let text = format!(
        r#"{{"msg":"m","http":{{"status":200,"u":{{"a":1}},"l":[1]}},"tags":{{"a":"b"}},"big":{{{}}},"e":{{}},"arr":[1, 2]}}"#,
        many.join(",")
    );
    let got = columns(&text);
    let paths: Vec<_> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["arr", "big", "e", "http.l", "http.status", "http.u", "tags"]);
    assert_eq!(got[0].1, raw("[1, 2]"));
    assert_eq!(got[2].1, raw("{}"));
    assert_eq!(got[3].1, raw("[1]"));
    assert_eq!(got[4].1, V2Leaf::Int(200));
    assert_eq!(got[5].1, raw(r#"{"a":1}"#));
    assert_eq!(got[6].1, raw(r#"{"a":"b"}"#));
}

#[test]
fn a_nested_message_leaves_its_parent_or_drops_it_when_empty() {
    let json = detect_v2(r#"{"data":{"message":"m"},"x":1}"#, 256, true).expect("JSON");
    assert_eq!(json.message_path, "data.message");
    assert_eq!(json.columns.len(), 1);
    let json = detect_v2(r#"{"event":{"id":3,"message":"m"}}"#, 256, true).expect("JSON");
    assert_eq!(json.message_path, "event.message");
    assert_eq!(json.columns[0], V2Column { path: "event.id".into(), leaf: V2Leaf::Int(3) });
    // The first parent whose member is a non-empty string; others stay columns.
    let json = detect_v2(r#"{"data":{"message":""},"payload":{"message":"p"}}"#, 256, true).expect("JSON");
    assert_eq!(json.message_path, "payload.message");
}

#[test]
fn a_boxed_parent_of_the_message_is_written_without_it() {
    let many: Vec<String> = (0..17).map(|i| format!("\"k{i:02}\" : {i}")).collect();
    let text = format!(r#"{{"data":{{"message":"m",{}}}}}"#, many.join(","));
    let json = detect_v2(&text, 256, true).expect("JSON");
    assert_eq!(json.message_path, "data.message");
    assert_eq!(json.columns.len(), 1);
    assert_eq!(json.columns[0].leaf, V2Leaf::Raw(Cow::Owned(format!("{{{}}}", many.join(",")))));
}

#[test]
fn names_with_dots_and_backslashes_are_escaped() {
    let got = columns(r#"{"msg":"m","a.b":1,"c\\d":{"e.f":2}}"#);
    assert_eq!(got[0].0, r"a\.b");
    assert_eq!(got[1].0, r"c\\d.e\.f");
}

#[test]
fn what_the_spec_excludes_is_text() {
    for text in [
        r#"{"x":1}"#,                        // no message
        r#"{"msg":""}"#,                     // empty message
        r#"["msg"]"#,                        // not an object
        r#"{"msg":"a","msg":"b"}"#,          // duplicate name
        r#"{"msg":"a"} x"#,                  // trailing text
        r#"{"msg":"a","":1}"#,               // empty name
        r#"{"msg":"a","o":{"":1}}"#,         // empty nested name
        r#"{"msg":"\udbff\udf80"}"#,         // escape-range message
        r#"{"msg":"a","s":"\udbff\udfff"}"#, // escape-range value
        r#"{"data":{"message":5}}"#,         // nested message not a string
    ] {
        assert_eq!(detect_v2(text, 256, true), None, "{text}");
    }
    assert!(detect_v2(r#"{"msg":"a","b":1,"c":2}"#, 2, true).is_some());
    assert_eq!(detect_v2(r#"{"msg":"a","b":1,"c":2,"d":3}"#, 2, true), None, "over max columns");
}

#[test]
fn a_message_only_object_has_no_columns() {
    let json = detect_v2("  {\"text\" : \"only\"}\n", 256, true).expect("JSON");
    assert_eq!((json.message_path, json.columns.len()), ("text", 0));
}
