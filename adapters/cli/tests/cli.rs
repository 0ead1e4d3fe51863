//! The command-line tool end to end: real processes over loopback.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;

#[test]
fn help_works_for_every_command() {
    for command in
        [&[][..], &["demo"], &["ship"], &["intake"], &["bench"], &["simulate"], &["soak"], &["tls-certs"]]
    {
        let output = Command::new(BIN).args(command).arg("--help").output().expect("run --help");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{command:?} --help failed");
        assert!(text.contains("Usage: stateful-logs"), "{command:?} --help printed {text}");
    }
}

#[test]
fn ship_and_intake_help_tell_how_signals_stop_them_and_the_exit_codes() {
    for (command, needles) in [
        ("ship", &["SIGTERM", "--shutdown-timeout", "Exit codes:", "  3 ", "  4 ", "143"][..]),
        ("intake", &["SIGTERM", "UNAVAILABLE", "Exit codes:", "143"][..]),
    ] {
        let output = Command::new(BIN).args([command, "--help"]).output().expect("run --help");
        let text = String::from_utf8_lossy(&output.stdout);
        for needle in needles {
            assert!(text.contains(needle), "{command} --help tells {needle:?}: {text}");
        }
    }
}

#[test]
fn ship_into_intake_reproduces_the_input_exactly_in_the_jsonl() {
    let dir = temp_dir("ship");
    let input = dir.join("input.log");
    let output = dir.join("out.jsonl");
    // CRLF and LF endings, empty lines, non-ASCII, invalid UTF-8, a JSON-looking line, no final newline.
    let mut text = b"first line\r\n\n  indented\tand tabbed\nunicode: \xc3\xa9\xe2\x82\xac\r\n\r\n".to_vec();
    text.extend_from_slice(b"bytes \xff\xfe not utf-8\n{\"looks\": \"like json\"}\n");
    text.extend(std::fs::read(format!("{LOGHUB}/OpenSSH_2k.log")).expect("bundled sample"));
    text.extend_from_slice(b"last line without newline");
    std::fs::write(&input, &text).expect("write the input");

    let (_intake, address) =
        start_intake(&["--api-key", "k1", "--output", output.to_str().expect("utf-8 path")]);
    let ship = Command::new(BIN)
        .args(["ship", "--endpoint", &format!("http://{address}"), "--input"])
        .arg(&input)
        .env("DD_API_KEY", "k1")
        .output()
        .expect("run ship");
    assert!(ship.status.success(), "ship failed: {}", String::from_utf8_lossy(&ship.stderr));
    let summary = String::from_utf8_lossy(&ship.stdout);
    let want = kept_lines(&text);
    assert!(summary.contains(&format!("{} acknowledged", want.len())), "summary: {summary}");

    // Acknowledged means delivered; the intake writes each delivered batch right after.
    wait_until(Duration::from_secs(10), || jsonl_contents(&output).len() >= want.len());
    assert_eq!(jsonl_contents(&output), want);
}

#[test]
fn a_refused_api_key_exits_non_zero_with_a_readable_message() {
    let (_intake, address) = start_intake(&["--api-key", "right-key"]);
    let input = temp_dir("badkey").join("input.log");
    std::fs::write(&input, "one line\n").expect("write the input");
    let ship = Command::new(BIN)
        .args(["ship", "--endpoint", &format!("http://{address}"), "--input"])
        .arg(&input)
        .env("DD_API_KEY", "wrong-key")
        .output()
        .expect("run ship");
    let stderr = String::from_utf8_lossy(&ship.stderr);
    assert!(!ship.status.success());
    assert!(
        stderr.contains("error: the intake at endpoint 0 (127.0.0.1) refused the API key"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("wrong-key"), "the key must not be printed: {stderr}");
}

#[test]
fn ship_without_an_api_key_says_which_variable_to_set() {
    let ship = Command::new(BIN)
        .args(["ship", "--endpoint", "http://127.0.0.1:1", "--api-key-env", "NO_SUCH_KEY_VARIABLE"])
        .env_remove("NO_SUCH_KEY_VARIABLE")
        .output()
        .expect("run ship");
    assert_eq!(ship.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&ship.stderr).contains("set the environment variable NO_SUCH_KEY_VARIABLE")
    );
}

