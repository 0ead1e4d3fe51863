//! Admission control (`ServerLimits::max_stream_opens_per_sec`) over the intake's real
//! loopback port: calls beyond the rate end at once with `RESOURCE_EXHAUSTED` and a
//! `grpc-retry-pushback-ms` trailer naming successive later slots, and a call that comes back
//! then is served. Every wait is bounded.

mod support;

use stateful_logs::Profile;
use stateful_logs::status_code as code;
use stateful_logs_intake::{Intake, ServerLimits};
use support::{Call, connect, intake, request, try_serves, v1_batch, v1_raw, zstd};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_beyond_the_rate_are_pushed_back_to_later_slots() {
    let limits = ServerLimits { max_stream_opens_per_sec: Some(2), ..ServerLimits::default() };
    let intake = intake(Intake::builder().server_limits(limits)).await;
    let mut connection = connect(intake.local_addr()).await;
    let mut outcomes = Vec::new();
    for i in 0..8 {
        let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
        call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, &format!("line {i}"))])), true);
        outcomes.push(call.finish().await);
    }
    // Eight calls within milliseconds: two admitted in a second (four if they straddle two).
    let pushed: Vec<_> = outcomes.iter().filter(|o| o.status == Some(code::RESOURCE_EXHAUSTED)).collect();
    assert!(pushed.len() >= 4, "{outcomes:?}");
    let waits: Vec<u64> = pushed
        .iter()
        .map(|o| o.pushback_ms.as_deref().and_then(|ms| ms.parse().ok()).expect("a pushback trailer"))
        .collect();
    // Successive slots half a second apart, all within the next seconds.
    assert!(waits.windows(2).all(|w| w[1] > w[0] && w[1] - w[0] >= 400), "{waits:?}");
    assert!(waits.iter().all(|&ms| (1..=4_000).contains(&ms)), "{waits:?}");
    assert!(pushed[0].message.contains("too many new streams"), "{:?}", pushed[0]);
    assert_eq!(intake.stats().streams_pushed_back, pushed.len() as u64);
    // Refused calls never reach the receiver.
    assert_eq!(intake.stats().streams_started, 8 - pushed.len() as u64);
    // Back after the longest pushback, a call is served.
    let longest = waits.iter().copied().max().unwrap_or(0);
    tokio::time::sleep(std::time::Duration::from_millis(longest)).await;
    assert!(try_serves(&intake).await, "served after the pushback");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_limit_every_call_is_admitted() {
    let intake = intake(Intake::builder()).await;
    let mut connection = connect(intake.local_addr()).await;
    for i in 0..20 {
        let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
        call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, &format!("line {i}"))])), true);
        let outcome = call.finish().await;
        assert_eq!((outcome.status, outcome.pushback_ms.as_deref()), (Some(0), None), "{outcome:?}");
    }
    assert_eq!(intake.stats().streams_pushed_back, 0);
}
