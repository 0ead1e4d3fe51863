//! Pipeline scenarios (spec `transport.md` §2.3, §14.2; `encoding.md` §3): records in, batches
//! pulled, acks in, tokens out in input order; backpressure; waiting flushes; shutdown. Driven
//! step by step through the core's loopback (`stateful_logs::testing`), acks handed over one
//! at a time.

use std::time::Duration;

use stateful_logs::testing::{AckDelivery, Loopback, LoopbackConfig, LoopbackError};
use stateful_logs::transport::{AckOutcome, ApiKey, CloseMode, DropReason, EndpointConfig, State};
use stateful_logs::{PipelineConfig, Profile, Record, RejectReason, ShutdownSummary, StreamId, Timestamp};

fn config(max_items: u32) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("key"))]);
    c.transport.lifetime_jitter_percent = 0;
    c.max_batch_items = max_items;
    c.translator = stateful_logs::translator::TranslatorConfig::default();
    c
}

/// A loopback with a receiver whose acks wait until the test hands them over one by one.
fn loopback(config: PipelineConfig) -> Loopback {
    let mut settings = LoopbackConfig::perfect(&config);
    settings.seed = 7;
    settings.acks = AckDelivery::Held;
    Loopback::new(config, settings).expect("valid config")
}

/// Hands the Pipeline record `token` (status `info`); the refusal's reason, if refused.
fn record(lo: &mut Loopback, token: u64, content: &str) -> Result<(), RejectReason> {
    let r = Record::new(1_700_000_000_000 + token as i64, content.to_owned())
        .with_ack_token(token)
        .with_status("info");
    lo.record(r).map_err(|e| match e {
        LoopbackError::Rejected(reason) => reason,
        other => panic!("{other}"),
    })
}

/// Pulls every batch the stream can take; returns the regular batch ids pulled.
fn pull_all(lo: &mut Loopback) -> Vec<u32> {
    lo.pump().expect("pulled");
    lo.take_wire().map(|b| b.batch_id).filter(|&id| id != 0).collect()
}

/// Hands over the acks in flight up to and including the next regular batch's.
fn ack_next(lo: &mut Loopback) {
    while let Some((_, id)) = lo.deliver_next_ack().expect("acked") {
        if id != 0 {
            return;
        }
    }
    panic!("no regular batch's ack in flight");
}

fn acked_tokens(lo: &Loopback) -> Vec<u64> {
    lo.acks.iter().map(|e| e.token).collect()
}

/// Moves the clock to `t` (never back) and handles the deadlines due by then.
fn advance_to(lo: &mut Loopback, t: Timestamp) {
    lo.advance(t.millis_since(lo.now)).expect("no livelock");
}

#[test]
fn records_flow_through_batches_and_tokens_come_back_in_input_order() {
    let mut d = loopback(config(2));
    for token in 1..=5 {
        record(&mut d, token, &format!("line {token}")).unwrap();
    }
    assert_eq!(d.pipeline.open_batch_records(), 1, "two full batches were flushed, one record waits");
    d.flush().unwrap();
    assert_eq!(pull_all(&mut d), [1, 2, 3]);
    assert!(d.acks.is_empty());
    ack_next(&mut d);
    assert_eq!(acked_tokens(&d), [1, 2]);
    ack_next(&mut d);
    ack_next(&mut d);
    assert_eq!(acked_tokens(&d), [1, 2, 3, 4, 5]);
    assert!(d.acks.iter().all(|e| e.outcome == AckOutcome::Acked));
    let m = d.pipeline.metrics();
    assert_eq!(m.transport.records_acked, 5);
    // One pattern, `line <int>`, defined on the shape's third log; the first two go raw.
    assert_eq!((m.translator.pattern_logs, m.translator.raw_logs), (3, 2));
    assert_eq!(m.translator.dict_entries_added, 1, "the status is defined once");
    assert!(m.state_size_bytes > 0);
}

#[test]
fn backpressure_rejects_full_then_input_ready_returns_after_an_ack() {
    let mut c = config(1);
    c.transport.inflight_capacity = 1;
    let mut d = loopback(c);
    record(&mut d, 1, "a").unwrap(); // flushed at once: the tracker is now full
    record(&mut d, 2, "b").unwrap(); // fills the open batch; its flush waits
    assert!(!d.pipeline.input_ready());
    let rejected = d.pipeline.handle_record(d.now, Record::new(3, "c").with_ack_token(3)).unwrap_err();
    assert_eq!(rejected.reason, RejectReason::Full);
    assert_eq!(rejected.record, Record::new(3, "c").with_ack_token(3), "handed back unchanged");
    assert_eq!(pull_all(&mut d), [1]);
    ack_next(&mut d);
    assert!(d.pipeline.input_ready(), "the ack freed room and the waiting flush ran");
    assert_eq!(d.pipeline.open_batch_records(), 0);
    record(&mut d, 3, "c").unwrap(); // its flush waits behind batch 2
    assert_eq!(pull_all(&mut d), [2]);
    ack_next(&mut d);
    assert_eq!(pull_all(&mut d), [3]);
    ack_next(&mut d);
    assert_eq!(acked_tokens(&d), [1, 2, 3]);
}

