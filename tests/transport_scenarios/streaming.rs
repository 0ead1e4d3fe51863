//! Streaming: opening, sending, acks, rotation, drain, replay, backpressure, limits.

use super::*;

#[test]
fn start_opens_one_stream_and_shutdown_with_nothing_buffered_closes_it_gracefully() {
    let mut h = Harness::new(config());
    assert_eq!(h.t.state(), State::Connecting);
    let actions = h.drain();
    let [Action::OpenStream { stream, endpoint, path, metadata }] = &actions[..] else {
        panic!("expected one OpenStream, got {actions:?}")
    };
    assert_eq!((*stream, *endpoint, *path), (StreamId(1), 0, Profile::V1.path()));
    assert_eq!(metadata.get("dd-api-key"), Some(API_KEY));
    assert_eq!(metadata.get("dd-content-encoding"), Some("zstd"));
    assert_eq!(h.t.poll_timeout(), Some(Timestamp(10_000)), "open deadline");
    h.opened(*stream);
    assert_eq!(h.t.state(), State::Active);
    assert_eq!(h.pull_all(*stream), vec![], "empty v1 snapshot is not sent");
    h.t.shutdown(h.now, None);
    assert_eq!(
        h.drain(),
        vec![
            Action::CloseStream { stream: StreamId(1), mode: CloseMode::Graceful },
            Action::ShutdownComplete { batches: 0, records: 0, ack_tokens: 0 }
        ]
    );
    assert_eq!(h.t.state(), State::Closed);
    assert_eq!(h.t.poll_timeout(), None);
    assert_eq!(h.t.metrics().streams_opened, 1);
}

#[test]
fn sent_batches_are_acked_in_order_and_their_tokens_delivered() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![10, 11]);
    h.push("b", vec![], vec![12]);
    assert_eq!(h.pull_ids(s), vec![(1, "a".into()), (2, "b".into())]);
    h.advance(7);
    h.ack(s, 1);
    assert_eq!(h.drain(), vec![Action::BatchAcked { records: 2, ack_tokens: 2 }]);
    assert_eq!(h.acked, vec![10, 11], "the batch's tokens, in push order");
    h.advance(100);
    h.ack(s, 2);
    h.drain();
    assert_eq!(h.acked, vec![10, 11, 12]);
    let m = h.t.metrics();
    assert_eq!((m.records_sent, m.records_acked, m.raw_bytes_acked), (3, 3, 2));
    assert_eq!(m.ack_latency_ms.count, 2);
    assert_eq!(m.ack_latency_ms.cumulative(10), 1);
    assert_eq!(m.inflight_batches, 0);
    // StatefulBatch{1,"a"} and {2,"b"}: 2 + 3 bytes each.
    assert_eq!(m.bytes_sent, 10);
    assert_eq!(h.t.nb_errors(), 0);
}

#[test]
fn lifetime_end_with_nothing_unacked_rotates_without_backoff() {
    let mut h = Harness::new(config());
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s1);
    h.ack(s1, 1);
    h.drain();
    assert_eq!(h.fire(), Timestamp(900_000));
    let actions = h.drain();
    assert_eq!(actions[0], Action::CloseStream { stream: s1, mode: CloseMode::Graceful });
    assert!(matches!(actions[1], Action::OpenStream { stream: StreamId(2), .. }));
    assert_eq!(h.t.state(), State::Connecting);
    assert_eq!(h.t.metrics().rotations.get("lifetime"), 1);
    assert_eq!(h.t.nb_errors(), 0);
}

#[test]
fn lifetime_end_with_unacked_batch_drains_and_new_input_waits_for_the_next_stream() {
    let mut c = config();
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    assert_eq!(h.pull_ids(s1), vec![(1, "a".into())]);
    h.fire();
    assert_eq!(h.t.state(), State::Draining);
    assert_eq!(h.t.poll_timeout(), Some(Timestamp(905_000)), "drain deadline");
    h.push("b", vec![], vec![2]);
    assert_eq!(h.pull_all(s1), vec![], "nothing new is sent while draining");
    h.ack(s1, 1);
    let actions = h.drain();
    assert_eq!(actions[1], Action::CloseStream { stream: s1, mode: CloseMode::Graceful });
    assert!(matches!(actions[2], Action::OpenStream { .. }));
    assert_eq!(h.t.metrics().rotations.get("drain_complete"), 1);
    let s2 = h.connect();
    assert_eq!(h.pull_ids(s2), vec![(1, "b".into())]);
}

