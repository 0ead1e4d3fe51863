//! Memory stays within the pipeline's budget however fast a producer sends while the intake is
//! down (README Amendment 1), one `send` per record (the scenario: `support/mod.rs`).

mod support;

use stateful_logs_tokio::Record;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_intake_down_peak_memory_stays_within_the_budget() {
    support::with_the_intake_down(|handle| async move {
        let line = "x".repeat(200);
        let mut sent = 0u64;
        for i in 0..support::OFFERED {
            let record = Record::new(1_700_000_000_000, line.clone()).with_ack_token(i);
            if handle.send(record).await.is_err() {
                break;
            }
            sent += 1;
        }
        sent
    })
    .await;
}