#[test]
fn a_due_flush_waits_while_the_tracker_is_full_and_its_deadline_is_not_reported() {
    let mut c = config(100);
    c.transport.inflight_capacity = 1;
    c.transport.ack_timeout = None;
    let mut d = loopback(c);
    record(&mut d, 1, "a").unwrap();
    let deadline = Timestamp(5000);
    assert_eq!(
        d.pipeline.poll_timeout().map(|t| t.min(deadline)),
        Some(deadline),
        "flush deadline = first record + 5 s"
    );
    advance_to(&mut d, deadline);
    assert_eq!(pull_all(&mut d), [1], "the deadline flushed the batch");
    advance_to(&mut d, Timestamp(6000));
    record(&mut d, 2, "b").unwrap();
    assert_eq!(
        d.pipeline.poll_timeout(),
        d.pipeline.transport().poll_timeout(),
        "no room: the flush deadline is not reported"
    );
    advance_to(&mut d, Timestamp(11_000));
    // The driver wakes for another reason: the flush is due but has no room.
    d.pipeline.handle_timeout(d.now);
    d.settle().unwrap();
    assert_eq!(d.pipeline.open_batch_records(), 1, "the flush waits");
    assert!(d.pipeline.poll_timeout().is_none_or(|t| t > d.now), "no busy loop");
    ack_next(&mut d);
    assert_eq!(d.pipeline.open_batch_records(), 0, "the ack freed room and the flush ran");
    assert_eq!(pull_all(&mut d), [2]);
}

#[test]
fn poll_timeout_moves_past_a_handled_flush_deadline() {
    let mut d = loopback(config(100));
    advance_to(&mut d, Timestamp(100));
    record(&mut d, 1, "a").unwrap();
    advance_to(&mut d, Timestamp(4000));
    record(&mut d, 2, "b").unwrap();
    assert_eq!(d.pipeline.poll_timeout(), Some(Timestamp(5100)), "measured from the batch's first record");
    advance_to(&mut d, Timestamp(5100));
    assert!(d.pipeline.poll_timeout().is_none_or(|t| t > d.now));
    assert_eq!(pull_all(&mut d), [1]);
}

