//! The layer never blocks: with the intake down and a tiny budget, 8 threads log 10,000 events
//! each; every call returns, what could not be queued is counted (stats and metric), and a
//! notice record tells the intake how many were dropped once sending works again.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{KEY, body_json, dead_port, delivered, start_intake};
use metrics::{Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use stateful_logs::codec::Compression;
use stateful_logs_runtime::ClientBuilder;
use stateful_logs_tracing::{DROPPED_EVENTS_METRIC, ShipperBuilder};
use tracing::Dispatch;
use tracing_subscriber::layer::SubscriberExt;

const THREADS: u64 = 8;
const EVENTS_PER_THREAD: u64 = 10_000;

/// The smallest budget the client accepts: two 4 KiB messages, no compression context.
fn tiny_budget(client: ClientBuilder) -> ClientBuilder {
    client
        .compression(Compression::identity())
        .max_message_bytes(4096)
        .max_buffer_bytes(16 * 1024)
        .backoff(Duration::from_millis(10), Duration::from_millis(50))
}

#[test]
fn many_threads_never_block_while_the_intake_is_down_and_every_event_is_counted() {
    let (layer, guard) = stateful_logs_tracing::tokio()
        .endpoint("127.0.0.1", dead_port())
        .api_key(KEY)
        .client(tiny_budget)
        .shutdown_timeout(Duration::from_millis(500))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    let dispatch = Dispatch::new(tracing_subscriber::registry().with(layer));
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let dispatch = dispatch.clone();
            std::thread::spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || {
                    let mut slowest = Duration::ZERO;
                    for seq in 0..EVENTS_PER_THREAD {
                        let started = Instant::now();
                        tracing::info!(thread, seq, "event {seq} of thread {thread}");
                        slowest = slowest.max(started.elapsed());
                    }
                    slowest
                })
            })
        })
        .collect();
    // A layer that waited for room would never let these threads finish: the intake is down.
    let slowest = threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|_| panic!("a logging thread panicked")))
        .max()
        .unwrap_or_default();
    let elapsed = started.elapsed();
    let stats = guard.stats();
    // Measured, not asserted (wall clock): printed with --nocapture.
    eprintln!("{THREADS} threads: {elapsed:?} in all, slowest event call {slowest:?}; {stats}");
    let emitted = THREADS * EVENTS_PER_THREAD;
    assert_eq!(stats.events, emitted);
    assert_eq!(stats.queued + stats.dropped(), emitted, "{stats}");
    assert!(stats.dropped_full > 0, "a 16 KiB budget cannot hold {emitted} events: {stats}");
    assert_eq!(stats.dropped_halted + stats.dropped_closed, 0, "{stats}");

    let report = guard.shutdown();
    let shutdown = report.shutdown.clone().unwrap_or_else(|| panic!("no report within the deadline"));
    // Every record the client took is accounted for: nothing was acked, all is reported.
    assert_eq!(report.stats.acked, 0);
    assert_eq!(
        report.stats.too_large + shutdown.unacknowledged.len() as u64,
        report.stats.queued + report.stats.notices,
        "{report}"
    );
    assert!(!report.is_clean());
    drop(dispatch);
}

#[test]
fn a_notice_record_tells_how_many_events_were_dropped() {
    let intake = start_intake();
    let (layer, guard) = stateful_logs_tracing::tokio()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key(KEY)
        .client(|client| tiny_budget(client).batching(50, 1_000_000, Duration::from_millis(5)))
        .drop_notice_interval(Duration::from_millis(100))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        // Bursts faster than the client drains a 16 KiB budget, until some are dropped.
        let mut bursts = 0;
        while guard.stats().dropped_full == 0 && bursts < 1_000 {
            for seq in 0..1_000 {
                tracing::info!(seq, padding = "x".repeat(200), "burst event");
            }
            bursts += 1;
        }
        assert!(guard.stats().dropped_full > 0, "nothing was dropped: {:?}", guard.stats());
        // Once the intake has acked, there is room again: a queued event is followed by a
        // notice (at most one per 100 ms) until every drop is announced.
        let deadline = Instant::now() + Duration::from_secs(20);
        while guard.stats().unannounced > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            tracing::info!("probe");
        }
    });
    let report = guard.shutdown();
    assert_eq!(report.stats.unannounced, 0, "{report}");
    assert!(report.stats.notices >= 1, "{report}");
    assert_eq!(report.stats.acked, report.stats.queued + report.stats.notices, "{report}");
    let logs = delivered(&intake);
    let notices: Vec<_> =
        logs.iter().map(body_json).filter(|body| body.get("dropped_events").is_some()).collect();
    assert_eq!(notices.len() as u64, report.stats.notices, "{notices:?}");
    // Every drop is announced exactly once.
    let announced: u64 = notices.iter().filter_map(|notice| notice["dropped_events"].as_u64()).sum();
    assert_eq!(announced, report.stats.dropped(), "{notices:?}");
    for notice in &notices {
        assert_eq!(notice["level"], "WARN");
        assert_eq!(notice["logger"], "stateful_logs_tracing");
        let message = notice["message"].as_str().unwrap_or_default();
        let count = notice["dropped_events"].as_u64().unwrap_or_default();
        assert!(message.starts_with(&format!("{count} events were dropped")), "{message}");
    }
}

#[derive(Default)]
struct Slot(AtomicU64);

impl CounterFn for Slot {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

/// Counters by name and labels.
#[derive(Default)]
struct Counters(Mutex<BTreeMap<String, Arc<Slot>>>);

impl Counters {
    fn get(&self, series: &str) -> u64 {
        let series_map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        series_map.get(series).map_or(0, |slot| slot.0.load(Ordering::Relaxed))
    }
}

impl Recorder for Counters {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        let mut series = self.0.lock().unwrap_or_else(|p| p.into_inner());
        Counter::from_arc(series.entry(name).or_default().clone())
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn drops_are_counted_in_the_metric_by_reason() {
    let counters = Counters::default();
    let (layer, guard) = ShipperBuilder::new(stateful_logs_tracing::Flavor::Smol)
        .endpoint("127.0.0.1", dead_port())
        .api_key(KEY)
        .client(tiny_budget)
        .shutdown_timeout(Duration::from_millis(100))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    let subscriber = tracing_subscriber::registry().with(layer);
    metrics::with_local_recorder(&counters, || {
        tracing::subscriber::with_default(subscriber, || {
            let mut sent = 0;
            while guard.stats().dropped_full == 0 && sent < 100_000 {
                tracing::info!(sent, "filling the budget");
                sent += 1;
            }
            let report = guard.shutdown();
            assert!(report.shutdown.is_some(), "{report}");
            for seq in 0..3 {
                tracing::info!(seq, "after shutdown");
            }
        })
    });
    let full = counters.get(&format!("{DROPPED_EVENTS_METRIC}{{reason=full}}"));
    let closed = counters.get(&format!("{DROPPED_EVENTS_METRIC}{{reason=closed}}"));
    assert!(full > 0);
    assert_eq!(closed, 3);
}
