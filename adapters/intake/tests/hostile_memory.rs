//! Hostile input that aims at the intake's memory, over its real loopback port, with the
//! process's resident memory (`VmRSS`) measured before and after: zstd and gzip bombs, many
//! idle streams. The tests of this file run one at a time (one lock) so that their memory
//! figures are their own; each bound is generous (several times what was measured) because
//! the allocator keeps freed pages and the test client shares the process.

mod support;

use std::io::Write;
use std::time::Duration;

use stateful_logs::Profile;
use stateful_logs::receiver::ReceiverConfig;
use stateful_logs::status_code as code;
use stateful_logs_intake::{Intake, ServerLimits};
use support::{
    Call, assert_still_serves, connect, intake, request, reset_peak, rss_kib, status_kib, v1_batch, v1_raw,
};

// An async lock: each test has its own runtime and holds it across awaits.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// `total` bytes of zeros that start like a `v1` batch, written into `encoder` 1 MiB at a
/// time, so the bomb is built without holding its decompressed size.
fn fill<W: Write>(mut encoder: W, total: usize) -> W {
    let chunk = vec![0u8; 1 << 20];
    encoder.write_all(&v1_batch(vec![v1_raw(1, "bomb")])).unwrap();
    for _ in 0..total / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder
}

async fn assert_bomb_refused(encoding: &str, bomb: Vec<u8>) {
    let intake = intake(Intake::builder()).await;
    assert!(reset_peak(), "the peak resident memory can be reset");
    let before = rss_kib();
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, encoding, &[])).await;
    call.send_batch(1, bomb, true);
    let outcome = call.finish().await;
    // The peak, not the end: the decompressed buffer is freed once the batch is refused.
    let grown_mib = status_kib("VmHWM").saturating_sub(before) / 1024;
    let after_mib = rss_kib().saturating_sub(before) / 1024;
    eprintln!("{encoding} bomb: peak resident memory {grown_mib} MiB above the start, {after_mib} MiB after");
    assert_eq!(outcome.status, Some(code::INVALID_ARGUMENT), "{outcome:?}");
    assert!(outcome.message.contains("max_decompressed_bytes"), "{outcome:?}");
    assert!(outcome.acks.is_empty());
    // The default limit is 64 MiB of decompressed data per batch (the peak measured is that, 64–66 MiB); the bomb is 8 times that.
    assert!(grown_mib < 128, "{encoding} bomb: the peak grew by {grown_mib} MiB");
    assert!(after_mib < 32, "{encoding} bomb: {after_mib} MiB still held after the refusal");
    assert!(intake.deliveries().try_recv().is_err(), "nothing of the bomb is delivered");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_bomb_stops_at_max_decompressed_bytes() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let encoder = fill(zstd::stream::Encoder::new(Vec::new(), 1).unwrap(), 512 << 20);
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20, "512 MiB in {} bytes", bomb.len());
    assert_bomb_refused("zstd", bomb.clone()).await;
    // The same frame as the first batch of a zstd-stream stream.
    assert_bomb_refused("zstd-stream", bomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_stops_at_max_decompressed_bytes() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let bomb = fill(encoder, 512 << 20).finish().unwrap();
    assert!(bomb.len() < 1 << 20, "512 MiB in {} bytes", bomb.len());
    assert_bomb_refused("gzip", bomb).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_streams_are_bounded_in_count_time_and_memory() {
    let _serial = ONE_AT_A_TIME.lock().await;
    const OPEN: usize = 400;
    const MAX_STREAMS: usize = 300;
    let config = ReceiverConfig {
        max_streams: MAX_STREAMS,
        idle_timeout: Duration::from_secs(3),
        ..ReceiverConfig::default()
    };
    let limits = ServerLimits { max_streams_per_connection: 100, ..ServerLimits::default() };
    let intake = intake(Intake::builder().receiver_config(config).server_limits(limits)).await;
    assert!(reset_peak(), "the peak resident memory can be reset");
    let before = rss_kib();
    let mut calls = Vec::new();
    for _ in 0..OPEN / 100 {
        let mut connection = connect(intake.local_addr()).await;
        for _ in 0..100 {
            // zstd-stream: each stream holds a decompression context, the costliest kind.
            calls.push(Call::start(&mut connection, request(Profile::V1, "zstd-stream", &[])).await);
        }
    }
    // Every call is started: poll until the intake has seen them all (bounded; the
    // intake's counters are the only sign of it).
    let seen = tokio::time::timeout(support::WAIT, async {
        while intake.stats().streams_started < OPEN as u64 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the intake saw {} of {OPEN} calls", intake.stats().streams_started);
    let grown_kib = status_kib("VmHWM").saturating_sub(before);
    eprintln!(
        "{OPEN} idle zstd-stream calls ({MAX_STREAMS} admitted): peak resident memory grew by {} KiB ({} KiB per call)",
        grown_kib,
        grown_kib / OPEN as u64
    );
    assert!(grown_kib < 96 << 10, "idle streams cost {grown_kib} KiB");
    let mut outcomes = Vec::new();
    for call in calls {
        outcomes.push(call.finish().await);
    }
    let count = |c: i32| outcomes.iter().filter(|o| o.status == Some(c)).count();
    assert_eq!(count(code::RESOURCE_EXHAUSTED), OPEN - MAX_STREAMS, "streams beyond max_streams are refused");
    assert_eq!(count(code::DEADLINE_EXCEEDED), MAX_STREAMS, "idle streams end at idle_timeout");
    assert_still_serves(&intake).await;
}
