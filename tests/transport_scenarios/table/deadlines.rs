//! The table's rows for deadlines and controls: open, ack, drain, lifetime, backoff and
//! shutdown deadlines; `shutdown`, `resume`, `poll_transmit`.

use super::*;

/// Row `open deadline`: `Connecting` → OPEN_TIMEOUT (improvement): `pending` moves to
/// `abandoned` without a close, FAIL(`open_timeout`, retry); not armed in other states.
#[test]
fn row_open_deadline_abandons_the_pending_attempt() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state != State::Connecting {
            assert_eq!(h.t.pending_stream(), None, "{state:?}: no open deadline without an attempt");
            continue;
        }
        let pending = h.t.pending_stream().expect("pending");
        assert_eq!(h.fire(), Timestamp(10_000), "open deadline = now + open_timeout");
        let actions = h.drain();
        assert!(!actions.iter().any(|a| matches!(a, Action::CloseStream { .. })), "no close");
        assert_eq!(h.t.metrics().stream_errors.get("open_timeout"), 1);
        assert_eq!(h.t.state(), State::Disconnected);
        h.t.handle_stream_opened(h.now, pending);
        assert_eq!(h.drain(), [Action::CloseStream { stream: pending, mode: CloseMode::Abort }], "abandoned");
    }
}

/// Row `ack deadline` (improvement): `Active`, `Draining` → `stream_errors{ack_timeout}`;
/// ROTATE(failure). Amendment 3: the deadline counts from the later of the oldest
/// outstanding batch's `sent_at` and the last ack on the stream, not from `sent_at` alone.
#[test]
fn row_ack_deadline_rotates_with_failure() {
    // (state, lifetime, drain timeout, when batch 1 is acked, when batch 2 then times out)
    let cases = [(State::Active, 900, 5, 20, 50), (State::Draining, 20, 15, 4, 34)];
    for (state, lifetime_s, drain_s, ack_at_s, timeout_at_s) in cases {
        let mut c = config();
        c.ack_timeout = Some(Duration::from_secs(30));
        c.stream_lifetime = Duration::from_secs(lifetime_s);
        c.drain_timeout = Duration::from_secs(drain_s);
        let mut h = Harness::new(c);
        h.push("a", vec![], vec![1]);
        h.push("b", vec![], vec![2]);
        let s = h.connect();
        h.pull_all(s);
        h.advance(ack_at_s * 1_000);
        // Progress: batch 2, sent at 0, now times out 30 s after this ack, not after 0.
        h.ack(s, 1);
        h.drain();
        if state == State::Draining {
            assert_eq!(h.fire(), Timestamp(lifetime_s * 1_000), "the lifetime deadline");
            h.drain();
        }
        assert_eq!(h.t.state(), state);
        assert_eq!(h.fire(), Timestamp(timeout_at_s * 1_000), "{state:?}: Amendment 3, progress-based");
        let actions = h.drain();
        assert_eq!(h.t.metrics().stream_errors.get("ack_timeout"), 1, "{state:?}");
        assert_eq!(h.t.metrics().rotations.get("failure"), 1, "{state:?}: ROTATE(failure)");
        assert!(actions.contains(&Action::CloseStream { stream: s, mode: CloseMode::Abort }));
        assert_eq!(h.t.nb_errors(), 1);
    }
    // Not armed where no batch awaits an ack on a current stream.
    for state in [State::Disconnected, State::Connecting, State::Halted, State::Closed] {
        let h = harness_in(state);
        assert_eq!(h.t.current_stream(), None, "{state:?}");
    }
}

/// Row `drain deadline`: `Draining` → ROTATE(soft, `drain_timeout`): no backoff, the error
/// count unchanged, the next stream opened at once.
#[test]
fn row_drain_deadline_rotates_softly() {
    let mut h = harness_in(State::Draining);
    let s = h.t.current_stream().expect("current");
    let lifetime_end = h.now;
    assert_eq!(h.fire(), lifetime_end.add_millis(5_000), "drain deadline = lifetime end + drain_timeout");
    let actions = h.drain();
    assert_eq!(h.t.metrics().rotations.get("drain_timeout"), 1);
    // ROTATE step 1: soft, but sent batches await acks: Abort.
    assert!(actions.contains(&Action::CloseStream { stream: s, mode: CloseMode::Abort }));
    assert_eq!(h.t.nb_errors(), 0, "soft: the error count is unchanged");
    assert_eq!(h.t.state(), State::Connecting, "soft: OPEN at once");
    // Armed only in Draining.
    for state in [State::Disconnected, State::Connecting, State::Active, State::Halted, State::Closed] {
        let mut h = harness_in(state);
        if let Some(next) = h.t.poll_timeout() {
            h.fire();
            assert_eq!(h.t.metrics().rotations.get("drain_timeout"), 0, "{state:?} at {next}");
        }
    }
}

