//! The table's rows for events: pushes, endpoint updates, opens, open failures, stream
//! errors, acks, internal errors.

use super::*;

/// Row `push_batch (with room)`: PUSH in every state but `Closed` (in `Halted`, "batches
/// buffer until full"); `Closed` → `Full`.
#[test]
fn row_push_batch_with_room() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        let before = h.t.tracker_len();
        let batch = || testing::batch(&b"c"[..], vec![], 1, vec![3]);
        if state == State::Closed {
            assert!(h.t.push_batch(h.now, batch()).is_err(), "Closed: Full");
            continue;
        }
        assert!(h.t.push_batch(h.now, batch()).is_ok(), "{state:?}: PUSH");
        assert_eq!(h.t.tracker_len(), before + 1, "{state:?}: appended to the unsent region");
        assert_eq!(h.t.state(), state, "{state:?}: PUSH changes no state");
        if state == State::Halted {
            while h.t.has_room() {
                assert!(h.t.push_batch(h.now, batch()).is_ok());
            }
            assert!(h.t.push_batch(h.now, batch()).is_err(), "Halted: buffers until full");
        }
    }
}

/// The metadata of the next `OpenStream` the transport emits, driving it there from `state`.
fn next_open_key(h: &mut Harness, state: State) -> String {
    match state {
        State::Disconnected => {}
        State::Connecting => {
            let pending = h.t.pending_stream().expect("pending");
            h.t.handle_stream_open_failed(h.now, pending, Failure::Eof);
        }
        State::Active | State::Draining => {
            let current = h.t.current_stream().expect("current");
            h.fail(current, Side::Recv, Failure::Eof);
        }
        State::Halted => h.t.resume(h.now),
        State::Closed => unreachable!("no OPEN after Closed"),
    }
    h.drain();
    if h.t.state() == State::Disconnected {
        h.fire();
    }
    h.drain();
    let Some(Action::OpenStream { metadata, .. }) =
        h.log.iter().rev().find(|a| matches!(a, Action::OpenStream { .. }))
    else {
        panic!("{state:?}: an OpenStream")
    };
    metadata.get("dd-api-key").expect("the key header").to_owned()
}

/// Row `update_endpoint`: "store; used from the next OPEN", the same in every state.
#[test]
fn row_update_endpoint_stores_it_for_the_next_open() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        let before = observe(&h);
        let updated = EndpointConfig::new("intake.example", 443, ApiKey::new("NEW-key"));
        h.t.update_endpoint(0, updated).expect("a valid endpoint");
        assert!(h.drain().is_empty(), "{state:?}: stored, nothing emitted");
        assert_eq!(observe(&h), before, "{state:?}: stored only");
        if state != State::Closed {
            assert_eq!(next_open_key(&mut h, state), "NEW-key", "{state:?}: used from the next OPEN");
        }
    }
}

/// Row `opened, id = pending`: `Connecting` → ACTIVATE; in every other state there is no
/// pending attempt (§6 further rules: only in `Connecting`), so the row cannot apply.
#[test]
fn row_opened_for_the_pending_id_activates() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state != State::Connecting {
            assert_eq!(h.t.pending_stream(), None, "{state:?}: no pending attempt");
            continue;
        }
        let pending = h.t.pending_stream().expect("pending");
        h.opened(pending);
        h.drain();
        assert_eq!(h.t.state(), State::Active, "ACTIVATE");
        assert_eq!((h.t.current_stream(), h.t.pending_stream()), (Some(pending), None));
        // The restarted tracker sends its batches from id 1 (batch 0 first when the snapshot
        // has definitions; these batches define nothing).
        let ids: Vec<u32> = h.pull_ids(pending).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, [1, 2]);
    }
}

/// Row `opened, id ∈ abandoned`: "close (Abort), forget id", the same in every state.
#[test]
fn row_opened_for_an_abandoned_id_closes_it_with_abort_and_forgets_it() {
    for state in ALL_STATES {
        let (mut h, abandoned) = harness_with_abandoned(state);
        let before = observe(&h);
        h.t.handle_stream_opened(h.now, abandoned);
        let actions = h.drain();
        assert_eq!(
            actions,
            [Action::CloseStream { stream: abandoned, mode: CloseMode::Abort }],
            "{state:?}: close (Abort)"
        );
        assert_eq!(observe(&h), before, "{state:?}: nothing else changes");
        // Forgotten: a second "opened" is an event for any other id, ignored.
        assert_ignored(&mut h, state, |h| h.t.handle_stream_opened(h.now, abandoned));
    }
}

/// Row `opened, any other id`: ignored in every state.
#[test]
fn row_opened_for_any_other_id_is_ignored() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        assert_ignored(&mut h, state, |h| h.t.handle_stream_opened(h.now, StreamId(99)));
    }
}

/// Row `open failed, id = pending`: `Connecting` → `pending := none`;
/// FAIL(`stream_creation_failed`); no pending attempt in the other states.
#[test]
fn row_open_failed_for_the_pending_id_fails_with_stream_creation_failed() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if state != State::Connecting {
            assert_eq!(h.t.pending_stream(), None, "{state:?}: no pending attempt");
            continue;
        }
        let pending = h.t.pending_stream().expect("pending");
        h.t.handle_stream_open_failed(h.now, pending, Failure::Eof);
        let actions = h.drain();
        assert_eq!(h.t.pending_stream(), None, "pending := none");
        assert!(!actions.iter().any(|a| matches!(a, Action::CloseStream { .. })), "nothing was open");
        let m = h.t.metrics();
        assert_eq!(m.stream_errors.get("stream_creation_failed"), 1, "FAIL(stream_creation_failed)");
        assert_eq!(m.rotations.get("failure"), 1, "retry class: ROTATE(failure)");
        assert_eq!(h.t.nb_errors(), 1);
        assert_eq!(h.t.state(), State::Disconnected, "a backoff follows");
    }
}

