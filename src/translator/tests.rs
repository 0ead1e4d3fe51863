use std::time::Duration;

use super::*;
use crate::datum::{JsonFields, JsonV1, LogContent, LogDatum, StringRef, Value};

fn translator(profile: Profile, config: TranslatorConfig) -> Translator {
    Translator::new(WireFormat::new(profile), config, Timestamp(0))
}

fn run(t: &mut Translator, now: u64, record: &Record) -> Vec<Datum> {
    let mut out = Vec::new();
    t.translate(Timestamp(now), record, &mut out);
    out
}

fn dict(id: u64, value: &str) -> Datum {
    Datum::State(StateChange::DictDefine(DictDef { id, value: value.into() }))
}

fn log_of(datums: &[Datum]) -> &LogDatum {
    match datums.last() {
        Some(Datum::Log(l)) => l,
        other => panic!("the last datum must be the log, got {other:?}"),
    }
}

#[test]
fn v1_raw_record_defines_status_then_tag_string_before_its_log() {
    let mut t = translator(Profile::V1, TranslatorConfig::raw());
    let r =
        Record::new(7, "hello").with_status("info").with_tag("env:prod").with_service("api").with_uuid("u-1");
    let out = run(&mut t, 0, &r);
    assert_eq!(out[..2], [dict(1, "info"), dict(2, "env:prod,service:api")]);
    let log = log_of(&out);
    assert_eq!(log.content, LogContent::Raw("hello".into()));
    assert_eq!((log.status.clone(), log.tags.clone()), (Some(StringRef::Dict(1)), Some(StringRef::Dict(2))));
    assert_eq!((log.service.clone(), log.uuid.as_deref(), log.timestamp_ms), (None, Some("u-1"), 7));
    // The same metadata again: no new define.
    assert_eq!(run(&mut t, 1, &r).len(), 1);
    assert_eq!(t.dictionary().get(1).unwrap().uses, 2);
    assert_eq!(t.metrics().raw_logs, 2);
    assert_eq!(t.metrics().dict_entries_added, 2);
}

#[test]
fn v2_ids_start_at_two_and_the_service_is_its_own_entry() {
    let mut t = translator(Profile::V2, TranslatorConfig::raw());
    let r = Record::new(0, "x").with_service("api").with_status("info").with_hostname("h");
    let out = run(&mut t, 0, &r);
    assert_eq!(out[..3], [dict(2, "api"), dict(3, "info"), dict(4, "hostname:h")]);
    let log = log_of(&out);
    assert_eq!(log.service, Some(StringRef::Dict(2)));
}

#[test]
fn equal_strings_in_two_slots_share_one_entry() {
    let mut t = translator(Profile::V2, TranslatorConfig::raw());
    let out = run(&mut t, 0, &Record::new(0, "x").with_service("same").with_status("same"));
    assert_eq!(out.len(), 2);
    let log = log_of(&out);
    assert_eq!(
        (log.service.clone(), log.status.clone()),
        (Some(StringRef::Dict(2)), Some(StringRef::Dict(2)))
    );
}

#[test]
fn empty_content_is_raw_in_v1_and_an_empty_pattern_in_v2() {
    let mut v1 = translator(Profile::V1, TranslatorConfig::raw());
    assert_eq!(log_of(&run(&mut v1, 0, &Record::new(0, ""))).content, LogContent::Raw(String::new()));
    let mut v2 = translator(Profile::V2, TranslatorConfig::raw());
    let out = run(&mut v2, 0, &Record::new(0, ""));
    assert_eq!(
        out[0],
        Datum::State(StateChange::PatternDefine(PatternDef {
            id: 1,
            template: String::new(),
            pos_list: vec![]
        }))
    );
    assert_eq!(log_of(&out).content, LogContent::Pattern { pattern_id: 1, values: vec![], json: None });
    // Reused while live, no second define.
    assert_eq!(run(&mut v2, 1, &Record::new(0, "")).len(), 1);
    assert_eq!(v2.metrics().pattern_logs, 2);
}

#[test]
fn invalid_utf8_is_sent_escaped_as_raw_text() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    let out = run(&mut t, 0, &Record::new(0, &b"a\xffb"[..]));
    let LogContent::Raw(text) = &log_of(&out).content else { panic!("must be raw") };
    assert_eq!(crate::escape::unescape(text).as_ref(), &b"a\xffb"[..]);
    assert_ne!(text.as_bytes(), b"a\xffb");
}

