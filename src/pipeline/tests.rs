//! The flush-failure path (`encoding.md` §4 step 7), which the public API cannot provoke:
//! a datum the profile cannot carry is slipped into the open batch.

use super::*;
use crate::datum::{Datum, LogContent, LogDatum};
use crate::transport::{AckEntry, ApiKey, HaltError};

fn pipeline() -> Pipeline {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))])
        .with_profile(crate::Profile::V2);
    c.max_batch_items = 10;
    let mut p = Pipeline::new(c, 3, Timestamp(0)).unwrap();
    while p.poll_action().is_some() {}
    p
}

fn drain(p: &mut Pipeline) -> Vec<Action> {
    std::iter::from_fn(|| p.poll_action()).collect()
}

/// An empty `raw_log` cannot be written in `v2`: encoding it fails.
fn poison(p: &mut Pipeline) {
    p.batcher.datums_mut().push(Datum::Log(LogDatum {
        timestamp_ms: 0,
        content: LogContent::Raw(String::new()),
        status: None,
        service: None,
        tags: None,
        uuid: None,
    }));
    p.batcher.record_added(Timestamp(0), 0, true, 0);
    p.acks.push_waiting(77);
}

#[test]
fn a_batch_that_cannot_be_encoded_stays_open_and_halts_with_internal() {
    let mut p = pipeline();
    poison(&mut p);
    p.flush(Timestamp(1));
    let actions = drain(&mut p);
    assert!(
        actions.iter().any(|a| matches!(a, Action::Halted(HaltError::Internal { .. }))),
        "halted with Internal: {actions:?}"
    );
    assert_eq!(p.state(), State::Halted);
    assert_eq!(p.open_batch_records(), 1, "the batch is kept, unchanged");
    assert!(!p.input_ready());
    assert_eq!(p.poll_timeout(), None, "no retry loop");
    // resume retries the flush, which fails again: one more halt, nothing lost.
    p.resume(Timestamp(2));
    let actions = drain(&mut p);
    assert_eq!(actions.iter().filter(|a| matches!(a, Action::Halted(_))).count(), 1);
    assert_eq!(p.open_batch_records(), 1);
    // Shutdown reports the token once, unacknowledged.
    p.shutdown(Timestamp(3), None);
    let actions = drain(&mut p);
    let unacknowledged = AckEntry { token: 77, outcome: AckOutcome::Unacknowledged };
    assert!(actions.contains(&Action::Acknowledge(vec![unacknowledged])), "{actions:?}");
    let summary = ShutdownSummary { acked: 0, dropped: 0, unacknowledged: 1 };
    assert_eq!(actions.last(), Some(&Action::ShutdownComplete(summary)), "{actions:?}");
}
