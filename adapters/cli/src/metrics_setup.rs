//! Metrics: the Prometheus endpoint of `--metrics-listen`, and an in-process capture of the
//! client's counters for the demo's table.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

/// The metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve metrics on {address}: {message}; pick a free address for --metrics-listen")]
pub struct MetricsError {
    address: SocketAddr,
    message: String,
}

/// Serves every metric recorded through the `metrics` facade in the Prometheus text format on
/// `http://ADDRESS/metrics` (call from within the tokio runtime).
pub fn serve_prometheus(address: SocketAddr) -> Result<(), MetricsError> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(address)
        .install()
        .map_err(|e| MetricsError { address, message: e.to_string() })
}

/// A recorder that keeps every counter and gauge in memory, to read them back.
#[derive(Clone, Default)]
pub struct Capture {
    counters: Arc<Mutex<HashMap<Key, Arc<AtomicU64>>>>,
}

impl Capture {
    /// Installs it as the process's recorder; `None` if another recorder is installed.
    pub fn install() -> Option<Capture> {
        let capture = Capture::default();
        metrics::set_global_recorder(capture.clone()).ok()?;
        Some(capture)
    }

    /// The sum of counter `name` over all its label sets.
    pub fn counter_sum(&self, name: &str) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.iter().filter(|(key, _)| key.name() == name).map(|(_, v)| v.load(Ordering::Relaxed)).sum()
    }

    fn slot(&self, key: &Key) -> Arc<AtomicU64> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.entry(key.clone()).or_default().clone()
    }
}

impl Recorder for Capture {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.slot(key))
    }

    // Gauges are not needed by the demo's table; they go nowhere.
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}
