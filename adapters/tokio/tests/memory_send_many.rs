//! `memory.rs` with a producer that hands its records over with `send_many` (batches of
//! 1,000): memory stays within the budget while the intake is down, and the records a failed
//! call reports as taken are exactly the ones reported unacknowledged (`support/mod.rs`).

mod support;

use stateful_logs_tokio::Record;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_intake_down_send_many_stays_within_the_budget() {
    support::with_the_intake_down(|handle| async move {
        let line = "x".repeat(200);
        let mut sent = 0u64;
        for start in (0..support::OFFERED).step_by(1_000) {
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
    })
    .await;
}
