//! Writes the committed seed corpora, `fuzz/seeds/<target>/`, from real traffic: a few lines of
//! a few Loghub files (`corpora/loghub/`), as records, batches and text. Deterministic; rerun
//! after changing a target's input format:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example generate_seeds
//! ```

use std::path::{Path, PathBuf};

use bytes::Bytes;
use stateful_logs::codec::{Compression, ContentEncoding};
use stateful_logs::rng::SplitMix64;
use stateful_logs::testing::{Loopback, LoopbackConfig, Peer};
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile, Record};
use stateful_logs_fuzz::{receiver_input, roundtrip, tokenizer, translator_lossless};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
/// (corpus, file, first line used, line count): short runs of a few systems, kept small on
/// purpose; the JSON ones reach the v2 schema path and the receiver's JSON reconstruction.
const SAMPLES: [(&str, &str, usize, usize); 7] = [
    ("loghub", "HDFS_2k.log", 0, 12),
    ("loghub", "OpenSSH_2k.log", 100, 12),
    ("loghub", "Apache_2k.log", 40, 10),
    ("loghub", "Spark_2k.log", 300, 10),
    ("json", "HDFS_2k.jsonl", 0, 10),
    ("json", "OpenSSH_2k.jsonl", 100, 10),
    ("json", "Zookeeper_2k.jsonl", 0, 10),
];

/// `encoding.md` §10.4 line splitting.
fn lines(corpus: &str, file: &str, first: usize, count: usize) -> Vec<Vec<u8>> {
    let path = Path::new(ROOT).join("corpora").join(corpus).join(file);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
        .skip(first)
        .take(count)
        .map(<[u8]>::to_vec)
        .collect()
}

/// `encoding.md` §11: the benchmark record mapping.
fn records(file: &str, lines: &[Vec<u8>]) -> Vec<Record> {
    let system = file.split('_').next().unwrap_or(file).to_owned();
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            Record::new(1_700_000_000_000 + i as i64, Bytes::copy_from_slice(line))
                .with_status("info")
                .with_hostname("host-1")
                .with_service(system.clone())
                .with_source(system.clone())
                .with_tags(["env:prod", "version:1.2.3"])
        })
        .collect()
}

/// The batches a pipeline sends for `records` on its first stream (acked as they go), by id.
fn batches(profile: Profile, compression: Compression, records: &[Record]) -> Vec<(u32, Bytes)> {
    let mut config =
        PipelineConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("fuzz-key"))])
            .with_profile(profile);
    config.transport.compression = compression;
    config.max_batch_items = 4;
    // Patterns on, so that the receiver's seeds hold pattern datums too.
    config.translator = stateful_logs::translator::TranslatorConfig::default();
    let mut settings = LoopbackConfig::perfect(&config);
    settings.seed = 1;
    settings.peer = Peer::AckOnly;
    let mut lo = Loopback::new(config, settings).expect("valid config");
    for r in records {
        lo.record(r.clone()).expect("accepted");
        lo.pump().expect("a perfect network");
    }
    lo.flush().expect("a perfect network");
    lo.pump().expect("a perfect network");
    let first = lo.wire.into_values().next().unwrap_or_default();
    first.into_iter().map(|b| (b.batch_id, b.data)).collect()
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir: PathBuf = Path::new(ROOT).join("fuzz/seeds").join(target);
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    for (corpus, file, first, count) in SAMPLES {
        let system = file.split('_').next().unwrap_or(file).to_lowercase();
        let stem = if corpus == "loghub" { system } else { format!("{corpus}-{system}") };
        let lines = lines(corpus, file, first, count);
        let line_refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let records = records(file, &lines);
        write("tokenizer", &stem, &tokenizer::seed(&line_refs));
        for profile in Profile::ALL {
            let tag = format!("{stem}-{}", profile.name());
            write("roundtrip", &tag, &roundtrip::seed(profile, &records, 4));
            write("translator_lossless", &tag, &translator_lossless::seed(profile, &line_refs));
            for (compression, encoding) in [
                (Compression::identity(), ContentEncoding::Identity),
                (Compression::zstd(1), ContentEncoding::Zstd),
                (Compression::zstd_stream(1), ContentEncoding::ZstdStream),
            ] {
                let batches = batches(profile, compression, &records);
                let name = format!("{tag}-{}", encoding.header_value());
                write("receiver_input", &name, &receiver_input::seed(profile, encoding, &batches));
            }
        }
    }
    // The transport target decodes with `arbitrary`: any bytes are events. A few fixed
    // pseudo-random inputs give it a start beyond the empty input.
    let mut rng = SplitMix64::new(9);
    for i in 0..4 {
        let bytes: Vec<u8> = (0..512).map(|_| rng.next_u64() as u8).collect();
        write("transport_events", &format!("random-{i}"), &bytes);
    }
}
