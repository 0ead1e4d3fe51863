//! `memory.rs` with a producer that hands its records over with `send_many` (batches of
//! 1,000): memory stays within the pipeline's budget while the intake is down, the process's
//! peak resident size (`VmHWM`) growing by at most the budget plus the same constant. Linux
//! only; its own test binary, so that no other test shares the process.

use std::time::Duration;

use stateful_logs_tokio::{BuildTokio, Client, ClientBuilder, Record};

/// What the process may hold beyond the budget: the runtime, the tonic stack, the test's own
/// buffers and allocator slack.
const CONSTANT: u64 = 48 << 20;

/// The process's resident size, current or peak, in bytes (`None` off Linux).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_intake_down_send_many_stays_within_the_budget() {
    let Some(before) = status_kib("VmRSS:") else {
        eprintln!("no /proc/self/status: skipped");
        return;
    };
    let budget: u64 = 16 << 20;
    // A port nobody listens on: every connection attempt is refused.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listener.local_addr().unwrap_or_else(|e| panic!("{e}")).port()
    };
    let client: Client = ClientBuilder::new()
        .endpoint("127.0.0.1", port)
        .api_key("key")
        .max_buffer_bytes(budget)
        .backoff(Duration::from_millis(50), Duration::from_millis(200))
        .build_tokio()
        .unwrap_or_else(|e| panic!("{e}"));
    let handle = client.handle();
    // 2,000,000 records of 200 bytes (400 MB) offered as fast as the client takes them, in
    // calls of 1,000; a call that fails says how many of its records were taken.
    let producer = tokio::spawn(async move {
        let line = "x".repeat(200);
        let mut sent = 0u64;
        for start in (0..2_000_000u64).step_by(1_000) {
            let batch = (start..start + 1_000)
                .map(|i| Record::new(1_700_000_000_000, line.clone()).with_ack_token(i));
            match handle.send_many(batch).await {
                Ok(()) => sent += 1_000,
                Err(error) => {
                    sent += error.accepted as u64;
                    break;
                }
            }
        }
        sent
    });
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
        budget >> 20
    );
    assert!(grown <= budget + CONSTANT, "peak grew by {grown} bytes; budget {budget} + {CONSTANT}");
    let report = client.shutdown(Duration::from_millis(200)).await;
    let sent = producer.await.unwrap_or_else(|e| panic!("{e}"));
    assert!(sent < 2_000_000, "the budget stopped the producer ({sent} sent)");
    assert_eq!(report.unacknowledged.len() as u64, sent, "every taken record reported unacknowledged");
}
