//! The `v2` JSON path of the translator (§9.13) and its schemas under the bounds of §9.9.

use crate::datum::{Datum, DictDef, JsonFields, JsonV2, LogContent, LogDatum, SchemaDef, StateChange};
use crate::proto::v2::JsonValueKind;
use crate::translator::{Translator, TranslatorConfig};
use crate::wire::WireFormat;
use crate::{Profile, Record, Timestamp};

fn v2(config: TranslatorConfig) -> Translator {
    Translator::new(WireFormat::new(Profile::V2), config, Timestamp(0))
}

/// Raw mode (the message goes as `raw_log`), JSON strings through the dictionary, every
/// sighting counting.
fn raw_with_dictionary() -> TranslatorConfig {
    let mut config = TranslatorConfig::raw();
    config.dictionary.sighting_spacing = 0;
    config.json_dictionary_strings = true;
    config
}

fn run(t: &mut Translator, now: u64, text: &str) -> Vec<Datum> {
    let mut out = Vec::new();
    t.translate(Timestamp(now), &Record::new(now as i64, text.to_owned()), &mut out);
    out
}

fn dict(id: u64, value: &str) -> Datum {
    Datum::State(StateChange::DictDefine(DictDef { id, value: value.into() }))
}

fn schema(id: u64, keys: &[u64], message_key_id: u64, value_kinds: &[u8]) -> Datum {
    let def = SchemaDef { id, keys: keys.to_vec(), message_key_id, value_kinds: value_kinds.to_vec() };
    Datum::State(StateChange::SchemaDefine(def))
}

fn log_of(datums: &[Datum]) -> &LogDatum {
    match datums.last() {
        Some(Datum::Log(l)) => l,
        other => panic!("the last datum must be the log, got {other:?}"),
    }
}

/// The columns of a JSON log whose message went as `raw_log`.
fn raw_json(datums: &[Datum]) -> (&str, &JsonV2) {
    match &log_of(datums).content {
        LogContent::RawJson { message, json } => (message, json),
        other => panic!("a JSON log with a raw message expected, got {other:?}"),
    }
}

