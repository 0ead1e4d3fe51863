//! `ship --follow --state-file`: killed mid-stream and restarted, no line is lost or skipped.

mod support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use support::*;

fn append_lines(path: &Path, range: std::ops::Range<usize>) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open the log");
    for i in range {
        writeln!(file, "line {i:06} of a growing log file, user{} did thing {}", i % 17, i * 7)
            .expect("append");
    }
}

/// Appends lines `range` to `path`, a few at a time, as a logging program would.
fn write_steadily(path: std::path::PathBuf, range: std::ops::Range<usize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut next = range.start;
        while next < range.end {
            let end = (next + 20).min(range.end);
            append_lines(&path, next..end);
            next = end;
            std::thread::sleep(Duration::from_millis(2));
        }
    })
}

#[test]
fn a_killed_follower_resumes_at_the_last_acknowledged_line_without_losing_any() {
    let dir = temp_dir("follow");
    let log = dir.join("app.log");
    let state = dir.join("state.json");
    let output = dir.join("out.jsonl");
    append_lines(&log, 0..1000);
    // Delayed acks keep the lines of the last 100 ms sent but unacknowledged at any moment.
    let (_intake, address) = start_intake(&[
        "--api-key",
        "k",
        "--ack-delay-ms",
        "100",
        "--output",
        output.to_str().expect("utf-8 path"),
    ]);

    // First run: killed (SIGKILL, no shutdown) mid-stream while the file keeps growing.
    let writer = write_steadily(log.clone(), 1000..8000);
    let mut first = start_ship(&address, &log, &state);
    assert!(wait_until(Duration::from_secs(30), || saved_offset(&state).is_some_and(|o| o > 20_000)));
    let _ = first.0.kill();
    let _ = first.0.wait();
    let offset_at_kill = saved_offset(&state).expect("a saved offset");

    // The file grows on while it is down; the restart must resume exactly where acks ended.
    writer.join().expect("the writer finishes");
    let length = std::fs::metadata(&log).expect("log metadata").len();
    assert!(offset_at_kill < length, "killed after everything was acknowledged");
    let _second = start_ship(&address, &log, &state);
    assert!(
        wait_until(Duration::from_secs(60), || saved_offset(&state) == Some(length)),
        "the follower did not acknowledge the whole file: offset {:?} of {length}",
        saved_offset(&state)
    );

    let want = kept_lines(&std::fs::read(&log).expect("read the log"));
    assert!(wait_until(Duration::from_secs(10), || jsonl_contents(&output).len() >= want.len()));
    let got = jsonl_contents(&output);
    // At least once, in order: dropping repeated lines (sent before the kill, not yet acked)
    // leaves exactly the file's lines.
    let mut seen = std::collections::HashSet::new();
    let first_deliveries: Vec<Vec<u8>> =
        got.iter().filter(|line| seen.insert(line.to_vec())).cloned().collect();
    assert_eq!(first_deliveries.len(), want.len(), "lines lost");
    assert_eq!(first_deliveries, want, "lines out of order");
    // Only lines after the saved offset may have been sent twice.
    let line_ends = want.iter().scan(0u64, |end, line| {
        *end += line.len() as u64 + 1;
        Some(*end)
    });
    let acked_before_kill = line_ends.take_while(|&end| end <= offset_at_kill).count();
    let acknowledged: std::collections::HashSet<&Vec<u8>> = want[..acked_before_kill].iter().collect();
    let acknowledged_deliveries = got.iter().filter(|line| acknowledged.contains(line)).count();
    assert_eq!(
        acknowledged_deliveries, acked_before_kill,
        "a line acknowledged before the kill was sent again"
    );
}
