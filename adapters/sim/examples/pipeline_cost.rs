//! What a simulated client would cost as a full `Pipeline` (translator, batcher, zstd,
//! Transport) instead of a bare `Transport`: build 2,000 Pipelines, feed each 20 batches of 10
//! short log lines over an always-acking in-memory stream (the core's test loopback with an
//! ack-only peer), and print the time per record and batch and the resident memory per
//! Pipeline (Linux; the loopback's own bookkeeping is included, a few hundred bytes).
//!
//! `cargo run --release -p stateful-logs-sim --example pipeline_cost`

use std::time::Instant;

use stateful_logs::testing::{Loopback, LoopbackConfig, LoopbackError, Peer};
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Record};

const PIPELINES: usize = 2_000;
const ROUNDS: u64 = 20;
const RECORDS_PER_BATCH: u64 = 10;

fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status.lines().find(|l| l.starts_with("VmRSS")).and_then(|l| l.split_whitespace().nth(1));
    kib.and_then(|k| k.parse::<u64>().ok()).unwrap_or(0) * 1024
}

fn main() -> Result<(), LoopbackError> {
    let before = resident_bytes();
    let mut pipelines = Vec::with_capacity(PIPELINES);
    for seed in 0..PIPELINES as u64 {
        let endpoints =
            (0..4).map(|k| EndpointConfig::new(format!("intake-{k}"), 443, ApiKey::new("sim"))).collect();
        let config = PipelineConfig::new(endpoints);
        let mut settings = LoopbackConfig::perfect(&config);
        settings.seed = seed;
        settings.peer = Peer::AckOnly;
        pipelines.push(Loopback::new(config, settings)?);
    }
    let built = resident_bytes();
    let started = Instant::now();
    let (mut records, mut batches) = (0u64, 0u64);
    for round in 0..ROUNDS {
        for (i, lo) in pipelines.iter_mut().enumerate() {
            lo.advance(5_000)?;
            let now = lo.now;
            for r in 0..RECORDS_PER_BATCH {
                let user = (i as u64 * 7 + r) % 50;
                let line =
                    format!("user u{user} logged in from 10.0.{r}.{round} after {} ms", r * 13 + round);
                let token = round * RECORDS_PER_BATCH + r;
                if lo
                    .pipeline
                    .handle_record(now, Record::new(now.0 as i64, line).with_ack_token(token))
                    .is_ok()
                {
                    records += 1;
                }
            }
            lo.flush()?;
            lo.pump()?;
            batches += lo.take_wire().filter(|b| b.batch_id > 0).count() as u64;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{PIPELINES} pipelines: {} bytes resident each once built, {} after {ROUNDS} batches; \
         {records} records in {batches} batches: {:.2} µs per record, {:.1} µs per batch",
        built.saturating_sub(before) / PIPELINES as u64,
        resident_bytes().saturating_sub(before) / PIPELINES as u64,
        elapsed * 1e6 / records.max(1) as f64,
        elapsed * 1e6 / batches.max(1) as f64,
    );
    Ok(())
}