#[test]
fn the_intake_refuses_to_start_without_a_key_unless_told_to_accept_any() {
    let intake = Command::new(BIN).args(["intake", "--listen", "127.0.0.1:0"]).output().expect("run intake");
    assert_eq!(intake.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&intake.stderr).contains("--insecure-accept-any-key"));
}

#[test]
fn bench_json_parses_and_every_loghub_file_is_lossless() {
    let mut files: Vec<_> = std::fs::read_dir(LOGHUB)
        .expect("bundled samples")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    assert!(files.len() >= 8, "the bundled Loghub samples");
    let output =
        Command::new(BIN).args(["bench", "--json", "--input"]).args(&files).output().expect("run bench");
    assert!(output.status.success(), "bench failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("UTF-8 output");
    let rows: Vec<serde_json::Value> =
        text.lines().map(|line| serde_json::from_str(line).expect("one JSON object per line")).collect();
    // One row per file and profile, v1 then v2.
    assert_eq!(rows.len(), 2 * files.len());
    let expected = files.iter().flat_map(|f| [(f, "v1"), (f, "v2")]);
    for (row, (file, profile)) in rows.iter().zip(expected) {
        assert_eq!(row["file"].as_str(), file.to_str());
        assert_eq!(row["profile"].as_str(), Some(profile));
        assert_eq!(row["baseline_message"].as_str(), Some("text"), "{file:?}: Loghub lines are text");
        assert_eq!(row["baseline_bytes_per_record"], row["text_baseline_bytes_per_record"]);
        assert_eq!(row["records"].as_u64(), Some(2000), "{file:?}");
        assert_eq!(row["batch_size"].as_u64(), Some(1000));
        for field in [
            "wire_bytes_per_record",
            "baseline_bytes_per_record",
            "raw_zstd_stream_bytes_per_record",
            "raw_zstd_bytes_per_record",
            "patterns_zstd_stream_bytes_per_record",
            "patterns_zstd_bytes_per_record",
            "zstd19_bytes_per_record",
            "size_ratio",
            "records_per_sec",
            "patterns_records_per_sec",
            "baseline_records_per_sec",
            "speed_ratio",
        ] {
            assert!(row[field].as_f64().is_some_and(|v| v > 0.0), "{file:?}: {field} = {}", row[field]);
        }
        assert_eq!(row["lossless"], serde_json::Value::Bool(true), "{file:?}: {}", row["lossless_error"]);
        // The default (raw mode, zstd-stream) is never larger than raw mode with per-batch zstd.
        let (stream, per_batch) =
            (&row["raw_zstd_stream_bytes_per_record"], &row["raw_zstd_bytes_per_record"]);
        assert!(stream.as_f64() <= per_batch.as_f64(), "{file:?}: {stream} > {per_batch}");
    }
}

#[test]
fn bench_compares_a_json_corpus_file_with_the_parsed_json_baseline_in_both_profiles() {
    // Apache: v1 with patterns on delivers some of its logs as JSON bodies (checked as JSON values).
    let file = format!("{LOGHUB}/../json/Apache_2k.jsonl");
    let bench = |extra: &[&str]| -> Vec<serde_json::Value> {
        let output = Command::new(BIN)
            .args(["bench", "--json", "--batch-size", "100", "--input", &file])
            .args(extra)
            .output()
            .expect("run bench");
        assert!(output.status.success(), "bench failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = String::from_utf8(output.stdout).expect("UTF-8 output");
        text.lines().map(|l| serde_json::from_str(l).expect("JSON")).collect()
    };
    let rows = bench(&[]);
    assert_eq!(rows.len(), 2, "one row per profile");
    for (row, profile) in rows.iter().zip(["v1", "v2"]) {
        assert_eq!(row["profile"], profile);
        assert_eq!(row["json_records"].as_u64(), Some(2000));
        assert_eq!(row["baseline_message"], "parsed_json");
        assert_eq!(row["baseline_bytes_per_record"], row["parsed_json_baseline_bytes_per_record"]);
        assert_eq!(row["lossless"], serde_json::Value::Bool(true), "{profile}: {}", row["lossless_error"]);
    }
    let only = bench(&["--profile", "v2"]);
    assert_eq!(only.len(), 1, "only the profile asked for");
    assert_eq!(only[0]["profile"], "v2");
}

#[test]
fn bench_without_input_or_corpus_is_a_usage_error() {
    let output = Command::new(BIN).args(["bench"]).output().expect("run bench");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--input"), "{output:?}");
}

#[test]
fn the_demo_verifies_every_bundled_record_and_prints_its_table() {
    let demo = Command::new(BIN).args(["demo", "--quiet"]).output().expect("run the demo");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "demo failed: {}", String::from_utf8_lossy(&demo.stderr));
    assert!(stdout.contains("every record arrived intact and in order (16000 checked)"), "{stdout}");
    for row in [
        "wire bytes per record",
        "HTTP JSON + zstd-1 bytes per record",
        "ratio",
        "patterns created",
        "streams opened",
    ] {
        assert!(stdout.contains(row), "missing row {row}: {stdout}");
    }
}

#[test]
fn the_demo_with_faults_loses_nothing() {
    let input = format!("{LOGHUB}/HDFS_2k.log");
    let demo = Command::new(BIN)
        .args(["demo", "--quiet", "--faults", "--batch-size", "100", "--input", &input])
        .output()
        .expect("run the demo");
    let stdout = String::from_utf8_lossy(&demo.stdout);
    assert!(demo.status.success(), "demo failed: {}", String::from_utf8_lossy(&demo.stderr));
    assert!(stdout.contains("(2000 checked)"), "{stdout}");
    assert!(stdout.contains("none lost"), "{stdout}");
    let streams = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("streams opened"))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(streams.is_some_and(|n| n > 1), "the faults replaced streams: {stdout}");
}

