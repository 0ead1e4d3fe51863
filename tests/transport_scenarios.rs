//! Deterministic scenarios for the `Transport` state machine (spec `transport.md`), each named
//! after the behaviour it checks. Time is driven explicitly; nothing sleeps.

mod support;

use std::time::Duration;

use stateful_logs::transport::testing::{self, SimpleState, define, delete};
use stateful_logs::transport::{
    Action, ApiKey, CloseMode, EndpointConfig, Failure, HaltError, Side, State, Transport, TransportConfig,
};
use stateful_logs::{Profile, StreamId, Timestamp};
use support::*;

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
            Action::ShutdownComplete { unacknowledged: vec![] }
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
    assert_eq!(h.drain(), vec![Action::Acknowledge(vec![acked(10), acked(11)])]);
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

fn acked(token: u64) -> stateful_logs::transport::AckEntry {
    stateful_logs::transport::AckEntry { token, outcome: stateful_logs::transport::AckOutcome::Acked }
}

#[test]
fn receiver_failure_backs_off_then_retransmits_the_unacked_batch_as_batch_1() {
    let mut h = Harness::new(config());
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    h.pull_all(s1);
    h.ack(s1, 1);
    h.drain();
    h.fail(s1, Side::Recv, status(14, "unavailable"));
    assert_eq!(h.drain(), vec![Action::CloseStream { stream: s1, mode: CloseMode::Abort }]);
    assert_eq!(h.t.state(), State::Disconnected);
    assert_eq!(h.t.metrics().stream_errors.get("recv_error_Unavailable"), 1);
    assert_eq!(h.t.metrics().rotations.get("failure"), 1);
    let backoff = h.t.poll_timeout().expect("backoff deadline").0 - h.now.0;
    assert!((1_000..=2_000).contains(&backoff), "backoff {backoff}");
    assert_eq!(h.t.poll_transmit(h.now, s1), None);
    h.fire();
    let s2 = h.connect();
    assert_eq!(s2, StreamId(2));
    assert_eq!(h.pull_ids(s2), vec![(1, "b".into())]);
    h.ack(s2, 1);
    h.drain();
    assert_eq!(h.acked, vec![1, 2]);
    assert_eq!(h.t.nb_errors(), 0, "ack of batch 1 resets the error count");
    h.assert_each_opened_stream_closed_once();
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
fn first_open_failure_backs_off_then_the_next_stream_becomes_active() {
    let mut h = Harness::new(config());
    let s1 = h.expect_open();
    h.t.handle_stream_open_failed(h.now, s1, Failure::Connection("refused".into()));
    assert_eq!(h.drain(), vec![], "a stream that never opened is not closed");
    assert_eq!(h.t.state(), State::Disconnected);
    assert_eq!(h.t.metrics().stream_errors.get("stream_creation_failed"), 1);
    assert_eq!(h.t.nb_errors(), 1);
    h.fire();
    let s2 = h.connect();
    assert_eq!(s2, StreamId(2));
    h.t.handle_stream_opened(h.now, s1);
    assert_eq!(h.drain(), vec![], "a late event for the failed attempt is ignored");
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
fn recovery_across_a_send_error_then_a_receive_error_keeps_order_and_counts() {
    let mut h = Harness::new(config());
    let s1 = h.connect();
    for (i, name) in ["a", "b", "c"].iter().enumerate() {
        h.push(name, vec![], vec![i as u64]);
    }
    h.pull_all(s1);
    h.fail(s1, Side::Send, Failure::Connection("broken pipe".into()));
    assert_eq!(h.t.metrics().stream_errors.get("transport_error"), 1);
    assert_eq!(h.t.nb_errors(), 1);
    h.fire();
    let s2 = h.connect();
    assert_eq!(h.pull_ids(s2), vec![(1, "a".into()), (2, "b".into()), (3, "c".into())]);
    h.ack(s2, 1);
    assert_eq!(h.t.nb_errors(), 0);
    h.fail(s2, Side::Recv, status(13, "boom"));
    assert_eq!(h.t.metrics().stream_errors.get("recv_error_Internal"), 1);
    assert_eq!(h.t.nb_errors(), 1, "reset by the ack, then one new failure");
    h.fire();
    let s3 = h.connect();
    assert_eq!(h.pull_ids(s3), vec![(1, "b".into()), (2, "c".into())]);
    h.ack(s3, 1);
    h.ack(s3, 2);
    h.drain();
    assert_eq!(h.acked, vec![0, 1, 2]);
    h.assert_each_opened_stream_closed_once();
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

/// Drives a fresh harness into `state` with two buffered batches (tokens 1 and 2).
fn harness_in(state: State) -> Harness {
    let mut c = config();
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    match state {
        State::Connecting => {
            h.drain();
        }
        State::Disconnected => {
            let s = h.expect_open();
            h.t.handle_stream_open_failed(h.now, s, Failure::Eof);
        }
        State::Active => {
            let s = h.connect();
            h.pull_all(s);
        }
        State::Draining => {
            let s = h.connect();
            h.pull_all(s);
            h.fire();
        }
        State::Halted => {
            let s = h.connect();
            h.fail(s, Side::Recv, status(16, "bad key"));
        }
        State::Closed => {
            h.t.shutdown(h.now, Some(h.now));
        }
    }
    h.drain();
    assert_eq!(h.t.state(), state);
    h
}

#[test]
fn shutdown_in_each_state_completes_once_and_closes_each_opened_stream_once() {
    for state in
        [State::Disconnected, State::Connecting, State::Active, State::Draining, State::Halted, State::Closed]
    {
        let mut h = harness_in(state);
        let before = h.shutdown_complete();
        h.t.shutdown(h.now, None);
        h.t.shutdown(h.now, None); // a second call is a no-op
        h.drain();
        // Unfinished shutdowns end at their deadline.
        while h.t.state() != State::Closed {
            h.fire();
            h.drain();
        }
        let completes = h.log.iter().filter(|a| matches!(a, Action::ShutdownComplete { .. })).count();
        assert_eq!(completes, 1, "{state:?}");
        if state != State::Closed {
            assert_eq!(before, None);
            assert_eq!(h.shutdown_complete(), Some(vec![1, 2]), "{state:?}");
        }
        h.assert_each_opened_stream_closed_once();
        assert_eq!(h.t.poll_timeout(), None);
        assert!(h.t.push_batch(h.now, testing::batch(&b"z"[..], vec![], 1, vec![])).is_err());
    }
}

#[test]
fn shutdown_waits_for_acks_then_closes_gracefully() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.t.shutdown(h.now, None);
    assert!(h.t.is_shutting_down());
    assert_eq!(h.t.poll_timeout(), Some(Timestamp(10_000)), "shutdown deadline before the ack timeout");
    h.ack(s, 1);
    h.drain();
    assert_eq!(
        h.log[h.log.len() - 2..],
        [
            Action::CloseStream { stream: s, mode: CloseMode::Graceful },
            Action::ShutdownComplete { unacknowledged: vec![] }
        ]
    );
}

#[test]
fn shutdown_deadline_aborts_and_reports_unacknowledged_tokens_in_order() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1, 2]);
    h.push("b", vec![], vec![3]);
    h.pull_all(s);
    h.t.shutdown(h.now, Some(Timestamp(500)));
    assert_eq!(h.fire(), Timestamp(500));
    h.drain();
    assert_eq!(h.closed, vec![(s, CloseMode::Abort)]);
    assert_eq!(h.shutdown_complete(), Some(vec![1, 2, 3]));
    let m = h.t.metrics();
    assert_eq!(m.records_dropped.get("unacknowledged_at_shutdown"), 3);
    assert_eq!(m.bytes_dropped.get("unacknowledged_at_shutdown"), 2);
}

