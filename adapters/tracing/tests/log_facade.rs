//! `log` records reach the layer through `tracing-log` with their own target and level, and
//! without the `log.*` fields the bridge adds.

mod common;

use common::{KEY, body_json, find, start_intake, wait_delivered};
use serde_json::json;
use stateful_logs::Profile;
use tracing_log::log;
use tracing_subscriber::layer::SubscriberExt;

#[test]
fn log_records_are_shipped_like_events() {
    tracing_log::LogTracer::init().unwrap_or_else(|e| panic!("{e}"));
    let intake = start_intake();
    let (layer, guard) = stateful_logs_tracing::tokio()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key(KEY)
        .profile(Profile::V2)
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        log::info!(target: "legacy::db", "connected to {}", "db1");
        log::warn!(target: "legacy::db", "pool at {}%", 90);
        log::info!(target: "stateful_logs_runtime", "the client's own log record");
    });
    let report = guard.shutdown();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.events, 2, "{report}");
    let logs = wait_delivered(&intake, 2);
    let connected = find(&logs, "connected to db1");
    assert_eq!(connected.status.as_deref(), Some("info"));
    assert_eq!(
        body_json(connected),
        json!({"message": "connected to db1", "level": "INFO", "logger": "legacy::db"})
    );
    let pool = find(&logs, "pool at 90%");
    assert_eq!(pool.status.as_deref(), Some("warn"));
    assert_eq!(body_json(pool), json!({"message": "pool at 90%", "level": "WARN", "logger": "legacy::db"}));
}
