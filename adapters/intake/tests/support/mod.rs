//! A hand-driven gRPC client over `h2` for the hostile-input tests: it sends exactly the
//! headers and messages a test asks for (valid or not) and reads back acks and the final
//! status, every wait bounded.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use prost::Message;
use stateful_logs::Profile;
use stateful_logs::proto::{BatchStatus, StatefulBatch, v1, v2};
use stateful_logs_intake::Intake;
use tokio::net::TcpStream;

pub const KEY: &str = "hostile-test-key";
/// The bound of every single wait of a test.
pub const WAIT: Duration = Duration::from_secs(10);

/// An intake on a free loopback port accepting [`KEY`].
pub async fn intake(builder: stateful_logs_intake::IntakeBuilder) -> Intake {
    builder.api_key(KEY).bind("127.0.0.1:0").await.expect("intake starts")
}

/// One HTTP/2 connection.
pub async fn connect(address: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(address).await.expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

/// The request headers of a call; `extra` are added as they are.
pub fn request(profile: Profile, encoding: &str, extra: &[(String, String)]) -> http::Request<()> {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(format!("http://intake{}", profile.path()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("dd-api-key", KEY)
        .header("dd-content-encoding", encoding);
    for (name, value) in extra {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(()).expect("valid request")
}

/// How a call ended, as the client saw it.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The batch ids acknowledged, in order.
    pub acks: Vec<u32>,
    /// `grpc-status`, if the call ended with one.
    pub status: Option<i32>,
    /// `grpc-message`.
    pub message: String,
    /// The HTTP status of the response, if any came.
    pub http_status: Option<u16>,
    /// The stream was reset or the connection failed (the `h2` error).
    pub reset: Option<String>,
    /// `grpc-retry-pushback-ms`, if the call ended with one.
    pub pushback_ms: Option<String>,
}

/// An open call.
pub struct Call {
    send: h2::SendStream<Bytes>,
    response: Option<h2::client::ResponseFuture>,
    body: Option<h2::RecvStream>,
    buffer: BytesMut,
    pub outcome: Outcome,
}

impl Call {
    /// Starts a call on `connection`.
    pub async fn start(connection: &mut h2::client::SendRequest<Bytes>, request: http::Request<()>) -> Call {
        let mut ready = connection.clone().ready().await.expect("connection ready");
        let (response, send) = ready.send_request(request, false).expect("send headers");
        *connection = ready;
        Call {
            send,
            response: Some(response),
            body: None,
            buffer: BytesMut::new(),
            outcome: Outcome::default(),
        }
    }

    /// Sends one `StatefulBatch` message (`end` half-closes after it).
    pub fn send_batch(&mut self, batch_id: u32, data: Vec<u8>, end: bool) {
        self.send_message(StatefulBatch { batch_id, data: data.into() }.encode_to_vec(), end);
    }

    /// Sends these bytes as one gRPC message, without half-closing.
    pub fn send_raw_message(&mut self, message: Vec<u8>) {
        self.send_message(message, false);
    }

    fn send_message(&mut self, message: Vec<u8>, end: bool) {
        let mut frame = Vec::with_capacity(5 + message.len());
        frame.push(0);
        frame.extend_from_slice(&u32::try_from(message.len()).expect("fits").to_be_bytes());
        frame.extend_from_slice(&message);
        // The server may already have ended the call: a failed send shows in the outcome.
        let _ = self.send.send_data(frame.into(), end);
    }

    /// Half-closes the request side.
    pub fn end(&mut self) {
        let _ = self.send.send_data(Bytes::new(), true);
    }

    /// Resets the stream (`RST_STREAM` with `CANCEL`) instead of half-closing it.
    pub fn reset(&mut self) {
        self.send.send_reset(h2::Reason::CANCEL);
    }

    /// Reads until `count` acks came or the call ended; false on ending or timeout.
    pub async fn acks(&mut self, count: usize) -> bool {
        tokio::time::timeout(WAIT, async {
            while self.outcome.acks.len() < count {
                if !self.read_once().await {
                    return false;
                }
            }
            true
        })
        .await
        .unwrap_or(false)
    }

    /// Reads until the call ends (bounded by [`WAIT`]; panics past it).
    pub async fn finish(mut self) -> Outcome {
        tokio::time::timeout(WAIT, async { while self.read_once().await {} })
            .await
            .expect("the call ends within the bound");
        self.outcome
    }

    /// One step of reading: response headers, a data frame or the trailers; false at the end.
    async fn read_once(&mut self) -> bool {
        if let Some(response) = self.response.take() {
            match response.await {
                Ok(response) => {
                    self.outcome.http_status = Some(response.status().as_u16());
                    self.take_status(response.headers());
                    self.body = Some(response.into_body());
                    return true;
                }
                Err(error) => {
                    self.outcome.reset = Some(error.to_string());
                    return false;
                }
            }
        }
        let Some(body) = self.body.as_mut() else { return false };
        match body.data().await {
            Some(Ok(chunk)) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                self.buffer.extend_from_slice(&chunk);
                while self.buffer.len() >= 5 {
                    let length =
                        u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]);
                    let length = length as usize;
                    if self.buffer.len() < 5 + length {
                        break;
                    }
                    self.buffer.advance(5);
                    let message = self.buffer.split_to(length);
                    let status = BatchStatus::decode(&message[..]).expect("a BatchStatus");
                    self.outcome.acks.push(status.batch_id);
                }
                true
            }
            Some(Err(error)) => {
                self.outcome.reset = Some(error.to_string());
                false
            }
            None => {
                match body.trailers().await {
                    Ok(Some(trailers)) => self.take_status(&trailers),
                    Ok(None) => {}
                    Err(error) => self.outcome.reset = Some(error.to_string()),
                }
                self.body = None;
                false
            }
        }
    }

    fn take_status(&mut self, headers: &http::HeaderMap) {
        if let Some(status) = headers.get("grpc-status").and_then(|v| v.to_str().ok()) {
            self.outcome.status = status.parse().ok();
        }
        if let Some(message) = headers.get("grpc-message").and_then(|v| v.to_str().ok()) {
            self.outcome.message = percent_decode(message);
        }
        if let Some(pushback) = headers.get("grpc-retry-pushback-ms").and_then(|v| v.to_str().ok()) {
            self.outcome.pushback_ms = Some(pushback.to_owned());
        }
    }
}