#[test]
fn unauthenticated_halts_keeps_batches_and_resume_uses_the_updated_key() {
    let mut h = Harness::new(config());
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s1);
    h.fail(s1, Side::Recv, status(16, "invalid key"));
    h.drain();
    assert_eq!(h.t.state(), State::Halted);
    assert_eq!(h.closed, vec![(s1, CloseMode::Abort)]);
    let [HaltError::Unauthenticated { endpoint: 0, host, code: 16, code_name, .. }] = &h.halts()[..] else {
        panic!("expected an Unauthenticated halt, got {:?}", h.halts())
    };
    assert_eq!((host.as_str(), code_name.as_str()), ("intake.example", "Unauthenticated"));
    assert!(!h.halts()[0].to_string().contains(API_KEY));
    assert_eq!(h.t.metrics().halts.get("unauthenticated"), 1);
    assert_eq!(h.t.poll_timeout(), None, "no reconnection while halted");
    h.push("b", vec![], vec![2]);
    h.advance(1_000_000);
    h.t.handle_timeout(h.now);
    assert_eq!(h.drain(), vec![]);
    let mut fixed = endpoint("intake.example");
    fixed.api_key = ApiKey::new("NEW-key");
    h.t.update_endpoint(0, fixed).expect("valid endpoint");
    h.t.resume(h.now);
    let actions = h.drain();
    let [Action::OpenStream { stream: s2, metadata, .. }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(metadata.get("dd-api-key"), Some("NEW-key"));
    let s2 = *s2;
    h.opened(s2);
    assert_eq!(h.pull_ids(s2), vec![(1, "a".into()), (2, "b".into())]);
    assert_eq!(h.t.nb_errors(), 0);
}

