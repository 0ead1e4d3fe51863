//! `stateful-logs soak`: N records over loopback through the tokio client while a seeded
//! schedule of faults hits it (streams killed, the primary intake restarted on its port,
//! acks delayed and withheld, the key rejected by both intakes until `update_endpoint` +
//! `resume`, failover
//! to a second intake and back), then a check that nothing was lost.
//!
//! The schedule (which fault, at which number of acknowledged records, with which parameters)
//! is a function of the seed; when a fault lands relative to the traffic is real time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{Record, StreamId};
use stateful_logs_intake::{Delivered, Intake, IntakeError, LogBody, StreamFault};
use stateful_logs_tokio::{AckOutcome, BuildTokio, Client, ClientBuilder, HaltError, SendError};

use crate::CliError;
use crate::cli::SoakArgs;

/// The key both intakes accept, and the one the primary switches to for a while.
const KEY: &str = "soak-key";
const ROTATED_KEY: &str = "soak-key-rotated";

/// The fault kinds, each applied at least once when there are enough steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Fault {
    KillStream,
    DropConnections,
    Restart,
    DelayAcks,
    WithholdAcks,
    RejectKey,
    Failover,
}

const KINDS: [Fault; 7] = [
    Fault::KillStream,
    Fault::DropConnections,
    Fault::Restart,
    Fault::DelayAcks,
    Fault::WithholdAcks,
    Fault::RejectKey,
    Fault::Failover,
];

/// SplitMix64: the schedule's only source of choices.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The faults, in order, each with the number of records sent at which it fires: two rounds of
/// every kind, each round shuffled.
fn schedule(records: u64, seed: u64) -> Vec<(u64, Fault)> {
    let mut rng = Rng(seed);
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let mut round = KINDS.to_vec();
        for i in (1..round.len()).rev() {
            round.swap(i, rng.below(i as u64 + 1) as usize);
        }
        kinds.extend(round);
    }
    let step = records / (kinds.len() as u64 + 1);
    kinds.into_iter().enumerate().map(|(i, kind)| ((i as u64 + 1) * step, kind)).collect()
}

/// What the deliveries showed.
#[derive(Default)]
struct Observed {
    /// Deliveries per record index.
    counts: Vec<u32>,
    /// The last index delivered on each (intake incarnation, stream).
    last: HashMap<(usize, StreamId), u64>,
    /// A stream delivered an index not above its previous one.
    out_of_order: u64,
    /// Logs that are not this soak's records.
    foreign: u64,
}

impl Observed {
    fn take(&mut self, intake: usize, batch: &Delivered) {
        for log in &batch.logs {
            let LogBody::Text(text) = &log.body else {
                self.foreign += 1;
                continue;
            };
            let index =
                std::str::from_utf8(text).ok().and_then(|t| t.strip_prefix("soak record ")?.parse().ok());
            let Some(index) = index.filter(|&i: &u64| (i as usize) < self.counts.len()) else {
                self.foreign += 1;
                continue;
            };
            self.counts[index as usize] += 1;
            // A stream delivers each batch once, in order: its indices only grow. (A batch
            // re-sent goes on another stream.)
            if self.last.insert((intake, batch.stream), index).is_some_and(|previous| index <= previous) {
                self.out_of_order += 1;
            }
        }
    }
}

/// The two intakes; the primary (0) can be replaced (a new key) or stopped for a while.
struct Intakes {
    list: [Intake; 2],
    addresses: [SocketAddr; 2],
    merged: async_channel::Sender<(usize, Delivered)>,
    /// When the primary comes back after a failover.
    primary_back_at: Option<Instant>,
    /// When delayed acks end.
    ack_delay_until: Option<Instant>,
    /// Streams started on intakes since replaced, per position.
    retired_streams: [u64; 2],
    /// Intakes started so far; tags each one's deliveries.
    incarnations: usize,
}

impl Intakes {
    async fn start(merged: async_channel::Sender<(usize, Delivered)>) -> Result<Self, IntakeError> {
        let a = Intake::builder().api_key(KEY).bind("127.0.0.1:0").await?;
        let b = Intake::builder().api_key(KEY).bind("127.0.0.1:0").await?;
        let addresses = [a.local_addr(), b.local_addr()];
        for (i, intake) in [&a, &b].into_iter().enumerate() {
            forward(i, intake, merged.clone());
        }
        Ok(Intakes {
            list: [a, b],
            addresses,
            merged,
            primary_back_at: None,
            ack_delay_until: None,
            retired_streams: [0; 2],
            incarnations: 1,
        })
    }