/// `grpc-message` is percent-encoded (gRPC over HTTP/2, "Responses").
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A `v1` batch of these datums, serialized.
pub fn v1_batch(datums: Vec<v1::datum::Data>) -> Vec<u8> {
    v1::DatumSequence { data: datums.into_iter().map(|d| v1::Datum { data: Some(d) }).collect() }
        .encode_to_vec()
}

/// A `v2` batch of these datums, serialized.
pub fn v2_batch(datums: Vec<v2::log_datum::Data>) -> Vec<u8> {
    v2::LogDatumSequence { data: datums.into_iter().map(|d| v2::LogDatum { data: Some(d) }).collect() }
        .encode_to_vec()
}

/// A `v1` raw text log.
pub fn v1_raw(timestamp: i64, text: &str) -> v1::datum::Data {
    v1::datum::Data::Logs(v1::Log {
        timestamp,
        content: Some(v1::log::Content::Raw(text.into())),
        ..Default::default()
    })
}

/// One zstd frame (the per-batch `zstd` encoding).
pub fn zstd(payload: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(payload, 1).expect("compresses")
}

/// Checks that the intake still serves a well-behaved client: a new connection, a `v1` call,
/// one batch acknowledged and delivered, the call ending with `OK`.
pub async fn assert_still_serves(intake: &Intake) {
    let deliveries = intake.deliveries();
    while deliveries.try_recv().is_ok() {}
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, "still serving")])), true);
    let outcome = call.finish().await;
    assert_eq!(outcome.acks, vec![1], "the well-behaved call is acknowledged: {outcome:?}");
    assert_eq!(outcome.status, Some(0), "and ends OK: {outcome:?}");
    let delivered =
        tokio::time::timeout(WAIT, deliveries.recv()).await.expect("delivered in time").expect("open");
    assert_eq!(delivered.logs.len(), 1);
}

/// Like [`assert_still_serves`], but a failure at any step (connection refused or closed,
/// no ack, a non-OK end) is `false` instead of a panic, for a test that must retry.
pub async fn try_serves(intake: &Intake) -> bool {
    let attempt = async {
        let tcp = TcpStream::connect(intake.local_addr()).await.ok()?;
        let (send, connection) = h2::client::handshake(tcp).await.ok()?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut send = send.ready().await.ok()?;
        let (response, stream) = send.send_request(request(Profile::V1, "zstd", &[]), false).ok()?;
        let mut call = Call {
            send: stream,
            response: Some(response),
            body: None,
            buffer: BytesMut::new(),
            outcome: Outcome::default(),
        };
        call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, "served?")])), true);
        while call.read_once().await {}
        Some(call.outcome.acks == [1] && call.outcome.status == Some(0))
    };
    matches!(tokio::time::timeout(Duration::from_secs(2), attempt).await, Ok(Some(true)))
}

/// A line of `/proc/self/status` in KiB, e.g. `VmRSS` (resident now) or `VmHWM` (peak).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("the field is in /proc/self/status")
}

/// Resident memory of this process now, in KiB.
pub fn rss_kib() -> u64 {
    status_kib("VmRSS")
}

/// Starts measuring the peak anew: `VmHWM` drops to the current resident size (writing 5
/// to `/proc/self/clear_refs`, Linux 4.0+). Returns whether the kernel allowed it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Reads from a raw socket until the peer closes it (EOF or reset); true when it did within
/// `limit`. Whatever the peer sends meanwhile is discarded.
pub async fn closed_within(tcp: &mut TcpStream, limit: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buffer = vec![0u8; 16 << 10];
    tokio::time::timeout(limit, async {
        loop {
            match tcp.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}
