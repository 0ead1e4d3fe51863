//! Hostile batches over the intake's real loopback port: messages above the size limit,
//! enormous datum counts, deep JSON, ids never defined, batch ids out of order, garbage data,
//! a `zstd-stream` window above `max_stream_window_log`. The core `Receiver` tests
//! (`tests/receiver.rs`) check the same rules in memory; these check that the server carries
//! each to the client as a clear gRPC status, delivers nothing of the failed batch, and keeps
//! serving. (Compression bombs and idle streams, which measure memory, are in
//! `hostile_memory.rs`.)

mod support;

use std::io::Write;

use stateful_logs::Profile;
use stateful_logs::proto::{v1, v2};
use stateful_logs::receiver::ReceiverConfig;
use stateful_logs::status_code as code;
use stateful_logs_intake::Intake;
use support::{
    Call, Outcome, assert_still_serves, connect, intake, request, v1_batch, v1_raw, v2_batch, zstd,
};

/// Sends `batches` (id, data) on one call of `profile` with `encoding`, half-closes, and
/// returns how it ended; checks nothing was delivered after the acknowledged batches.
async fn call(intake: &Intake, profile: Profile, encoding: &str, batches: Vec<(u32, Vec<u8>)>) -> Outcome {
    let deliveries = intake.deliveries();
    while deliveries.try_recv().is_ok() {}
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(profile, encoding, &[])).await;
    let count = batches.len();
    for (i, (id, data)) in batches.into_iter().enumerate() {
        call.send_batch(id, data, i + 1 == count);
        if i + 1 < count {
            // Each earlier batch is valid and must be acknowledged before the next is sent,
            // so that the failure is the last batch's.
            assert!(call.acks(i + 1).await, "batch {id} acknowledged: {:?}", call.outcome);
        }
    }
    let outcome = call.finish().await;
    let delivered: usize =
        std::iter::from_fn(|| deliveries.try_recv().ok()).filter(|d| d.batch_id != 0).count();
    let regular_acks = outcome.acks.iter().filter(|&&id| id != 0).count();
    assert_eq!(delivered, regular_acks, "only acknowledged batches were delivered: {outcome:?}");
    outcome
}

