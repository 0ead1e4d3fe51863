//! Shared by the examples: the input files (by default the bundled Loghub samples).

/// The directory the examples read when given none.
pub const DEFAULT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");

/// The JSON corpus derived from it (`examples/json_corpus`); not every example reads it.
#[allow(dead_code)]
pub const JSON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/json");

/// The name and bytes of every `.log` and `.jsonl` file in `dir`, in name order.
pub fn log_files(dir: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "log" || e == "jsonl"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            Ok((p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned(), std::fs::read(p)?))
        })
        .collect()
}