#[test]
fn permission_denied_also_halts_as_unauthenticated() {
    let mut h = Harness::new(config());
    let s = h.expect_open();
    h.t.handle_stream_open_failed(h.now, s, status(7, "denied"));
    h.drain();
    assert!(matches!(h.halts()[..], [HaltError::Unauthenticated { code: 7, .. }]));
    assert!(h.closed.is_empty());
}

#[test]
fn ack_timeout_turns_a_silent_server_into_a_failure_rotation() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.advance(5);
    h.pull_all(s);
    h.advance(10);
    h.push("b", vec![], vec![2]);
    h.pull_all(s);
    assert_eq!(h.t.poll_timeout(), Some(Timestamp(30_005)), "oldest sent batch + 30 s");
    h.ack(s, 1);
    assert_eq!(h.t.poll_timeout(), Some(Timestamp(30_015)), "moves to the next oldest");
    h.fire();
    h.drain();
    assert_eq!(h.t.metrics().stream_errors.get("ack_timeout"), 1);
    assert_eq!(h.closed, vec![(s, CloseMode::Abort)]);
    assert_eq!(h.t.state(), State::Disconnected);
}

#[test]
fn failover_moves_to_the_second_endpoint_and_returns_to_the_primary() {
    let mut c = config();
    c.endpoints = vec![endpoint("primary.example"), endpoint("secondary.example")];
    c.ack_timeout = None;
    let mut h = Harness::new(c);
    for _ in 0..3 {
        let actions = h.drain();
        let [Action::OpenStream { stream, endpoint: 0, .. }] = &actions[..] else { panic!("{actions:?}") };
        h.t.handle_stream_open_failed(h.now, *stream, Failure::Connection("refused".into()));
        h.fire();
    }
    assert_eq!(h.t.metrics().failovers, 1);
    let actions = h.drain();
    let [Action::OpenStream { stream, endpoint: 1, .. }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(h.t.endpoint(1).host, "secondary.example");
    let away_since = h.now;
    let s = *stream;
    h.opened(s);
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.ack(s, 1);
    h.drain();
    assert_eq!(h.t.nb_errors(), 0);
    // The lifetime (900 s) is longer than primary_retry_interval (300 s): the rotation returns.
    h.fire();
    assert!(h.now >= away_since.add_millis(300_000));
    let actions = h.drain();
    assert!(matches!(actions[..], [Action::CloseStream { .. }, Action::OpenStream { endpoint: 0, .. }]));
}

#[test]
fn ack_validation_ignores_stale_streams_and_batch_0_and_rotates_on_bad_ids() {
    let mut h = Harness::new(config());
    let s1 = h.connect();
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    h.pull_all(s1);
    h.t.handle_ack(h.now, StreamId(99), 1, 1);
    h.t.handle_ack(h.now, s1, 0, 1);
    assert_eq!(h.drain(), vec![], "stale stream and batch 0 are ignored");
    // Unexpected status: counted, still an ack.
    h.t.handle_ack(h.now, s1, 1, 7);
    h.drain();
    assert_eq!(h.acked, vec![1]);
    assert_eq!(h.t.metrics().ack_status_unexpected.get("7"), 1);
    // Mismatch: batch 3 while 2 is the oldest.
    h.ack(s1, 3);
    assert_eq!(h.t.metrics().stream_errors.get("batch_id_mismatch"), 1);
    assert_eq!(h.t.state(), State::Disconnected);
    h.ack(s1, 2);
    assert_eq!(h.acked, vec![1], "acks for the closed stream are ignored");
    h.fire();
    let s2 = h.connect();
    h.pull_all(s2);
    h.ack(s2, 1);
    // Nothing awaits an ack any more: a duplicate rotates.
    h.ack(s2, 1);
    assert_eq!(h.t.metrics().stream_errors.get("received_ack_but_no_sent_payloads"), 1);
    assert_eq!(h.t.metrics().rotations.get("failure"), 2);
    assert_eq!(h.t.metrics().stream_errors.get("recv_error_InvalidArgument"), 0, "not protocol errors");
    h.drain();
    assert_eq!(h.acked, vec![1, 2]);
}

#[test]
fn protocol_errors_halt_after_max_protocol_errors_in_a_row() {
    let mut c = config();
    c.max_protocol_errors = 3;
    let mut h = Harness::new(c);
    h.push("a", vec![], vec![1]);
    for round in 1..=3 {
        let s = h.connect();
        h.pull_all(s);
        h.fail(s, Side::Recv, status([3, 9, 11][round - 1], "bad data"));
        if round < 3 {
            assert_eq!(h.t.state(), State::Disconnected);
            h.fire();
        }
    }
    h.drain();
    assert_eq!(h.t.state(), State::Halted);
    let [HaltError::ProtocolRejected { count: 3, code: 11, code_name, .. }] = &h.halts()[..] else {
        panic!("{:?}", h.halts())
    };
    assert_eq!(code_name, "OutOfRange");
    assert_eq!(h.t.metrics().halts.get("protocol_rejected"), 1);
}

#[test]
fn a_regular_ack_resets_the_protocol_error_count() {
    let mut c = config();
    c.max_protocol_errors = 2;
    let mut h = Harness::new(c);
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    let s = h.connect();
    h.pull_all(s);
    h.fail(s, Side::Recv, status(3, "bad"));
    h.fire();
    let s = h.connect();
    h.pull_all(s);
    h.ack(s, 1);
    h.fail(s, Side::Recv, status(3, "bad"));
    assert_eq!(h.t.state(), State::Disconnected, "the ack in between reset the count");
}

#[test]
fn unimplemented_halts_with_wrong_profile_naming_both_profiles() {
    let c = config().with_profile(Profile::V2);
    let mut h = Harness::new(c);
    let s = h.expect_open();
    h.t.handle_stream_open_failed(h.now, s, status(12, "unknown service"));
    h.drain();
    let [HaltError::WrongProfile { profile: Profile::V2, path, other: Profile::V1, .. }] = &h.halts()[..]
    else {
        panic!("{:?}", h.halts())
    };
    assert_eq!(path, Profile::V2.path());
    assert!(h.halts()[0].to_string().contains(Profile::V2.path()));
    assert!(h.closed.is_empty());
}

#[test]
fn tls_rejection_halts_naming_the_endpoint_host() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.fail(s, Side::Send, Failure::Tls("unknown issuer".into()));
    h.drain();
    let [HaltError::TlsRejected { endpoint: 0, host, message }] = &h.halts()[..] else {
        panic!("{:?}", h.halts())
    };
    assert_eq!((host.as_str(), message.as_str()), ("intake.example", "unknown issuer"));
    assert_eq!(h.t.metrics().stream_errors.get("tls_error"), 1);
    assert_eq!(h.t.metrics().halts.get("tls_rejected"), 1);
}

