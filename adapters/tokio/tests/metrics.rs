//! The client's metrics reach the `metrics` facade as `stateful_logs_*` series, and never
//! carry the API key.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use stateful_logs_intake::Intake;
use stateful_logs_tokio::{BuildTokio, Client, ClientBuilder, Record};

#[derive(Default)]
struct Value(AtomicU64);

impl CounterFn for Value {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Value {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, value: f64) {
        self.0.store(value as u64, Ordering::Relaxed);
    }
}

impl HistogramFn for Value {
    fn record(&self, _: f64) {}
}

/// Keeps every series by its full key (name and labels).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<BTreeMap<String, Arc<Value>>>>);

impl Capture {
    fn slot(&self, key: &Key) -> Arc<Value> {
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        self.0.lock().unwrap_or_else(|p| p.into_inner()).entry(name).or_default().clone()
    }

    fn get(&self, series: &str) -> Option<u64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).get(series).map(|v| v.0.load(Ordering::Relaxed))
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.slot(key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.slot(key))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_metrics_are_exported_without_the_api_key() {
    let capture = Capture::default();
    if metrics::set_global_recorder(capture.clone()).is_err() {
        panic!("another recorder is installed");
    }
    let intake = Intake::builder()
        .api_key("metrics-secret-key")
        .bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let client: Client = ClientBuilder::new()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key("metrics-secret-key")
        .batching(10, 1_000_000, Duration::from_millis(20))
        .build_tokio()
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = client.handle();
    for i in 0..50 {
        let record = Record::new(1_700_000_000_000 + i, format!("GET /item/{i} 200 in {i} ms"))
            .with_ack_token(i as u64);
        handle.send(record).await.unwrap_or_else(|_| panic!("refused"));
    }
    let acks = client.acks();
    for _ in 0..50 {
        let entry = tokio::time::timeout(Duration::from_secs(20), acks.recv()).await;
        assert!(matches!(entry, Ok(Ok(Ok(_)))), "{entry:?}");
    }
    // Idle now: a scrape still sees the final values, exported after the last ack without
    // another event (coalesced exports, at least one after the last change).
    let settled = async {
        while capture.get("stateful_logs_records_acked{pipeline=0}") != Some(50)
            || capture.get("stateful_logs_inflight_batches{pipeline=0}") != Some(0)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(5), settled).await.is_ok(),
        "metrics stayed stale while idle"
    );
    let report = client.shutdown(Duration::from_secs(10)).await;
    assert_eq!(report.acked, 50);
    assert_eq!(capture.get("stateful_logs_records_acked{pipeline=0}"), Some(50));
    assert!(capture.get("stateful_logs_streams_opened{pipeline=0}").is_some_and(|n| n >= 1));
    assert!(capture.get("stateful_logs_pattern_logs{pipeline=0}").is_some());
    assert!(capture.get("stateful_logs_inflight_batches{pipeline=0}").is_some());
    let series = capture.0.lock().unwrap_or_else(|p| p.into_inner());
    assert!(series.keys().all(|k| k.starts_with("stateful_logs_")), "{:?}", series.keys());
    assert!(series.keys().all(|k| !k.contains("metrics-secret-key")));
}
