//! The adaptive `zstd-stream` level through a Pipeline and the Receiver (spec Amendment 5):
//! the level follows the costs the driver reports, every change stays readable by the
//! receiver, and without any cost input the wire is the fixed level 1's, byte for byte.
//! Costs here are synthetic (a model of a host), never timed: the test drives time and cost.

use stateful_logs::codec::ladder::LADDER;
use stateful_logs::codec::{Compression, CpuBudget};
use stateful_logs::testing::{Loopback, LoopbackConfig};
use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{LogBody, PipelineConfig, Record};

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

/// A host where rung 0 costs 2 ns per serialized byte and the others what the ladder says.
fn host(level: u64, bytes: u64) -> u64 {
    let rung = LADDER.iter().find(|r| r.level as u64 == level).map_or(1, |r| r.relative_cost);
    2 * u64::from(rung) * bytes
}

struct Run {
    wire: Vec<bytes::Bytes>,
    delivered: Vec<Vec<u8>>,
    levels: Vec<u64>,
    changes: u64,
}

/// Feeds `lines` `gap_ms(i)` ms apart through the loopback; with `timed`, the host model's
/// costs are reported after each pull and the ladder is calibrated with the same model.
fn run(compression: Compression, lines: &[Vec<u8>], gap_ms: impl Fn(usize) -> u64, timed: bool) -> Run {
    let pipeline = config(compression);
    let mut network = LoopbackConfig::perfect(&pipeline);
    if timed {
        network.compression_cost = Some(host);
    }
    let mut lo = Loopback::new(pipeline, network).unwrap();
    if timed {
        let calibration: Vec<f64> = LADDER.iter().map(|r| host(r.level as u64, 1) as f64).collect();
        lo.pipeline.handle_compression_calibration(&calibration);
    }
    for (i, line) in lines.iter().enumerate() {
        lo.advance(gap_ms(i)).unwrap();
        lo.record(Record::new(i as i64, line.clone())).unwrap();
        lo.pump().unwrap();
    }
    lo.flush().unwrap();
    lo.pump().unwrap();
    let changes = lo.pipeline.metrics().transport.compression_level_changes;
    let delivered = lo
        .delivered
        .iter()
        .map(|l| match &l.body {
            LogBody::Text(text) => text.clone(),
            other => panic!("raw mode sends text: {other:?}"),
        })
        .collect();
    let (wire, levels) = lo.take_wire().map(|b| (b.data, b.level)).unzip();
    Run { wire, delivered, levels, changes }
}

#[test]
fn without_cost_inputs_the_adaptive_wire_is_the_fixed_level_1_wire() {
    let lines = lines();
    let adaptive = run(Compression::default(), &lines, |_| 1, false);
    let fixed = run(Compression::zstd_stream(1), &lines, |_| 1, false);
    assert_eq!(adaptive.wire, fixed.wire);
    assert_eq!(adaptive.changes, 0);
    assert_eq!(adaptive.delivered, lines);
}

#[test]
fn at_a_low_rate_the_level_rises_and_the_receiver_reads_every_frame() {
    let lines = lines();
    // 1,000 lines/s (~100 kB/s) on a host where level 1 costs 2 ns/B: every rung fits 25 %.
    let run = run(Compression::adaptive(CpuBudget::percent(25)), &lines, |_| 1, true);
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
    let run = run(Compression::adaptive(CpuBudget::percent(25)), &lines, gap, true);
    assert_eq!(run.delivered, lines);
    let burst_start = 2_000 / 200;
    let top = u64::from(LADDER[4].level as u32);
    assert_eq!(run.levels[burst_start - 1], top);
    // ~20 MB/s at 2 ns/B × rel: only rung 0 (4 %) fits 25 %; within 8 batches of the burst.
    let after = &run.levels[burst_start + 8..];
    assert!(after.iter().all(|&l| l == u64::from(LADDER[0].level as u32)), "{:?}", run.levels);
    assert!(run.changes >= 2);
}
