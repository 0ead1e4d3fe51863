//! The retry policy (spec Amendments 3 and 4): first-retry jitter, short retries during a
//! young outage, pushback, progress-based ack timeout, spread failover and the primary probe,
//! and the reference policy keeping `transport.md` §9–§10 as written.

use stateful_logs::transport::{RetryDelayKind, RetryPolicy};

use super::*;

fn endpoints(n: usize) -> Vec<EndpointConfig> {
    (0..n).map(|i| endpoint(&format!("intake-{i}.example"))).collect()
}

fn pushback(code: i32, ms: u64) -> Failure {
    Failure::Status { code, message: "too many new streams".into(), retry_pushback_ms: Some(ms) }
}

/// The delay of the retry the transport just armed.
fn armed_delay(h: &Harness) -> u64 {
    h.t.poll_timeout().expect("a backoff deadline").millis_since(h.now)
}

/// A connected client whose stream fails once; returns the delay of its first retry.
fn first_retry_delay(config: TransportConfig, seed: u64) -> u64 {
    let mut h = Harness::with_state(config, SimpleState::new(), seed);
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.fail(s, Side::Recv, status(14, "intake restarting"));
    assert_eq!(h.t.state(), State::Disconnected);
    armed_delay(&h)
}

#[test]
fn a_failure_shared_by_a_fleet_spreads_the_first_retries_over_the_window() {
    let mut per_second = [0u32; 7];
    for seed in 0..600 {
        let d = first_retry_delay(config(), seed);
        assert!(d <= 6_000, "{d}");
        per_second[(d / 1_000) as usize] += 1;
    }
    // Full jitter: each second of the window gets about a sixth of the fleet.
    assert!(per_second[..6].iter().all(|&n| (70..=130).contains(&n)), "{per_second:?}");
    // The reference policy: the whole fleet within one second, 1-2 s after the failure.
    for seed in 0..100 {
        let d = first_retry_delay(config().with_reference_policy(), seed);
        assert!((1_000..=2_000).contains(&d), "{d}");
    }
}

#[test]
fn during_a_young_outage_retries_stay_short_then_the_backoff_grows() {
    let mut h = Harness::new(config());
    let started = h.now;
    let mut delays = Vec::new();
    while h.now.millis_since(started) < 400_000 {
        let s = h.expect_open();
        h.t.handle_stream_open_failed(h.now, s, Failure::Connection("connection refused".into()));
        let failed_at = h.now;
        let (delay, kind) = h.t.last_retry().expect("a retry");
        assert_eq!(h.fire().millis_since(failed_at), delay);
        delays.push((failed_at.millis_since(started), delay, kind));
    }
    assert_eq!(delays[0].2, RetryDelayKind::First);
    for &(at, delay, kind) in &delays[1..] {
        if at < 300_000 {
            assert_eq!(kind, RetryDelayKind::Outage, "at {at} ms");
            assert!((6_000..=12_000).contains(&delay), "at {at} ms: {delay}");
        } else {
            assert_eq!((kind, delay), (RetryDelayKind::Backoff, 120_000), "at {at} ms");
        }
    }
    // A recovered intake is noticed within 12 s during the first five minutes (the
    // reference backoff reaches 64-120 s after six failures).
    assert!(delays.len() > 25, "{} attempts", delays.len());
}

#[test]
fn a_pushback_sets_the_next_delay_within_bounds_and_keeps_the_endpoint() {
    let mut c = config();
    c.endpoints = endpoints(3);
    c.failover_after = 1;
    let mut h = Harness::new(c);
    for (ms, expected) in [(2_500, 2_500), (0, 100), (u64::MAX, 60_000)] {
        let s = h.expect_open();
        h.t.handle_stream_open_failed(h.now, s, pushback(8, ms));
        assert_eq!(h.t.last_retry(), Some((expected, RetryDelayKind::Pushback)));
        assert_eq!(armed_delay(&h), expected);
        assert_eq!(h.t.current_endpoint(), 0, "the intake is up: no failover");
        h.fire();
    }
    assert_eq!(h.t.metrics().retry_pushbacks, 3);
    assert_eq!(h.t.metrics().failovers, 0);
    assert_eq!(h.t.metrics().stream_errors.get("stream_creation_failed"), 3);
    // A pushback ending an open stream counts the same way.
    let s = h.connect();
    h.fail(s, Side::Recv, pushback(14, 1_234));
    assert_eq!(armed_delay(&h), 1_234);
    // A halting class still halts: the pushback does not turn it into a retry.
    h.fire();
    let s = h.expect_open();
    h.t.handle_stream_open_failed(
        h.now,
        s,
        Failure::Status { code: 16, message: "bad key".into(), retry_pushback_ms: Some(10) },
    );
    assert_eq!(h.t.state(), State::Halted);
}

