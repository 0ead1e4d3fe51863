//! Fingerprints of the exact wire bytes: for every Loghub file, both profiles, batch sizes
//! 1000 and 100 and patterns on and off (plus a tight state bound that makes eviction run),
//! one line with the batch count, the byte count and a 64-bit FNV-1a hash of every
//! `StatefulBatch.data` in order. Mechanical changes (speed work) must leave the output unchanged:
//!
//! `cargo run --release --example wire_hash > before.txt` … `diff before.txt after.txt`
//!
//! `wire_hash DIR MODE…` runs only the named modes (`patterns`, `raw`, `tight`), e.g. to count
//! one mode's instructions under `valgrind --tool=callgrind`.

mod loghub;

use stateful_logs::translator::TranslatorConfig;
use stateful_logs::transport::{ApiKey, EndpointConfig};
use stateful_logs::{PipelineConfig, Profile};
use stateful_logs_bench::{benchmark_records, measure_pipeline_with};

/// FNV-1a, 64 bits: stable across toolchains, unlike `DefaultHasher`.
struct Fnv(u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

fn translators() -> [(&'static str, TranslatorConfig); 3] {
    let mut tight = TranslatorConfig::default();
    tight.patterns.max_pattern_count = 40;
    tight.dictionary.max_entries = 40;
    tight.state_max_bytes = 16 * 1024;
    [("patterns", TranslatorConfig::default()), ("raw", TranslatorConfig::raw()), ("tight", tight)]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().cloned().unwrap_or_else(|| loghub::DEFAULT_DIR.to_owned());
    let wanted = |mode: &str| args.len() < 2 || args[1..].iter().any(|m| m == mode);
    for (name, data) in loghub::log_files(&dir)? {
        let records = benchmark_records(&name, &data);
        for profile in [Profile::V1, Profile::V2] {
            for batch in [1000u32, 100] {
                for (mode, translator) in translators().into_iter().filter(|(m, _)| wanted(m)) {
                    let endpoint = EndpointConfig::new("intake.example", 443, ApiKey::new("hash"));
                    let mut config = PipelineConfig::new(vec![endpoint]).with_profile(profile);
                    config.max_batch_items = batch;
                    config.translator = translator;
                    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
                    let m = measure_pipeline_with(config, records.clone(), |data| {
                        hash.write(&(data.len() as u64).to_le_bytes());
                        hash.write(data);
                    })?;
                    println!(
                        "{name:<18} {profile} {batch:>4} {mode:<8} batches {:>4} bytes {:>8} fnv {:016x}",
                        m.batches, m.wire_bytes, hash.0
                    );
                }
            }
        }
    }
    Ok(())
}
