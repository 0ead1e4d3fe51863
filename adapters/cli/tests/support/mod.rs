//! Helpers of the CLI tests: the binary, child processes killed on drop, temporary folders,
//! waiting for a condition.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_stateful-logs");
pub const LOGHUB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../corpora/loghub");

/// A child process, killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A fresh temporary folder for one test.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stateful-logs-cli-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary folder");
    dir
}

/// Starts `intake --listen 127.0.0.1:0` with `extra` arguments; returns it and the address it
/// printed first.
pub fn start_intake(extra: &[&str]) -> (Running, String) {
    let mut command = Command::new(BIN);
    command
        .args(["intake", "--listen", "127.0.0.1:0", "--stats-interval", "0"])
        .args(extra)
        .stderr(Stdio::null());
    spawn_intake(command)
}

/// Spawns an intake command and reads the address from its first line (`listening on ADDR`).
fn spawn_intake(mut command: Command) -> (Running, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().expect("start the intake");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("read the intake's first line");
    let address = first.trim().strip_prefix("listening on ").expect("`listening on ADDR` first").to_owned();
    (Running(child), address)
}

/// Polls `condition` until it holds or `limit` passes; returns whether it held. Polling is
/// unavoidable here: the processes under test run on their own clocks.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The contents of the intake's JSONL output, in order (`content`, or `content_b64` decoded).
pub fn jsonl_contents(path: &Path) -> Vec<Vec<u8>> {
    use base64::Engine;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|line| line.ends_with('}'))
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("each output line is JSON");
            if let Some(content) = value["content"].as_str() {
                content.as_bytes().to_vec()
            } else {
                let b64 = value["content_b64"].as_str().expect("content or content_b64");
                base64::engine::general_purpose::STANDARD.decode(b64).expect("valid base64")
            }
        })
        .collect()
}

/// The kept lines of `text` (`encoding.md` §10.4).
pub fn kept_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// `ship --follow` of `log` to the intake at `address`, batches of 50, resuming from `state`.
pub fn start_ship(address: &str, log: &Path, state: &Path) -> Running {
    let child = Command::new(BIN)
        .args(["ship", "--follow", "--batch-size", "50", "--endpoint", &format!("http://{address}")])
        .arg("--input")
        .arg(log)
        .arg("--state-file")
        .arg(state)
        .env("DD_API_KEY", "k")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ship --follow");
    Running(child)
}

/// Sends `signal` (`TERM`, `INT`) to `process` with the system's `kill`.
pub fn signal(process: &Running, signal: &str) {
    let status =
        Command::new("kill").args(["-s", signal, &process.0.id().to_string()]).status().expect("run kill");
    assert!(status.success(), "kill -s {signal} failed");
}

/// Waits up to `limit` for `process` to exit; its exit code (`None` if it was still running
/// or a signal killed it).
pub fn exit_code_within(process: &mut Running, limit: Duration) -> Option<i32> {
    let mut status = None;
    wait_until(limit, || {
        status = process.0.try_wait().ok().flatten();
        status.is_some()
    });
    status.and_then(|s| s.code())
}

/// The contents of a file written by a child process (empty while it does not exist).
pub fn read_text(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

/// `intake --listen 127.0.0.1:0 --api-key k --output OUTPUT` with `extra` arguments, its
/// stderr going to `stderr`; returns it and its address.
pub fn start_intake_logged(output: &Path, stderr: &Path, extra: &[&str]) -> (Running, String) {
    let mut command = Command::new(BIN);
    command
        .args(["intake", "--listen", "127.0.0.1:0", "--stats-interval", "0", "--api-key", "k"])
        .arg("--output")
        .arg(output)
        .args(extra)
        .stderr(std::fs::File::create(stderr).expect("create the stderr file"));
    spawn_intake(command)
}

/// `ship` to `http://ADDRESS` with the key `k` and `args`, stdout and stderr going to files
/// `ship.N.stdout` / `ship.N.stderr` of `dir`; returns it and the stderr path.
pub fn start_ship_logged(dir: &Path, n: usize, address: &str, args: &[&str]) -> (Running, PathBuf) {
    let stderr = dir.join(format!("ship.{n}.stderr"));
    let child = Command::new(BIN)
        .args(["ship", "--endpoint", &format!("http://{address}")])
        .args(args)
        .env("DD_API_KEY", "k")
        .env_remove("RUST_LOG")
        .stdout(std::fs::File::create(dir.join(format!("ship.{n}.stdout"))).expect("create the stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("create the stderr file"))
        .spawn()
        .expect("start ship");
    (Running(child), stderr)
}

/// The offset of the state file, once it exists.
pub fn saved_offset(state: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(state).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["offset"].as_u64()
}