#[test]
fn drain_timeout_rotates_at_once_and_retransmits_on_the_next_stream() {
    let mut c = config();
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s1);
    h.fire(); // lifetime
    assert_eq!(h.fire(), Timestamp(905_000)); // drain
    let actions = h.drain();
    assert_eq!(actions[0], Action::CloseStream { stream: s1, mode: CloseMode::Abort });
    assert!(matches!(actions[1], Action::OpenStream { .. }));
    assert_eq!(h.t.metrics().rotations.get("drain_timeout"), 1);
    assert_eq!(h.t.nb_errors(), 0, "a drain timeout is a soft rotation");
    let s2 = h.connect();
    assert_eq!(h.pull_ids(s2), vec![(1, "a".into())]);
}

#[test]
fn backpressure_at_capacity_5_hands_the_batch_back_and_room_returns_after_an_ack() {
    let mut c = config();
    c.inflight_capacity = 5;
    let mut h = Harness::new(c);
    let s = h.connect();
    for i in 0..5 {
        h.push(&format!("b{i}"), vec![], vec![i]);
    }
    assert!(!h.t.has_room());
    let sixth = testing::batch(&b"b5"[..], vec![define(1, "x")], 1, vec![5]);
    let refused = h.t.push_batch(h.now, sixth.clone()).expect_err("tracker is full");
    assert_eq!(refused.0, sixth, "the batch comes back unchanged");
    assert_eq!(h.pull_all(s).len(), 5);
    assert!(!h.t.has_room(), "sent batches still count");
    h.ack(s, 1);
    assert!(h.t.has_room());
    assert!(h.t.push_batch(h.now, sixth).is_ok());
    assert_eq!(h.t.metrics().inflight_batches, 5);
}

#[test]
fn snapshot_replays_only_acked_state_and_deletes_apply_when_acked() {
    let mut c = config();
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    // 1. Stream 1: a batch defines p1, p2 (ids 1, 2) and d1, d2 (ids 101, 102); acked.
    let s1 = h.connect();
    h.push("B1", vec![define(1, "p1"), define(2, "p2"), define(101, "d1"), define(102, "d2")], vec![1]);
    assert_eq!(h.pull_ids(s1), vec![(1, "B1".into())], "empty v1 snapshot: no batch 0");
    h.ack(s1, 1);
    // 2. The next batch deletes p1, d1 and defines p3, d3; sent, then EOF before its ack.
    h.push("B2", vec![delete(1), delete(101), define(3, "p3"), define(103, "d3")], vec![2]);
    h.pull_all(s1);
    h.fail(s1, Side::Recv, Failure::Eof);
    assert_eq!(h.t.metrics().stream_errors.get("server_eof"), 1);
    assert!(h.t.snapshot_source().definitions().contains_key(&1), "deletes wait for the ack");
    // 3. Stream 2: batch 0 = the state before B2; B2 re-sent as batch 1 and acked.
    h.fire();
    let s2 = h.connect();
    let expected0 = SimpleState::snapshot_text([(1, "p1"), (2, "p2"), (101, "d1"), (102, "d2")]);
    assert_eq!(h.pull_ids(s2), vec![(0, expected0), (1, "B2".into())]);
    h.ack(s2, 0);
    h.ack(s2, 1);
    // 4. A further batch is sent, the lifetime ends, the drain times out: rotation.
    h.push("B3", vec![define(4, "p4")], vec![3]);
    h.pull_all(s2);
    h.fire(); // lifetime → Draining
    assert_eq!(h.t.state(), State::Draining);
    h.fire(); // drain timeout → rotation
    assert_eq!(h.t.metrics().rotations.get("drain_timeout"), 1);
    // 5. Stream 3: batch 0 = {p2, p3, d2, d3}; B3 follows as batch 1.
    let s3 = h.connect();
    let expected0 = SimpleState::snapshot_text([(2, "p2"), (3, "p3"), (102, "d2"), (103, "d3")]);
    assert_eq!(h.pull_ids(s3), vec![(0, expected0), (1, "B3".into())]);
    h.drain();
    assert_eq!(h.acked, vec![1, 2]);
}

