//! The translator's pattern path through the whole Pipeline and the Receiver (spec
//! `encoding.md` §9): eviction under tiny bounds across rotations and replays, long lines,
//! and sane pattern counts on the Loghub files.

use std::time::Duration;

use stateful_logs::receiver::LogBody;
use stateful_logs::testing::Loopback;
use stateful_logs::testing::round_trip::{assert_equivalent, base_config, world};
use stateful_logs::{PipelineConfig, Profile, Record};
use stateful_logs_bench::benchmark_records;

fn loghub(name: &str) -> Vec<Record> {
    let path = format!("{}/corpora/loghub/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).expect("the corpus is in the repository");
    benchmark_records(name, &data)
}

/// Runs `records` through a world, stepping the clock by `step_ms` per record, breaking the
/// stream every `fail_every` records (0 = never) and delivering acks only every few records,
/// so that rotations replay unacked batches after a batch 0. The receiver ends the stream
/// with an error if a batch references an id it does not hold: `Loopback` asserts it never does.
fn run(config: PipelineConfig, records: &[Record], step_ms: u64, fail_every: usize) -> Loopback {
    let profile = config.profile();
    let mut w = world(config);
    for (i, r) in records.iter().enumerate() {
        w.record(r.clone()).unwrap();
        w.advance(step_ms).unwrap();
        if i % 7 == 0 {
            w.pump().unwrap();
        }
        if i % 23 == 0 {
            w.deliver_acks().unwrap();
        }
        if fail_every > 0 && i % fail_every == fail_every - 1 {
            w.kill_stream().unwrap();
        }
    }
    w.finish().unwrap();
    assert_eq!(w.delivered.len(), records.len(), "{profile}: every record delivered");
    for (i, (got, want)) in w.delivered.iter().zip(records).enumerate() {
        assert_equivalent(profile, got, want, i);
    }
    w
}

/// A mix of Loghub systems and `v1` JSON lines, renumbered for input-order acks.
fn mixed_records() -> Vec<Record> {
    let mut records = Vec::new();
    for name in ["HDFS_2k.log", "OpenSSH_2k.log", "Apache_2k.log"] {
        records.extend(loghub(name).into_iter().take(400));
    }
    for i in 0..300 {
        let line =
            format!(r#"{{"msg":"request {i} done in {}ms","user":"u{}","code":{}}}"#, i % 17, i % 5, i % 3);
        records.push(Record::new(1_700_000_100_000 + i, line).with_status("info").with_tag("env:prod"));
    }
    // Interleave the systems, so the pools keep changing.
    records.sort_by_key(|r| r.content.len() % 11);
    for (i, r) in records.iter_mut().enumerate() {
        r.ack_token = Some(i as u64);
    }
    records
}

fn tiny(profile: Profile, state_max_bytes: u64) -> PipelineConfig {
    let mut c = base_config(profile);
    c.max_batch_items = 50;
    c.transport.stream_lifetime = Duration::from_secs(30);
    c.translator.state_max_bytes = state_max_bytes;
    c.translator.patterns.max_pattern_count = 4;
    c.translator.patterns.eviction_grace_period = Duration::ZERO;
    c.translator.dictionary.max_entries = 3;
    c
}

// Invariant: under tiny memory and count bounds, with rotations (lifetime and failures) and
// replays, every record still decodes to its input, the state never exceeds its bound
// (asserted by `Loopback` after every record), and eviction really happened.
#[test]
fn eviction_under_tiny_bounds_keeps_decoding_correct() {
    let records = mixed_records();
    for profile in Profile::ALL {
        for state_max in [200, 600, 4_000] {
            let w = run(tiny(profile, state_max), &records, 150, 97);
            let m = w.pipeline.metrics();
            assert!(m.translator.patterns_removed > 0, "{profile} {state_max}: no pattern was evicted");
            assert!(m.translator.dict_entries_removed > 0, "{profile} {state_max}: no entry was evicted");
            assert!(m.transport.streams_opened > 1, "{profile} {state_max}: no rotation");
            assert!(
                w.counters.duplicate_batches > 0 || profile == Profile::V2,
                "{profile} {state_max}: no replay"
            );
            assert!(m.state_size_bytes <= state_max);
            let json_logs = w.delivered.iter().filter(|l| matches!(l.body, LogBody::Json(_))).count();
            match profile {
                // With room for a pattern, the v1 JSON lines travel as JSON logs.
                Profile::V1 if state_max >= 600 => assert!(json_logs > 0, "{state_max}: no JSON log"),
                Profile::V1 => {}
                // v2 JSON logs need no pattern: schemas come and go with their key entries.
                Profile::V2 => {
                    assert!(json_logs > 0, "{state_max}: no v2 JSON log");
                    assert!(m.translator.json_schemas_removed > 0, "{state_max}: no schema was deleted");
                }
            }
        }
    }
}

#[test]
fn long_lines_no_spaces_and_digits_round_trip_through_patterns() {
    let mut records = Vec::new();
    for i in 0..60i64 {
        let long = format!("{} end {i}", "segment ".repeat(800 + i as usize));
        let lines = [long, "9".repeat(30 + i as usize), format!("a/b/c.{i}:x@y+z-{i}"), format!("{i}")];
        for line in lines {
            records.push(Record::new(i, line).with_ack_token(records.len() as u64));
        }
    }
    for profile in Profile::ALL {
        for max_template_bytes in [0, 4096] {
            let mut c = base_config(profile);
            c.max_batch_bytes = 100_000;
            c.translator.patterns.max_template_bytes = max_template_bytes;
            // Every shape gets its pattern at once: each long line has a shape of its own.
            c.translator.patterns.admission_threshold = 1;
            let w = run(c, &records, 10, 0);
            let m = w.pipeline.metrics();
            assert!(m.translator.pattern_logs > 0);
            if max_template_bytes == 0 {
                assert_eq!(m.translator.raw_logs, 0, "{profile}: no limit, no raw log");
            } else {
                assert_eq!(m.translator.raw_logs, 60, "{profile}: the long lines go raw");
            }
        }
    }
}

// Pattern counts through the translator are sane: tens for HDFS, not thousands, and far fewer
// patterns than lines everywhere.
#[test]
fn loghub_pattern_counts_are_sane() {
    for (name, max) in [
        ("HDFS_2k.log", 60),
        ("OpenSSH_2k.log", 120),
        ("Zookeeper_2k.log", 200),
        ("Apache_2k.log", 40),
        ("Spark_2k.log", 200),
    ] {
        let records = loghub(name);
        let w = run(base_config(Profile::V1), &records, 1, 0);
        let m = w.pipeline.metrics().translator.clone();
        assert!(m.patterns_added <= max, "{name}: {} patterns", m.patterns_added);
        assert!(m.pattern_logs as usize >= records.len() * 9 / 10, "{name}: {} pattern logs", m.pattern_logs);
    }
}
