//! Generates the JSON corpus `corpora/json/` from the Loghub samples in `corpora/loghub/`:
//! each `<System>_2k.log` becomes `<System>_2k.jsonl`, one JSON object per line in the shape
//! of a common JSON logger (see `stateful_logs_bench::json_corpus::shapes`). Deterministic: the same input gives the same
//! bytes (`tests/json_corpus.rs` checks the committed files against a fresh run).
//!
//! `cargo run --release --example json_corpus` writes the files; `-- --check` only compares
//! and exits non-zero when a committed file differs; `-- --long DIR` writes the long Loghub
//! sets of `corpora/long/` as JSON logs into DIR (a long JSON stream for `bench --input`; not
//! committed: 20 MB).

use stateful_logs_bench::json_corpus::shapes;

use std::path::Path;
use std::process::ExitCode;

const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/loghub");
const OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/json");

const LONG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/corpora/long");

/// `system`'s log at `input` (zstd-compressed when it ends in `.zst`) as JSON logs; the
/// failure is reported on stderr.
fn convert_file(system: &str, input: &Path) -> Option<Vec<u8>> {
    let read = std::fs::read(input);
    let zst = input.extension().is_some_and(|e| e == "zst");
    let data = match read.and_then(|d| if zst { zstd::decode_all(&d[..]) } else { Ok(d) }) {
        Ok(data) => data,
        Err(e) => {
            eprintln!("cannot read {}: {e}", input.display());
            return None;
        }
    };
    let json = shapes::convert(system, &data);
    if json.is_none() {
        eprintln!("no shape for {system}");
    }
    json
}

/// `--long DIR`: each `corpora/long/<System>_full.log.zst` as `DIR/<System>_full.jsonl`.
fn long(dir: &Path) -> ExitCode {
    for system in ["Apache", "Linux"] {
        let input = Path::new(LONG).join(format!("{system}_full.log.zst"));
        let Some(json) = convert_file(system, &input) else { return ExitCode::FAILURE };
        let output = dir.join(format!("{system}_full.jsonl"));
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&output, &json)) {
            eprintln!("cannot write {}: {e}", output.display());
            return ExitCode::FAILURE;
        }
        println!("{}: {} bytes", output.display(), json.len());
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--long") {
        let Some(dir) = args.get(i + 1) else {
            eprintln!("--long needs a directory to write into");
            return ExitCode::FAILURE;
        };
        return long(Path::new(dir));
    }
    let check = std::env::args().any(|a| a == "--check");
    let mut differ = 0;
    for system in shapes::SYSTEMS {
        let input = Path::new(LOGHUB).join(format!("{system}_2k.log"));
        let output = Path::new(OUT).join(format!("{system}_2k.jsonl"));
        let Some(json) = convert_file(system, &input) else { return ExitCode::FAILURE };
        let lines = json.iter().filter(|&&b| b == b'\n').count();
        if check {
            let same = std::fs::read(&output).is_ok_and(|committed| committed == json);
            println!("{}: {}", output.display(), if same { "up to date" } else { "DIFFERS" });
            differ += usize::from(!same);
        } else {
            if let Err(e) = std::fs::create_dir_all(OUT).and_then(|()| std::fs::write(&output, &json)) {
                eprintln!("cannot write {}: {e}", output.display());
                return ExitCode::FAILURE;
            }
            println!("{}: {lines} lines, {} bytes", output.display(), json.len());
        }
    }
    if differ > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