#[test]
fn a_json_log_defines_its_paths_then_its_schema_and_sends_typed_columns() {
    let mut t = v2(TranslatorConfig::raw());
    let out = run(
        &mut t,
        0,
        r#"{"ts":1700000000,"msg":"done","ok":true,"lat":1.5,"user":"alice","n":null,"o":[1]}"#,
    );
    // Message path, then key paths in column order (name order), then the schema (§8.3).
    assert_eq!(
        out[..7],
        [
            dict(2, "msg"),
            dict(3, "lat"),
            dict(4, "n"),
            dict(5, "o"),
            dict(6, "ok"),
            dict(7, "ts"),
            dict(8, "user")
        ]
    );
    // Floats keep their text by default (RAW_JSON, `json_float_columns`).
    let kinds = [
        JsonValueKind::RawJson as u8,
        JsonValueKind::Null as u8,
        JsonValueKind::RawJson as u8,
        JsonValueKind::Bool as u8,
        JsonValueKind::Int as u8,
        JsonValueKind::String as u8,
    ];
    assert_eq!(out[7], schema(2, &[3, 4, 5, 6, 7, 8], 2, &kinds));
    let (message, json) = raw_json(&out);
    assert_eq!(message, "done");
    let want = JsonV2 {
        schema_id: 2,
        ints: vec![1_700_000_000],
        floats: vec![],
        dicts: vec![],
        raws: ["1.5", "[1]"].into_iter().collect(),
        strings: ["alice"].into_iter().collect(),
        bools: vec![1],
    };
    assert_eq!(json, &want);
    assert_eq!((t.json_schema_count(), t.metrics().json_logs), (1, 1));
    // FLOAT columns on request; strings stay STRING unless the dictionary is asked for.
    let config = TranslatorConfig { json_float_columns: true, ..TranslatorConfig::raw() };
    let mut t = v2(config);
    let out = run(&mut t, 0, r#"{"msg":"m","lat":1.5,"user":"alice"}"#);
    assert_eq!(out[3], schema(2, &[3, 4], 2, &[JsonValueKind::Float as u8, JsonValueKind::String as u8]));
    assert_eq!(raw_json(&out).1.floats, [1.5]);
    let out = run(&mut t, 1, r#"{"msg":"m","lat":2.5,"user":"alice"}"#);
    assert_eq!((out.len(), raw_json(&out).1.strings.iter().collect::<Vec<_>>()), (1, vec!["alice"]));
}

#[test]
fn a_repeated_string_is_admitted_and_moves_its_column_to_a_new_schema() {
    let mut t = v2(raw_with_dictionary());
    run(&mut t, 0, r#"{"msg":"a","user":"alice"}"#);
    // Second sighting: admitted, so the column is DICT_STRING, which is another schema.
    let out = run(&mut t, 1, r#"{"msg":"b","user":"alice"}"#);
    assert_eq!(out[..2], [dict(4, "alice"), schema(3, &[3], 2, &[JsonValueKind::DictString as u8])]);
    assert_eq!(raw_json(&out).1.dicts, [4]);
    // The same shape again: no define at all.
    let out = run(&mut t, 2, r#"{"user":"alice","msg":"c"}"#);
    assert_eq!(out.len(), 1);
    assert_eq!(raw_json(&out).1.schema_id, 3);
}

#[test]
fn with_patterns_the_message_takes_a_pattern_and_the_schema_rides_along() {
    let mut t = v2(TranslatorConfig::eager());
    let out = run(&mut t, 0, r#"{"msg":"user 42 logged in","port":8443}"#);
    let LogContent::Pattern { json: Some(json), .. } = &log_of(&out).content else {
        panic!("a pattern JSON log expected: {out:?}")
    };
    let JsonFields::V2(j) = &**json else { panic!("v2 columns expected") };
    assert_eq!((j.schema_id, j.ints.as_slice()), (2, &[8443][..]));
}

#[test]
fn bools_are_bit_packed_least_significant_first() {
    let mut t = v2(TranslatorConfig::raw());
    let members: Vec<String> = (0..10).map(|i| format!("\"b{i}\":{}", i % 3 == 0)).collect();
    let out = run(&mut t, 0, &format!("{{\"msg\":\"m\",{}}}", members.join(",")));
    // b0, b3, b6, b9 are true: bits 0, 3, 6 of byte 0 and bit 1 of byte 1.
    assert_eq!(raw_json(&out).1.bools, [0b0100_1001, 0b0000_0010]);
}

#[test]
fn json_as_raw_and_what_the_spec_excludes_stay_text() {
    let mut config = TranslatorConfig::raw();
    config.patterns.json_as_raw = true;
    let mut t = v2(config);
    let out = run(&mut t, 0, r#"{"msg":"m"}"#);
    assert_eq!(log_of(&out).content, LogContent::Raw(r#"{"msg":"m"}"#.into()));
    let mut t = v2(TranslatorConfig::raw());
    for text in [r#"{"x":1}"#, r#"{"msg":"a","msg":"b"}"#, "{\"msg\":\"a\"} trailing"] {
        assert_eq!(log_of(&run(&mut t, 0, text)).content, LogContent::Raw(text.into()), "{text}");
    }
    assert_eq!(t.json_schema_count(), 0);
}

#[test]
fn evicting_a_key_entry_deletes_its_schemas_first() {
    let mut config = TranslatorConfig::raw();
    config.dictionary.max_entries = 3;
    config.dictionary.eviction_high_watermark = 1.0;
    config.dictionary.eviction_low_watermark = 1.0;
    let mut t = v2(config);
    run(&mut t, 0, r#"{"msg":"a","k":1}"#); // entries msg=2, k=3; schema 2
    let out = run(&mut t, 1, r#"{"msg":"a","j":1,"l":2}"#); // j=4, l=5: over 3 entries
    let deletes: Vec<&StateChange> = out
        .iter()
        .filter_map(|d| if let Datum::State(c) = d { c.is_delete().then_some(c) } else { None })
        .collect();
    // `k` is the only entry this record does not use; schema 2 used it and goes first.
    assert_eq!(deletes, [&StateChange::SchemaDelete(2), &StateChange::DictDelete(3)]);
    assert_eq!(t.json_schema_count(), 1);
    assert_eq!(t.metrics().json_schemas_removed, 1);
}

#[test]
fn the_schema_bound_deletes_the_least_recently_used() {
    let config = TranslatorConfig { json_max_schemas: 2, ..TranslatorConfig::raw() };
    let mut t = v2(config);
    run(&mut t, 0, r#"{"msg":"a","k1":1}"#); // schema 2
    run(&mut t, 1, r#"{"msg":"a","k2":1}"#); // schema 3
    run(&mut t, 2, r#"{"msg":"a","k1":1}"#); // uses 2 again: 3 is now the least recent
    let out = run(&mut t, 3, r#"{"msg":"a","k3":1}"#); // schema 4 → delete 3
    assert!(out.contains(&Datum::State(StateChange::SchemaDelete(3))), "{out:?}");
    assert_eq!(t.json_schema_count(), 2);
}

#[test]
fn schemas_count_in_the_state_bound_and_a_schema_that_cannot_fit_goes_raw() {
    let text = r#"{"msg":"m","alpha":1,"beta":2}"#;
    let mut roomy = v2(TranslatorConfig::raw());
    run(&mut roomy, 0, text);
    let needed = roomy.state_size_bytes();
    let config = TranslatorConfig { state_max_bytes: needed - 1, ..TranslatorConfig::raw() };
    let mut tight = v2(config);
    let out = run(&mut tight, 0, text);
    assert_eq!(log_of(&out).content, LogContent::Raw(text.into()));
    assert!(tight.state_size_bytes() < needed);
    assert_eq!(tight.json_schema_count(), 0);
}

#[test]
fn the_stale_sweep_deletes_unused_schemas() {
    let mut t = v2(TranslatorConfig::raw());
    run(&mut t, 0, r#"{"msg":"a","k":1}"#);
    // After the stale TTL (300 s) and a sweep, an unrelated record leaves no schema.
    let out = run(&mut t, 301_000, "plain text");
    assert!(out.contains(&Datum::State(StateChange::SchemaDelete(2))), "{out:?}");
    assert_eq!(t.json_schema_count(), 0);
}
