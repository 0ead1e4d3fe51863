//! Failures: backoff, retransmission, halts and resume, ack validation, timeouts, failover.

use super::*;

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
    assert!(backoff <= 6_000, "the first retry is jittered over 6 s: {backoff}");
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
fn stream_error_on_the_pending_attempt_counts_as_an_open_failure() {
    let mut h = Harness::new(config());
    let s = h.expect_open();
    h.fail(s, Side::Send, Failure::Connection("reset".into()));
    assert_eq!(h.t.metrics().stream_errors.get("stream_creation_failed"), 1);
    assert_eq!(h.t.state(), State::Disconnected);
    assert_eq!(h.drain(), vec![]);
}

#[test]
fn backoff_grows_to_the_cap_and_derived_max_errors() {
    // The §9.1 backoff as written: the reference retry policy.
    let mut c = config();
    c.retry = stateful_logs::transport::RetryPolicy::reference();
    let mut h = Harness::new(c);
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
