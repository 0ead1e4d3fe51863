use prost::Message;

use super::*;
use crate::codec::{ContentEncoding, decompress};
use crate::datum::{
    DictDef, JsonFields, JsonV1, JsonV2, LogContent, LogDatum, PatternDef, SchemaDef, StringRef, Value,
};
use crate::proto::{v1 as pb1, v2 as pb2};

fn raw_log(ts: i64, text: &str, tags: Option<u64>) -> Datum {
    Datum::Log(LogDatum {
        timestamp_ms: ts,
        content: LogContent::Raw(text.into()),
        status: None,
        service: None,
        tags: tags.map(StringRef::Dict),
        uuid: None,
    })
}

fn pattern_log(ts: i64, id: u64) -> Datum {
    Datum::Log(LogDatum {
        timestamp_ms: ts,
        content: LogContent::Pattern { pattern_id: id, values: vec![Value::Str("x".into())], json: None },
        status: None,
        service: None,
        tags: None,
        uuid: None,
    })
}

fn pattern_define(id: u64) -> Datum {
    Datum::State(StateChange::PatternDefine(PatternDef { id, template: "a ".into(), pos_list: vec![2] }))
}

fn v1_logs(format: WireFormat, datums: &[Datum]) -> Vec<pb1::Log> {
    let bytes = format.serialize_batch(datums).unwrap();
    pb1::DatumSequence::decode(bytes.as_slice())
        .unwrap()
        .data
        .into_iter()
        .filter_map(|d| match d.data {
            Some(pb1::datum::Data::Logs(l)) => Some(l),
            _ => None,
        })
        .collect()
}

fn v2_logs(datums: &[Datum]) -> Vec<pb2::Log> {
    let bytes = WireFormat::new(Profile::V2).serialize_batch(datums).unwrap();
    pb2::LogDatumSequence::decode(bytes.as_slice())
        .unwrap()
        .data
        .into_iter()
        .filter_map(|d| match d.data {
            Some(pb2::log_datum::Data::Log(l)) => Some(l),
            _ => None,
        })
        .collect()
}

#[test]
fn timestamps_are_deltas_within_a_batch_including_equal_and_decreasing() {
    let datums = [
        raw_log(1000, "a", None),
        raw_log(1000, "b", None),
        raw_log(400, "c", None),
        raw_log(-(1 << 62), "d", None),
    ];
    let v1: Vec<i64> = v1_logs(WireFormat::new(Profile::V1), &datums).iter().map(|l| l.timestamp).collect();
    assert_eq!(v1, [1000, 0, -600, -(1 << 62) - 400]);
    let v2: Vec<i64> = v2_logs(&datums).iter().map(|l| l.timestamp).collect();
    assert_eq!(v2, v1);
    let off = WireFormat { v1_delta_encoding: false, ..WireFormat::new(Profile::V1) };
    let abs: Vec<i64> = v1_logs(off, &datums).iter().map(|l| l.timestamp).collect();
    assert_eq!(abs, [1000, 1000, 400, -(1 << 62)]);
}

#[test]
fn delta_state_restarts_with_every_batch() {
    let format = WireFormat::new(Profile::V1);
    let first = v1_logs(format, &[raw_log(50, "a", Some(3))]);
    let again = v1_logs(format, &[raw_log(50, "a", Some(3))]);
    assert_eq!(first, again);
    assert_eq!(first[0].timestamp, 50);
    assert!(first[0].tags.is_some());
}

#[test]
fn v1_tags_are_omitted_when_equal_to_the_previous_log() {
    let datums = [
        raw_log(0, "a", None),
        raw_log(0, "b", Some(4)),
        raw_log(0, "c", Some(4)),
        raw_log(0, "d", None),
        raw_log(0, "e", None),
    ];
    let logs = v1_logs(WireFormat::new(Profile::V1), &datums);
    let tags: Vec<Option<Option<u64>>> = logs
        .iter()
        .map(|l| {
            l.tags.as_ref().map(|t| {
                t.tagset.as_ref().map(|v| match v.value {
                    Some(pb1::dynamic_value::Value::DictIndex(id)) => id,
                    _ => panic!("unexpected tag value"),
                })
            })
        })
        .collect();
    // absent (same as "none before the first log"), 4, omitted, explicit empty, omitted
    assert_eq!(tags, [None, Some(Some(4)), None, Some(None), None]);
    let off = WireFormat { v1_delta_encoding: false, ..WireFormat::new(Profile::V1) };
    let abs: Vec<bool> = v1_logs(off, &datums).iter().map(|l| l.tags.is_some()).collect();
    assert_eq!(abs, [false, true, true, false, false]);
}

#[test]
fn inline_v1_tags_are_always_written() {
    let log = |ts| {
        Datum::Log(LogDatum {
            timestamp_ms: ts,
            content: LogContent::Raw("x".into()),
            status: Some(StringRef::Inline("info".into())),
            service: None,
            tags: Some(StringRef::Inline("a:b".into())),
            uuid: Some("u".into()),
        })
    };
    let logs = v1_logs(WireFormat::new(Profile::V1), &[log(1), log(2)]);
    assert!(logs.iter().all(|l| l.tags.is_some() && l.status.is_some() && l.uuid.as_deref() == Some("u")));
}