#[test]
fn state_size_is_the_exact_serialized_size_of_the_live_defines() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    let mut defines = Vec::new();
    for i in 0..20 {
        let out = run(&mut t, i, &Record::new(0, "x").with_tag(format!("t{i}")).with_status("info"));
        defines.extend(out.into_iter().filter_map(|d| match d {
            Datum::State(c) => Some(c),
            Datum::Log(_) => None,
        }));
    }
    let bytes = WireFormat::new(Profile::V1).serialize_defines(&defines).unwrap();
    assert_eq!(t.state_size_bytes(), bytes.len() as u64);
}

#[test]
fn byte_eviction_keeps_the_state_under_its_bound_and_deletes_come_first() {
    let config = TranslatorConfig { state_max_bytes: 60, ..TranslatorConfig::eager() };
    let mut t = translator(Profile::V1, config);
    let mut seen_delete = false;
    for i in 0..50u64 {
        let out =
            run(&mut t, i, &Record::new(0, "x").with_tag(format!("tag-number-{i}")).with_status("info"));
        assert!(t.state_size_bytes() <= 60, "state {} above the bound", t.state_size_bytes());
        let first_non_delete =
            out.iter().position(|d| !matches!(d, Datum::State(c) if c.is_delete())).unwrap();
        assert!(out[first_non_delete..].iter().all(|d| !matches!(d, Datum::State(c) if c.is_delete())));
        seen_delete |= first_non_delete > 0;
        // Whatever the log references is live or inline.
        let log = log_of(&out);
        for r in [&log.status, &log.tags].into_iter().flatten() {
            if let StringRef::Dict(id) = r {
                assert!(t.dictionary().get(*id).is_some());
            }
        }
    }
    assert!(seen_delete);
    assert!(t.metrics().dict_entries_removed > 0);
}

#[test]
fn v1_falls_back_to_inline_tags_and_status_when_nothing_fits() {
    let config = TranslatorConfig { state_max_bytes: 10, ..TranslatorConfig::raw() };
    let mut t = translator(Profile::V1, config);
    let out = run(&mut t, 0, &Record::new(0, "x").with_tag("a-rather-long-tag-string").with_status("info"));
    assert_eq!(out.len(), 1);
    let log = log_of(&out);
    assert_eq!(log.tags, Some(StringRef::Inline("a-rather-long-tag-string".into())));
    assert_eq!(log.status, Some(StringRef::Inline("info".into())));
    assert_eq!(t.state_size_bytes(), 0);
}

#[test]
fn v2_records_whose_metadata_cannot_fit_are_too_large() {
    let config = TranslatorConfig { state_max_bytes: 20, ..TranslatorConfig::eager() };
    let t = translator(Profile::V2, config);
    assert!(t.is_too_large(&Record::new(0, "x").with_tag("a-rather-long-tag-string"), 100));
    assert!(!t.is_too_large(&Record::new(0, "x").with_tag("short"), 100));
    assert!(t.is_too_large(&Record::new(0, "x".repeat(101)), 100));
    assert!(!t.is_too_large(&Record::new(0, "x".repeat(100)), 100));
    let v1 = translator(Profile::V1, TranslatorConfig { state_max_bytes: 20, ..TranslatorConfig::eager() });
    assert!(!v1.is_too_large(&Record::new(0, "x").with_tag("a-rather-long-tag-string"), 100));
}

#[test]
fn the_define_overhead_bound_of_the_too_large_fast_path_is_an_upper_bound() {
    for profile in [Profile::V1, Profile::V2] {
        let format = WireFormat::new(profile);
        for len in [0, 1, 127, 128, 16_383, 16_384, 2_097_152] {
            for id in [1, 127, 128, u64::MAX] {
                let define = StateChange::DictDefine(DictDef { id, value: "x".repeat(len) });
                assert!(
                    format.datum_size(&define) <= len as u64 + DEFINE_OVERHEAD_BOUND,
                    "{profile} {len} {id}"
                );
            }
        }
        let empty = PatternDef { id: u64::MAX, template: String::new(), pos_list: Vec::new() };
        assert!(format.datum_size(&StateChange::PatternDefine(empty)) <= DEFINE_OVERHEAD_BOUND);
    }
}

