//! The one-line setup installs the global subscriber (and the `log` bridge), refuses a second
//! one with a typed error, and its guard delivers at the end.

mod common;

use std::time::Duration;

use common::{KEY, body_json, find, start_intake, wait_delivered};
use stateful_logs_tracing::ShipperError;

#[test]
fn init_installs_the_global_subscriber_once() {
    let intake = start_intake();
    let port = intake.local_addr().port();
    let guard = stateful_logs_tracing::tokio()
        .endpoint("127.0.0.1", port)
        .api_key(KEY)
        .filter("info")
        .client(|client| client.batching(100, 1_000_000, Duration::from_millis(10)))
        .init()
        .unwrap_or_else(|e| panic!("{e}"));

    // A second init finds the `log` bridge's slot taken first (feature `log`, on by default).
    let again = stateful_logs_tracing::smol().endpoint("127.0.0.1", port).api_key(KEY).init();
    assert!(
        matches!(again, Err(ShipperError::LoggerAlreadySet | ShipperError::SubscriberAlreadySet)),
        "{again:?}"
    );
    // The layer form still works beside the global subscriber.
    let (_layer, other) = stateful_logs_tracing::smol()
        .endpoint("127.0.0.1", port)
        .api_key(KEY)
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(other.shutdown().is_clean());

    tracing::info!(answer = 42, "from any thread");
    std::thread::spawn(|| tracing::warn!("from another thread"))
        .join()
        .unwrap_or_else(|_| panic!("the logging thread panicked"));
    tracing::debug!("below the filter");
    tracing_log::log::error!(target: "legacy", "through the log facade");

    let report = guard.shutdown();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.events, 3, "{report}");
    let logs = wait_delivered(&intake, 3);
    assert_eq!(body_json(find(&logs, "from any thread"))["answer"], 42);
    assert_eq!(find(&logs, "from another thread").status.as_deref(), Some("warn"));
    assert_eq!(body_json(find(&logs, "through the log facade"))["logger"], "legacy");
    // The service defaults to the binary's name.
    let service = logs[0].service_name().unwrap_or_default();
    assert!(service.starts_with("init"), "{service}");
}

#[test]
fn an_invalid_filter_is_a_typed_error() {
    let result =
        stateful_logs_tracing::tokio().endpoint("127.0.0.1", 4317).filter("info,my_crate=loud").init();
    match result {
        Err(ShipperError::Filter { origin, .. }) => assert_eq!(origin, "ShipperBuilder::filter"),
        other => panic!("{other:?}"),
    }
}