#[test]
fn the_reference_policy_ignores_pushback() {
    let mut c = config().with_reference_policy();
    c.endpoints = endpoints(2);
    c.failover_after = 1;
    let mut h = Harness::new(c);
    let s = h.expect_open();
    h.t.handle_stream_open_failed(h.now, s, pushback(8, 30_000));
    let delay = armed_delay(&h);
    assert!((1_000..=2_000).contains(&delay), "§9.1 backoff, not the pushback: {delay}");
    assert_eq!((h.t.current_endpoint(), h.t.metrics().retry_pushbacks), (1, 0));
}

#[test]
fn the_ack_timeout_counts_from_the_last_ack() {
    // The progress rule alone (Amendment 3), without leaving lagging intakes.
    let mut c = config();
    c.retry.leave_lagging_intake = false;
    let mut h = Harness::new(c);
    let s = h.connect();
    for i in 0..10 {
        h.push(&format!("b{i}"), vec![], vec![i]);
    }
    assert_eq!(h.pull_all(s).len(), 10);
    // One ack every 20 s: the oldest batch waits far longer than the 30 s timeout.
    for id in 1..=6 {
        h.advance(20_000);
        h.t.handle_timeout(h.now);
        h.ack(s, id);
        assert_eq!(h.t.poll_timeout(), Some(h.now.add_millis(30_000)), "30 s after the last ack");
    }
    assert_eq!(h.t.state(), State::Active);
    assert_eq!(h.t.metrics().stream_errors.get("ack_timeout"), 0);
    assert_eq!(h.t.current_stream(), Some(s));
    // Then silence: left exactly one timeout after the last ack.
    let last_ack = h.now;
    assert_eq!(h.fire(), last_ack.add_millis(30_000));
    assert_eq!(h.t.metrics().stream_errors.get("ack_timeout"), 1);
    assert_eq!(h.t.state(), State::Disconnected);
}

#[test]
fn a_slow_intake_keeps_its_stream_while_it_acks_within_the_timeout() {
    let mut h = Harness::new(config());
    let s = h.connect();
    // A batch every 10 s, each acked 25 s after it was sent: always two or three waiting.
    let mut next_ack = 1;
    for i in 0..40u64 {
        h.push(&format!("b{i}"), vec![], vec![i]);
        h.pull_all(s);
        for _ in 0..2 {
            h.advance(5_000);
            h.t.handle_timeout(h.now);
            if h.now.0 >= (next_ack - 1) * 10_000 + 25_000 {
                h.ack(s, next_ack as u32);
                next_ack += 1;
            }
        }
    }
    assert_eq!((h.t.state(), h.t.current_stream()), (State::Active, Some(s)));
    assert_eq!(h.t.metrics().stream_errors.total(), 0);
    assert!(h.t.sent_len() >= 2);
}

