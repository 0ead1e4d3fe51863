//! The smol connector's error paths: what a bad CA file, a silent server and a refused
//! connection turn into (TLS configuration problems halt; network problems are retried).

use std::path::PathBuf;
use std::time::Duration;

use stateful_logs::transport::{EndpointConfig, Failure};
use stateful_logs_runtime::grpc::{BoxError, failure_from_error};
use stateful_logs_runtime::{ConnectError, ConnectionSettings, Connector};
use stateful_logs_smol::{BuildSmol, Client, ClientBuilder, ClientError, SmolChannel, SmolConnector};

fn endpoint(port: u16, tls: bool, ca_file: Option<PathBuf>) -> EndpointConfig {
    EndpointConfig { host: "localhost".into(), port, tls, ca_file, ..Default::default() }
}

fn settings(connect_timeout: Duration) -> ConnectionSettings {
    ConnectionSettings { connect_timeout, ..Default::default() }
}

fn connect(endpoint: &EndpointConfig) -> Result<SmolChannel, ConnectError> {
    SmolConnector::default().connect(endpoint, &settings(Duration::from_secs(2)))
}

/// A temporary file that goes away with the test.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &[u8]) -> Self {
        let path = std::env::temp_dir().join(format!("stateful-logs-smol-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn ca_pem() -> String {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]);
    certified.unwrap_or_else(|e| panic!("test certificate: {e}")).cert.pem()
}

/// One call on the channel; the error it ends with.
fn call_error(mut channel: SmolChannel) -> BoxError {
    let request = http::Request::builder().uri("/test.Service/Call").body(tonic::body::Body::empty());
    let request = request.unwrap_or_else(|e| panic!("{e}"));
    match smol::block_on(tower_service::Service::call(&mut channel, request)) {
        Ok(response) => panic!("the call succeeded: {response:?}"),
        Err(error) => error,
    }
}

#[test]
fn an_unreadable_ca_file_is_refused_when_the_client_is_built() {
    let missing = std::env::temp_dir().join("stateful-logs-smol-no-such-ca.pem");
    let built: Result<Client, ClientError> = ClientBuilder::new()
        .endpoint("localhost", 4317)
        .api_key("k")
        .tls(true)
        .ca_file(&missing)
        .build_smol();
    let Err(error) = built else { panic!("a client with an unreadable CA file was built") };
    let message = error.to_string();
    assert!(message.contains("endpoints[0].ca_file") && message.contains("cannot read"), "{message}");
}

#[test]
fn a_ca_file_gone_after_build_is_a_tls_configuration_error() {
    let missing = std::env::temp_dir().join("stateful-logs-smol-gone-ca.pem");
    let Err(error) = connect(&endpoint(4317, true, Some(missing))) else { panic!("connected") };
    assert!(error.tls, "{error}");
    assert!(error.message.contains("cannot read the CA file"), "{error}");
}

#[test]
fn a_ca_file_without_a_certificate_is_a_tls_configuration_error() {
    let file = TempFile::new("empty-ca.pem", b"not a certificate\n");
    let Err(error) = connect(&endpoint(4317, true, Some(file.0.clone()))) else { panic!("connected") };
    assert!(error.tls && error.message.contains("no usable certificate"), "{error}");
}

#[test]
fn connecting_is_lazy_and_a_refused_connection_is_a_connection_failure() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
    let port = port.unwrap_or_else(|e| panic!("{e}")).port();
    let channel =
        SmolConnector::default().connect(&endpoint(port, false, None), &settings(Duration::from_secs(2)));
    let channel = channel.unwrap_or_else(|e| panic!("building a channel needs no network: {e}"));
    let error = call_error(channel);
    match failure_from_error(error.as_ref()) {
        Failure::Connection(message) => assert!(message.contains("cannot connect to localhost"), "{message}"),
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[test]
fn a_server_that_never_answers_the_tls_hello_hits_the_connect_timeout() {
    // The kernel completes the TCP handshake; nobody ever reads or writes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = silent.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    let ca = TempFile::new("silent-ca.pem", ca_pem().as_bytes());
    let mut endpoint = endpoint(port, true, Some(ca.0.clone()));
    endpoint.host = "127.0.0.1".into();
    let channel = SmolConnector::default().connect(&endpoint, &settings(Duration::from_millis(200)));
    let error = call_error(channel.unwrap_or_else(|e| panic!("{e}")));
    match failure_from_error(error.as_ref()) {
        Failure::Connection(message) => assert!(message.contains("connect timeout"), "{message}"),
        other => panic!("expected a connection failure, got {other:?}"),
    }
}
