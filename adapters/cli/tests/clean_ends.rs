//! A `ship` that exits 0 ended every stream cleanly: over many one-shot runs against one
//! intake, the intake counts no request body cut off (reset or broken pipe instead of
//! `END_STREAM`), read from its final statistics line.
#![cfg(unix)]

mod support;

use std::time::Duration;

use support::*;

const RUNS: usize = 20;
const PATIENCE: Duration = Duration::from_secs(30);

/// A field `N name` of the intake's final statistics line.
fn final_stat(stats: &str, name: &str) -> Option<u64> {
    let line = stats.lines().find_map(|l| l.strip_prefix("intake: stopped: "))?;
    line.split(", ").find_map(|field| field.strip_suffix(name)?.trim().parse().ok())
}

#[test]
fn one_shot_ships_that_exit_0_leave_no_stream_reset_at_the_intake() {
    let dir = temp_dir("clean-ends");
    let (input, output, stats) = (dir.join("in.log"), dir.join("out.jsonl"), dir.join("intake.stderr"));
    let text: String = (0..300).map(|i| format!("record {i} of a short one-shot run\n")).collect();
    std::fs::write(&input, &text).expect("write the input");
    let (mut intake, address) = start_intake_logged(&output, &stats, &[]);

    for run in 0..RUNS {
        let args = ["--batch-size", "50", "--input", input.to_str().expect("UTF-8 path")];
        let (mut ship, stderr) = start_ship_logged(&dir, run, &address, &args);
        assert_eq!(exit_code_within(&mut ship, PATIENCE), Some(0), "run {run}: {}", read_text(&stderr));
    }
    signal(&intake, "TERM");
    assert_eq!(exit_code_within(&mut intake, PATIENCE), Some(0), "{}", read_text(&stats));
    let stats = read_text(&stats);
    assert_eq!(final_stat(&stats, "records written"), Some(300 * RUNS as u64), "{stats}");
    let streams = final_stat(&stats, "streams").expect("streams in the final statistics");
    assert!(streams >= RUNS as u64, "{stats}");
    assert_eq!(
        final_stat(&stats, "streams reset by the client"),
        Some(0),
        "{RUNS} runs exited 0, yet streams ended without END_STREAM: {stats}"
    );
}
