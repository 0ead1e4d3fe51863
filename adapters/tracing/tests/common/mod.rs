//! Shared by the test binaries: the reference intake on its own runtime, and what it received.
#![allow(dead_code)] // each test binary uses its own part

use std::time::{Duration, Instant};

use serde_json::Value;
use stateful_logs::receiver::{LogBody, ReceivedLog};
use stateful_logs_intake::Intake;
use stateful_logs_runtime::harness::IntakeThread;

pub const KEY: &str = "tracing-test-key";

/// The reference intake on a tokio runtime of its own, callable from any thread or runtime.
pub fn start_intake() -> IntakeThread {
    futures_lite::future::block_on(IntakeThread::bind(Intake::builder().api_key(KEY)))
        .unwrap_or_else(|e| panic!("the intake did not start: {e}"))
}

/// A port nobody listens on: an intake that is down.
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}")).port();
    drop(listener);
    port
}

/// Every log delivered so far.
pub fn delivered(intake: &Intake) -> Vec<ReceivedLog> {
    let deliveries = intake.deliveries();
    let mut logs = Vec::new();
    while let Ok(batch) = deliveries.try_recv() {
        logs.extend(batch.logs);
    }
    logs
}

/// Waits (bounded) until `count` logs were delivered, and returns them.
pub fn wait_delivered(intake: &Intake, count: usize) -> Vec<ReceivedLog> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut logs = Vec::new();
    while logs.len() < count && Instant::now() < deadline {
        logs.extend(delivered(intake));
        std::thread::sleep(Duration::from_millis(10));
    }
    logs
}

/// The log's JSON object: a JSON log's, or a text log's content parsed (a `v1` record with
/// bools, spans or no message travels as its exact text).
pub fn body_json(log: &ReceivedLog) -> Value {
    match &log.body {
        LogBody::Json(value) => value.clone(),
        LogBody::Text(bytes) => {
            serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {bytes:?}"))
        }
    }
}

/// The log whose message is `message`.
pub fn find<'a>(logs: &'a [ReceivedLog], message: &str) -> &'a ReceivedLog {
    logs.iter()
        .find(|log| body_json(log).get("message").and_then(Value::as_str) == Some(message))
        .unwrap_or_else(|| panic!("no log with message {message:?} among {logs:#?}"))
}
