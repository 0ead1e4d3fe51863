//! The encoding step's tests: what each rendering holds and which is sent.

use prost::Message;

use super::*;
use crate::batcher::{BatchLimits, Batcher};
use crate::codec::decompress;
use crate::datum::DictDef;
use crate::time::Timestamp;
use crate::{Profile, proto::v1 as pb1};

fn encoder(format: WireFormat, compression: Compression) -> BatchEncoder {
    BatchEncoder {
        format,
        batch_format: BatchFormat::Stateful,
        compression,
        try_raw_rendering: true,
        raw_rendering_backoff: RawRenderingBackoff::default(),
        batches_rendered_raw: 0,
    }
}

fn log() -> Datum {
    Datum::Log(LogDatum {
        timestamp_ms: 1,
        content: LogContent::Raw("x".into()),
        status: None,
        service: None,
        tags: None,
        uuid: None,
    })
}

#[test]
fn encode_keeps_every_state_change_and_counts() {
    let mut b = Batcher::new(BatchLimits::default());
    b.datums_mut().push(Datum::State(StateChange::DictDefine(DictDef { id: 1, value: "v".into() })));
    b.datums_mut().push(Datum::State(StateChange::DictDelete(1)));
    b.datums_mut().push(log());
    b.record_added(Timestamp(0), 1, true, 1);
    let format = WireFormat { send_deletes: false, ..WireFormat::new(Profile::V1) };
    let mut enc = encoder(format, Compression::zstd(1));
    let encoded = enc.encode(b.open()).unwrap();
    assert_eq!(
        enc.raw_rendering_backoff,
        RawRenderingBackoff::default(),
        "no pattern text kept: no raw rendering tried"
    );
    assert_eq!(encoded.state_changes.len(), 2);
    assert_eq!((encoded.records, encoded.raw_bytes, encoded.ack_tokens), (1, 1, 1));
    let plain = decompress(crate::codec::ContentEncoding::Zstd, &encoded.data, 1 << 20).unwrap();
    assert_eq!(plain.len() as u64, encoded.pre_compression_len);
    assert_eq!(pb1::DatumSequence::decode(plain.as_slice()).unwrap().data.len(), 2, "the delete is not sent");
}

fn pattern_log(id: u64, values: &[&str]) -> Datum {
    Datum::Log(LogDatum {
        timestamp_ms: 0,
        content: LogContent::Pattern {
            pattern_id: id,
            values: values.iter().map(|v| crate::datum::Value::Str((*v).to_owned())).collect(),
            json: None,
        },
        status: None,
        service: None,
        tags: None,
        uuid: None,
    })
}

#[test]
fn the_smaller_of_the_two_renderings_is_sent_with_the_same_state_changes() {
    let format = WireFormat::new(Profile::V1);
    let zstd = Compression::zstd(1);
    let define = crate::datum::PatternDef { id: 1, template: "a  b".into(), pos_list: vec![2] };
    // One value per log, each the whole variable text: the raw rendering only adds the
    // template's three bytes per log, and zstd matches them; the pattern logs win here.
    let mut b = Batcher::new(BatchLimits::default());
    b.datums_mut().push(Datum::State(StateChange::PatternDefine(define.clone())));
    for i in 0..50 {
        let value = format!("{i:x}{}", i * 7919 % 101);
        b.datums_mut().push(pattern_log(1, &[&value]));
        b.keep_pattern_text(format!("a {value} b").into());
        b.record_added(Timestamp(0), 4, false, 4);
    }
    let open = b.open();
    let enc = encoder(format, zstd);
    let (encoded, rendered_raw) = enc.encode_datums(open, true).unwrap();
    let (not_tried, None) = enc.encode_datums(open, false).unwrap() else {
        panic!("a raw rendering that was not asked for must not be tried");
    };
    assert_eq!(not_tried.data.len(), format.encode_batch(&open.datums, &zstd).unwrap().data.len());
    let structured = format.encode_batch(&open.datums, &zstd).unwrap();
    let raw = format.encode_batch(&raw_rendering(open).unwrap(), &zstd).unwrap();
    assert_eq!(encoded.data.len(), structured.data.len().min(raw.data.len()));
    assert_eq!(rendered_raw, Some(raw.data.len() < structured.data.len()));
    assert_eq!(
        encoder(format, zstd).encode(open).unwrap().state_changes,
        vec![StateChange::PatternDefine(define)],
        "defines kept either way"
    );
    // The raw rendering swaps each pattern log for its text, in order, and nothing else.
    let rendering = raw_rendering(open).unwrap();
    assert_eq!(rendering[0], open.datums[0]);
    match &rendering[1] {
        Datum::Log(LogDatum { content: LogContent::Raw(text), .. }) => assert_eq!(text, "a 00 b"),
        other => panic!("expected a raw log, got {other:?}"),
    }
    // Eight one-digit values per log, each digit random: every value costs four bytes of
    // framing around one random byte, where the raw text has one space; raw wins here.
    let define = crate::datum::PatternDef {
        id: 2,
        template: format!("k{}", " ".repeat(8)),
        pos_list: (2..=9).collect(),
    };
    let mut digits = crate::rng::SplitMix64::new(7);
    let mut many = Batcher::new(BatchLimits::default());
    many.datums_mut().push(Datum::State(StateChange::PatternDefine(define.clone())));
    for _ in 0..200 {
        let values: Vec<String> = (0..8).map(|_| digits.uniform(0, 9).to_string()).collect();
        let text: String = values.iter().map(|v| format!(" {v}")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        many.datums_mut().push(pattern_log(2, &refs));
        many.keep_pattern_text(format!("k{text}").into());
        many.record_added(Timestamp(0), 17, false, 17);
    }
    let many_open = many.open();
    let (sent, Some(true)) = enc.encode_datums(many_open, true).unwrap() else {
        panic!("the raw rendering is smaller here and must be sent");
    };
    let raw = format.encode_batch(&raw_rendering(many_open).unwrap(), &zstd).unwrap();
    assert_eq!(sent.data, raw.data);
    let kept = encoder(format, zstd).encode(many_open).unwrap().state_changes;
    assert_eq!(kept, vec![StateChange::PatternDefine(define)], "defines kept");
    // A text count that does not match the pattern logs: no raw rendering.
    let mut b = b.clone();
    b.keep_pattern_text("extra".into());
    assert!(raw_rendering(b.open()).is_none());
}

#[test]
fn raw_rendering_backoff_doubles_the_skipped_batches_per_loss_and_resets_on_a_win() {
    let mut backoff = RawRenderingBackoff::default();
    let mut tried = Vec::new();
    // Never winning: tried on batches 0, 2, 6, 14, 30, 46, … (gaps 1, 3, 7, 15, 15).
    for batch in 0..50 {
        let t = backoff.should_try();
        if t {
            tried.push(batch);
        }
        backoff.record(t.then_some(false));
    }
    assert_eq!(tried, vec![0, 2, 6, 14, 30, 46]);
    // A win: tried on every batch again.
    while !backoff.should_try() {
        backoff.record(None);
    }
    backoff.record(Some(true));
    assert!(backoff.should_try());
    backoff.record(Some(true));
    assert!(backoff.should_try());
}
