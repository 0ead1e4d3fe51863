//! The adaptive `zstd-stream` level through a Pipeline and the Receiver (spec Amendment 5):
//! the level follows the costs the driver reports, every change stays readable by the
//! receiver, and without any cost input the wire is the fixed level 1's, byte for byte.
//! Costs here are synthetic (a model of a host), never timed: the test drives time and cost.

use bytes::Bytes;
use stateful_logs::codec::ladder::LADDER;
use stateful_logs::codec::{Compression, CpuBudget};
use stateful_logs::receiver::{LogBody, Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{Action, Pipeline, PipelineConfig, Record, Timestamp};

fn lines() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");
    ["Apache_2k.log", "Linux_2k.log", "OpenSSH_2k.log"]
        .iter()
        .flat_map(|f| {
            let data = std::fs::read(format!("{dir}/{f}")).expect("the bundled corpus");
            data.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(<[u8]>::to_vec).collect::<Vec<_>>()
        })
        .collect()
}

fn config(compression: Compression) -> PipelineConfig {
    let mut c = PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("k"))]);
    c.translator = TranslatorConfig::raw();
    c.max_batch_items = 200;
    c.transport.compression = compression;
    c
}

/// A host where rung 0 costs `base` ns per byte and the others what the ladder says.
fn model_cost(level: u64, bytes: u64, base: u64) -> u64 {
    let rung = LADDER.iter().find(|r| r.level as u64 == level).map_or(1, |r| r.relative_cost);
    base * u64::from(rung) * bytes
}

struct Run {
    wire: Vec<Bytes>,
    delivered: Vec<Vec<u8>>,
    levels: Vec<u64>,
    changes: u64,
    /// `pre_compression_bytes` after the last pull.
    pre_bytes: u64,
}

/// Feeds `lines` at `every_ms[i]` ms apart through a Pipeline and a Receiver; after each pull
/// reports `cost(level, bytes)` ns when given.
fn run(
    compression: Compression,
    lines: &[Vec<u8>],
    gap_ms: impl Fn(usize) -> u64,
    cost: Option<u64>,
    calibrate: bool,
) -> Run {
    let mut p = Pipeline::new(config(compression), 3, Timestamp(0)).unwrap();
    if calibrate && let Some(base) = cost {
        let calibration: Vec<f64> =
            LADDER.iter().map(|r| (base * u64::from(r.relative_cost)) as f64).collect();
        p.handle_compression_calibration(&calibration);
    }
    let mut r = Receiver::new(ReceiverConfig::default()).unwrap();
    let mut out =
        Run { wire: Vec::new(), delivered: Vec::new(), levels: Vec::new(), changes: 0, pre_bytes: 0 };
    let mut now = Timestamp(0);
    let mut stream = None;
    for (i, line) in lines.iter().enumerate() {
        now = now.add_millis(gap_ms(i));
        p.handle_record(now, Record::new(i as i64, line.clone())).unwrap();
        if p.poll_timeout().is_some_and(|t| t <= now) {
            p.handle_timeout(now);
        }
        pump(&mut p, &mut r, &mut stream, now, cost, &mut out);
    }
    p.flush(now);
    pump(&mut p, &mut r, &mut stream, now, cost, &mut out);
    out.changes = p.metrics().transport.compression_level_changes;
    out
}

fn pump(
    p: &mut Pipeline,
    r: &mut Receiver,
    stream: &mut Option<stateful_logs::StreamId>,
    now: Timestamp,
    cost: Option<u64>,
    out: &mut Run,
) {
    loop {
        while let Some(action) = p.poll_action() {
            match action {
                Action::OpenStream { stream: s, path, metadata, .. } => {
                    r.handle_stream_start(now, s, path, &metadata.0);
                    p.handle_stream_opened(now, s);
                    *stream = Some(s);
                }
                Action::Halted(e) => panic!("halted: {e}"),
                _ => {}
            }
        }
        let Some(s) = *stream else { return };
        let Some(t) = p.poll_transmit(now, s) else { return };
        // The batch just pulled: its serialized bytes are the counter's growth.
        let pre_bytes = p.metrics().transport.pre_compression_bytes;
        let bytes = pre_bytes - out.pre_bytes;
        out.pre_bytes = pre_bytes;
        if let Some(base) = cost {
            let nanos = model_cost(p.metrics().transport.compression_level, bytes, base);
            p.handle_compression_time(now, std::time::Duration::from_nanos(nanos));
        }
        out.levels.push(p.metrics().transport.compression_level);
        out.wire.push(t.data.clone());
        r.handle_batch(now, s, t.batch_id, t.data);
        while let Some(a) = r.poll_action() {
            match a {
                ReceiverAction::Deliver { logs, .. } => {
                    out.delivered.extend(logs.into_iter().map(|l| match l.body {
                        LogBody::Text(text) => text,
                        other => panic!("raw mode sends text: {other:?}"),
                    }))
                }
                ReceiverAction::SendStatus { stream, batch_id, .. } => p.handle_ack(now, stream, batch_id, 1),
                ReceiverAction::EndStream { code, message, .. } => assert_eq!(code, 0, "{message}"),
            }
        }
    }
}

#[test]
fn without_cost_inputs_the_adaptive_wire_is_the_fixed_level_1_wire() {
    let lines = lines();
    let adaptive = run(Compression::default(), &lines, |_| 1, None, false);
    let fixed = run(Compression::zstd_stream(1), &lines, |_| 1, None, false);
    assert_eq!(adaptive.wire, fixed.wire);
    assert_eq!(adaptive.changes, 0);
    assert_eq!(adaptive.delivered, lines);
}

#[test]
fn at_a_low_rate_the_level_rises_and_the_receiver_reads_every_frame() {
    let lines = lines();
    // 1,000 lines/s (~100 kB/s) on a host where level 1 costs 2 ns/B: every rung fits 25 %.
    let run = run(Compression::adaptive(CpuBudget::percent(25)), &lines, |_| 1, Some(2), true);
    assert_eq!(run.delivered, lines, "every line, in order, across the level changes");
    assert!(run.levels.iter().all(|&l| l == u64::from(LADDER[4].level as u32)), "{:?}", run.levels);
    // Calibrated: the first batch already had its level, no frame was restarted.
    assert_eq!(run.changes, 1);
}

#[test]
fn a_burst_brings_the_level_down_within_a_few_batches_and_nothing_is_lost() {
    let lines = lines();
    // 1,000 lines/s for 2,000 lines, then 200,000 lines/s (200 per ms).
    let gap = |i: usize| if i < 2_000 { 1 } else { u64::from(i.is_multiple_of(200)) };
    let run = run(Compression::adaptive(CpuBudget::percent(25)), &lines, gap, Some(2), true);
    assert_eq!(run.delivered, lines);
    let burst_start = 2_000 / 200;
    let top = u64::from(LADDER[4].level as u32);
    assert_eq!(run.levels[burst_start - 1], top);
    // ~20 MB/s at 2 ns/B × rel: only rung 0 (4 %) fits 25 %; within 8 batches of the burst.
    let after = &run.levels[burst_start + 8..];
    assert!(after.iter().all(|&l| l == u64::from(LADDER[0].level as u32)), "{:?}", run.levels);
    assert!(run.changes >= 2);
}
