//! TLS you can try on one machine, with the real binary: `tls-certs` makes a CA and a server
//! certificate, `intake --tls-cert --tls-key` serves TLS with them, `ship --ca` trusts the CA
//! (the commands the README documents). And the failures say what to do: a plaintext intake
//! behind `https://`, a certificate from another CA, plaintext to a TLS intake, unusable files.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

const PATIENCE: Duration = Duration::from_secs(30);

/// `stateful-logs tls-certs --dir DIR` with `extra` arguments; its exit code and output.
fn tls_certs(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output =
        Command::new(BIN).args(["tls-certs", "--dir"]).arg(dir).args(extra).output().expect("run tls-certs");
    let text =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// The `--tls-cert` and `--tls-key` arguments for the files `tls-certs` wrote into `dir`.
fn tls_args(dir: &Path) -> [String; 4] {
    let file = |name: &str| dir.join(name).display().to_string();
    ["--tls-cert".into(), file("server.pem"), "--tls-key".into(), file("server.key")]
}

/// `ship --endpoint ENDPOINT --input INPUT` with the key `k` and `extra` arguments, run to its
/// end (bounded); its exit code and stderr.
fn ship(dir: &Path, name: &str, endpoint: &str, input: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let stderr = dir.join(format!("{name}.stderr"));
    let child = Command::new(BIN)
        .args(["ship", "--endpoint", endpoint, "--input"])
        .arg(input)
        .args(extra)
        .env("DD_API_KEY", "k")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr).expect("create the stderr file"))
        .spawn()
        .expect("start ship");
    let mut ship = Running(child);
    let code = exit_code_within(&mut ship, PATIENCE);
    (code, read_text(&stderr))
}

fn port_of(address: &str) -> &str {
    address.rsplit(':').next().expect("ADDR:PORT")
}

fn lines_file(dir: &Path) -> (PathBuf, Vec<Vec<u8>>) {
    let input = dir.join("in.log");
    let text = (0..200).map(|i| format!("line {i} over TLS\n")).collect::<String>();
    std::fs::write(&input, &text).expect("write the input");
    (input, kept_lines(text.as_bytes()))
}

#[test]
fn tls_certs_then_a_tls_intake_then_ship_with_the_ca_delivers_every_line() {
    let dir = temp_dir("tls-roundtrip");
    let certs = dir.join("certs");
    let (code, out) = tls_certs(&certs, &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("--tls-cert") && out.contains("--ca"), "it prints the next commands: {out}");
    let (input, lines) = lines_file(&dir);
    let output = dir.join("out.jsonl");
    let tls = tls_args(&certs);
    let extra: Vec<&str> = tls.iter().map(String::as_str).collect();
    let (_intake, address) = start_intake_logged(&output, &dir.join("intake.stderr"), &extra);
    let ca = certs.join("ca.pem").display().to_string();

    // The name and both loopback addresses are in the certificate.
    let endpoints = [format!("https://localhost:{}", port_of(&address)), format!("https://{address}")];
    for (n, endpoint) in endpoints.iter().enumerate() {
        let (code, stderr) = ship(&dir, &format!("ship{n}"), endpoint, &input, &["--ca", &ca]);
        assert_eq!(code, Some(0), "{endpoint}: {stderr}");
        assert!(
            wait_until(PATIENCE, || jsonl_contents(&output).len() == lines.len() * (n + 1)),
            "every line arrives"
        );
    }
    let delivered = jsonl_contents(&output);
    assert_eq!(delivered[..lines.len()], lines[..], "intact and in order");
    assert_eq!(delivered[lines.len()..], lines[..], "the second ship too");
}

#[test]
fn an_https_endpoint_that_answers_in_plaintext_is_told_so() {
    let dir = temp_dir("tls-plaintext-intake");
    let certs = dir.join("certs");
    assert_eq!(tls_certs(&certs, &[]).0, Some(0));
    let (input, _) = lines_file(&dir);
    let (_intake, address) = start_intake_logged(&dir.join("out.jsonl"), &dir.join("intake.stderr"), &[]);
    let ca = certs.join("ca.pem").display().to_string();
    let (code, stderr) = ship(&dir, "ship", &format!("https://{address}"), &input, &["--ca", &ca]);
    assert_eq!(code, Some(1), "a halt is an error: {stderr}");
    assert!(
        stderr.contains("the endpoint answered in plaintext; use http:// or enable TLS on the intake"),
        "{stderr}"
    );
}