#[test]
fn too_large_records_are_dropped_and_their_tokens_resolve_in_order() {
    let mut c = config(100);
    c.max_batch_bytes = 10;
    let mut d = loopback(c);
    record(&mut d, 1, "small").unwrap();
    record(&mut d, 2, "this is far too large").unwrap();
    record(&mut d, 3, "tiny").unwrap();
    assert!(d.acks.is_empty(), "token 2 waits behind token 1");
    d.flush().unwrap();
    pull_all(&mut d);
    ack_next(&mut d);
    let outcomes: Vec<(u64, AckOutcome)> = d.acks.iter().map(|e| (e.token, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [(1, AckOutcome::Acked), (2, AckOutcome::Dropped(DropReason::TooLarge)), (3, AckOutcome::Acked)]
    );
    let m = d.pipeline.metrics();
    assert_eq!(m.records_dropped("too_large"), 1);
    assert_eq!(m.bytes_dropped("too_large"), 21);
    assert_eq!(m.transport.records_acked, 2);
}

#[test]
fn a_record_that_does_not_fit_flushes_the_open_batch_first() {
    let mut c = config(100);
    c.max_batch_bytes = 10;
    let mut d = loopback(c);
    record(&mut d, 1, "123456").unwrap();
    record(&mut d, 2, "12345").unwrap(); // 11 > 10: batch 1 is flushed first
    assert_eq!(d.pipeline.open_batch_records(), 1);
    record(&mut d, 3, "1234").unwrap(); // 5 + 4 = 9
    record(&mut d, 4, "1").unwrap(); // 10: full, flushed
    assert_eq!(d.pipeline.open_batch_records(), 0);
    assert_eq!(pull_all(&mut d), [1, 2]);
}

#[test]
fn shutdown_reports_the_open_batch_unacknowledged_in_input_order() {
    let mut c = config(2);
    c.transport.inflight_capacity = 1;
    c.transport.ack_timeout = None;
    let mut d = loopback(c);
    record(&mut d, 1, "a").unwrap();
    record(&mut d, 2, "b").unwrap(); // batch 1 → tracker full
    record(&mut d, 3, "c").unwrap();
    record(&mut d, 4, "d").unwrap(); // full open batch waits
    assert_eq!(pull_all(&mut d), [1]);
    d.pipeline.shutdown(d.now, Some(Timestamp(1000)));
    d.settle().unwrap();
    assert_eq!(record(&mut d, 5, "e"), Err(RejectReason::ShuttingDown));
    assert!(!d.pipeline.input_ready());
    assert_eq!(d.pipeline.poll_timeout(), Some(Timestamp(1000)));
    advance_to(&mut d, Timestamp(1000));
    let outcomes: Vec<(u64, AckOutcome)> = d.acks.iter().map(|e| (e.token, e.outcome)).collect();
    assert_eq!(
        outcomes,
        [
            (1, AckOutcome::Unacknowledged),
            (2, AckOutcome::Unacknowledged),
            (3, AckOutcome::Unacknowledged),
            (4, AckOutcome::Unacknowledged)
        ]
    );
    assert_eq!(d.shutdown, Some(ShutdownSummary { acked: 0, dropped: 0, unacknowledged: 4 }));
    assert_eq!(d.pipeline.state(), State::Closed);
    let m = d.pipeline.metrics();
    assert_eq!(m.records_dropped("unacknowledged_at_shutdown"), 4);
    assert_eq!(m.pipeline_records_dropped.get("unacknowledged_at_shutdown"), 2, "the open batch's part");
    assert_eq!(record(&mut d, 6, "f"), Err(RejectReason::Closed));
    assert_eq!(d.closes.len(), 1, "the stream is closed exactly once");
}

#[test]
fn shutdown_flushes_and_completes_once_everything_is_acked() {
    let mut d = loopback(config(100));
    record(&mut d, 1, "a").unwrap();
    record(&mut d, 2, "b").unwrap();
    d.pipeline.shutdown(d.now, None);
    d.settle().unwrap();
    assert_eq!(d.pipeline.open_batch_records(), 0, "shutdown flushed the open batch");
    assert_eq!(pull_all(&mut d), [1]);
    assert!(d.shutdown.is_none());
    ack_next(&mut d);
    assert_eq!(acked_tokens(&d), [1, 2]);
    assert_eq!(d.shutdown.map(|s| s.unacknowledged), Some(0));
    assert_eq!(d.closes, [(StreamId(1), CloseMode::Graceful)]);
    // Shutdown again is a no-op.
    d.pipeline.shutdown(d.now, None);
    d.settle().unwrap();
}

#[test]
fn shutdown_with_an_empty_pipeline_completes_at_once() {
    let mut d = loopback(config(100).with_profile(Profile::V2));
    d.pipeline.shutdown(d.now, Some(Timestamp(10)));
    d.settle().unwrap();
    assert_eq!(d.shutdown.map(|s| s.unacknowledged), Some(0));
}

#[test]
fn records_without_tokens_get_no_ack_entry() {
    let mut d = loopback(config(100));
    d.pipeline.handle_record(d.now, Record::new(0, "no token")).unwrap();
    record(&mut d, 9, "token").unwrap();
    d.flush().unwrap();
    pull_all(&mut d);
    ack_next(&mut d);
    assert_eq!(acked_tokens(&d), [9]);
}

#[test]
fn batch_zero_carries_the_acked_definitions_after_a_rotation() {
    let mut c = config(100);
    c.transport.stream_lifetime = Duration::from_secs(60);
    let mut d = loopback(c);
    record(&mut d, 1, "a").unwrap();
    d.flush().unwrap();
    pull_all(&mut d);
    ack_next(&mut d);
    // Fail the stream; the next one starts with batch 0 holding the status entry.
    let failed = d.stream().expect("a stream");
    d.kill_stream().unwrap();
    let deadline = d.pipeline.poll_timeout().expect("a backoff deadline");
    advance_to(&mut d, deadline);
    let next = d.stream().expect("the next stream opened");
    assert_ne!(next, failed);
    d.pump().unwrap();
    assert_eq!(d.wire[&next].first().map(|b| b.batch_id), Some(0), "batch 0 first");
}

#[test]
fn the_same_seed_and_calls_give_the_same_actions_and_bytes() {
    let run = || {
        let mut d = loopback(config(3).with_profile(Profile::V2));
        let mut bytes = Vec::new();
        for token in 1..=10 {
            record(&mut d, token, &format!("line {token} of many")).unwrap();
            if token % 4 == 0 {
                d.pump().unwrap();
                bytes.extend(d.take_wire().map(|b| (b.batch_id, b.data)));
            }
        }
        (bytes, d.acks.len())
    };
    assert_eq!(run(), run());
}
