//! Failures that must show, with the real binaries: an intake nobody answers for (give up, say
//! what to check), lines too large to send (named, distinct exit code), no colour codes where
//! nobody sees colours.
#![cfg(unix)]

mod support;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

const PATIENCE: Duration = Duration::from_secs(30);

/// A loopback port nobody listens on (bound, then released).
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// `ship --give-up-after 1s` to a port nobody listens on, with `no_color` as `NO_COLOR`, in
/// the temporary folder `test`.
fn ship_to_nobody(test: &str, no_color: Option<&str>) -> (Option<i32>, String, Duration) {
    let dir = temp_dir(&format!("{test}-{}", no_color.unwrap_or("unset")));
    let input = dir.join("in.log");
    std::fs::write(&input, "one\ntwo\nthree\n").expect("write the input");
    let stderr = dir.join("ship.stderr");
    let mut command = Command::new(BIN);
    command
        .args(["ship", "--endpoint", &format!("http://127.0.0.1:{}", unused_port())])
        .args(["--give-up-after", "1s", "--input"])
        .arg(&input)
        .env("DD_API_KEY", "k")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("create the stderr file"));
    match no_color {
        Some(value) => command.env("NO_COLOR", value),
        None => command.env_remove("NO_COLOR"),
    };
    let started = Instant::now();
    let mut ship = Running(command.spawn().expect("start ship"));
    let code = exit_code_within(&mut ship, PATIENCE);
    (code, read_text(&stderr), started.elapsed())
}

#[test]
fn ship_gives_up_on_a_port_nobody_listens_on_and_says_what_to_check() {
    let (code, stderr, took) = ship_to_nobody("give-up", None);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(took < PATIENCE, "bounded: {took:?}");
    assert!(stderr.contains("gave up: nothing was acknowledged for 1 s (--give-up-after)"), "{stderr}");
    assert!(
        stderr.contains("3 records sent: 0 acknowledged, 0 dropped as too large, 3 not acknowledged"),
        "{stderr}"
    );
    assert!(stderr.contains("last failure: "), "what failed: {stderr}");
    assert!(stderr.contains("check that the intake at http://127.0.0.1:"), "what to check: {stderr}");
}

#[test]
fn stderr_has_no_colour_codes_when_it_is_no_terminal_or_no_color_is_set() {
    for no_color in [None, Some("1")] {
        let (code, stderr, _) = ship_to_nobody("no-colour", no_color);
        assert_eq!(code, Some(4), "{stderr}");
        assert!(stderr.contains("WARN"), "the connection failures were logged: {stderr}");
        assert!(!stderr.contains("\x1b["), "NO_COLOR={no_color:?}: colour codes in {stderr:?}");
    }
}

#[test]
fn a_line_too_large_is_named_the_others_arrive_and_ship_exits_3_also_when_following() {
    let dir = temp_dir("too-large");
    let (input, output) = (dir.join("in.log"), dir.join("out.jsonl"));
    let huge = "x".repeat(5_000);
    std::fs::write(&input, format!("small one\n\nsmall three\n{huge}\nsmall five\n"))
        .expect("write the input");
    let (_intake, address) = start_intake_logged(&output, &dir.join("intake.stderr"), &[]);
    let limit = ["--max-batch-bytes", "1000"];

    let (mut ship, stderr) =
        start_ship_logged(&dir, 1, &address, &[&limit[..], &["--input", path(&input)]].concat());
    let code = exit_code_within(&mut ship, PATIENCE);
    let stderr = read_text(&stderr);
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("dropped line 4 of ") && stderr.contains("5000 bytes, above the limit of 1000 bytes"),
        "the warning names the line, its size and the limit: {stderr}"
    );
    let want: Vec<Vec<u8>> = ["small one", "small three", "small five"].map(|l| l.as_bytes().to_vec()).into();
    assert!(wait_until(PATIENCE, || jsonl_contents(&output).len() >= 3));
    assert_eq!(jsonl_contents(&output), want);

    // Following: the warning comes while it runs, the code at its stop.
    let state = dir.join("state.json");
    let length = std::fs::metadata(&input).expect("metadata").len();
    let follow = ["--follow", "--input", path(&input), "--state-file", path(&state)];
    let (mut follower, stderr) = start_ship_logged(&dir, 2, &address, &[&limit[..], &follow[..]].concat());
    assert!(wait_until(PATIENCE, || saved_offset(&state) == Some(length)), "{}", read_text(&stderr));
    assert!(
        wait_until(PATIENCE, || read_text(&stderr).contains("dropped line 4 of ")),
        "{}",
        read_text(&stderr)
    );
    signal(&follower, "TERM");
    assert_eq!(exit_code_within(&mut follower, PATIENCE), Some(3), "{}", read_text(&stderr));
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}
