//! `ReceiverConfig::hash_seed`: the receiver's tables are seeded, not keyed by OS randomness,
//! so the same seed and the same calls give the same actions, and the seed changes no output.

use bytes::Bytes;
use prost::Message;
use stateful_logs::codec::Compression;
use stateful_logs::proto::v1;
use stateful_logs::receiver::{Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::{Profile, StreamId, Timestamp};

fn batch(datums: Vec<v1::datum::Data>) -> Bytes {
    let sequence =
        v1::DatumSequence { data: datums.into_iter().map(|d| v1::Datum { data: Some(d) }).collect() };
    Bytes::from(Compression::zstd(1).compress(&sequence.encode_to_vec()).expect("compresses"))
}

/// Many dictionary entries and patterns on two streams, logs using them, deletes, then an id
/// never defined; every action the receiver produced, in order.
fn run(hash_seed: u64) -> Vec<ReceiverAction> {
    let mut r = Receiver::new(ReceiverConfig { hash_seed, ..ReceiverConfig::default() }).expect("valid");
    let headers = vec![("dd-content-encoding".to_owned(), "zstd".to_owned())];
    let mut actions = Vec::new();
    for stream in [StreamId(1), StreamId(2)] {
        r.handle_stream_start(Timestamp::from_millis(0), stream, Profile::V1.path(), &headers);
        let mut datums = Vec::new();
        for id in 1..=500u64 {
            // Ids spread over the whole u64 range, as a client may choose them.
            let id = id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
            datums.push(v1::datum::Data::DictEntryDefine(v1::DictEntryDefine {
                id,
                value: format!("value {id}"),
            }));
            datums.push(v1::datum::Data::PatternDefine(v1::PatternDefine {
                pattern_id: id,
                template: format!("pattern {id} says "),
                param_count: 1,
                pos_list: vec![u32::try_from(format!("pattern {id} says ").len()).expect("short")],
            }));
            datums.push(v1::datum::Data::Logs(v1::Log {
                timestamp: 1,
                content: Some(v1::log::Content::Structured(v1::StructuredLog {
                    pattern_id: id,
                    dynamic_values: vec![v1::DynamicValue {
                        value: Some(v1::dynamic_value::Value::DictIndex(id)),
                    }],
                    ..Default::default()
                })),
                ..Default::default()
            }));
            if id % 3 == 0 {
                datums.push(v1::datum::Data::DictEntryDelete(v1::DictEntryDelete { id }));
            }
        }
        r.handle_batch(Timestamp::from_millis(1), stream, 1, batch(datums));
        let unknown = v1::datum::Data::DictEntryDelete(v1::DictEntryDelete { id: 2 });
        r.handle_batch(Timestamp::from_millis(2), stream, 2, batch(vec![unknown]));
        actions.extend(std::iter::from_fn(|| r.poll_action()));
    }
    actions
}

#[test]
fn the_same_seed_gives_the_same_actions_and_the_seed_changes_no_output() {
    let first = run(42);
    assert_eq!(first, run(42));
    let delivered = first.iter().filter(|a| matches!(a, ReceiverAction::Deliver { .. })).count();
    assert_eq!(delivered, 2, "both streams delivered their first batch: {:?}", &first[..first.len().min(3)]);
    assert!(matches!(first.last(), Some(ReceiverAction::EndStream { .. })), "the unknown id ends the stream");
    assert_eq!(first, run(0), "the seed only keys the hash tables");
}