    /// Replaces intake `index` by one on the same port that accepts only `key`.
    async fn replace(&mut self, index: usize, key: &str) -> Result<(), IntakeError> {
        self.list[index].stop();
        let address = self.addresses[index].to_string();
        let mut tries = 0;
        let intake = loop {
            // The stopped listener's socket is released once its task is gone: retry briefly.
            match Intake::builder().api_key(key).bind(&address).await {
                Ok(intake) => break intake,
                Err(error) if tries >= 100 => return Err(error),
                Err(_) => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        };
        // Each incarnation numbers its streams from 1 again: tag its deliveries apart.
        self.incarnations += 1;
        forward(self.incarnations, &intake, self.merged.clone());
        self.retired_streams[index] += self.list[index].stats().streams_started;
        self.list[index] = intake;
        if index == 0 {
            // A primary down for a failover comes back with its new key.
            self.primary_back_at = None;
        }
        Ok(())
    }

    async fn apply(&mut self, fault: Fault, rng: &mut Rng) -> Result<(), IntakeError> {
        match fault {
            Fault::KillStream => {
                let after_batches = 1 + rng.below(3) as u32;
                for intake in &self.list {
                    intake.push_fault(StreamFault::EndWithStatus {
                        after_batches,
                        code: tonic::Code::Unavailable,
                    });
                }
            }
            Fault::DropConnections => self.list.iter().for_each(Intake::drop_connections),
            Fault::Restart => {
                self.list[0].stop();
                tokio::time::sleep(Duration::from_millis(50 + rng.below(250))).await;
                self.list[0].start().await?;
            }
            Fault::DelayAcks => {
                let delay = Duration::from_millis(100 + rng.below(300));
                self.list.iter().for_each(|i| i.set_ack_delay(delay));
                self.ack_delay_until = Some(Instant::now() + Duration::from_secs(1));
            }
            Fault::WithholdAcks => self.list.iter().for_each(|i| i.push_fault(StreamFault::NeverAck)),
            // The key is chosen by the caller, which must know it to fix the halt.
            Fault::RejectKey => {}
            Fault::Failover => {
                self.list[0].stop();
                self.primary_back_at = Some(Instant::now() + Duration::from_millis(2_500 + rng.below(1_000)));
            }
        }
        Ok(())
    }

    /// Ends timed faults whose time is up.
    async fn tick(&mut self) -> Result<(), IntakeError> {
        let now = Instant::now();
        if self.ack_delay_until.is_some_and(|t| now >= t) {
            self.ack_delay_until = None;
            self.list.iter().for_each(|i| i.set_ack_delay(Duration::ZERO));
        }
        if self.primary_back_at.is_some_and(|t| now >= t) {
            self.primary_back_at = None;
            self.list[0].start().await?;
        }
        Ok(())
    }

    /// Streams started on the primary and on the secondary (all their incarnations).
    fn streams(&self) -> (u64, u64) {
        let started = |i: usize| self.retired_streams[i] + self.list[i].stats().streams_started;
        (started(0), started(1))
    }
}

fn forward(index: usize, intake: &Intake, merged: async_channel::Sender<(usize, Delivered)>) {
    let deliveries = intake.deliveries();
    tokio::spawn(async move {
        while let Ok(batch) = deliveries.recv().await {
            if merged.send((index, batch)).await.is_err() {
                return;
            }
        }
    });
}

fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmHWM:")?.trim().trim_end_matches("kB").trim().parse::<u64>().ok()
            })
        })
        .map_or(0, |kib| kib / 1024)
}