fn assert_ended(outcome: &Outcome, expected: i32, needle: &str) {
    assert_eq!(outcome.status, Some(expected), "{outcome:?}");
    assert!(outcome.message.contains(needle), "the message names the rule ({needle}): {outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_above_the_size_limit_is_refused_with_resource_exhausted() {
    let config = ReceiverConfig { max_decompressed_bytes: 64 << 10, ..ReceiverConfig::default() };
    let intake = intake(Intake::builder().receiver_config(config)).await;
    // Identity data of 256 KiB: above max_decompressed_bytes + 64 KiB, refused by the gRPC
    // layer before anything is decoded.
    let outcome = call(&intake, Profile::V1, "identity", vec![(1, vec![0u8; 256 << 10])]).await;
    assert_ended(&outcome, code::RESOURCE_EXHAUSTED, "size limit");
    assert!(outcome.acks.is_empty());
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enormous_datum_count_is_refused_before_the_datums_are_decoded() {
    let intake = intake(Intake::builder()).await;
    // 2,000,000 empty datums: 4 MB of protobuf, twice the default max_datums_per_batch.
    let sequence = [0x0a, 0x00].repeat(2_000_000);
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, zstd(&sequence))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "max_datums_per_batch");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_nested_beyond_max_json_depth_is_refused() {
    let intake = intake(Intake::builder()).await;
    let deep = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let batch = v2_batch(vec![
        v2::log_datum::Data::DictEntryDefine(v2::DictEntryDefine { id: 2, value: "a".into() }),
        v2::log_datum::Data::DictEntryDefine(v2::DictEntryDefine { id: 3, value: "msg".into() }),
        v2::log_datum::Data::JsonSchemaDefine(v2::JsonSchemaDefine {
            schema_id: 2,
            keys: vec![2],
            message_key_id: 3,
            value_kinds: vec![7],
        }),
        v2::log_datum::Data::Log(v2::Log {
            timestamp: 1,
            status: 1,
            service: 1,
            tags: 1,
            json_schema_id: 2,
            raw_log: "hello".into(),
            json_context_raw_values: vec![deep.into_bytes()],
            ..Default::default()
        }),
    ]);
    let outcome = call(&intake, Profile::V2, "zstd", vec![(1, zstd(&batch))]).await;
    assert_eq!(outcome.status, Some(code::INVALID_ARGUMENT), "{outcome:?}");
    assert!(outcome.acks.is_empty());
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_never_defined_are_named_in_the_status() {
    let intake = intake(Intake::builder()).await;
    let dict_ref = |id| Some(v1::DynamicValue { value: Some(v1::dynamic_value::Value::DictIndex(id)) });
    let unknown_dict = v1::datum::Data::Logs(v1::Log {
        timestamp: 1,
        content: Some(v1::log::Content::Raw("x".into())),
        status: dict_ref(7),
        ..Default::default()
    });
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, zstd(&v1_batch(vec![unknown_dict])))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "unknown dictionary id 7");
    let unknown_pattern = v1::datum::Data::Logs(v1::Log {
        timestamp: 1,
        content: Some(v1::log::Content::Structured(v1::StructuredLog {
            pattern_id: 99,
            ..Default::default()
        })),
        ..Default::default()
    });
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, zstd(&v1_batch(vec![unknown_pattern])))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "unknown pattern id 99");
    let delete = v1::datum::Data::DictEntryDelete(v1::DictEntryDelete { id: 5 });
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, zstd(&v1_batch(vec![delete])))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "unknown dictionary id 5");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_0_after_batch_1_and_id_gaps_are_out_of_sequence() {
    let intake = intake(Intake::builder()).await;
    let ok = |text: &str| zstd(&v1_batch(vec![v1_raw(1, text)]));
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, ok("a")), (0, zstd(&v1_batch(vec![])))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "batch id 0 is out of sequence: expected 2");
    assert_eq!(outcome.acks, vec![1]);
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, ok("a")), (3, ok("c"))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "batch id 3 is out of sequence: expected 2");
    let outcome = call(&intake, Profile::V1, "zstd", vec![(7, ok("first"))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "expected 0 or 1");
    let outcome = call(&intake, Profile::V1, "zstd", vec![(1, ok("a")), (1, ok("again"))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "batch id 1 is out of sequence");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_data_is_refused_in_every_encoding() {
    let intake = intake(Intake::builder()).await;
    for encoding in ["zstd", "gzip", "identity", "zstd-stream"] {
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let outcome = call(&intake, Profile::V1, encoding, vec![(1, garbage)]).await;
        assert_eq!(outcome.status, Some(code::INVALID_ARGUMENT), "{encoding}: {outcome:?}");
        assert!(outcome.acks.is_empty(), "{encoding}");
    }
    // A gRPC message whose bytes are not a StatefulBatch at all.
    let mut connection = connect(intake.local_addr()).await;
    let mut bad = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    bad.send_raw_message(vec![0xff; 64]);
    let outcome = bad.finish().await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "cannot be read");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_stream_window_above_the_limit_is_refused() {
    let config = ReceiverConfig { max_stream_window_log: 20, ..ReceiverConfig::default() };
    let intake = intake(Intake::builder().receiver_config(config)).await;
    let stream_batch = |window_log: u32| {
        let mut encoder = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        encoder.window_log(window_log).unwrap();
        encoder.write_all(&v1_batch(vec![v1_raw(1, "inside the window?")])).unwrap();
        encoder.flush().unwrap();
        encoder.get_ref().clone()
    };
    let outcome = call(&intake, Profile::V1, "zstd-stream", vec![(1, stream_batch(20))]).await;
    assert_eq!((outcome.acks.clone(), outcome.status), (vec![1], Some(0)), "a 1 MiB window is accepted");
    let outcome = call(&intake, Profile::V1, "zstd-stream", vec![(1, stream_batch(24))]).await;
    assert_ended(&outcome, code::INVALID_ARGUMENT, "max_stream_window_log");
    assert!(outcome.acks.is_empty());
    assert_still_serves(&intake).await;
}
