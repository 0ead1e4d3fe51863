//! Hostile clients at the connection level, over the intake's real loopback port: bytes that
//! are not HTTP/2, HTTP/1, oversized header lists, a header block never finished, silent
//! sockets, too many connections, calls to unknown methods and with bad keys or encodings.
//! Each gets a connection close or a clear gRPC status, and the intake then still serves a
//! well-behaved client. Every wait is bounded (`support::WAIT` or less).

mod support;

use std::time::Duration;

use stateful_logs::Profile;
use stateful_logs::status_code as code;
use stateful_logs_intake::{Intake, ServerLimits};
use support::{Call, WAIT, assert_still_serves, closed_within, connect, intake, request, try_serves};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The HTTP/2 client preface (RFC 9113 §3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// An HTTP/2 frame header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).expect("small").to_be_bytes();
    let mut out = vec![length[1], length[2], length[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Deterministic noise (xorshift64), so a failure reproduces.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

async fn short_timeout_intake() -> Intake {
    let limits =
        ServerLimits { first_request_timeout: Duration::from_millis(500), ..ServerLimits::default() };
    intake(Intake::builder().server_limits(limits)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bytes_on_the_port_get_the_connection_closed() {
    let intake = intake(Intake::builder()).await;
    for seed in 1..=5u64 {
        let mut tcp = TcpStream::connect(intake.local_addr()).await.unwrap();
        // The server may close before reading everything: a failed write is the expected end.
        let _ = tcp.write_all(&noise(64 << 10, seed)).await;
        assert!(closed_within(&mut tcp, WAIT).await, "seed {seed}: the connection is closed");
    }
    assert_eq!(intake.stats().streams_started, 0);
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_http1_request_gets_the_connection_closed() {
    let intake = intake(Intake::builder()).await;
    let mut tcp = TcpStream::connect(intake.local_addr()).await.unwrap();
    let request = "POST /datadog.intake.stateful.StatefulLogsService/LogsStream HTTP/1.1\r\n\
                   Host: intake\r\nContent-Type: application/grpc\r\nContent-Length: 5\r\n\r\n\0\0\0\0\0";
    let _ = tcp.write_all(request.as_bytes()).await;
    assert!(closed_within(&mut tcp, WAIT).await, "an HTTP/1 request is not served");
    assert_eq!(intake.stats().streams_started, 0);
    assert_still_serves(&intake).await;
}

/// A request whose header list is far above `max_header_list_bytes`: the HTTP/2 layer
/// refuses it (HTTP 431 or a reset), the call never reaches the receiver.
async fn assert_refused_headers(intake: &Intake, extra: Vec<(String, String)>) {
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &extra)).await;
    call.end();
    let outcome = call.finish().await;
    assert!(
        outcome.http_status == Some(431) || outcome.reset.is_some(),
        "a header list above the limit is refused: {outcome:?}"
    );
    assert!(outcome.acks.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_and_many_headers_are_refused_before_the_receiver_sees_them() {
    let intake = intake(Intake::builder()).await;
    assert_refused_headers(&intake, vec![("x-huge".into(), "a".repeat(256 << 10))]).await;
    let many = (0..5_000).map(|i| (format!("x-header-{i}"), "v".into())).collect();
    assert_refused_headers(&intake, many).await;
    assert_eq!(intake.stats().streams_started, 0, "no oversized call reached the receiver");
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_block_never_finished_is_closed_at_the_first_request_timeout() {
    let intake = short_timeout_intake().await;
    let mut tcp = TcpStream::connect(intake.local_addr()).await.unwrap();
    let mut slow = PREFACE.to_vec();
    slow.extend(frame(0x4, 0, 0, &[])); // SETTINGS
    // HEADERS on stream 1 without END_HEADERS (0x4): `:method: POST`, then nothing more.
    slow.extend(frame(0x1, 0, 1, &[0x83]));
    tcp.write_all(&slow).await.unwrap();
    assert!(closed_within(&mut tcp, WAIT).await, "the slowloris connection is closed");
    assert_eq!(intake.stats().connections_timed_out, 1);
    assert_eq!(intake.stats().streams_started, 0);
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_and_half_prefaces_are_closed_at_the_first_request_timeout() {
    let intake = short_timeout_intake().await;
    let mut silent = TcpStream::connect(intake.local_addr()).await.unwrap();
    let mut half = TcpStream::connect(intake.local_addr()).await.unwrap();
    half.write_all(&PREFACE[..10]).await.unwrap();
    assert!(closed_within(&mut silent, WAIT).await, "a socket that sends nothing is closed");
    assert!(closed_within(&mut half, WAIT).await, "half a preface is closed");
    assert_eq!(intake.stats().connections_timed_out, 2);
    // A connection that made a request is not subject to the deadline: it stays usable.
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, support::zstd(&support::v1_batch(vec![support::v1_raw(1, "a")])), false);
    assert!(call.acks(1).await, "first batch acknowledged");
    tokio::time::sleep(Duration::from_millis(800)).await; // past the 500 ms deadline, on purpose
    call.send_batch(2, support::zstd(&support::v1_batch(vec![support::v1_raw(1, "b")])), true);
    let outcome = call.finish().await;
    assert_eq!((outcome.acks, outcome.status), (vec![1, 2], Some(0)));
    assert_eq!(intake.stats().connections_timed_out, 2);
    assert_still_serves(&intake).await;
}

/// An HPACK header block (RFC 7541) for a call: indexed `:method: POST` and `:scheme: http`,
/// the rest literal without indexing, with indexed names.
fn call_headers(path: &str) -> Vec<u8> {
    let mut block = vec![0x83, 0x86];
    for (name_index, value) in [(4u8, path), (1, "intake")] {
        block.push(name_index);
        block.push(u8::try_from(value.len()).expect("short"));
        block.extend_from_slice(value.as_bytes());
    }
    // content-type (static index 31: 15 in the 4-bit prefix, then 16).
    block.extend_from_slice(&[0x0f, 0x10, 16]);
    block.extend_from_slice(b"application/grpc");
    block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_answering_pings_is_dropped_by_keepalive() {
    let limits = ServerLimits {
        keepalive_interval: Duration::from_millis(200),
        keepalive_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    };
    let intake = intake(Intake::builder().server_limits(limits)).await;
    let mut tcp = TcpStream::connect(intake.local_addr()).await.unwrap();
    let mut bytes = PREFACE.to_vec();
    bytes.extend(frame(0x4, 0, 0, &[])); // SETTINGS
    bytes.extend(frame(0x4, 0x1, 0, &[])); // SETTINGS ACK of the server's (sent unseen)
    // A complete request (END_HEADERS), so the first-request deadline no longer applies; the
    // stream stays open (no END_STREAM) and the peer then answers nothing, pings included.
    bytes.extend(frame(0x1, 0x4, 1, &call_headers(Profile::V1.path())));
    tcp.write_all(&bytes).await.unwrap();
    let started = std::time::Instant::now();
    assert!(closed_within(&mut tcp, WAIT).await, "the silent peer is dropped");
    assert!(started.elapsed() >= Duration::from_millis(200), "after a ping interval at least");
    assert_eq!(intake.stats().streams_started, 1, "the call did start");
    assert_eq!(
        intake.stats().connections_timed_out,
        0,
        "keepalive dropped it, not the first-request deadline"
    );
    assert_still_serves(&intake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_max_connections_are_closed_at_once() {
    let limits = ServerLimits { max_connections: 3, ..ServerLimits::default() };
    let intake = intake(Intake::builder().server_limits(limits)).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect(intake.local_addr()).await);
    }
    let mut extra = TcpStream::connect(intake.local_addr()).await.unwrap();
    assert!(closed_within(&mut extra, WAIT).await, "the fourth connection is closed");
    assert_eq!(intake.stats().connections_refused, 1);
    drop(held);
    // The server learns of the closes on its own time: retry the well-behaved client a
    // bounded number of times until a slot is free (there is no event to await from outside).
    let mut served = false;
    for _ in 0..100 {
        if try_serves(&intake).await {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "slots are freed when clients leave, and the intake serves again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_methods_keys_and_encodings_get_clear_statuses() {
    let intake = intake(Intake::builder()).await;
    let mut connection = connect(intake.local_addr()).await;
    let cases: Vec<(http::Request<()>, i32, &str)> = vec![
        (
            http::Request::builder()
                .method("POST")
                .uri("http://intake/some.Other/Method")
                .header("content-type", "application/grpc")
                .body(())
                .unwrap(),
            code::UNIMPLEMENTED,
            "not served",
        ),
        (
            {
                let mut r = request(Profile::V1, "zstd", &[]);
                r.headers_mut().insert("dd-api-key", http::HeaderValue::from_static("wrong-key"));
                r
            },
            code::UNAUTHENTICATED,
            "",
        ),
        (
            {
                let mut r = request(Profile::V2, "zstd", &[]);
                r.headers_mut().remove("dd-api-key");
                r
            },
            code::UNAUTHENTICATED,
            "",
        ),
        (request(Profile::V1, "brotli", &[]), code::INVALID_ARGUMENT, "brotli"),
    ];
    for (request, expected, needle) in cases {
        let mut call = Call::start(&mut connection, request).await;
        call.end();
        let outcome = call.finish().await;
        assert_eq!(outcome.status, Some(expected), "{outcome:?}");
        assert!(outcome.message.contains(needle), "{outcome:?}");
        assert!(!outcome.message.contains("wrong-key"), "the key is never echoed: {outcome:?}");
    }
    assert_still_serves(&intake).await;
}