#[test]
fn abandoned_open_is_answered_with_an_abort_close_even_after_shutdown() {
    let mut h = Harness::new(config());
    let s1 = h.expect_open();
    assert_eq!(h.fire(), Timestamp(10_000));
    assert_eq!(h.t.metrics().stream_errors.get("open_timeout"), 1);
    assert_eq!(h.t.state(), State::Disconnected);
    h.fire();
    let s2 = h.expect_open();
    // The first attempt opens late: closed at once, and the pending one is unaffected.
    h.opened(s1);
    assert_eq!(h.drain(), vec![Action::CloseStream { stream: s1, mode: CloseMode::Abort }]);
    assert_eq!(h.t.pending_stream(), Some(s2));
    // Shutdown abandons s2; its late open is closed in Closed too.
    h.t.shutdown(h.now, None);
    h.drain();
    assert_eq!(h.t.state(), State::Closed);
    h.opened(s2);
    assert_eq!(h.drain(), vec![Action::CloseStream { stream: s2, mode: CloseMode::Abort }]);
    h.opened(s2);
    assert_eq!(h.drain(), vec![], "forgotten after one close");
    h.assert_each_opened_stream_closed_once();
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
fn snapshot_encoding_failure_halts_with_internal_and_resume_retries() {
    let mut state = SimpleState::new();
    state.fail_encoding = Some("out of ids".into());
    let mut h = Harness::with_state(config(), state, 1);
    let s = h.expect_open();
    h.opened(s);
    h.drain();
    assert_eq!(h.t.state(), State::Halted);
    assert!(matches!(&h.halts()[..], [HaltError::Internal { cause }] if cause.contains("out of ids")));
    assert_eq!(h.closed, vec![(s, CloseMode::Abort)]);
    h.t.snapshot_source_mut().fail_encoding = None;
    h.t.resume(h.now);
    h.connect();
}

#[test]
fn internal_error_from_the_layer_above_halts() {
    let mut h = Harness::new(config());
    h.connect();
    h.t.handle_internal_error(h.now, "batch too odd".into());
    h.drain();
    assert!(matches!(&h.halts()[..], [HaltError::Internal { .. }]));
    h.t.handle_internal_error(h.now, "again".into());
    h.drain();
    assert_eq!(h.halts().len(), 1, "ignored while halted");
    h.assert_each_opened_stream_closed_once();
}

#[test]
fn halt_while_shutting_down_emits_halted_then_shutdown_complete() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.t.shutdown(h.now, None);
    h.fail(s, Side::Recv, status(16, "revoked"));
    let actions = h.drain();
    assert!(matches!(
        actions[..],
        [
            Action::CloseStream { mode: CloseMode::Abort, .. },
            Action::Halted(_),
            Action::ShutdownComplete { .. }
        ]
    ));
    assert_eq!(h.shutdown_complete(), Some(vec![1]));
}

