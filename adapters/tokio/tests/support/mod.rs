//! The memory tests' one scenario: a client whose intake is down, a producer that offers
//! 2,000,000 records of 200 bytes as fast as the client takes them, and the process's peak
//! resident size (`VmHWM`) checked against the budget plus a stated constant. Linux only
//! (it reads `/proc/self/status`); each test is its own binary, so no other test shares the
//! process.

use std::future::Future;
use std::time::Duration;

use stateful_logs_tokio::{BuildTokio, Client, ClientBuilder, Handle};

/// What the process may hold beyond the budget: the runtime, the tonic stack, the test's own
/// buffers and allocator slack.
const CONSTANT: u64 = 48 << 20;

/// The budget of the client under test.
const BUDGET: u64 = 16 << 20;

/// Records the producer is offered.
pub const OFFERED: u64 = 2_000_000;

/// The process's resident size, current or peak, in bytes (`None` off Linux).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
}

/// Runs `produce` (which returns how many records the client took) against a client whose
/// intake is down and checks memory, backpressure and that every taken record is reported
/// unacknowledged at shutdown.
pub async fn with_the_intake_down<F, Fut>(produce: F)
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = u64> + Send + 'static,
{
    let Some(before) = status_kib("VmRSS:") else {
        eprintln!("no /proc/self/status: skipped");
        return;
    };
    // A port nobody listens on: every connection attempt is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
    };
    let client: Client = ClientBuilder::new()
        .endpoint("127.0.0.1", port)
        .api_key("key")
        .max_buffer_bytes(BUDGET)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .build_tokio()
        .unwrap_or_else(|e| panic!("{e}"));
    let producer = tokio::spawn(produce(client.handle()));
    // Let the producer fill the budget and stall on it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!producer.is_finished(), "the producer is held back, not done");
    let peak = status_kib("VmHWM:").unwrap_or(0);
    let grown = peak.saturating_sub(before);
    eprintln!(
        "rss before {} MiB, peak {} MiB, grown {} MiB, budget {} MiB",
        before >> 20,
        peak >> 20,
        grown >> 20,
        BUDGET >> 20
    );
    assert!(grown <= BUDGET + CONSTANT, "peak grew by {grown} bytes; budget {BUDGET} + {CONSTANT}");
    let report = client.shutdown(Duration::from_millis(200)).await;
    let sent = producer.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(sent < OFFERED, "the budget stopped the producer ({sent} sent)");
    assert_eq!(report.unacknowledged.len() as u64, sent, "every taken record reported unacknowledged");
}
