//! `transport.md` §6, the transition table, row by row: one test per row, named after the
//! row's event, each checking the row's cell in every state (`Disconnected`, `Connecting`,
//! `Active`, `Draining`, `Halted`, `Closed`). A cell written `—` is checked as "nothing
//! happens": no action, the same state, the same streams. Where this implementation departs
//! from a row on purpose, the test cites the Amendment (spec README) or improvement and
//! asserts our behaviour. Time is explicit; nothing sleeps.

mod deadlines;
mod events;

use super::*;

/// The table's configuration: `config()` without the ack timeout, so that no ack deadline
/// fires unless a row asks for one.
fn table_config() -> TransportConfig {
    let mut c = config();
    c.ack_timeout = None;
    c
}

/// What an event must leave alone in a `—` cell.
#[derive(Debug, PartialEq)]
struct Unchanged {
    state: State,
    current: Option<StreamId>,
    pending: Option<StreamId>,
    tracker: usize,
    deadline: Option<Timestamp>,
}

fn observe(h: &Harness) -> Unchanged {
    Unchanged {
        state: h.t.state(),
        current: h.t.current_stream(),
        pending: h.t.pending_stream(),
        tracker: h.t.tracker_len(),
        deadline: h.t.poll_timeout(),
    }
}

/// Asserts that `event` changed nothing and emitted no action.
fn assert_ignored(h: &mut Harness, state: State, event: impl FnOnce(&mut Harness)) {
    h.drain();
    let before = observe(h);
    event(h);
    let actions = h.drain();
    assert!(actions.is_empty(), "{state:?}: `—` cell emitted {actions:?}");
    assert_eq!(observe(h), before, "{state:?}: `—` cell changed the transport");
}

/// A harness in `state` holding two batches (tokens 1, 2) and an abandoned open attempt:
/// the first open timed out (OPEN_TIMEOUT moves `pending` to `abandoned`, no close).
fn harness_with_abandoned(state: State) -> (Harness, StreamId) {
    let mut h = Harness::new(table_config());
    h.push("a", vec![], vec![1]);
    h.push("b", vec![], vec![2]);
    let abandoned = h.expect_open();
    h.fire(); // the open deadline
    h.drain();
    assert_eq!(h.t.state(), State::Disconnected);
    match state {
        State::Disconnected => {}
        State::Connecting => {
            h.fire(); // the backoff deadline
        }
        State::Active | State::Draining | State::Halted => {
            h.fire();
            let s = h.connect();
            h.pull_all(s);
            match state {
                State::Draining => {
                    h.fire(); // the lifetime deadline, with sent batches awaiting acks
                }
                State::Halted => h.fail(s, Side::Recv, status(16, "bad key")),
                _ => {}
            }
        }
        State::Closed => h.t.shutdown(h.now, Some(h.now)),
    }
    h.drain();
    assert_eq!(h.t.state(), state);
    (h, abandoned)
}