#[test]
fn config_validation_errors_name_the_setting() {
    type Breaker = Box<dyn Fn(&mut TransportConfig)>;
    let cases: Vec<(&str, Breaker)> = vec![
        ("endpoints", Box::new(|c| c.endpoints.clear())),
        ("endpoints[0].api_key", Box::new(|c| c.endpoints[0].api_key = ApiKey::new(""))),
        ("endpoints[0].host", Box::new(|c| c.endpoints[0].host = " ".into())),
        (
            "endpoints[0].extra_headers[0]",
            Box::new(|c| c.endpoints[0].extra_headers = vec![("dd-api-key".into(), "x".into())]),
        ),
        ("drain_timeout", Box::new(|c| c.drain_timeout = c.stream_lifetime)),
        ("open_timeout", Box::new(|c| c.open_timeout = Duration::ZERO)),
        ("ack_timeout", Box::new(|c| c.ack_timeout = Some(Duration::ZERO))),
        ("backoff_base", Box::new(|c| c.backoff_base = Duration::from_secs(500))),
        ("backoff_factor", Box::new(|c| c.backoff_factor = 0)),
        ("lifetime_jitter_percent", Box::new(|c| c.lifetime_jitter_percent = 101)),
        ("inflight_capacity", Box::new(|c| c.inflight_capacity = 0)),
        ("max_batch_id", Box::new(|c| c.max_batch_id = 0)),
        ("max_protocol_errors", Box::new(|c| c.max_protocol_errors = 0)),
        ("failover_after", Box::new(|c| c.failover_after = 0)),
    ];
    for (setting, break_it) in cases {
        let mut c = config();
        break_it(&mut c);
        let err = Transport::new(c, SimpleState::new(), 1, Timestamp(0)).expect_err(setting);
        assert_eq!(err.setting, setting);
        assert!(!err.to_string().contains(API_KEY));
    }
    let mut h = Harness::new(config());
    let err = h.t.update_endpoint(3, endpoint("x")).expect_err("no endpoint 3");
    assert_eq!(err.setting, "endpoints[3]");
    let err = h.t.update_endpoint(0, EndpointConfig::new("", 1, ApiKey::new("k"))).expect_err("empty host");
    assert_eq!(err.setting, "endpoints[0].host");
    assert_eq!(h.t.endpoint(0).host, "intake.example", "a refused update changes nothing");
    h.drain();
}