#[test]
fn count_eviction_brings_the_dictionary_to_its_low_watermark() {
    let mut config = TranslatorConfig::eager();
    config.dictionary.max_entries = 10; // evict above 8, down to 7
    let mut t = translator(Profile::V1, config);
    for i in 0..9u64 {
        run(&mut t, i, &Record::new(0, "x").with_tag(format!("t{i}")));
    }
    assert_eq!(t.dictionary().len(), 7);
    // The record's own entry survives; the least used, oldest ones went first.
    assert!(t.dictionary().id_of("t8").is_some());
    assert!(t.dictionary().id_of("t0").is_none());
}

#[test]
fn stale_sweep_deletes_entries_unused_for_the_ttl() {
    let mut config = TranslatorConfig::eager();
    config.patterns.stale_ttl = Duration::from_secs(300);
    let mut t = translator(Profile::V1, config);
    run(&mut t, 0, &Record::new(0, "x").with_tag("old"));
    run(&mut t, 290_000, &Record::new(0, "x").with_tag("recent"));
    let out = run(&mut t, 320_000, &Record::new(0, "x").with_tag("recent"));
    assert_eq!(out[0], Datum::State(StateChange::DictDelete(1)));
    assert!(t.dictionary().id_of("recent").is_some());
}

#[test]
fn raw_mode_sends_text_raw() {
    let mut t = translator(Profile::V2, TranslatorConfig::raw());
    let out = run(&mut t, 0, &Record::new(0, "user 42 logged in"));
    assert_eq!(log_of(&out).content, LogContent::Raw("user 42 logged in".into()));
}

fn pattern_define(id: u64, template: &str, pos_list: &[u32]) -> Datum {
    Datum::State(StateChange::PatternDefine(PatternDef {
        id,
        template: template.into(),
        pos_list: pos_list.to_vec(),
    }))
}

fn int(value: i64) -> Value {
    Value::Int { value, render_as_string: false }
}

#[test]
fn the_pattern_path_defines_widens_and_types_wildcard_values() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    let out = run(&mut t, 0, &Record::new(0, "user 42 from host-a"));
    assert_eq!(out[0], pattern_define(1, "user 42 from host-a", &[]));
    assert_eq!(log_of(&out).content, LogContent::Pattern { pattern_id: 1, values: vec![], json: None });
    // A differing value widens the same pattern: its define again, the values typed.
    let out = run(&mut t, 1, &Record::new(0, "user 7 from host-b"));
    assert_eq!(out[0], pattern_define(1, "user  from ", &[5, 11]));
    assert_eq!(
        log_of(&out).content,
        LogContent::Pattern { pattern_id: 1, values: vec![int(7), Value::Str("host-b".into())], json: None }
    );
    // "host-b" is admitted on its second sighting: its define precedes the log.
    let out = run(&mut t, 2, &Record::new(0, "user 9 from host-b"));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0], dict(1, "host-b"));
    assert_eq!(
        log_of(&out).content,
        LogContent::Pattern { pattern_id: 1, values: vec![int(9), Value::Dict(1)], json: None }
    );
    // Non-canonical integers and non-candidates stay inline strings.
    let out = run(&mut t, 3, &Record::new(0, "user 007 from x"));
    assert_eq!(
        log_of(&out).content,
        LogContent::Pattern {
            pattern_id: 1,
            values: vec![Value::Str("007".into()), Value::Str("x".into())],
            json: None
        }
    );
    let m = t.metrics();
    assert_eq!((m.patterns_added, m.patterns_updated, m.pattern_logs, m.raw_logs), (1, 1, 4, 0));
    assert_eq!(t.state_size_bytes(), m.pattern_bytes_added + m.dict_entry_bytes_added - first_define_size());
}

/// The size of pattern 1's first define, replaced by its update.
fn first_define_size() -> u64 {
    WireFormat::new(Profile::V1).datum_size(&StateChange::PatternDefine(PatternDef {
        id: 1,
        template: "user 42 from host-a".into(),
        pos_list: vec![],
    }))
}

#[test]
fn the_same_value_twice_in_one_record_is_admitted_on_its_second_occurrence() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    run(&mut t, 0, &Record::new(0, "copy aa to bb"));
    let out = run(&mut t, 1, &Record::new(0, "copy cc to cc"));
    assert_eq!(out[1], dict(1, "cc"));
    let LogContent::Pattern { values, .. } = &log_of(&out).content else { panic!("pattern expected") };
    assert_eq!(values, &[Value::Str("cc".into()), Value::Dict(1)]);
}