/// Runs `soak`.
pub async fn run(args: SoakArgs) -> Result<ExitCode, CliError> {
    let started = Instant::now();
    let records = args.records;
    let (merged, deliveries) = async_channel::unbounded();
    let mut intakes = Intakes::start(merged).await?;
    let addresses = intakes.addresses;
    let endpoint =
        |i: usize, key: &str| EndpointConfig::new("127.0.0.1", addresses[i].port(), ApiKey::new(key));
    let client: Client = ClientBuilder::new()
        .endpoint_config(endpoint(0, KEY))
        .endpoint_config(endpoint(1, KEY))
        .seed(args.seed)
        .batching(100, 5_000_000, Duration::from_millis(20))
        // Quick recovery, so that many faults fit in a short run.
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .ack_timeout(Some(Duration::from_secs(1)))
        .open_timeout(Duration::from_secs(2))
        .failover_after(2)
        .transport_config(|t| t.primary_retry_interval = Duration::from_secs(2))
        .build_tokio()?;

    let sent = Arc::new(AtomicU64::new(0));
    let producer = {
        let handle = client.handle();
        let sent = sent.clone();
        // A steady rate, so that the faults fall throughout the traffic instead of after a
        // burst that filled every buffer (pacing by the clock is the point here).
        let per_tick = (args.rate / 50).max(1);
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(20));
            let mut i = 0;
            while i < records {
                ticker.tick().await;
                for _ in 0..per_tick.min(records - i) {
                    let content = format!("soak record {i}");
                    let mut record = Record::new(1_767_225_600_000 + i as i64, content).with_ack_token(i);
                    // A halted pipeline refuses records until the soak's operator resumes it.
                    loop {
                        match handle.send(record).await {
                            Ok(()) => break,
                            Err(SendError::Halted { record: back, .. }) => {
                                record = *back;
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                            Err(SendError::Closed(_)) => return,
                        }
                    }
                    i += 1;
                    sent.store(i, Ordering::Relaxed);
                }
            }
        })
    };

    let mut rng = Rng(args.seed ^ 0x5eed);
    let plan = schedule(records, args.seed);
    let mut next_fault = 0;
    let mut applied: HashMap<Fault, u32> = HashMap::new();
    // The key the intakes accept now; each RejectKey switches it.
    let mut current_key = KEY;
    let mut observed = Observed { counts: vec![0; records as usize], ..Observed::default() };
    let (acks, halts) = (client.acks(), client.halts());
    let (mut next_token, mut acks_wrong, mut peak_inflight, mut halts_resumed) = (0u64, 0u64, 0u64, 0u32);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let finished = loop {
        if next_token == records {
            break true;
        }
        if let Some(&(at, fault)) = plan.get(next_fault)
            && sent.load(Ordering::Relaxed) >= at
        {
            next_fault += 1;
            if fault == Fault::RejectKey {
                // Both intakes, so that the client meets the new key wherever it is.
                current_key = if current_key == KEY { ROTATED_KEY } else { KEY };
                intakes.replace(0, current_key).await?;
                intakes.replace(1, current_key).await?;
            } else {
                intakes.apply(fault, &mut rng).await?;
            }
            *applied.entry(fault).or_default() += 1;
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => break false,
            entry = acks.recv() => {
                let Ok(event) = entry else { break false };
                // A halt comes on the halts channel too, where it is handled.
                let Ok(entry) = event else { continue };
                if entry.token != next_token || entry.outcome != AckOutcome::Acked {
                    acks_wrong += 1;
                }
                next_token = next_token.max(entry.token + 1);
                peak_inflight = peak_inflight.max(sent.load(Ordering::Relaxed).saturating_sub(next_token));
            }
            halt = halts.recv() => match halt {
                Ok(HaltError::Unauthenticated { endpoint: index, .. }) if index < 2 => {
                    // The operator's fix: the key the intake now wants, then resume.
                    client.update_endpoint(index, endpoint(index, current_key)).await?;
                    client.resume();
                    halts_resumed += 1;
                }
                Ok(other) => return Err(CliError::Halted(other)),
                Err(_) => break false,
            },
            batch = deliveries.recv() => {
                if let Ok((intake, batch)) = batch {
                    observed.take(intake, &batch);
                }
            }
            _ = ticker.tick() => intakes.tick().await?,
        }
    };
    producer.abort();
    // Every delivery happened before its ack; the forwarders may still hold the last few.
    let settle = tokio::time::Instant::now() + Duration::from_secs(5);
    while observed.counts.contains(&0) {
        match tokio::time::timeout_at(settle, deliveries.recv()).await {
            Ok(Ok((intake, batch))) => observed.take(intake, &batch),
            _ => break,
        }
    }
    while let Ok((intake, batch)) = deliveries.try_recv() {
        observed.take(intake, &batch);
    }
    let streams = intakes.streams();
    let report = client.shutdown(Duration::from_secs(1)).await;

    let delivered = observed.counts.iter().filter(|&&c| c > 0).count() as u64;
    let duplicates: u64 = observed.counts.iter().map(|&c| u64::from(c.saturating_sub(1))).sum();
    let lost = records - delivered;
    let in_order = observed.out_of_order == 0;
    let acks_ok = finished && acks_wrong == 0 && next_token == records;
    let faults: Vec<String> =
        KINDS.iter().map(|k| format!("{k:?} {}", applied.get(k).copied().unwrap_or(0))).collect();
    println!("soak: {records} records, seed {}, {} faults ({})", args.seed, next_fault, faults.join(", "));
    println!(
        "records delivered: {delivered} of {records} (lost {lost}), duplicates {duplicates}, in order: {}",
        if in_order { "yes" } else { "NO" }
    );
    println!(
        "ack tokens: {next_token} returned{}, in order: {}; {} unacknowledged at shutdown",
        if acks_wrong == 0 { " exactly once" } else { "" },
        if acks_wrong == 0 { "yes" } else { "NO" },
        report.unacknowledged.len()
    );
    println!("halts on the rejected key: {halts_resumed}, each resumed after update_endpoint");
    println!(
        "streams opened: {} on the primary, {} on the secondary; foreign logs: {}",
        streams.0, streams.1, observed.foreign
    );
    println!(
        "peak resident memory (whole process, both intakes included): {} MiB; peak records in flight: {peak_inflight}",
        peak_rss_mib()
    );
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    if lost > 0 || !in_order || !acks_ok || observed.foreign > 0 {
        return Err(CliError::Incomplete(format!(
            "soak failed: {lost} records lost, {} out of order, {acks_wrong} wrong acks, finished: {finished}",
            observed.out_of_order
        )));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_a_function_of_the_seed_and_holds_every_kind_twice() {
        assert_eq!(schedule(20_000, 7), schedule(20_000, 7));
        assert_ne!(schedule(20_000, 7), schedule(20_000, 8));
        let plan = schedule(20_000, 7);
        for kind in KINDS {
            assert_eq!(plan.iter().filter(|(_, k)| *k == kind).count(), 2, "{kind:?}");
        }
        assert!(plan.windows(2).all(|w| w[0].0 < w[1].0) && plan.last().is_some_and(|l| l.0 < 20_000));
    }
}
