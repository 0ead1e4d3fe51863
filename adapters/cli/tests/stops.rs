//! Clean stops with the real binaries: SIGTERM to `ship` drains and saves its state (a restart
//! sends nothing twice), a second signal stops at once, SIGTERM to the intake answers what it
//! holds and exits 0.
#![cfg(unix)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

/// The bound of every single wait.
const PATIENCE: Duration = Duration::from_secs(30);

fn line(i: usize) -> String {
    format!("line {i:06} of a log that is stopped politely, user{} did thing {}\n", i % 13, i * 3)
}

fn append(path: &Path, range: std::ops::Range<usize>) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).expect("open the log");
    file.write_all(range.map(line).collect::<String>().as_bytes()).expect("append");
}

/// Appends lines `range`, 20 every 5 ms, as a logging program would.
fn write_steadily(path: PathBuf, range: std::ops::Range<usize>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut next = range.start;
        while next < range.end {
            let end = (next + 20).min(range.end);
            append(&path, next..end);
            next = end;
            std::thread::sleep(Duration::from_millis(5));
        }
    })
}

/// The kept lines of the file up to `offset`.
fn lines_upto(log: &Path, offset: u64) -> Vec<Vec<u8>> {
    let text = std::fs::read(log).expect("read the log");
    kept_lines(&text[..offset as usize])
}

#[test]
fn sigterm_while_acks_are_slow_drains_and_the_restart_sends_no_line_twice() {
    let dir = temp_dir("sigterm-ship");
    let (log, state, output) = (dir.join("app.log"), dir.join("state.json"), dir.join("out.jsonl"));
    append(&log, 0..500);
    // Acks 300 ms late: at any moment the last 300 ms of lines are sent and unacknowledged.
    let (_intake, address) =
        start_intake_logged(&output, &dir.join("intake.stderr"), &["--ack-delay-ms", "300"]);
    let follow = ["--follow", "--batch-size", "50", "--input", path(&log), "--state-file", path(&state)];

    let writer = write_steadily(log.clone(), 500..6_000);
    let (mut first, first_stderr) = start_ship_logged(&dir, 1, &address, &follow);
    assert!(wait_until(PATIENCE, || saved_offset(&state).is_some_and(|o| o > 20_000)), "no progress");
    signal(&first, "TERM");
    let code = exit_code_within(&mut first, PATIENCE);
    let stderr = read_text(&first_stderr);
    assert_eq!(code, Some(0), "the drain finished within the deadline: {stderr}");
    assert!(stderr.contains("SIGTERM: stopped reading"), "{stderr}");
    assert!(stderr.contains("0 not acknowledged"), "{stderr}");
    let at_stop = saved_offset(&state).expect("the state was saved");

    writer.join().expect("the writer finishes");
    let length = std::fs::metadata(&log).expect("log metadata").len();
    assert!(at_stop < length, "stopped before the end of the file");
    let (mut second, second_stderr) = start_ship_logged(&dir, 2, &address, &follow);
    assert!(
        wait_until(PATIENCE, || saved_offset(&state) == Some(length)),
        "the restart did not acknowledge the whole file: {:?} of {length}",
        saved_offset(&state)
    );
    signal(&second, "TERM");
    assert_eq!(exit_code_within(&mut second, PATIENCE), Some(0), "{}", read_text(&second_stderr));

    let want = kept_lines(&std::fs::read(&log).expect("read the log"));
    assert!(wait_until(PATIENCE, || jsonl_contents(&output).len() >= want.len()));
    let got = jsonl_contents(&output);
    assert_eq!(got.len(), want.len(), "lines lost or sent twice");
    assert_eq!(got, want, "every line once, in order");
}

#[test]
fn a_second_signal_stops_ship_at_once_with_its_code_and_the_state_it_has() {
    let dir = temp_dir("second-signal");
    let (log, state, output) = (dir.join("app.log"), dir.join("state.json"), dir.join("out.jsonl"));
    append(&log, 0..200);
    // Acks 60 s late: the drain cannot finish.
    let (_intake, address) =
        start_intake_logged(&output, &dir.join("intake.stderr"), &["--ack-delay-ms", "60000"]);
    let args = ["--follow", "--batch-size", "50", "--input", path(&log), "--state-file", path(&state)];
    let (mut ship, stderr) = start_ship_logged(&dir, 1, &address, &args);
    assert!(wait_until(PATIENCE, || jsonl_contents(&output).len() == 200), "the intake got the lines");
    signal(&ship, "INT");
    assert!(
        wait_until(PATIENCE, || read_text(&stderr).contains("stopped reading")),
        "{}",
        read_text(&stderr)
    );
    signal(&ship, "TERM");
    assert_eq!(exit_code_within(&mut ship, PATIENCE), Some(143), "{}", read_text(&stderr));
    let stderr = read_text(&stderr);
    assert!(stderr.contains("SIGTERM again: stopped at once"), "{stderr}");
    assert!(stderr.contains("200 not acknowledged"), "{stderr}");
    assert_eq!(saved_offset(&state), None, "nothing was acknowledged, nothing saved");
}

#[test]
fn sigterm_to_the_intake_answers_what_it_holds_flushes_and_exits_0() {
    let dir = temp_dir("sigterm-intake");
    let (log, state, output) = (dir.join("app.log"), dir.join("state.json"), dir.join("out.jsonl"));
    let intake_stderr = dir.join("intake.stderr");
    append(&log, 0..500);
    let (mut intake, address) = start_intake_logged(&output, &intake_stderr, &["--ack-delay-ms", "300"]);
    let writer = write_steadily(log.clone(), 500..4_000);
    let args = ["--follow", "--batch-size", "50", "--input", path(&log), "--state-file", path(&state)];
    let (mut ship, ship_stderr) =
        start_ship_logged(&dir, 1, &address, &[&args[..], &["--shutdown-timeout", "1s"]].concat());
    assert!(wait_until(PATIENCE, || saved_offset(&state).is_some_and(|o| o > 20_000)), "no progress");

    signal(&intake, "TERM");
    let code = exit_code_within(&mut intake, PATIENCE);
    let stats = read_text(&intake_stderr);
    assert_eq!(code, Some(0), "{stats}");
    assert!(stats.contains("intake: SIGTERM: refusing new streams"), "{stats}");
    assert!(stats.contains("intake: stopped: "), "the final statistics: {stats}");
    writer.join().expect("the writer finishes");

    // ship can deliver nothing more; stopped, it has taken every ack the intake sent.
    signal(&ship, "TERM");
    assert_eq!(exit_code_within(&mut ship, PATIENCE), Some(4), "{}", read_text(&ship_stderr));
    let acked = saved_offset(&state).expect("a saved state");
    let written = jsonl_contents(&output);
    // Written before acked (the output takes each batch first), and every batch written was
    // acked before the calls ended: the output is exactly the acknowledged lines.
    assert_eq!(written, lines_upto(&log, acked), "the output is what ship saw acknowledged");
    let records: usize = stats
        .lines()
        .find_map(|l| {
            l.strip_prefix("intake: stopped: ")?
                .split(", ")
                .find_map(|f| f.strip_suffix(" records written")?.parse().ok())
        })
        .expect("records written in the final statistics");
    assert_eq!(records, written.len(), "{stats}");
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