#[test]
fn an_intake_that_acks_too_late_is_left_right_after_that_ack() {
    let mut c = config();
    c.endpoints = endpoints(3);
    let mut h = Harness::new(c);
    let s = h.connect();
    for i in 0..10 {
        h.push(&format!("b{i}"), vec![], vec![i]);
    }
    h.pull_all(s);
    for (at, id) in [(10_000, 1), (20_000, 2)] {
        h.now = Timestamp(at);
        h.ack(s, id);
        assert_eq!(h.t.current_stream(), Some(s), "acked within the timeout");
    }
    // Batch 3 waited 29 s: the progress deadline (20 s + 30 s) has not passed, and it is
    // acked in time; batch 4 waits 31 s: the intake cannot keep up.
    h.now = Timestamp(29_000);
    h.ack(s, 3);
    assert_eq!(h.t.current_stream(), Some(s));
    h.now = Timestamp(31_000);
    h.ack(s, 4);
    h.drain();
    assert_eq!(h.t.state(), State::Disconnected);
    assert_eq!(h.closed, vec![(s, CloseMode::Abort)]);
    assert_eq!(h.t.metrics().stream_errors.get("lagging_intake"), 1);
    assert_eq!(h.t.metrics().failovers, 1, "left for another intake at once");
    assert_eq!(h.acked, vec![0, 1, 2, 3], "batch 4 was acked, not replayed");
    h.fire();
    let s2 = h.connect();
    assert_ne!(h.t.current_endpoint(), 0);
    assert_eq!(h.pull_ids(s2)[0], (1, "b4".to_owned()), "the replay starts after it");
}

#[test]
fn a_late_ack_that_leaves_nothing_outstanding_keeps_the_stream() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.now = Timestamp(29_999);
    h.advance(1_000);
    // The ack timeout would have fired: handle it only after the (late) ack arrives.
    h.ack(s, 1);
    h.t.handle_timeout(h.now);
    assert_eq!((h.t.state(), h.t.current_stream()), (State::Active, Some(s)), "caught up");
}

#[test]
fn an_ack_before_the_oldest_batch_was_sent_does_not_extend_its_deadline() {
    let mut h = Harness::new(config());
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.advance(5_000);
    h.ack(s, 1);
    h.advance(10_000);
    h.push("b", vec![], vec![2]);
    h.pull_all(s);
    assert_eq!(h.t.poll_timeout(), Some(h.now.add_millis(30_000)), "counts from b's send");
}

#[test]
fn a_silent_intake_is_left_after_one_ack_timeout_for_another_endpoint() {
    let mut c = config();
    c.endpoints = endpoints(4);
    let mut h = Harness::new(c);
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.fire();
    assert_eq!(h.t.metrics().stream_errors.get("ack_timeout"), 1);
    assert_eq!(h.t.metrics().failovers, 1, "no failover_after rounds on a silent intake");
    assert_ne!(h.t.current_endpoint(), 0);
    // The reference policy counts failover_after (3) failures first.
    let mut c = config().with_reference_policy();
    c.endpoints = endpoints(4);
    c.ack_timeout = Some(Duration::from_secs(30));
    let mut h = Harness::new(c);
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.fire();
    assert_eq!((h.t.metrics().failovers, h.t.current_endpoint()), (0, 0));
}

#[test]
fn failover_spreads_the_clients_of_a_failed_intake_over_the_others() {
    let mut chosen = [0u32; 4];
    for seed in 0..300 {
        let mut c = config();
        c.endpoints = endpoints(4);
        let mut h = Harness::with_state(c, SimpleState::new(), seed);
        for _ in 0..3 {
            let s = h.expect_open();
            h.t.handle_stream_open_failed(h.now, s, Failure::Connection("refused".into()));
            h.fire();
        }
        let actions = h.drain();
        let [Action::OpenStream { endpoint, .. }] = &actions[..] else { panic!("{actions:?}") };
        chosen[*endpoint] += 1;
    }
    assert_eq!(chosen[0], 0);
    // At most 40 % of them on any one of the three others (a third each expected).
    assert!(chosen[1..].iter().all(|&n| (60..=120).contains(&n)), "{chosen:?}");
    // The reference rule: always the next one.
    let mut c = config().with_reference_policy();
    c.endpoints = endpoints(4);
    let mut h = Harness::new(c);
    for _ in 0..3 {
        let s = h.expect_open();
        h.t.handle_stream_open_failed(h.now, s, Failure::Connection("refused".into()));
        h.fire();
    }
    assert_eq!(h.t.current_endpoint(), 1);
}

