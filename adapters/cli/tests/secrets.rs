//! The API key never leaks: a whole `ship` → `intake` session at the most verbose logging
//! (`RUST_LOG=trace`), with a wrong key too so that errors are printed, both metrics endpoints
//! scraped, and the `Debug` of every configuration and error a key passes through.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{BIN, Running, jsonl_contents, temp_dir, wait_until};

/// Distinctive, so that a hit cannot be a coincidence.
const KEY: &str = "sk-live-7f3a9c2e5b1d40864e2a";
const WRONG_KEY: &str = "sk-wrong-0c9d8e7f6a5b4c3d2e1f";

/// Whether `text` holds either key, or a recognisable piece of one.
fn leaks(text: &str) -> bool {
    [KEY, WRONG_KEY].iter().any(|key| text.contains(key) || text.contains(&key[..16]))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port()
}

/// `GET /metrics` over plain HTTP/1.1; the body, or empty on failure.
fn scrape(port: u16) -> String {
    let Ok(mut tcp) = TcpStream::connect(("127.0.0.1", port)) else { return String::new() };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = tcp.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = tcp.read_to_string(&mut response);
    response
}

/// Scrapes until the body shows `name` (the exporter starts on its own time), bounded.
fn scrape_until(port: u16, name: &str) -> String {
    let mut body = String::new();
    let found = wait_until(Duration::from_secs(20), || {
        body = scrape(port);
        body.contains(name)
    });
    assert!(found, "metrics on port {port} show {name}: {body}");
    body
}

fn read(path: &Path) -> String {
    String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned()
}

#[test]
fn the_api_key_appears_in_no_output_log_metric_or_debug() {
    let dir = temp_dir("secrets");
    let (intake_metrics, ship_metrics) = (free_port(), free_port());
    let file = |name: &str| std::fs::File::create(dir.join(name)).expect("create a capture file");
    let _intake = Running(
        Command::new(BIN)
            .args(["intake", "--listen", "127.0.0.1:0", "--stats-interval", "1", "--api-key", KEY])
            .args(["--metrics-listen", &format!("127.0.0.1:{intake_metrics}"), "--output"])
            .arg(dir.join("records.jsonl"))
            .env("RUST_LOG", "trace")
            .stdout(file("intake.out"))
            .stderr(file("intake.err"))
            .spawn()
            .expect("start the intake"),
    );
    let mut address = String::new();
    assert!(wait_until(Duration::from_secs(20), || {
        address = read(&dir.join("intake.out"));
        address.ends_with('\n')
    }));
    let endpoint = format!("http://{}", address.trim().strip_prefix("listening on ").expect("address first"));

    // A right key, following the file so that the process is still up to be scraped.
    let input = dir.join("input.log");
    std::fs::write(&input, "first line\nsecond line\nthird line\n").expect("write the input");
    let ship = Running(
        Command::new(BIN)
            .args(["ship", "--endpoint", &endpoint, "--follow", "--input"])
            .arg(&input)
            .args(["--metrics-listen", &format!("127.0.0.1:{ship_metrics}")])
            .env("DD_API_KEY", KEY)
            .env("RUST_LOG", "trace")
            .stdout(file("ship.out"))
            .stderr(file("ship.err"))
            .spawn()
            .expect("start ship"),
    );
    let records = dir.join("records.jsonl");
    assert!(wait_until(Duration::from_secs(30), || jsonl_contents(&records).len() == 3), "delivered");
    let ship_scrape = scrape_until(ship_metrics, "stateful_logs_");
    let intake_scrape = scrape_until(intake_metrics, "stateful_logs_intake_records_written");
    drop(ship);

    // A wrong key: the client halts and prints why.
    let wrong = Command::new(BIN)
        .args(["ship", "--endpoint", &endpoint, "--input"])
        .arg(&input)
        .env("DD_API_KEY", WRONG_KEY)
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .output()
        .expect("run ship with a wrong key");
    let wrong_stderr = String::from_utf8_lossy(&wrong.stderr).into_owned();
    assert!(!wrong.status.success());
    assert!(wrong_stderr.contains("refused the API key"), "the error is printed: {wrong_stderr}");

    let ship_stderr = read(&dir.join("ship.err"));
    assert!(
        ship_stderr.lines().filter(|l| l.contains("TRACE")).count() > 20,
        "the session really logged at trace level: {} bytes",
        ship_stderr.len()
    );
    let captures = [
        ("intake stdout", read(&dir.join("intake.out"))),
        ("intake stderr", read(&dir.join("intake.err"))),
        ("records", read(&records)),
        ("ship stdout", read(&dir.join("ship.out"))),
        ("ship stderr", ship_stderr),
        ("ship metrics", ship_scrape),
        ("intake metrics", intake_scrape),
        ("wrong-key stdout", String::from_utf8_lossy(&wrong.stdout).into_owned()),
        ("wrong-key stderr", wrong_stderr),
    ];
    for (what, text) in &captures {
        let line = text.lines().find(|line| leaks(line));
        assert!(line.is_none(), "{what} shows an API key: {line:?}");
    }
}

#[test]
fn the_debug_of_configs_errors_and_statuses_never_shows_the_key() {
    use stateful_logs::receiver::ReceiverConfig;
    use stateful_logs::transport::{ApiKey, EndpointConfig};
    use stateful_logs_tokio::{BuildTokio, Client, ClientBuilder, Record};

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let intake = stateful_logs_intake::Intake::builder().api_key(KEY).bind("127.0.0.1:0").await.unwrap();
        let port = intake.local_addr().port();
        let builder = ClientBuilder::new()
            .endpoint("127.0.0.1", port)
            .api_key(WRONG_KEY)
            .endpoint_config(EndpointConfig::new("127.0.0.1", port, ApiKey::new(KEY)));
        let mut debugs = vec![
            format!("{builder:?}"),
            format!("{:?}", ApiKey::new(KEY)),
            format!("{:?}", EndpointConfig::new("h", 1, ApiKey::new(KEY))),
            format!("{:?}", ReceiverConfig::with_api_keys([KEY, WRONG_KEY])),
        ];
        // A real halt on the wrong key (the first endpoint), its error and the status.
        let client: Client = builder.build_tokio().unwrap();
        // The stream opens at once, so the halt may come before the send: then the send
        // fails with it (and its Debug is checked too).
        if let Err(refused) = client.handle().send(Record::new(1, "a line").with_ack_token(1)).await {
            debugs.push(format!("{refused:?}"));
        }
        client.flush().await;
        let halt = tokio::time::timeout(Duration::from_secs(20), client.halts().recv())
            .await
            .expect("the wrong key halts the client in time")
            .expect("a halt");
        debugs.push(format!("{halt:?} / {halt}"));
        debugs.push(format!("{:?}", client.status()));
        let report = client.shutdown(Duration::ZERO).await;
        debugs.push(format!("{report:?}"));
        for text in &debugs {
            assert!(!leaks(text), "a Debug shows an API key: {text}");
        }
        assert!(debugs[0].contains("127.0.0.1"), "the Debug is not empty: {}", debugs[0]);
    });
}
