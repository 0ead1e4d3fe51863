//! The loopback's own behaviour: a perfect network delivers everything, the same seed gives
//! the same run, lost and delayed acks are survived or waited for, and a goal that cannot be
//! reached is reported instead of spun on.

use std::time::Duration;

use super::loopback::Loopback;
use super::network::{AckDelivery, LoopbackConfig, LoopbackError, Peer};
use super::round_trip::{assert_equivalent, base_config};
use crate::transport::AckOutcome;
use crate::{PipelineConfig, Profile, Record, RejectReason};

fn records(n: u64) -> Vec<Record> {
    (0..n)
        .map(|i| {
            Record::new(
                1_700_000_000_000 + i as i64,
                format!("user {} logged in from 10.0.0.{}", i % 7, i % 3),
            )
            .with_status("info")
            .with_ack_token(i)
        })
        .collect()
}

fn config(profile: Profile) -> PipelineConfig {
    let mut c = base_config(profile);
    c.max_batch_items = 4;
    c.transport.ack_timeout = Some(Duration::from_secs(2));
    c
}

/// Hands `records` over, pumping after each, then finishes; every record must be delivered
/// once, equal, and acked.
fn run(profile: Profile, settings: LoopbackConfig, input: &[Record]) -> Loopback {
    let mut lo = Loopback::new(config(profile), settings).expect("valid");
    for r in input {
        lo.record(r.clone()).expect("accepted");
        lo.pump().expect("pumped");
    }
    let summary = lo.finish().expect("finished");
    assert_eq!(summary.unacknowledged, 0);
    assert_eq!(lo.delivered.len(), input.len());
    for (i, (got, want)) in lo.delivered.iter().zip(input).enumerate() {
        assert_equivalent(profile, got, want, i);
    }
    assert!(lo.acks.iter().all(|e| e.outcome == AckOutcome::Acked));
    assert_eq!(
        lo.acks.iter().map(|e| e.token).collect::<Vec<_>>(),
        (0..input.len() as u64).collect::<Vec<_>>()
    );
    lo
}

#[test]
fn a_perfect_network_delivers_every_record_and_the_same_seed_gives_the_same_bytes() {
    for profile in Profile::ALL {
        let settings = LoopbackConfig::perfect(&config(profile));
        let a = run(profile, settings.clone(), &records(30));
        let b = run(profile, settings, &records(30));
        assert_eq!(a.wire, b.wire, "{profile}: deterministic");
        assert_eq!(a.counters, b.counters);
        assert_eq!(
            (a.counters.streams_opened, a.counters.acks_lost, a.counters.duplicate_batches),
            (1, 0, 0)
        );
        let wire: u64 = a.wire.values().flatten().map(|b| b.data.len() as u64).sum();
        assert_eq!(wire, a.counters.wire_bytes);
    }
}

#[test]
fn lost_acks_are_survived_by_failure_rotations_and_replays() {
    let mut settings = LoopbackConfig::perfect(&config(Profile::V1));
    settings.ack_loss_percent = 30;
    settings.seed = 5;
    let lo = run(Profile::V1, settings.clone(), &records(60));
    assert!(lo.counters.acks_lost > 0, "{:?}", lo.counters);
    // A lost ack makes the next one a batch id mismatch, or the last one an ack timeout:
    // either is a failure rotation, and the new stream replays what was not acked.
    let m = lo.pipeline.transport().metrics();
    assert!(m.stream_errors.get("batch_id_mismatch") + m.stream_errors.get("ack_timeout") > 0);
    assert!(m.rotations.get("failure") > 0 && lo.counters.streams_opened > 1);
    assert!(lo.counters.duplicate_batches > 0, "replayed batches were delivered again, and skipped");
    // Seeded: the same losses again.
    assert_eq!(run(Profile::V1, settings, &records(60)).counters, lo.counters);
}

#[test]
fn delayed_acks_arrive_when_the_clock_reaches_them() {
    let mut settings = LoopbackConfig::perfect(&config(Profile::V2));
    settings.acks = AckDelivery::AfterMillis(300);
    let mut lo = Loopback::new(config(Profile::V2), settings).expect("valid");
    for r in records(8) {
        lo.record(r).expect("accepted");
    }
    lo.pump().expect("pumped");
    assert!(lo.acks_in_flight() > 0);
    assert!(lo.acks.is_empty(), "nothing arrives before its time");
    let start = lo.now;
    lo.drive().expect("driven");
    assert_eq!(lo.acks.len(), 8);
    assert_eq!(lo.now, start.add_millis(300), "the clock jumped to the acks' arrival");
    assert_eq!(lo.counters.acks_delivered, lo.counters.acks_sent);
}

#[test]
fn a_killed_stream_loses_its_acks_and_the_records_come_through_on_the_next() {
    let mut settings = LoopbackConfig::perfect(&config(Profile::V1));
    settings.acks = AckDelivery::Held;
    let mut lo = Loopback::new(config(Profile::V1), settings).expect("valid");
    let input = records(8);
    for r in &input {
        lo.record(r.clone()).expect("accepted");
    }
    lo.pump().expect("pumped");
    assert!(lo.acks_in_flight() > 0);
    lo.kill_stream().expect("killed");
    assert_eq!(lo.acks_in_flight(), 0);
    assert_eq!(lo.stream(), None, "waiting out the backoff");
    lo.finish().expect("finished");
    assert_eq!(lo.counters.streams_killed, 1);
    assert!(lo.counters.acks_lost > 0);
    assert_eq!(lo.delivered.len(), input.len(), "the replay's duplicates are skipped");
}

#[test]
fn a_goal_that_cannot_be_reached_is_a_livelock_error_not_a_spin() {
    let mut settings = LoopbackConfig::perfect(&config(Profile::V1));
    settings.acks = AckDelivery::Held;
    let mut lo = Loopback::new(config(Profile::V1), settings).expect("valid");
    let result = lo.drive_until(50, |_| false);
    assert!(matches!(result, Err(LoopbackError::Livelock { .. })), "{result:?}");
    // Held acks are never delivered by `drive`: every record cannot resolve.
    lo.record(records(1).remove(0)).expect("accepted");
    lo.flush().expect("flushed");
    assert!(matches!(lo.drive_until(50, |lo| !lo.acks.is_empty()), Err(LoopbackError::Livelock { .. })));
}

#[test]
fn an_ack_only_peer_acks_every_batch_unread() {
    let mut settings = LoopbackConfig::perfect(&config(Profile::V1));
    settings.peer = Peer::AckOnly;
    let mut lo = Loopback::new(config(Profile::V1), settings).expect("valid");
    for r in records(10) {
        lo.record(r).expect("accepted");
    }
    lo.flush().expect("flushed");
    lo.drive().expect("driven");
    assert!(lo.receiver.is_none() && lo.delivered.is_empty());
    assert_eq!(lo.acks.len(), 10);
    assert_eq!(lo.counters.acks_sent, lo.counters.batches_sent, "batch 0 included");
}

#[test]
fn a_refused_record_is_reported_with_its_reason() {
    let mut lo =
        Loopback::new(config(Profile::V1), LoopbackConfig::perfect(&config(Profile::V1))).expect("valid");
    lo.finish().expect("finished");
    let refused = lo.record(records(1).remove(0));
    assert!(matches!(refused, Err(LoopbackError::Rejected(RejectReason::Closed))), "{refused:?}");
}
