//! Every invalid option of `ship` and `intake` is refused before anything starts (no
//! connection to the intake, no port bound, no `listening on` line), with a message that says
//! how to fix it. One table per command; each row is one option gone wrong.

mod support;

use std::net::TcpListener;
use std::process::{Command, Output};

use support::{BIN, temp_dir};

/// Environment variables of one run.
type Env<'a> = &'a [(&'a str, &'a str)];

fn run(args: &[&str], env: Env) -> Output {
    let mut command = Command::new(BIN);
    command.args(args).env("RUST_LOG", "off").stdin(std::process::Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run the binary")
}

/// A port something listens on, to show that the refused command never connected to it.
struct Witness(TcpListener);

impl Witness {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        Witness(listener)
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().expect("address"))
    }

    fn was_contacted(&self) -> bool {
        self.0.accept().is_ok()
    }
}

#[test]
fn every_invalid_ship_option_is_refused_before_connecting_with_its_fix() {
    let dir = temp_dir("bad-ship");
    let input = dir.join("in.log");
    std::fs::write(&input, "a line\n").expect("write the input");
    let input = input.to_str().expect("UTF-8 path").to_owned();
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = busy.local_addr().expect("address").to_string();
    let witness = Witness::new();
    let url = witness.url();
    let key = [("DD_API_KEY", "key")];
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, Env, &str)> = vec![
        (vec!["ship", "--input", &input], &key, "--endpoint <URL>"),
        (vec!["ship", "--endpoint", "ftp://x:1", "--input", &input], &key, "write it as http://HOST:PORT"),
        (vec!["ship", "--endpoint", "http://127.0.0.1", "--input", &input], &key, "the port is missing"),
        (vec!["ship", "--endpoint", "http://127.0.0.1:0", "--input", &input], &key, "from 1 to 65535"),
        (vec!["ship", "--endpoint", "http://127.0.0.1:1/path", "--input", &input], &key, "a path is not allowed"),
        (vec!["ship", "--endpoint", &url, "--input", &input], &[("DD_API_KEY", "")], "set the environment variable DD_API_KEY"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--api-key-env", "NO_SUCH_VAR_X"], &[], "set the environment variable NO_SUCH_VAR_X"),
        (vec!["ship", "--endpoint", &url, "--input", &input], &[("DD_API_KEY", "key\twith tab")], "invalid API key for --endpoint #1"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--batch-size", "0"], &key, "invalid --batch-size: must be at least 1"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--max-batch-bytes", "0"], &key, "invalid --max-batch-bytes"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--batch-size", "many"], &key, "invalid value 'many'"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--compression", "brotli"], &key, "possible values"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--profile", "v3"], &key, "possible values"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--compression-level", "fast"], &key, "use auto or a number"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--compression-level", "0"], &key, "invalid --compression-level: zstd-stream level 0 is out of range"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--compression", "gzip", "--compression-level", "12"], &key, "invalid --compression-level: gzip level 12"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--compression-cpu", "0"], &key, "--compression-cpu"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--v1-delta-encoding", "maybe"], &key, "invalid value 'maybe'"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--ca", "/no/such/ca.pem"], &key, "invalid --ca: cannot read /no/such/ca.pem"),
        (vec!["ship", "--endpoint", &url, "--input", "/no/such/input.log"], &key, "cannot open /no/such/input.log"),
        (vec!["ship", "--endpoint", &url, "--follow"], &key, "--follow needs a file"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--state-file", "/tmp/x.state"], &key, "--follow"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--metrics-listen", "nowhere"], &key, "invalid value 'nowhere'"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--metrics-listen", &busy], &key, "pick a free address for --metrics-listen"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--shutdown-timeout", "soon"], &key, "invalid value 'soon'"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--give-up-after", "1.5s"], &key, "write e.g. 10s"),
        (vec!["ship", "--endpoint", &url, "--input", &input, "--follow", "--give-up-after", "5s"], &key, "'--follow' cannot be used with '--give-up-after"),
    ];
    for (args, env, needle) in cases {
        let output = run(&args, env);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} is refused");
        assert!(stderr.contains(needle), "{args:?}: the message says {needle:?}: {stderr}");
        assert!(!witness.was_contacted(), "{args:?}: refused before any connection");
        assert_no_library_setting_names(&args, &stderr);
    }
}

#[test]
fn every_invalid_intake_option_is_refused_before_listening_with_its_fix() {
    let dir = temp_dir("bad-intake");
    let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = busy.local_addr().expect("address").to_string();
    let output_file = dir.join("never.jsonl");
    let output_path = output_file.to_str().expect("UTF-8 path");
    let local = ["intake", "--listen", "127.0.0.1:0", "--api-key", "k"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        local.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    #[rustfmt::skip]
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["intake".into(), "--api-key".into(), "k".into()], "--listen <ADDR>"),
        (vec!["intake".into(), "--listen".into(), "127.0.0.1:0".into()], "--insecure-accept-any-key"),
        (vec!["intake".into(), "--listen".into(), "not-an-address".into(), "--api-key".into(), "k".into()], "pick a free port or address"),
        (vec!["intake".into(), "--listen".into(), busy.clone(), "--api-key".into(), "k".into()], "pick a free port or address"),
        (vec!["intake".into(), "--listen".into(), "127.0.0.1:0".into(), "--api-key".into(), String::new()], "remove it"),
        (with(&["--max-stream-window-log", "30"]), "10..=27"),
        (with(&["--max-streams", "0"]), "invalid --max-streams: is 0"),
        (with(&["--max-connections", "0"]), "invalid --max-connections: is 0"),
        (with(&["--first-request-timeout", "0"]), "invalid --first-request-timeout: is 0"),
        (with(&["--shutdown-timeout", "later"]), "invalid value 'later'"),
        (with(&["--stats-interval", "often"]), "invalid value 'often'"),
        (with(&["--ack-delay-ms", "slow"]), "invalid value 'slow'"),
        (with(&["--v1-delta-encoding", "perhaps"]), "invalid value 'perhaps'"),
        (with(&["--metrics-listen", "nowhere"]), "invalid value 'nowhere'"),
        (
            {
                let mut args = with(&["--output"]);
                args.push("/no/such/dir/out.jsonl".into());
                args
            },
            "cannot create /no/such/dir/out.jsonl",
        ),
        (
            {
                let mut args = with(&["--max-streams", "0", "--metrics-listen"]);
                args.push(busy.clone());
                args.extend(["--output".to_string(), output_path.to_string()]);
                args
            },
            "invalid --max-streams",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args, &[]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} is refused");
        assert!(stderr.contains(needle), "{args:?}: the message says {needle:?}: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains("listening on"),
            "{args:?}: never listened"
        );
        assert_no_library_setting_names(&args, &stderr);
    }
    assert!(!output_file.exists(), "a refused intake creates no output file");
}

/// A message names the flags, never the library settings behind them.
fn assert_no_library_setting_names(args: &[&str], stderr: &str) {
    for setting in ["max_batch_items", "max_batch_bytes", "endpoints[", "max_streams", "server_limits."] {
        assert!(!stderr.contains(setting), "{args:?}: {setting} named instead of its flag: {stderr}");
    }
}

#[test]
fn a_setting_refused_by_the_library_is_a_usage_error() {
    let output =
        run(&["ship", "--endpoint", "http://127.0.0.1:1", "--batch-size", "0"], &[("DD_API_KEY", "k")]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
    let output = run(&["intake", "--listen", "127.0.0.1:0", "--api-key", "k", "--max-streams", "0"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", String::from_utf8_lossy(&output.stderr));
}