/// Row `lifetime deadline`: `Active` → LIFETIME_END(`lifetime`): `Draining` while a sent
/// batch awaits its ack, otherwise ROTATE(soft, `lifetime`).
#[test]
fn row_lifetime_deadline_ends_the_stream_lifetime() {
    // A sent batch awaits its ack: Draining.
    let mut h = harness_in(State::Active);
    assert_eq!(h.fire(), Timestamp(900_000), "lifetime deadline = open + stream_lifetime (no jitter)");
    h.drain();
    assert_eq!(h.t.state(), State::Draining);
    // Nothing awaits an ack: a soft rotation, even with unsent batches.
    let mut h = Harness::new(table_config());
    let s = h.connect();
    h.push("unsent", vec![], vec![1]);
    h.fire();
    let actions = h.drain();
    assert_eq!(h.t.metrics().rotations.get("lifetime"), 1);
    assert!(actions.contains(&Action::CloseStream { stream: s, mode: CloseMode::Graceful }));
    assert_eq!(h.t.state(), State::Connecting);
    assert_eq!(h.t.tracker_len(), 1, "the unsent batch waits for the next stream");
}

/// Row `backoff deadline`: `Disconnected` → OPEN. (Amendment 4 spreads the delay, seeded;
/// the row's transition is unchanged.)
#[test]
fn row_backoff_deadline_opens() {
    let mut h = harness_in(State::Disconnected);
    let opened = h.t.metrics().streams_opened;
    h.fire();
    let actions = h.drain();
    assert!(matches!(actions[..], [Action::OpenStream { .. }]), "{actions:?}");
    assert_eq!(h.t.state(), State::Connecting);
    assert_eq!(h.t.metrics().streams_opened, opened + 1);
}

/// Row `shutdown deadline`: SHUTDOWN_DONE in `Disconnected`, `Connecting`, `Active`,
/// `Draining` (every batch reported unacknowledged, the stream closed once); `Halted` and
/// `Closed` have no shutdown deadline (a shutdown there completes at once).
#[test]
fn row_shutdown_deadline_completes_the_shutdown() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        h.t.shutdown(h.now, Some(h.now.add_millis(1_000)));
        h.drain();
        if matches!(state, State::Halted | State::Closed) {
            assert_eq!(h.t.shutdown_deadline(), None, "{state:?}");
            assert_eq!(h.t.state(), State::Closed);
            continue;
        }
        assert_eq!(h.t.state(), state, "{state:?}: waiting for acks until the deadline");
        let deadline = h.t.shutdown_deadline().expect("a shutdown deadline");
        // Earlier deadlines (a backoff in Disconnected) are handled on the way.
        let mut pending = None;
        while h.t.state() != State::Closed {
            assert!(h.now < deadline, "{state:?}: closed by the shutdown deadline");
            pending = h.t.pending_stream();
            h.fire();
            h.drain();
        }
        assert_eq!(h.now, deadline, "{state:?}: SHUTDOWN_DONE at the shutdown deadline");
        assert_eq!(h.shutdown_complete(), Some(vec![1, 2]), "{state:?}: reported unacknowledged");
        h.assert_each_opened_stream_closed_once();
        assert_eq!(h.t.poll_timeout(), None, "{state:?}: every deadline cleared");
        if let Some(pending) = pending {
            h.t.handle_stream_opened(h.now, pending);
            assert_eq!(h.drain(), [Action::CloseStream { stream: pending, mode: CloseMode::Abort }]);
        }
    }
}

/// Row `shutdown`: §14.1 in `Disconnected`, `Connecting`, `Active`, `Draining`; SHUTDOWN_DONE
/// in `Halted`; a no-op in `Closed`.
#[test]
fn row_shutdown_starts_a_graceful_shutdown() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state == State::Closed {
            assert_ignored(&mut h, state, |h| h.t.shutdown(h.now, None));
            continue;
        }
        h.t.shutdown(h.now, None);
        h.drain();
        if state == State::Halted {
            assert_eq!(h.t.state(), State::Closed, "Halted: SHUTDOWN_DONE at once");
            assert_eq!(h.shutdown_complete(), Some(vec![1, 2]));
            continue;
        }
        // §14.1: batches outstanding, so the shutdown waits until its deadline, with no
        // lifetime deadline (§6: not armed while shutting down).
        assert!(h.t.is_shutting_down(), "{state:?}");
        assert_eq!(h.t.state(), state, "{state:?}");
        assert_eq!(h.t.shutdown_deadline(), Some(h.now.add_millis(10_000)), "now + shutdown_timeout");
        assert!(h.t.poll_timeout().is_some_and(|t| t <= h.now.add_millis(10_000)), "{state:?}");
    }
}

/// Row `resume`: `Halted` → RESUME (error counts reset, back to the first endpoint, OPEN);
/// a no-op in every other state.
#[test]
fn row_resume_reopens_from_halted_only() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state != State::Halted {
            assert_ignored(&mut h, state, |h| h.t.resume(h.now));
            continue;
        }
        h.t.resume(h.now);
        let actions = h.drain();
        assert!(matches!(actions[..], [Action::OpenStream { endpoint: 0, .. }]), "{actions:?}");
        assert_eq!((h.t.state(), h.t.nb_errors()), (State::Connecting, 0));
    }
}

/// Row `poll_transmit(current)`: PULL in `Active`, `None` in every other state (in
/// `Draining` even with unsent batches: they go on the next stream).
#[test]
fn row_poll_transmit_pulls_only_when_active() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state != State::Closed {
            h.push("c", vec![], vec![3]);
        }
        let stream = h.t.current_stream().unwrap_or(StreamId(1));
        let pulled = h.t.poll_transmit(h.now, stream);
        match state {
            State::Active => assert_eq!(pulled.map(|t| t.batch_id), Some(3), "PULL: the next id"),
            _ => assert_eq!(pulled, None, "{state:?}"),
        }
    }
}