/// Row `open failed, id ∈ abandoned`: "forget id", the same in every state.
#[test]
fn row_open_failed_for_an_abandoned_id_forgets_it() {
    for state in ALL_STATES {
        let (mut h, abandoned) = harness_with_abandoned(state);
        assert_ignored(&mut h, state, |h| h.t.handle_stream_open_failed(h.now, abandoned, Failure::Eof));
        // Forgotten: a late "opened" for it is no longer answered with a close.
        assert_ignored(&mut h, state, |h| h.t.handle_stream_opened(h.now, abandoned));
    }
}

/// Row `stream error, id = current`: `Active`, `Draining` → FAIL(reason §12.1); no current
/// stream in the other states, where an error for any earlier stream is ignored.
#[test]
fn row_stream_error_on_the_current_stream_fails_with_its_reason() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        let Some(current) = h.t.current_stream() else {
            assert!(!matches!(state, State::Active | State::Draining));
            assert_ignored(&mut h, state, |h| h.fail(StreamId(99), Side::Recv, Failure::Eof));
            continue;
        };
        h.fail(current, Side::Recv, Failure::Eof);
        let actions = h.drain();
        let m = h.t.metrics();
        assert_eq!(m.stream_errors.get("server_eof"), 1, "{state:?}: reason of §12.1");
        assert_eq!(m.rotations.get("failure"), 1, "{state:?}: retry class: ROTATE(failure)");
        // Sent batches await their acks: the close is an abort.
        assert!(actions.contains(&Action::CloseStream { stream: current, mode: CloseMode::Abort }));
        assert_eq!(h.t.state(), State::Disconnected, "{state:?}: a backoff follows");
        assert_eq!(h.t.tracker_len(), 2, "{state:?}: the batches are kept for the next stream");
    }
}

/// Row `stream error, id = pending`: `Connecting` → "as open failed".
#[test]
fn row_stream_error_on_the_pending_id_is_an_open_failure() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        let Some(pending) = h.t.pending_stream() else {
            assert_ne!(state, State::Connecting);
            continue;
        };
        h.fail(pending, Side::Send, Failure::Connection("refused".into()));
        h.drain();
        assert_eq!(h.t.pending_stream(), None);
        assert_eq!(h.t.metrics().stream_errors.get("stream_creation_failed"), 1, "as open failed");
        assert_eq!(h.t.metrics().stream_errors.get("transport_error"), 0, "not a stream's reason");
        assert_eq!(h.t.state(), State::Disconnected);
    }
}

/// Row `ack, id = current`: `Active`, `Draining` → ACK; no current stream elsewhere, where an
/// ack for an earlier stream is ignored.
#[test]
fn row_ack_on_the_current_stream_acknowledges() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        let Some(current) = h.t.current_stream() else {
            assert_ignored(&mut h, state, |h| h.ack(StreamId(99), 1));
            continue;
        };
        h.ack(current, 1);
        h.drain();
        assert_eq!(h.acked, [1], "{state:?}: ACK pops the oldest sent batch");
        assert_eq!(h.t.tracker_len(), 1);
        h.ack(current, 2);
        let actions = h.drain();
        assert_eq!(h.acked, [1, 2]);
        match state {
            State::Active => assert_eq!(h.t.state(), State::Active),
            // ACK step 7: Draining with nothing awaiting ack → ROTATE(soft, drain_complete).
            _ => {
                assert_eq!(h.t.metrics().rotations.get("drain_complete"), 1);
                assert!(
                    actions.contains(&Action::CloseStream { stream: current, mode: CloseMode::Graceful })
                );
                assert_eq!(h.t.state(), State::Connecting, "soft: OPEN at once");
            }
        }
    }
}

/// Row `internal error`: HALT(`Internal`) in `Disconnected`, `Connecting`, `Active`,
/// `Draining`; ignored in `Halted` and `Closed`.
#[test]
fn row_internal_error_halts_with_internal() {
    for state in ALL_STATES {
        let mut h = harness_in(state);
        if matches!(state, State::Halted | State::Closed) {
            assert_ignored(&mut h, state, |h| h.t.handle_internal_error(h.now, "encode".into()));
            continue;
        }
        let (current, pending) = (h.t.current_stream(), h.t.pending_stream());
        h.t.handle_internal_error(h.now, "encode".into());
        let actions = h.drain();
        assert!(matches!(h.halts()[..], [HaltError::Internal { .. }]), "{state:?}: HALT(Internal)");
        assert_eq!(h.t.state(), State::Halted);
        assert_eq!(h.t.metrics().halts.get("internal"), 1);
        assert_eq!(h.t.poll_timeout(), None, "{state:?}: HALT clears the deadlines");
        if let Some(current) = current {
            assert!(actions.contains(&Action::CloseStream { stream: current, mode: CloseMode::Abort }));
        }
        if let Some(pending) = pending {
            // HALT step 1: the pending attempt is abandoned; a late open is closed.
            h.t.handle_stream_opened(h.now, pending);
            assert_eq!(h.drain(), [Action::CloseStream { stream: pending, mode: CloseMode::Abort }]);
        }
    }
}