/// The summary lines of `simulate` that the seed determines (not the wall time or memory).
fn simulated_lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| !l.contains("wall time") && !l.contains("resident per client"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn simulate_prints_the_same_summary_for_the_same_seed_and_writes_the_plot() {
    let dir = temp_dir("simulate");
    let plot = dir.join("outage.svg");
    let run = || {
        let output = Command::new(BIN)
            .args(["simulate", "--clients", "40", "--scenario", "outage", "--seed", "9", "--policy", "both"])
            .arg("--plot")
            .arg(&plot)
            .output()
            .expect("run simulate");
        assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    };
    let first = simulated_lines(&run());
    assert_eq!(first, simulated_lines(&run()));
    let text = first.join("\n");
    assert!(text.contains("records lost                0"), "{text}");
    assert!(text.contains("| outage (40 clients) | ours | reference |"), "{text}");
    assert!(std::fs::read_to_string(&plot).expect("the plot").starts_with("<svg"));
}

#[test]
fn simulate_compares_runs_with_and_without_intake_pushback() {
    let dir = temp_dir("simulate-pushback");
    let plot = dir.join("dead.svg");
    let output = Command::new(BIN)
        .args(["simulate", "--clients", "40", "--scenario", "dead-intake", "--pushback", "both"])
        .args(["--policy", "ours", "--open-capacity-divisor", "20", "--plot"])
        .arg(&plot)
        .output()
        .expect("run simulate");
    assert!(output.status.success(), "simulate failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("| dead-intake (40 clients) | ours, pushback | ours, no pushback |"), "{text}");
    assert!(text.contains("intake admission            clients/20 new streams/s"), "{text}");
    let svg = std::fs::read_to_string(&plot).expect("the plot");
    assert!(svg.contains("ours, no pushback"));
}

#[test]
fn simulate_refuses_zero_clients_with_a_clear_message() {
    let output =
        Command::new(BIN).args(["simulate", "--clients", "0", "--scenario", "steady"]).output().expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("invalid value '0' for '--clients <N>'"), "{stderr}");
}
