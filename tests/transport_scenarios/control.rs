//! Control: shutdown in every state, configuration errors, redaction, determinism, time.

use super::*;

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
            Action::ShutdownComplete { batches: 0, records: 0, ack_tokens: 0 }
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
fn full_lifetime_jitter_never_arms_a_deadline_that_is_already_due() {
    for seed in 0..200 {
        let mut c = config();
        c.stream_lifetime = Duration::from_millis(3);
        c.drain_timeout = Duration::from_millis(1);
        c.lifetime_jitter_percent = 100;
        let mut h = Harness::with_state(c, SimpleState::new(), seed);
        let s = h.connect();
        let at = h.t.poll_timeout().expect("lifetime deadline");
        assert!(at > h.now && at <= h.now.add_millis(3), "seed {seed}: {at}");
        h.t.handle_timeout(h.now);
        assert_eq!(h.t.current_stream(), Some(s), "an early handle_timeout changes nothing");
        h.fire();
        assert_eq!(h.t.state(), State::Connecting, "rotated at the lifetime");
    }
}