#[test]
fn a_certificate_from_another_ca_is_refused_with_what_to_do() {
    let dir = temp_dir("tls-other-ca");
    let (certs, other) = (dir.join("certs"), dir.join("other"));
    assert_eq!(tls_certs(&certs, &[]).0, Some(0));
    assert_eq!(tls_certs(&other, &[]).0, Some(0));
    let (input, _) = lines_file(&dir);
    let output = dir.join("out.jsonl");
    let tls = tls_args(&certs);
    let extra: Vec<&str> = tls.iter().map(String::as_str).collect();
    let (_intake, address) = start_intake_logged(&output, &dir.join("intake.stderr"), &extra);
    let other_ca = other.join("ca.pem").display().to_string();
    let endpoint = format!("https://localhost:{}", port_of(&address));
    let (code, stderr) = ship(&dir, "ship", &endpoint, &input, &["--ca", &other_ca]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "the cause: {stderr}");
    assert!(stderr.contains("not signed by a CA this client trusts; pass --ca FILE"), "what to do: {stderr}");
    assert!(jsonl_contents(&output).is_empty(), "nothing was delivered");
}

#[test]
fn plaintext_to_a_tls_intake_is_named_by_the_intake() {
    let dir = temp_dir("tls-plaintext-client");
    let certs = dir.join("certs");
    assert_eq!(tls_certs(&certs, &[]).0, Some(0));
    let (input, _) = lines_file(&dir);
    let intake_stderr = dir.join("intake.stderr");
    let tls = tls_args(&certs);
    let extra: Vec<&str> = tls.iter().map(String::as_str).collect();
    let (_intake, address) = start_intake_logged(&dir.join("out.jsonl"), &intake_stderr, &extra);
    let (code, stderr) = ship(&dir, "ship", &format!("http://{address}"), &input, &["--give-up-after", "1s"]);
    assert_eq!(code, Some(4), "nothing was acknowledged: {stderr}");
    assert!(stderr.contains("that TLS matches (https:// or --tls for a TLS intake"), "{stderr}");
    assert!(
        wait_until(PATIENCE, || read_text(&intake_stderr)
            .contains("the client spoke plaintext to this TLS port")),
        "the intake says why: {}",
        read_text(&intake_stderr)
    );
}

#[test]
fn the_intake_refuses_unusable_certificate_files_before_it_starts() {
    let dir = temp_dir("tls-bad-files");
    let (certs, other) = (dir.join("certs"), dir.join("other"));
    assert_eq!(tls_certs(&certs, &[]).0, Some(0));
    assert_eq!(tls_certs(&other, &[]).0, Some(0));
    let file = |folder: &Path, name: &str| folder.join(name).display().to_string();
    let missing = file(&dir, "missing.pem");
    let cases: [(Vec<String>, &str); 4] = [
        (
            vec!["--tls-cert".into(), missing.clone(), "--tls-key".into(), file(&certs, "server.key")],
            "cannot read the TLS certificate file",
        ),
        (
            vec![
                "--tls-cert".into(),
                file(&certs, "server.pem"),
                "--tls-key".into(),
                file(&other, "server.key"),
            ],
            "cannot be used together",
        ),
        (
            vec![
                "--tls-cert".into(),
                file(&certs, "server.key"),
                "--tls-key".into(),
                file(&certs, "server.key"),
            ],
            "holds no PEM certificate",
        ),
        (vec!["--tls-cert".into(), file(&certs, "server.pem")], "--tls-key"),
    ];
    for (n, (args, expected)) in cases.iter().enumerate() {
        let output = dir.join(format!("out{n}.jsonl"));
        let result = Command::new(BIN)
            .args(["intake", "--listen", "127.0.0.1:0", "--api-key", "k", "--output"])
            .arg(&output)
            .args(args)
            .output()
            .expect("run the intake");
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(result.stdout.is_empty(), "never listened: {:?}", String::from_utf8_lossy(&result.stdout));
        assert!(!output.exists(), "refused before the output file was created");
    }
}

#[test]
fn tls_certs_never_replaces_files_and_keeps_the_key_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("tls-certs-files");
    let certs = dir.join("certs");
    let (code, out) = tls_certs(&certs, &["--host", "intake.test", "--host", "10.1.2.3"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("for intake.test, 10.1.2.3"), "{out}");
    let key = certs.join("server.key");
    let mode = std::fs::metadata(&key).expect("the key exists").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner reads the key");
    let before = std::fs::read(&key).expect("read the key");
    let (code, out) = tls_certs(&certs, &[]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("already exists; remove the old files or choose another --dir"), "{out}");
    assert_eq!(std::fs::read(&key).expect("read the key"), before, "unchanged");
}