#[test]
fn v1_json_logs_carry_message_key_schema_and_typed_context() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    let r = Record::new(0, r#"{"port":8443,"msg":"user 42 logged in","ratio":0.5,"svc":"api"}"#);
    let out = run(&mut t, 0, &r);
    assert_eq!(out[0], pattern_define(1, "user 42 logged in", &[]));
    assert_eq!(out[1..3], [dict(1, "msg"), dict(2, "port,ratio,svc")]);
    let json = JsonFields::V1(JsonV1 {
        message_key: Value::Dict(1),
        schema_id: 2,
        values: vec![int(8443), Value::Float(0.5), Value::Str("api".into())],
    });
    assert_eq!(
        log_of(&out).content,
        LogContent::Pattern { pattern_id: 1, values: vec![], json: Some(Box::new(json)) }
    );
    // Message-only objects have schema 0; non-v1 JSON (a boolean) is text.
    let out = run(&mut t, 1, &Record::new(0, r#"{"msg":"user 42 logged in"}"#));
    let LogContent::Pattern { json: Some(json), .. } = &log_of(&out).content else {
        panic!("JSON log expected")
    };
    let JsonFields::V1(j) = &**json else { panic!("v1 JSON fields expected") };
    assert_eq!((j.schema_id, j.values.len()), (0, 0));
    let out = run(&mut t, 2, &Record::new(0, r#"{"msg":"hi","ok":true}"#));
    let LogContent::Pattern { json: None, .. } = &log_of(&out).content else { panic!("text expected") };
}

#[test]
fn json_as_raw_and_max_template_bytes_send_raw_text() {
    let mut config = TranslatorConfig::eager();
    config.patterns.json_as_raw = true;
    config.patterns.max_template_bytes = 10;
    let mut t = translator(Profile::V1, config);
    for text in [r#"  {"msg":"x"}"#, "a text longer than ten bytes"] {
        let out = run(&mut t, 0, &Record::new(0, text));
        assert_eq!(log_of(&out).content, LogContent::Raw(text.into()));
    }
    assert_eq!(t.patterns().len(), 0);
}

#[test]
fn a_pattern_that_cannot_fit_goes_raw_and_leaves_the_store_unchanged() {
    let config = TranslatorConfig { state_max_bytes: 12, ..TranslatorConfig::eager() };
    let mut t = translator(Profile::V1, config);
    let out = run(&mut t, 0, &Record::new(0, "a line far longer than the state bound"));
    assert_eq!(log_of(&out).content, LogContent::Raw("a line far longer than the state bound".into()));
    assert_eq!(t.patterns().len(), 0);
    let out = run(&mut t, 0, &Record::new(0, "ab"));
    assert_eq!(out[0], pattern_define(1, "ab", &[]));
    assert!(t.state_size_bytes() <= 12);
}

#[test]
fn json_whose_strings_decode_to_escape_range_code_points_stays_text() {
    let mut t = translator(Profile::V1, TranslatorConfig::eager());
    for text in [r#"{"msg":"a \udbff\udf80"}"#, r#"{"msg":"ok","k":"\udbff\udfff"}"#] {
        let out = run(&mut t, 0, &Record::new(0, text));
        let LogContent::Pattern { json: None, .. } = &log_of(&out).content else { panic!("text expected") };
    }
    assert!(t.dictionary().iter().all(|(_, e)| !e.value.contains(|c: char| c >= '\u{10FF80}')));
}

#[test]
fn the_hash_seed_changes_no_datum() {
    // Tiny bounds so that eviction, the stale sweep and admission all run.
    let mut config = TranslatorConfig { state_max_bytes: 400, ..TranslatorConfig::default() };
    config.dictionary.max_entries = 4;
    config.patterns.max_pattern_count = 3;
    let format = WireFormat::new(Profile::V1);
    let mut a = Translator::seeded(format, config.clone(), Timestamp(0), 0);
    let mut b = Translator::seeded(format, config, Timestamp(0), 0x9e37_79b9_7f4a_7c15);
    for i in 0..400u64 {
        let text = format!("user u{} did op{} on host-{} in {} ms", i % 7, i % 5, i % 11, i * 37 % 1000);
        let record = Record::new(i as i64, text).with_status(["info", "warn"][i as usize % 2]);
        assert_eq!(run(&mut a, i * 1000, &record), run(&mut b, i * 1000, &record), "record {i}");
    }
}
