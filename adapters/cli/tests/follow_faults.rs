//! `ship --follow` under faults, with the real binary: a writer appends lines steadily and
//! rotates the file twice; meanwhile the intake is SIGKILLed and restarted on the same port
//! three times and `ship` is SIGKILLed and restarted with its state file twice. Every line
//! must arrive, in order; the only duplicates are lines of an unacknowledged window at a kill.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::*;

/// Lines written in all, and where the writer rotates the file (rename + new file).
const TOTAL: usize = 20_000;
const ROTATE_AT: [usize; 2] = [5_000, 12_000];
/// The bound of every single wait.
const PATIENCE: Duration = Duration::from_secs(30);

/// Line `i`; every line has the same length, so an offset in a file counts its lines.
fn line(i: usize) -> String {
    format!("line {i:08} of a growing and rotating log, user{:02} did thing {:09}\n", i % 17, i * 7)
}

/// What the writer has done, for the kills to be timed and the windows measured.
#[derive(Default)]
struct Progress {
    /// Lines written (handed to the kernel) so far.
    written: AtomicUsize,
    /// Rotations done so far.
    rotations: AtomicUsize,
    /// After rotation N the writer waits until this is N before it writes to the new file.
    released: AtomicUsize,
    /// Each file written: (device, inode) and the index of its first line.
    files: Mutex<Vec<((u64, u64), usize)>>,
}

impl Progress {
    fn written(&self) -> usize {
        self.written.load(Ordering::SeqCst)
    }

    /// The lines up to a saved state-file position: its file's first line plus whole lines.
    fn lines_upto(&self, state: (u64, u64, u64)) -> usize {
        let (dev, ino, offset) = state;
        let files = self.files.lock().expect("files");
        let first = files.iter().find(|(id, _)| *id == (dev, ino)).map(|&(_, first)| first);
        first.expect("the state file names a file the writer wrote") + offset as usize / line(0).len()
    }
}

fn open_new(path: &Path, progress: &Progress, first: usize) -> std::fs::File {
    let file = std::fs::File::create(path).expect("create the log");
    let metadata = file.metadata().expect("log metadata");
    progress.files.lock().expect("files").push(((metadata.dev(), metadata.ino()), first));
    file
}