#[test]
fn acks_and_pushes_are_processed_while_the_driver_takes_no_transmit() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    assert_eq!(h.t.poll_transmit(h.now, s).map(|t| t.batch_id), Some(1));
    // The driver's stream is busy: it pulls nothing more, but acks and input keep flowing.
    h.ack(s, 1);
    h.push("c", vec![], vec![3]);
    h.drain();
    assert_eq!(h.acked, vec![1]);
    assert_eq!(h.t.tracker_len(), 2);
    assert_eq!(h.t.sent_len(), 0);
    assert_eq!(h.pull_ids(s), vec![(2, "b".into()), (3, "c".into())]);
}

#[test]
fn batch_id_exhaustion_drains_and_continues_on_a_new_stream() {
    let mut c = config();
    c.max_batch_id = 3;
    let mut h = Harness::new(c);
    let s1 = h.connect();
    for i in 0..5 {
        h.push(&format!("b{i}"), vec![], vec![i]);
    }
    assert_eq!(h.pull_all(s1).iter().map(|t| t.batch_id).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(h.t.state(), State::Draining);
    for id in 1..=3 {
        h.ack(s1, id);
    }
    h.drain();
    assert_eq!(h.closed, vec![(s1, CloseMode::Graceful)]);
    let s2 = h.connect();
    assert_eq!(h.pull_ids(s2), vec![(1, "b3".into()), (2, "b4".into())]);
}

#[test]
fn state_limit_rotates_before_the_receiver_state_passes_the_bound() {
    let mut c = config();
    c.max_stream_state_bytes = 100;
    let value = "x".repeat(40); // 72 bytes per define
    let mut h = Harness::with_state(c, SimpleState::counting_stream_bytes(), 1);
    let s1 = h.connect();
    h.push("b1", vec![define(1, &value)], vec![1]);
    h.push("b2", vec![define(2, &value)], vec![2]);
    assert_eq!(h.t.poll_transmit(h.now, s1).map(|t| t.batch_id), Some(1));
    h.ack(s1, 1);
    assert_eq!(h.t.metrics().stream_state_bytes, 72);
    assert_eq!(h.t.poll_transmit(h.now, s1), None, "72 + 72 > 100");
    h.drain();
    assert_eq!(h.closed, vec![(s1, CloseMode::Graceful)]);
    assert_eq!(h.t.metrics().rotations.get("state_limit"), 1);
    // The next stream starts from the acked state (72 bytes) and always takes one batch.
    let s2 = h.connect();
    let ids: Vec<u32> = h.pull_all(s2).iter().map(|t| t.batch_id).collect();
    assert_eq!(ids, vec![0, 1]);
    assert_eq!(h.t.metrics().stream_state_bytes, 144);
}

#[test]
fn v2_sends_an_empty_snapshot_as_batch_0() {
    let mut h = Harness::new(config().with_profile(Profile::V2));
    let s = h.connect();
    let tx = h.pull_all(s);
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].batch_id, tx[0].data.len()), (0, 0));
    assert_eq!(h.t.metrics().bytes_sent, 0, "an empty StatefulBatch is zero bytes");
}

#[test]
fn metadata_carries_origin_protocol_and_extra_headers_of_the_selected_endpoint() {
    let mut e = endpoint("intake.example");
    e.protocol = "logs-grpc".into();
    e.origin = "agent".into();
    e.extra_headers = vec![("dd-shadow-only".into(), "true".into())];
    let mut c = config();
    c.endpoints = vec![e];
    c.compression = stateful_logs::codec::Compression::gzip(6);
    let mut h = Harness::new(c);
    let actions = h.drain();
    let [Action::OpenStream { metadata, .. }] = &actions[..] else { panic!() };
    assert_eq!(metadata.get("dd-content-encoding"), Some("gzip"));
    assert_eq!(metadata.get("dd-protocol"), Some("logs-grpc"));
    assert_eq!(metadata.get("dd-evp-origin"), Some("agent"));
    assert_eq!(metadata.get("dd-evp-origin-version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(metadata.get("dd-shadow-only"), Some("true"));
}
