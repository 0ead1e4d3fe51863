//! Dropping the guard delivers the events logged just before, from a plain thread and from
//! inside tokio runtimes of both flavours (where waiting for a client on the same runtime
//! would deadlock), with the tokio and the smol client.

mod common;

use std::time::Duration;

use common::{KEY, body_json, start_intake, wait_delivered};
use stateful_logs_runtime::harness::IntakeThread;
use stateful_logs_tracing::{ShipperBuilder, ShipperGuard, ShipperLayer};
use tracing_subscriber::layer::SubscriberExt;

const EVENTS: u64 = 20;

/// A shipper whose batches wait a minute: only the guard's shutdown can send these events.
fn shipper(builder: ShipperBuilder, intake: &IntakeThread) -> (ShipperLayer, ShipperGuard) {
    builder
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key(KEY)
        .client(|client| client.batching(10_000, 5_000_000, Duration::from_secs(60)))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn log_events(layer: ShipperLayer) {
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        for seq in 0..EVENTS {
            tracing::info!(seq, "just before the end");
        }
    });
}

fn assert_all_arrived(intake: &IntakeThread) {
    let logs = wait_delivered(intake, EVENTS as usize);
    let mut seqs: Vec<u64> = logs.iter().filter_map(|log| body_json(log)["seq"].as_u64()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..EVENTS).collect::<Vec<_>>());
}

#[test]
fn dropping_the_guard_on_a_plain_thread_flushes() {
    let intake = start_intake();
    let (layer, guard) = shipper(stateful_logs_tracing::tokio(), &intake);
    log_events(layer);
    assert_eq!(guard.stats().queued, EVENTS);
    drop(guard);
    assert_all_arrived(&intake);
}

#[tokio::test(flavor = "current_thread")]
async fn dropping_the_guard_inside_a_current_thread_runtime_flushes() {
    let intake = IntakeThread::bind(stateful_logs_intake::Intake::builder().api_key(KEY))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (layer, guard) = shipper(stateful_logs_tracing::tokio(), &intake);
    log_events(layer);
    // This runtime's only thread waits here: the client does not run on it.
    drop(guard);
    assert_all_arrived(&intake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn dropping_the_guard_inside_a_multi_thread_runtime_flushes() {
    let intake = IntakeThread::bind(stateful_logs_intake::Intake::builder().api_key(KEY))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (layer, guard) = shipper(stateful_logs_tracing::tokio(), &intake);
    log_events(layer);
    let report = guard.shutdown();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.acked, EVENTS);
    assert_all_arrived(&intake);
}

#[test]
fn the_smol_client_ships_and_its_guard_flushes() {
    let intake = start_intake();
    let (layer, guard) = shipper(stateful_logs_tracing::smol(), &intake);
    futures_lite::future::block_on(async { log_events(layer) });
    let report = guard.shutdown();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.acked, EVENTS);
    assert_all_arrived(&intake);
}

#[test]
fn a_halt_is_reported_and_later_events_are_counted_as_dropped() {
    let intake = start_intake();
    let (layer, guard) = stateful_logs_tracing::smol()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key("not-the-key")
        .client(|client| client.batching(1, 5_000_000, Duration::from_millis(1)))
        .shutdown_timeout(Duration::from_millis(500))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!("refused by the intake");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while guard.last_halt().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        tracing::info!("while halted");
    });
    let report = guard.shutdown();
    let halt = report.halted().map(ToString::to_string).unwrap_or_default();
    assert!(halt.contains("API key"), "{report}");
    assert_eq!(report.stats.dropped_halted, 1, "{report}");
    assert_eq!(report.unacknowledged(), 1, "{report}");
    assert!(!report.is_clean());
}