#[test]
fn pattern_id_is_zero_after_its_define_and_when_repeated() {
    let datums = [
        pattern_define(7),
        pattern_log(0, 7),
        raw_log(0, "r", None),
        pattern_log(0, 7),
        pattern_log(0, 8),
        pattern_log(0, 7),
    ];
    let ids: Vec<u64> = v1_logs(WireFormat::new(Profile::V1), &datums)
        .iter()
        .filter_map(|l| match &l.content {
            Some(pb1::log::Content::Structured(s)) => Some(s.pattern_id),
            _ => None,
        })
        .collect();
    assert_eq!(ids, [0, 0, 8, 7]);
    let v2: Vec<u64> =
        v2_logs(&datums).iter().filter(|l| l.raw_log.is_empty()).map(|l| l.pattern_id).collect();
    assert_eq!(v2, [0, 0, 8, 7]);
    let off = WireFormat { v1_delta_encoding: false, ..WireFormat::new(Profile::V1) };
    let explicit: Vec<u64> = v1_logs(off, &datums)
        .iter()
        .filter_map(|l| match &l.content {
            Some(pb1::log::Content::Structured(s)) => Some(s.pattern_id),
            _ => None,
        })
        .collect();
    assert_eq!(explicit, [7, 7, 8, 7]);
}

#[test]
fn v2_ids_use_zero_for_previous_and_one_for_none() {
    let log = |status: Option<u64>, tags: Option<u64>, schema: Option<u64>| {
        Datum::Log(LogDatum {
            timestamp_ms: 5,
            content: match schema {
                None => LogContent::Raw("t".into()),
                Some(id) => LogContent::Pattern {
                    pattern_id: 2,
                    values: vec![],
                    json: Some(Box::new(JsonFields::V2(JsonV2 { schema_id: id, ..Default::default() }))),
                },
            },
            status: status.map(StringRef::Dict),
            service: None,
            tags: tags.map(StringRef::Dict),
            uuid: None,
        })
    };
    let logs = v2_logs(&[
        log(None, Some(3), None),
        log(None, Some(3), None),
        log(Some(4), None, Some(9)),
        log(Some(4), None, Some(9)),
    ]);
    let fields: Vec<(u64, u64, u64, u64)> =
        logs.iter().map(|l| (l.status, l.service, l.tags, l.json_schema_id)).collect();
    assert_eq!(fields, [(1, 1, 3, 1), (0, 0, 0, 0), (4, 0, 1, 9), (0, 0, 0, 0)]);
    assert_eq!(logs[0].raw_log, "t");
    assert_eq!(logs[0].pattern_id, 0);
}

#[test]
fn deletes_are_dropped_from_the_wire_unless_v1_sends_them() {
    let datums = [
        Datum::State(StateChange::DictDefine(DictDef { id: 2, value: "x".into() })),
        Datum::State(StateChange::DictDelete(2)),
        Datum::State(StateChange::PatternDelete(1)),
    ];
    let count_v1 = |format: WireFormat| {
        pb1::DatumSequence::decode(format.serialize_batch(&datums).unwrap().as_slice()).unwrap().data.len()
    };
    assert_eq!(count_v1(WireFormat::new(Profile::V1)), 3);
    assert_eq!(count_v1(WireFormat { send_deletes: false, ..WireFormat::new(Profile::V1) }), 1);
    let v2 = WireFormat { send_deletes: true, ..WireFormat::new(Profile::V2) };
    assert!(!v2.sends_deletes());
    assert_eq!(
        pb2::LogDatumSequence::decode(v2.serialize_batch(&datums).unwrap().as_slice()).unwrap().data.len(),
        1
    );
}

#[test]
fn datums_a_profile_cannot_carry_are_encode_errors_not_panics() {
    let schema = Datum::State(StateChange::SchemaDefine(SchemaDef {
        id: 2,
        keys: vec![],
        message_key_id: 3,
        value_kinds: vec![],
    }));
    assert!(WireFormat::new(Profile::V1).serialize_batch(&[schema]).is_err());
    assert!(WireFormat::new(Profile::V2).serialize_batch(&[raw_log(0, "", None)]).is_err());
    let inline = Datum::Log(LogDatum {
        timestamp_ms: 0,
        content: LogContent::Raw("x".into()),
        status: Some(StringRef::Inline("info".into())),
        service: None,
        tags: None,
        uuid: None,
    });
    assert!(WireFormat::new(Profile::V2).serialize_batch(&[inline]).is_err());
}

#[test]
fn datum_size_is_the_exact_growth_of_a_sequence() {
    for profile in Profile::ALL {
        let format = WireFormat::new(profile);
        let changes = [
            StateChange::PatternDefine(PatternDef {
                id: 300,
                template: "x".repeat(200),
                pos_list: vec![1, 2, 3],
            }),
            StateChange::DictDefine(DictDef { id: 2, value: "info".into() }),
        ];
        let total: u64 = changes.iter().map(|c| format.datum_size(c)).sum();
        assert_eq!(total, format.serialize_defines(&changes).unwrap().len() as u64);
    }
}

