//! A rough throughput measurement of the receiver on real logs (run on demand:
//! `cargo test --test receiver_throughput -- --ignored --nocapture`). It asserts only that
//! every log comes back unchanged; the timing is printed.

use std::time::Instant;

use bytes::Bytes;
use prost::Message;
use stateful_logs::codec::Compression;
use stateful_logs::proto::{v1, v2};
use stateful_logs::receiver::{LogBody, Receiver, ReceiverAction, ReceiverConfig};
use stateful_logs::{Profile, StreamId, Timestamp};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub/HDFS_2k.log");

fn lines() -> Vec<String> {
    std::fs::read_to_string(CORPUS)
        .expect("the corpus is in the repository")
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

/// A `v1` batch where every digit run of a line is a wildcard of a pattern per distinct
/// template (a crude stand-in for the translator).
fn v1_structured(lines: &[String]) -> Vec<u8> {
    use v1::datum::Data;
    let mut patterns: std::collections::HashMap<(String, Vec<u32>), u64> = Default::default();
    let mut data = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let (mut template, mut pos, mut values, mut run) =
            (String::new(), Vec::new(), Vec::new(), String::new());
        for c in line.chars().chain(std::iter::once('\n')) {
            if c.is_ascii_digit() {
                run.push(c);
                continue;
            }
            if !run.is_empty() {
                pos.push(template.len() as u32);
                values.push(v1::DynamicValue {
                    value: Some(v1::dynamic_value::Value::StringValue(std::mem::take(&mut run))),
                });
            }
            if c != '\n' {
                template.push(c);
            }
        }
        let next = patterns.len() as u64 + 1;
        let id = *patterns.entry((template.clone(), pos.clone())).or_insert_with(|| {
            data.push(Data::PatternDefine(v1::PatternDefine {
                pattern_id: next,
                template,
                param_count: pos.len() as u32,
                pos_list: pos,
            }));
            next
        });
        data.push(Data::Logs(v1::Log {
            timestamp: if i == 0 { 1_700_000_000_000 } else { 1 },
            content: Some(v1::log::Content::Structured(v1::StructuredLog {
                pattern_id: id,
                dynamic_values: values,
                ..Default::default()
            })),
            ..Default::default()
        }));
    }
    v1::DatumSequence { data: data.into_iter().map(|d| v1::Datum { data: Some(d) }).collect() }
        .encode_to_vec()
}

fn v2_raw(lines: &[String]) -> Vec<u8> {
    let data = lines
        .iter()
        .map(|l| v2::LogDatum {
            data: Some(v2::log_datum::Data::Log(v2::Log {
                timestamp: 1,
                status: 1,
                service: 1,
                tags: 1,
                json_schema_id: 1,
                raw_log: l.clone(),
                ..Default::default()
            })),
        })
        .collect();
    v2::LogDatumSequence { data }.encode_to_vec()
}

fn measure(name: &str, profile: Profile, payload: &[u8], lines: &[String]) {
    let data = Bytes::from(Compression::zstd(1).compress(payload).expect("compresses"));
    let headers = [("dd-content-encoding".to_string(), "zstd".to_string())];
    let rounds = 50u32;
    let start = Instant::now();
    for round in 0..rounds {
        let mut r = Receiver::new(ReceiverConfig::default()).expect("valid");
        let stream = StreamId(u64::from(round));
        r.handle_stream_start(Timestamp::ZERO, stream, profile.path(), &headers);
        r.handle_batch(Timestamp::ZERO, stream, 1, data.clone());
        let action = r.poll_action();
        let Some(ReceiverAction::Deliver { logs, .. }) = action else {
            panic!("{name}: not delivered: {action:?}")
        };
        if round == 0 {
            assert_eq!(logs.len(), lines.len());
            for (log, line) in logs.iter().zip(lines) {
                assert_eq!(log.body, LogBody::Text(line.as_bytes().to_vec()), "{name}");
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let logs = f64::from(rounds) * lines.len() as f64;
    let bytes: usize = lines.iter().map(String::len).sum::<usize>() * rounds as usize;
    println!(
        "{name}: {:.0} logs/s, {:.1} MB/s of log text ({} B serialized, {} B zstd per batch of {})",
        logs / elapsed,
        bytes as f64 / elapsed / 1e6,
        payload.len(),
        data.len(),
        lines.len()
    );
}

#[test]
#[ignore = "a measurement; run on demand"]
fn receiver_throughput_on_hdfs_logs() {
    let lines = lines();
    measure("v2 raw", Profile::V2, &v2_raw(&lines), &lines);
    measure("v1 structured", Profile::V1, &v1_structured(&lines), &lines);
}