/// Appends `TOTAL` lines, 10 at a time every 2.5 ms, renaming the file to `app.log.N` and
/// starting a new one at each `ROTATE_AT`; it writes to the new file once that rotation is
/// released (the test kills the follower in between).
fn write_steadily(path: PathBuf, progress: Arc<Progress>) -> std::thread::JoinHandle<()> {
    let mut file = open_new(&path, &progress, 0);
    std::thread::spawn(move || {
        let mut next = 0;
        while next < TOTAL {
            if ROTATE_AT.contains(&next) {
                let rotations = progress.rotations.load(Ordering::SeqCst) + 1;
                std::fs::rename(&path, path.with_extension(format!("log.{rotations}"))).expect("rotate");
                file = open_new(&path, &progress, next);
                progress.rotations.store(rotations, Ordering::SeqCst);
                let deadline = Instant::now() + PATIENCE;
                while progress.released.load(Ordering::SeqCst) < rotations && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            let end = (next + 10).min(TOTAL);
            let chunk: String = (next..end).map(line).collect();
            file.write_all(chunk.as_bytes()).expect("append");
            next = end;
            progress.written.store(next, Ordering::SeqCst);
            std::thread::sleep(Duration::from_micros(2_500));
        }
    })
}

/// The state file's (dev, ino, offset), once it exists.
fn saved(state: &Path) -> Option<(u64, u64, u64)> {
    let text = std::fs::read_to_string(state).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((value["dev"].as_u64()?, value["ino"].as_u64()?, value["offset"].as_u64()?))
}

/// Starts an intake on `address` writing to `output`; retries while the port is still held
/// by the one just killed.
fn start_intake_at(address: &str, output: &Path) -> Running {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mut child = Command::new(BIN)
            .args(["intake", "--listen", address, "--stats-interval", "0", "--api-key", "k"])
            .args(["--ack-delay-ms", "50"])
            .arg("--output")
            .arg(output)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the intake");
        let mut first = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let _ = BufReader::new(stdout).read_line(&mut first);
        if first.starts_with("listening on ") {
            return Running(child);
        }
        let _ = child.wait();
        assert!(Instant::now() < deadline, "the intake cannot listen on {address} again");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGKILL (no shutdown, no flush) and reap.
fn kill(process: &mut Running) {
    let _ = process.0.kill();
    let _ = process.0.wait();
}

/// One kill and the window it may cause duplicates in: lines `[acked, written)`, from the
/// state file read before the kill to the lines written once the process was dead.
#[derive(Debug)]
struct Window {
    what: &'static str,
    acked: usize,
    written: usize,
    /// The state file named a rotated file when the follower was killed (it resumes there).
    in_rotated: bool,
}

#[test]
fn every_line_arrives_in_order_across_rotations_and_kills_of_the_intake_and_the_follower() {
    let started = Instant::now();
    let dir = temp_dir("follow-faults");
    let log = dir.join("app.log");
    let state = dir.join("state.json");
    let outputs: Vec<PathBuf> = (1..=4).map(|n| dir.join(format!("out.{n}.jsonl"))).collect();
    let progress = Arc::new(Progress::default());

    let (first_intake, address) = start_intake(&[
        "--api-key",
        "k",
        "--ack-delay-ms",
        "50",
        "--output",
        outputs[0].to_str().expect("utf-8 path"),
    ]);
    let mut intake = first_intake;
    let writer = write_steadily(log.clone(), progress.clone());
    let mut ship = start_ship(&address, &log, &state);

    // Each step waits until the process about to be killed has done some work (the kill then
    // hits a live stream), then until the writer reaches the step's line, and kills. A
    // follower is killed just after a rotation, before any line is in the new file: its state
    // names the rotated file, and its restart must finish that file first. An intake kill
    // costs the client about a second of reconnection backoff, hence the room before each
    // follower kill.
    let mut windows = Vec::new();
    let mut intakes = 1;
    let plan: [(&str, usize); 5] = [
        ("ship", ROTATE_AT[0]),
        ("intake", 7_000),
        ("ship", ROTATE_AT[1]),
        ("intake", 15_000),
        ("intake", 18_000),
    ];
    for (what, at) in plan {
        let live = || match what {
            "intake" => std::fs::metadata(&outputs[intakes - 1]).is_ok_and(|m| m.len() > 0),
            _ => saved(&state).is_some_and(|s| progress.lines_upto(s) > at.saturating_sub(4_000)),
        };
        assert!(wait_until(PATIENCE, live), "the {what} killed at line {at} did nothing since it started");
        let deadline = Instant::now() + PATIENCE;
        let rotated = ROTATE_AT.iter().filter(|&&r| r <= at).count();
        let reached = || match what {
            "intake" => progress.written() >= at,
            _ => progress.rotations.load(Ordering::SeqCst) >= rotated,
        };
        while !reached() {
            assert!(Instant::now() < deadline, "the writer stalled before line {at}");
            std::thread::sleep(Duration::from_millis(1));
        }
        let at_kill = saved(&state);
        let window = match what {
            "intake" => {
                kill(&mut intake);
                let written = progress.written();
                intake = start_intake_at(&address, &outputs[intakes]);
                intakes += 1;
                Window {
                    what,
                    acked: at_kill.map_or(0, |s| progress.lines_upto(s)),
                    written,
                    in_rotated: false,
                }
            }
            _ => {
                kill(&mut ship);
                let written = progress.written();
                let current = std::fs::metadata(&log).map(|m| (m.dev(), m.ino())).ok();
                let in_rotated = at_kill.is_some_and(|(dev, ino, _)| Some((dev, ino)) != current);
                progress.released.store(rotated, Ordering::SeqCst);
                ship = start_ship(&address, &log, &state);
                Window { what, acked: at_kill.map_or(0, |s| progress.lines_upto(s)), written, in_rotated }
            }
        };
        windows.push(window);
    }
    writer.join().expect("the writer finishes");
    assert_eq!(progress.rotations.load(Ordering::SeqCst), 2);

    // The last file fully acknowledged: the follower is done.
    let metadata = std::fs::metadata(&log).expect("log metadata");
    let end = (metadata.dev(), metadata.ino(), metadata.len());
    assert!(
        wait_until(PATIENCE, || saved(&state) == Some(end)),
        "the follower did not acknowledge the whole last file: {:?} of {end:?}",
        saved(&state)
    );
    drop(ship);
    drop(intake);

    // The outputs in the order the intakes ran: every acked batch was written before its ack.
    let got: Vec<Vec<u8>> = outputs.iter().flat_map(|output| jsonl_contents(output)).collect();
    let mut next = 0; // lines 0..next have all arrived, in order
    let mut duplicates = Vec::new();
    let mut rewinds = 0;
    let mut previous = None;
    for content in &got {
        let text = String::from_utf8_lossy(content);
        let index: usize = text
            .strip_prefix("line ")
            .and_then(|rest| rest.get(..8))
            .and_then(|digits| digits.parse().ok())
            .unwrap_or_else(|| panic!("a record that is no line of the log: {text:?}"));
        assert_eq!(format!("{text}\n"), line(index), "line {index} arrived altered");
        if index == next {
            next += 1;
        } else if index < next {
            duplicates.push(index);
            // A replay goes on from where the previous record left off; anything else starts one.
            if previous.is_none_or(|p: usize| index != p + 1) {
                rewinds += 1;
            }
        } else {
            panic!("lines {next}..{index} were lost (or came after line {index})");
        }
        previous = Some(index);
    }
    assert_eq!(next, TOTAL, "lines {next}.. never arrived");

    // The bound: a kill can make the client send again only lines it had not seen acked and
    // saved when it died (ship) or whose ack the dead intake never got out (intake); either
    // way lines at or past the state file's position read before the kill and written before
    // the process was dead: [acked, written) of that kill. So every duplicate lies in the
    // window of some kill, there are at most the windows' sizes together, and each kill
    // starts at most one replay.
    let bound: usize = windows.iter().map(|w| w.written - w.acked).sum();
    for &index in &duplicates {
        assert!(
            windows.iter().any(|w| (w.acked..w.written).contains(&index)),
            "line {index} arrived twice but was in no unacknowledged window: {windows:?}"
        );
    }
    assert!(duplicates.len() <= bound, "{} duplicates, above the windows' {bound}", duplicates.len());
    assert!(rewinds <= windows.len(), "{rewinds} replays for {} kills", windows.len());
    let resumed_in_rotated = windows.iter().filter(|w| w.in_rotated).count();
    assert_eq!(resumed_in_rotated, 2, "each follower kill found its state in a rotated file: {windows:?}");
    let kills: Vec<String> =
        windows.iter().map(|w| format!("{} [{}, {})", w.what, w.acked, w.written)).collect();
    eprintln!(
        "follow under faults: {TOTAL} lines, 2 rotations, kills {}, {resumed_in_rotated} follower(s) \
         resumed in a rotated file; lost 0, {} duplicates in {rewinds} replays (bound {bound}), {:.1} s",
        kills.join(", "),
        duplicates.len(),
        started.elapsed().as_secs_f64()
    );
}
