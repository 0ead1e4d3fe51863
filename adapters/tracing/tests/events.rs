//! Events in, logs at the intake: message, level, target, typed fields and span fields,
//! exact, in both profiles; the client's own events are not shipped.

mod common;

use std::time::Duration;

use common::{KEY, body_json, find, start_intake, wait_delivered};
use serde_json::json;
use stateful_logs::Profile;
use stateful_logs::receiver::{LogBody, ReceivedLog};
use stateful_logs_tracing::ShipperReport;
use tracing_subscriber::layer::SubscriberExt;

/// Ships the same events with `profile`; returns the delivered logs, the report and the wall
/// clock (ms) around the events.
fn ship(profile: Profile) -> (Vec<ReceivedLog>, ShipperReport, i64, i64) {
    let intake = start_intake();
    let (layer, guard) = stateful_logs_tracing::tokio()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key(KEY)
        .profile(profile)
        .service("checkout")
        .hostname("web-1")
        .tag("env:test")
        .client(|client| client.batching(100, 1_000_000, Duration::from_millis(20)))
        .layer()
        .unwrap_or_else(|e| panic!("{e}"));
    let before = now_ms();
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(
            target: "app::orders",
            user = "ann",
            items = 3_u64,
            total = 12.5,
            paid = true,
            delta = -7_i64,
            big = 170_141_183_460_469_231_731_687_303_715_884_105_727_i128,
            "order placed"
        );
        tracing::error!(target: "app::orders", code = 500, reason = "boom", "payment failed");
        let request = tracing::info_span!("request", request_id = 42_u64, path = "/cart");
        let _request = request.enter();
        let query = tracing::debug_span!(
            "query",
            table = "orders",
            request_id = 43_u64,
            rows = tracing::field::Empty
        );
        let _query = query.enter();
        query.record("rows", 0_u64);
        tracing::warn!(target: "app::db", slow = true, "empty result");
        tracing::info!(target: "app::db", level = "mine", spans = 2, "reserved names");
        tracing::info!(target: "app::db", only = 1);
        tracing::info!(target: "stateful_logs_runtime::driver", "the client's own event");
        tracing::debug!(target: "h2::codec", "a transport frame");
    });
    let after = now_ms();
    let report = guard.shutdown();
    let logs = wait_delivered(&intake, 5);
    (logs, report, before, after)
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as i64)
}

fn spanned(message: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut object = json!({
        "message": message,
        "level": "WARN",
        "logger": "app::db",
        "span": {"request_id": 43, "path": "/cart", "table": "orders", "rows": 0},
        "spans": ["request", "query"],
    });
    for (name, value) in fields.as_object().into_iter().flatten() {
        object[name] = value.clone();
    }
    object
}

fn check(profile: Profile) {
    let (logs, report, before, after) = ship(profile);
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.stats.events, 5, "the client's and h2's events are not shipped: {report}");
    assert_eq!(report.stats.acked, 5);
    assert_eq!(logs.len(), 5, "{logs:#?}");
    for log in &logs {
        assert!(
            (before..=after).contains(&log.timestamp_ms),
            "{} not in {before}..={after}",
            log.timestamp_ms
        );
        assert_eq!(log.service_name(), Some("checkout"));
        assert_eq!(log.last_tag_value("hostname:"), Some("web-1"));
        assert!(log.tags.as_deref().is_some_and(|tags| tags.split(',').any(|t| t == "env:test")));
    }

    let placed = find(&logs, "order placed");
    assert_eq!(placed.status.as_deref(), Some("info"));
    let body = body_json(placed);
    assert_eq!(
        body,
        json!({
            "message": "order placed", "level": "INFO", "logger": "app::orders",
            "user": "ann", "items": 3, "total": 12.5, "paid": true, "delta": -7,
            "big": 170_141_183_460_469_231_731_687_303_715_884_105_727_i128,
        })
    );
    assert!(body["items"].is_u64() && body["delta"].is_i64() && body["total"].is_f64());
    assert!(body["paid"].is_boolean() && body["user"].is_string());

    let failed = find(&logs, "payment failed");
    assert_eq!(failed.status.as_deref(), Some("error"));
    assert_eq!(
        body_json(failed),
        json!({"message": "payment failed", "level": "ERROR", "logger": "app::orders", "code": 500, "reason": "boom"})
    );

    let empty = find(&logs, "empty result");
    assert_eq!(empty.status.as_deref(), Some("warn"));
    assert_eq!(body_json(empty), spanned("empty result", json!({"slow": true})));

    let reserved = find(&logs, "reserved names");
    let mut expected = spanned("reserved names", json!({"field.level": "mine", "field.spans": 2}));
    expected["level"] = json!("INFO");
    assert_eq!(body_json(reserved), expected);

    let unnamed = logs.iter().find(|log| body_json(log).get("only").is_some());
    let unnamed = unnamed.unwrap_or_else(|| panic!("the event without a message is missing"));
    let mut expected = spanned("", json!({"only": 1}));
    expected.as_object_mut().map(|object| object.remove("message"));
    expected["level"] = json!("INFO");
    assert_eq!(body_json(unnamed), expected);

    match profile {
        // Bools and nested values are text in v1 (§9.14); a flat object may be a JSON log or
        // text, the encoder's choice: the parsed text is the exact object either way (above).
        Profile::V1 => {
            assert!(matches!(placed.body, LogBody::Text(_)) && matches!(empty.body, LogBody::Text(_)))
        }
        // Typed JSON logs, except the event without a message (§9.13 needs one).
        Profile::V2 => {
            for log in [placed, failed, empty, reserved] {
                assert!(matches!(log.body, LogBody::Json(_)), "{:?}", log.body);
            }
            assert!(matches!(unnamed.body, LogBody::Text(_)));
        }
    }
}

#[test]
fn events_arrive_with_exact_fields_in_v2() {
    check(Profile::V2);
}

#[test]
fn events_arrive_with_exact_fields_in_v1() {
    check(Profile::V1);
}