#[test]
fn debug_output_of_config_actions_and_transport_never_shows_the_api_key() {
    let mut c = config();
    c.endpoints.push(endpoint("second.example"));
    let mut h = Harness::new(c.clone());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.fail(s, Side::Recv, status(16, "no"));
    h.drain();
    let texts = [format!("{c:?}"), format!("{:?}", h.log), format!("{:?}", h.t), format!("{:?}", h.halts())];
    for text in texts {
        assert!(!text.contains(API_KEY), "{text}");
    }
    assert!(format!("{:?}", h.log).contains("<redacted>"));
}

/// A fixed script with failures (backoff jitter) and rotations (lifetime jitter).
fn scripted_run(seed: u64) -> (Vec<Action>, Vec<Option<Timestamp>>) {
    let mut c = config();
    c.lifetime_jitter_percent = 10;
    let mut h = Harness::with_state(c, SimpleState::counting_stream_bytes(), seed);
    let mut deadlines = Vec::new();
    for round in 0..6u64 {
        let s = h.connect();
        deadlines.push(h.t.poll_timeout());
        h.push(&format!("r{round}"), vec![define(round, "v")], vec![round]);
        let pulled = h.pull_all(s);
        if round % 2 == 0 {
            for tx in pulled.iter().filter(|t| t.batch_id > 0) {
                h.ack(s, tx.batch_id);
            }
            h.fire(); // lifetime
        } else {
            h.fail(s, Side::Recv, status(14, "x"));
            deadlines.push(h.t.poll_timeout());
            h.fire(); // backoff
        }
    }
    h.drain();
    (h.log, deadlines)
}

#[test]
fn same_seed_gives_the_same_actions_and_different_seeds_different_jitter() {
    let (a1, d1) = scripted_run(7);
    let (a2, d2) = scripted_run(7);
    assert_eq!(a1, a2);
    assert_eq!(d1, d2);
    let (_, d3) = scripted_run(8);
    assert_ne!(d1, d3, "jitter depends on the seed");
}

#[test]
fn now_going_backwards_is_treated_as_the_latest_time_seen() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.now = Timestamp(1_000);
    h.pull_all(s);
    h.t.handle_ack(Timestamp(10), s, 1, 1);
    assert_eq!(h.t.metrics().ack_latency_ms.sum, 0, "latency is not negative");
    h.t.handle_timeout(Timestamp(0));
    assert!(h.t.poll_timeout().is_some_and(|t| t > Timestamp(1_000)));
}

#[test]
fn stream_error_on_the_pending_attempt_counts_as_an_open_failure() {
    let mut h = Harness::new(config());
    let s = h.expect_open();
    h.fail(s, Side::Send, Failure::Connection("reset".into()));
    assert_eq!(h.t.metrics().stream_errors.get("stream_creation_failed"), 1);
    assert_eq!(h.t.state(), State::Disconnected);
    assert_eq!(h.drain(), vec![]);
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
    c.content_encoding = stateful_logs::codec::ContentEncoding::Gzip;
    let mut h = Harness::new(c);
    let actions = h.drain();
    let [Action::OpenStream { metadata, .. }] = &actions[..] else { panic!() };
    assert_eq!(metadata.get("dd-content-encoding"), Some("gzip"));
    assert_eq!(metadata.get("dd-protocol"), Some("logs-grpc"));
    assert_eq!(metadata.get("dd-evp-origin"), Some("agent"));
    assert_eq!(metadata.get("dd-evp-origin-version"), Some(env!("CARGO_PKG_VERSION")));
    assert_eq!(metadata.get("dd-shadow-only"), Some("true"));
}

#[test]
fn backoff_grows_to_the_cap_and_derived_max_errors() {
    let mut h = Harness::new(config());
    assert_eq!(h.t.max_errors(), 7);
    for n in 1..=9u32 {
        let s = h.expect_open();
        h.t.handle_stream_open_failed(h.now, s, Failure::Eof);
        let failed_at = h.now;
        let backoff = h.fire().0 - failed_at.0;
        let n = n.min(7);
        if n == 7 {
            assert_eq!(backoff, 120_000, "capped exactly");
        } else {
            let t = 1_000u64 << n;
            assert!((t / 2..=t).contains(&backoff), "n={n}: {backoff}");
        }
    }
    assert_eq!(h.t.nb_errors(), 7);
}