#[test]
fn empty_batches_still_compress_to_a_frame() {
    for compression in [Compression::zstd(1), Compression::gzip(6), Compression::identity()] {
        let payload = WireFormat::new(Profile::V1).encode_batch(&[], &compression).unwrap();
        assert_eq!(payload.pre_compression_len, 0);
        assert_eq!(payload.data.is_empty(), compression.encoding == ContentEncoding::Identity);
        assert!(decompress(compression.encoding, &payload.data, 1024).unwrap().is_empty());
    }
}

/// Logs with every value kind, field presence and length class (bodies over 127 bytes need
/// a longer length prefix).
fn logs_of_every_shape(profile: Profile) -> Vec<Datum> {
    let long = "y".repeat(300);
    let mut values = vec![
        Value::Int { value: 0, render_as_string: false },
        Value::Int { value: -5, render_as_string: profile == Profile::V2 },
        Value::Float(-0.0),
        Value::Float(1.5),
        Value::Str(String::new()),
        Value::Str(long.clone()),
        Value::Dict(0),
        Value::Dict(u64::MAX),
    ];
    let json = match profile {
        Profile::V1 => [0, 7]
            .map(|schema_id| {
                Some(JsonFields::V1(JsonV1 {
                    message_key: Value::Dict(3),
                    schema_id,
                    values: vec![Value::Str("v".into()), Value::Int { value: 9, render_as_string: false }],
                }))
            })
            .to_vec(),
        Profile::V2 => {
            values.extend([Value::Bool(false), Value::Bool(true), Value::RawJson("{\"a\":1}".into())]);
            let full = JsonV2 {
                schema_id: 4,
                ints: vec![0, -1, i64::MAX],
                floats: vec![0.0, -2.5],
                dicts: vec![5, 0],
                raws: ["", "[1]"].into_iter().collect(),
                strings: ["", long.as_str()].into_iter().collect(),
                bools: vec![0b101],
            };
            vec![
                Some(JsonFields::V2(JsonV2 { schema_id: 4, ..Default::default() })),
                Some(JsonFields::V2(full)),
            ]
        }
    };
    // `v2` has no inline status or tags, nor `v1` a separate service.
    let (inline, service): (fn(&str) -> StringRef, _) = match profile {
        Profile::V1 => (|s| StringRef::Inline(s.into()), None),
        Profile::V2 => (|_| StringRef::Dict(6), Some(StringRef::Dict(8))),
    };
    let mut datums = vec![pattern_define(2)];
    let contents = [
        LogContent::Raw(long.clone()),
        LogContent::Raw("r".into()),
        LogContent::Pattern { pattern_id: 2, values: values.clone(), json: None },
        LogContent::Pattern { pattern_id: 2, values: Vec::new(), json: None },
    ]
    .into_iter()
    .chain(json.into_iter().map(|json| LogContent::Pattern {
        pattern_id: 3,
        values: values.clone(),
        json: json.map(Box::new),
    }));
    for (i, content) in contents.enumerate() {
        let (status, tags) = match i % 3 {
            0 => (Some(StringRef::Dict(2)), Some(StringRef::Dict(9))),
            1 => (Some(inline("warn")), Some(inline(&long))),
            _ => (None, None),
        };
        datums.push(Datum::Log(LogDatum {
            timestamp_ms: [0, -(1 << 62) + 1, (1 << 62) - 1, 5][i % 4],
            content,
            status,
            service: if i % 2 == 0 { service.clone() } else { None },
            tags,
            uuid: [None, Some(String::new()), Some("u-1".into())][i % 3].clone(),
        }));
    }
    datums
}

#[test]
fn logs_are_written_exactly_as_prost_writes_them() {
    // prost re-encodes a decoded message canonically (tag order, defaults skipped): equal
    // bytes mean the direct writer follows prost's encoding field by field.
    for format in [
        WireFormat::new(Profile::V1),
        WireFormat { v1_delta_encoding: false, ..WireFormat::new(Profile::V1) },
        WireFormat::new(Profile::V2),
    ] {
        let datums = logs_of_every_shape(format.profile);
        let bytes = format.serialize_batch(&datums).unwrap();
        let again = match format.profile {
            Profile::V1 => pb1::DatumSequence::decode(bytes.as_slice()).unwrap().encode_to_vec(),
            Profile::V2 => pb2::LogDatumSequence::decode(bytes.as_slice()).unwrap().encode_to_vec(),
        };
        assert_eq!(again, bytes, "{format:?}");
    }
    let v1 = v1_logs(WireFormat::new(Profile::V1), &logs_of_every_shape(Profile::V1));
    assert_eq!(v1.len(), 6);
    assert_eq!(v1[0].content, Some(pb1::log::Content::Raw("y".repeat(300))));
    assert_eq!(v1[1].uuid.as_deref(), Some(""));
    let v2 = v2_logs(&logs_of_every_shape(Profile::V2));
    assert_eq!(v2[5].json_context_string_values.len(), 2);
}