/// A client that failed over from its primary and streams on endpoint `away`; returns it.
fn failed_over(h: &mut Harness) -> usize {
    for _ in 0..3 {
        let s = h.expect_open();
        h.t.handle_stream_open_failed(h.now, s, Failure::Connection("refused".into()));
        h.fire();
    }
    let away = h.t.current_endpoint();
    assert_ne!(away, 0);
    let s = h.connect();
    h.push("a", vec![], vec![1]);
    h.pull_all(s);
    h.ack(s, 1);
    h.drain();
    away
}

#[test]
fn the_return_to_the_primary_is_a_probe_that_goes_straight_back_when_it_fails() {
    let mut c = config();
    c.endpoints = endpoints(3);
    c.stream_lifetime = Duration::from_secs(400);
    let mut h = Harness::new(c);
    let away = failed_over(&mut h);
    // The lifetime ends past primary_retry_interval: the next stream probes the primary.
    h.fire();
    let actions = h.drain();
    assert!(matches!(actions[..], [Action::CloseStream { .. }, Action::OpenStream { endpoint: 0, .. }]));
    assert!(h.t.probing_primary());
    let probe = h.t.pending_stream().expect("the probe");
    h.t.handle_stream_open_failed(h.now, probe, Failure::Connection("refused".into()));
    assert_eq!(h.t.current_endpoint(), away, "one failure sends it back");
    assert!(!h.t.probing_primary());
    let failovers = h.t.metrics().failovers;
    h.fire();
    let actions = h.drain();
    let [Action::OpenStream { stream, endpoint, .. }] = &actions[..] else { panic!("{actions:?}") };
    assert_eq!(*endpoint, away);
    // Streaming there again; the next probe comes one interval later, and succeeds.
    let s = *stream;
    h.opened(s);
    h.push("b", vec![], vec![2]);
    h.pull_all(s);
    h.ack(s, 1);
    h.fire();
    let actions = h.drain();
    let [.., Action::OpenStream { stream: probe, endpoint: 0, .. }] = &actions[..] else {
        panic!("{actions:?}")
    };
    let probe = *probe;
    h.opened(probe);
    h.push("c", vec![], vec![3]);
    h.pull_all(probe);
    h.ack(probe, 1);
    assert!(!h.t.probing_primary(), "an ack ends the probe");
    assert_eq!((h.t.current_endpoint(), h.t.metrics().failovers), (0, failovers));
}

#[test]
fn without_the_probe_a_failing_primary_is_left_only_after_failover_after_failures() {
    let mut c = config();
    c.endpoints = endpoints(3);
    c.stream_lifetime = Duration::from_secs(400);
    c.retry = RetryPolicy { probe_primary: false, ..RetryPolicy::default() };
    let mut h = Harness::new(c);
    failed_over(&mut h);
    h.fire();
    h.drain();
    for failures in 1..=2 {
        let s = h.t.pending_stream().expect("an attempt on the primary");
        h.t.handle_stream_open_failed(h.now, s, Failure::Connection("refused".into()));
        assert_eq!(h.t.current_endpoint(), 0, "after {failures} failures");
        h.fire();
        h.drain();
    }
}

#[test]
fn each_stream_draws_its_ack_timeout_below_the_configured_one() {
    let mut c = config();
    c.retry.ack_timeout_jitter_percent = 50;
    let mut timeouts = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let mut h = Harness::with_state(c.clone(), SimpleState::new(), seed);
        let s = h.connect();
        h.push("a", vec![], vec![1]);
        h.pull_all(s);
        let timeout = h.t.stream_ack_timeout_ms().expect("an ack timeout");
        assert!((15_000..=30_000).contains(&timeout), "{timeout}");
        assert_eq!(h.t.poll_timeout(), Some(h.now.add_millis(timeout)));
        timeouts.insert(timeout);
    }
    assert!(timeouts.len() > 40, "spread: {} distinct values", timeouts.len());
    // The reference policy has no ack timeout at all.
    let h = Harness::new(config().with_reference_policy());
    assert_eq!(h.t.stream_ack_timeout_ms(), None);
}
