//! The end-to-end suite shared by the runtime adapters (feature `test-harness`).
//!
//! Every scenario starts the reference intake on `127.0.0.1:0` (it runs on tokio: call the
//! scenarios with a tokio runtime entered), builds a client through the adapter's
//! [`BuildClient`], and checks the delivery contract: every record reaches the intake in order
//! per producer (batches re-sent after a failure are de-duplicated) and every ack token comes
//! back exactly once, in order. Waits are bounded by short configured timeouts, never by
//! fixed sleeps.

use std::collections::HashMap;
use std::time::Duration;

use stateful_logs::transport::{AckEntry, AckOutcome, ApiKey, HaltError};
use stateful_logs::{Profile, StreamId};
use stateful_logs_intake::{Delivered, Intake, IntakeBuilder, ReceivedLog, StreamFault};

use crate::{Client, ClientBuilder, ClientError, Core, Handle};

/// How an adapter builds a client on its runtime.
pub trait BuildClient {
    /// Starts `builder`'s client on the adapter's runtime.
    fn build<C: TestCore>(&self, builder: ClientBuilder) -> Result<Client<C>, ClientError>;
}

/// A core the suite can drive: it makes records and reads the intake's logs back.
pub trait TestCore: Core {
    /// The record of producer `producer`'s `seq`-th line, with its ack token.
    fn record(producer: u32, seq: u32) -> Self::Record;
    /// The intake this core's streams need (receiver or pass-through).
    fn intake() -> IntakeBuilder;
    /// Checks what the intake reconstructed of line `seq` of `producer` beyond its content.
    fn check_log(_log: &ReceivedLog, _producer: u32, _seq: u32) {}
}

/// The content of a test line; the suite reads producer and sequence back from it.
pub fn line(producer: u32, seq: u32) -> String {
    format!("producer {producer} line {seq:06} request served in {} ms status=ok", seq % 97)
}

/// The ack token of a test line.
pub fn token(producer: u32, seq: u32) -> u64 {
    (u64::from(producer) << 32) | u64::from(seq)
}

fn parse_line(body: &[u8]) -> Option<(u32, u32)> {
    let text = std::str::from_utf8(body).ok()?;
    let mut words = text.split(' ');
    let producer = words.nth(1)?.parse().ok()?;
    let seq = words.nth(1)?.parse().ok()?;
    Some((producer, seq))
}

/// A client's settings for fast tests: short timeouts, small batches.
pub fn fast_builder(intake: &Intake) -> ClientBuilder {
    ClientBuilder::new()
        .endpoint("127.0.0.1", intake.local_addr().port())
        .api_key("test-key")
        .batching(10, 1_000_000, Duration::from_millis(20))
        .open_timeout(Duration::from_secs(2))
        .ack_timeout(Some(Duration::from_secs(10)))
        .drain_timeout(Duration::from_millis(500))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .shutdown_timeout(Duration::from_secs(5))
}

/// Upper bound of every wait in the suite.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Checks the intake's deliveries as they come: in order per producer, re-sent records
/// de-duplicated, no gap.
#[derive(Default)]
pub struct DeliveryCheck {
    verify: Option<fn(&ReceivedLog, u32, u32)>,
    next: HashMap<u32, u32>,
    /// Records delivered more than once (re-sent batches).
    pub duplicates: u64,
    /// Streams that delivered.
    pub streams: std::collections::BTreeSet<StreamId>,
}

impl DeliveryCheck {
    /// A check that also verifies each log with `C::check_log`.
    pub fn new<C: TestCore>() -> Self {
        DeliveryCheck { verify: Some(C::check_log), ..Default::default() }
    }

    /// Takes one delivered batch; panics on a gap or an unknown line.
    pub fn take(&mut self, delivered: &Delivered) {
        self.streams.insert(delivered.stream);
        for log in &delivered.logs {
            let body = log.body_bytes();
            let (producer, seq) = parse_line(&body)
                .unwrap_or_else(|| panic!("unexpected log {:?}", String::from_utf8_lossy(&body)));
            if let Some(verify) = self.verify {
                verify(log, producer, seq);
            }
            let next = self.next.entry(producer).or_insert(0);
            if seq < *next {
                self.duplicates += 1;
            } else {
                assert_eq!(seq, *next, "producer {producer}: line {seq} delivered before line {next}");
                *next += 1;
            }
        }
    }

    /// Lines of `producer` delivered so far (without duplicates).
    pub fn delivered(&self, producer: u32) -> u32 {
        self.next.get(&producer).copied().unwrap_or(0)
    }

    /// Reads deliveries until every producer in `expected` (producer, lines) is complete.
    pub async fn wait_for(&mut self, intake: &Intake, expected: &[(u32, u32)]) {
        let deliveries = intake.deliveries();
        while expected.iter().any(|&(p, n)| self.delivered(p) < n) {
            match tokio::time::timeout(PATIENCE, deliveries.recv()).await {
                Ok(Ok(delivered)) => self.take(&delivered),
                _ => panic!("deliveries stalled: have {:?}, expected {expected:?}", self.next),
            }
        }
    }
}

/// Checks ack entries: each token once, in order per producer.
#[derive(Default)]
pub struct AckCheck {
    next: HashMap<u32, u32>,
    /// Entries per outcome.
    pub unacknowledged: Vec<u64>,
}

impl AckCheck {
    /// Takes one entry; panics when a token is out of order.
    pub fn take(&mut self, entry: AckEntry) {
        let producer = (entry.token >> 32) as u32;
        let seq = entry.token as u32;
        let next = self.next.entry(producer).or_insert(0);
        assert_eq!(seq, *next, "producer {producer}: token {seq} came before {next}");
        *next += 1;
        if entry.outcome == AckOutcome::Unacknowledged {
            self.unacknowledged.push(entry.token);
        } else {
            assert_eq!(entry.outcome, AckOutcome::Acked, "token {seq} of producer {producer}");
        }
    }

    /// Tokens of `producer` resolved so far.
    pub fn resolved(&self, producer: u32) -> u32 {
        self.next.get(&producer).copied().unwrap_or(0)
    }

    /// Reads ack entries until every producer in `expected` has all its tokens resolved.
    pub async fn wait_for<C: Core>(&mut self, client: &Client<C>, expected: &[(u32, u32)]) {
        let acks = client.acks();
        while expected.iter().any(|&(p, n)| self.resolved(p) < n) {
            match tokio::time::timeout(PATIENCE, acks.recv()).await {
                Ok(Ok(entry)) => self.take(entry),
                _ => panic!("acks stalled: have {:?}, expected {expected:?}", self.next),
            }
        }
    }
}

async fn send_lines<C: TestCore>(handle: &Handle<C::Record>, producer: u32, range: std::ops::Range<u32>) {
    for seq in range {
        if handle.send(C::record(producer, seq)).await.is_err() {
            panic!("client refused line {seq} of producer {producer}");
        }
    }
}

async fn bind(builder: IntakeBuilder) -> Intake {
    builder.bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("intake: {e}"))
}

fn build<B: BuildClient, C: TestCore>(adapter: &B, builder: ClientBuilder) -> Client<C> {
    adapter.build::<C>(builder).unwrap_or_else(|e| panic!("client: {e}"))
}

/// Sends `lines` per producer, waits for every delivery and ack, then shuts down cleanly.
async fn deliver_all<C: TestCore>(
    client: &Client<C>,
    intake: &Intake,
    producers: u32,
    lines: u32,
) -> DeliveryCheck {
    let handles: Vec<_> = (0..producers).map(|_| client.handle()).collect();
    for (producer, handle) in handles.iter().enumerate() {
        send_lines::<C>(handle, producer as u32, 0..lines).await;
    }
    let expected: Vec<(u32, u32)> = (0..producers).map(|p| (p, lines)).collect();
    let mut deliveries = DeliveryCheck::new::<C>();
    deliveries.wait_for(intake, &expected).await;
    AckCheck::default().wait_for(client, &expected).await;
    deliveries
}

async fn shutdown_clean<C: Core>(client: Client<C>) {
    let report = client.shutdown(Duration::from_secs(5)).await;
    assert!(report.unacknowledged.is_empty(), "unacknowledged after delivery: {:?}", report.unacknowledged);
    assert!(report.halted.is_none());
}

/// Several pipelines share the connection; every producer's lines arrive in order.
pub async fn happy_path_with_several_pipelines<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).pipelines(3).header("dd-shadow-only", "true"));
    let check = deliver_all(&client, &intake, 6, 200).await;
    let headers = intake.last_metadata();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("dd-api-key"), Some("test-key"));
    assert_eq!(header("dd-content-encoding"), Some("zstd"));
    assert_eq!(header("dd-shadow-only"), Some("true"));
    assert!(header("user-agent").is_some_and(|ua| ua.starts_with(crate::DEFAULT_USER_AGENT)), "{headers:?}");
    assert!(check.streams.len() >= 3, "each pipeline has its own stream: {:?}", check.streams);
    assert_eq!(intake.stats().connections_accepted, 1, "the pipelines share one HTTP/2 connection");
    assert_eq!(check.duplicates, 0);
    shutdown_clean(client).await;
}

/// The intake ends a stream with UNAVAILABLE mid-flight: unacked batches are sent again.
pub async fn stream_killed_mid_flight_is_retransmitted<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::EndWithStatus { after_batches: 2, code: tonic::Code::Unavailable });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all(&client, &intake, 1, 300).await;
    assert!(check.streams.len() >= 2, "a second stream carried the rest");
    shutdown_clean(client).await;
}

/// The intake ends a stream cleanly (EOF): the client reconnects and delivers everything.
pub async fn server_eof_reconnects<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::Eof { after_batches: 3 });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all(&client, &intake, 1, 300).await;
    assert!(check.streams.len() >= 2);
    shutdown_clean(client).await;
}

/// The intake stops and starts again on the same port while records flow.
pub async fn server_restart_on_the_same_port<B: BuildClient, C: TestCore>(adapter: &B) {
    let mut intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(&handle, 0, 0..100).await;
    let mut deliveries = DeliveryCheck::new::<C>();
    deliveries.wait_for(&intake, &[(0, 100)]).await;
    intake.stop();
    send_lines::<C>(&handle, 0, 100..150).await;
    intake.start().await.unwrap_or_else(|e| panic!("restart: {e}"));
    send_lines::<C>(&handle, 0, 150..300).await;
    deliveries.wait_for(&intake, &[(0, 300)]).await;
    AckCheck::default().wait_for(&client, &[(0, 300)]).await;
    shutdown_clean(client).await;
}

/// Acks arrive late; nothing times out, nothing is lost.
pub async fn delayed_acks_are_awaited<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().ack_delay(Duration::from_millis(100))).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all(&client, &intake, 1, 200).await;
    assert_eq!(check.streams.len(), 1, "no rotation: the acks were only late");
    shutdown_clean(client).await;
}

/// A silent intake (never acks): the ack timeout moves the batches to a new stream.
pub async fn silent_server_ack_timeout_opens_a_new_stream<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::NeverAck);
    let client = build::<B, C>(adapter, fast_builder(&intake).ack_timeout(Some(Duration::from_millis(300))));
    deliver_all(&client, &intake, 1, 100).await;
    assert!(intake.stats().streams_started >= 2, "the acks came on a new stream");
    shutdown_clean(client).await;
}

/// Short stream lifetimes under load: streams rotate (draining first) and nothing is lost.
pub async fn lifetime_rotation_drains_under_load<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().ack_delay(Duration::from_millis(5))).await;
    let builder = fast_builder(&intake)
        .stream_lifetime(Duration::from_millis(300), 0)
        .drain_timeout(Duration::from_millis(150));
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    let mut deliveries = DeliveryCheck::new::<C>();
    let mut sent = 0;
    let give_up = std::time::Instant::now() + PATIENCE;
    // Keep records flowing until the intake saw at least three streams.
    while intake.stats().streams_started < 3 {
        assert!(std::time::Instant::now() < give_up, "no rotation after {sent} lines");
        send_lines::<C>(&handle, 0, sent..sent + 50).await;
        sent += 50;
        deliveries.wait_for(&intake, &[(0, sent)]).await;
    }
    AckCheck::default().wait_for(&client, &[(0, sent)]).await;
    assert!(deliveries.streams.len() >= 2, "several streams delivered: {:?}", deliveries.streams);
    shutdown_clean(client).await;
}

/// A wrong API key halts the client with a readable error; nothing is lost; after the key
/// is fixed, `resume` delivers everything.
pub async fn wrong_api_key_halts_and_resume_delivers<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().api_key("right-key")).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).api_key("wrong-key"));
    let handle = client.handle();
    send_lines::<C>(&handle, 0, 0..50).await;
    let halt = match tokio::time::timeout(PATIENCE, client.halts().recv()).await {
        Ok(Ok(halt)) => halt,
        _ => panic!("no halt"),
    };
    assert!(matches!(halt, HaltError::Unauthenticated { code: 16, .. }), "{halt:?}");
    let message = halt.to_string();
    assert!(message.contains("API key") && !message.contains("wrong-key"), "{message}");
    assert_eq!(client.status().halted, Some(halt));
    assert!(intake.deliveries().is_empty());
    let mut endpoint = fast_builder(&intake).endpoint_list().remove(0);
    endpoint.api_key = ApiKey::new("right-key");
    client.update_endpoint(0, endpoint).await.unwrap_or_else(|e| panic!("{e}"));
    client.resume();
    let mut deliveries = DeliveryCheck::new::<C>();
    deliveries.wait_for(&intake, &[(0, 50)]).await;
    AckCheck::default().wait_for(&client, &[(0, 50)]).await;
    assert!(client.status().halted.is_none());
    shutdown_clean(client).await;
}

/// An intake that does not serve the profile answers UNIMPLEMENTED: the client halts.
pub async fn wrong_profile_halts<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().profiles(&[Profile::V1])).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).profile(Profile::V2));
    send_lines::<C>(&client.handle(), 0, 0..5).await;
    let halt = match tokio::time::timeout(PATIENCE, client.halts().recv()).await {
        Ok(Ok(halt)) => halt,
        _ => panic!("no halt"),
    };
    assert!(matches!(halt, HaltError::WrongProfile { profile: Profile::V2, .. }), "{halt:?}");
    let report = client.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.unacknowledged.len(), 5, "every record is reported, none acked");
}

/// A slow intake: producers wait in `send`; what the client holds stays bounded.
pub async fn slow_server_backpressures_producers<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().ack_delay(Duration::from_millis(20))).await;
    // At most 2 batches of 10 in flight, 10 in the open batch, 8 queued, 1 held.
    let bound = 2 * 10 + 10 + 8 + 1;
    let builder = fast_builder(&intake).inflight_capacity(2).input_queue(8);
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    let acks = client.acks();
    let mut check = AckCheck::default();
    let mut max_outstanding = 0;
    for seq in 0..300 {
        send_lines::<C>(&handle, 0, seq..seq + 1).await;
        while let Ok(entry) = acks.try_recv() {
            check.take(entry);
        }
        let outstanding = seq + 1 - check.resolved(0);
        max_outstanding = max_outstanding.max(outstanding);
        assert!(outstanding <= bound, "{outstanding} records held by the client, bound {bound}");
    }
    assert!(max_outstanding > bound / 2, "the producer really was held back ({max_outstanding})");
    check.wait_for(&client, &[(0, 300)]).await;
    let mut deliveries = DeliveryCheck::new::<C>();
    deliveries.wait_for(&intake, &[(0, 300)]).await;
    shutdown_clean(client).await;
}

/// Shutdown right after sending: the pending batches are delivered and acked before it ends.
pub async fn graceful_shutdown_delivers_pending_acks<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake().ack_delay(Duration::from_millis(30))).await;
    let client =
        build::<B, C>(adapter, fast_builder(&intake).batching(10, 1_000_000, Duration::from_secs(10)));
    let handle = client.handle();
    send_lines::<C>(&handle, 0, 0..95).await;
    let acks = client.acks();
    let report = client.shutdown(Duration::from_secs(10)).await;
    assert!(report.unacknowledged.is_empty(), "{:?}", report.unacknowledged);
    assert_eq!(report.acked, 95);
    let mut check = AckCheck::default();
    while let Ok(entry) = acks.try_recv() {
        check.take(entry);
    }
    assert_eq!(check.resolved(0), 95);
    DeliveryCheck::new::<C>().wait_for(&intake, &[(0, 95)]).await;
    assert!(handle.send(C::record(0, 95)).await.is_err(), "a shut-down client refuses records");
}

/// The intake disappears during shutdown: the deadline ends it and the unacked tokens are
/// reported, in order, after the acked ones.
pub async fn server_gone_during_shutdown_reports_unacknowledged<B: BuildClient, C: TestCore>(adapter: &B) {
    let mut intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(&handle, 0, 0..50).await;
    let mut acks = AckCheck::default();
    acks.wait_for(&client, &[(0, 50)]).await;
    intake.stop();
    send_lines::<C>(&handle, 0, 50..80).await;
    let receiver = client.acks();
    let report = client.shutdown(Duration::from_millis(500)).await;
    while let Ok(entry) = receiver.try_recv() {
        acks.take(entry);
    }
    assert_eq!(acks.resolved(0), 80, "every token resolved exactly once");
    assert_eq!(report.unacknowledged, (50..80).map(|s| token(0, s)).collect::<Vec<_>>());
    assert_eq!(acks.unacknowledged, report.unacknowledged);
}

/// The primary is down: after `failover_after` failures the client uses the second endpoint.
pub async fn failover_to_the_second_endpoint<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    // A port nothing listens on: bind, note it, close.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
    let dead_port = dead.unwrap_or_else(|e| panic!("{e}")).port();
    let builder = ClientBuilder::new()
        .endpoint("127.0.0.1", dead_port)
        .endpoint("127.0.0.1", intake.local_addr().port());
    let builder = builder
        .api_key("test-key")
        .batching(10, 1_000_000, Duration::from_millis(20))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .connect_timeout(Duration::from_millis(500))
        .failover_after(2);
    let client = build::<B, C>(adapter, builder);
    deliver_all(&client, &intake, 1, 100).await;
    shutdown_clean(client).await;
}

/// The intake acks with wrong batch ids: the client rotates and re-sends; nothing is lost.
pub async fn wrong_ack_ids_rotate_and_resend<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::WrongAckIds { after_batches: 2 });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    deliver_all(&client, &intake, 1, 200).await;
    assert!(intake.stats().streams_started >= 2, "the mismatched ack ended the first stream");
    shutdown_clean(client).await;
}

/// The intake drops every connection (TCP close) mid-stream: the client reconnects.
pub async fn dropped_connection_reconnects<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(&handle, 0, 0..100).await;
    let mut deliveries = DeliveryCheck::new::<C>();
    deliveries.wait_for(&intake, &[(0, 100)]).await;
    intake.drop_connections();
    send_lines::<C>(&handle, 0, 100..200).await;
    deliveries.wait_for(&intake, &[(0, 200)]).await;
    AckCheck::default().wait_for(&client, &[(0, 200)]).await;
    assert!(intake.stats().streams_started >= 2);
    shutdown_clean(client).await;
}

/// The intake sends its response headers only after the first batch: the client writes
/// without waiting for them (`transport.md` §15.1).
pub async fn requests_are_written_before_response_headers<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::HeadersAfterFirstBatch);
    let client = build::<B, C>(adapter, fast_builder(&intake).open_timeout(Duration::from_secs(5)));
    deliver_all(&client, &intake, 1, 100).await;
    assert_eq!(intake.stats().streams_started, 1, "the first stream carried everything");
    shutdown_clean(client).await;
}

/// TLS against a plaintext intake is a configuration error: the client halts with
/// `TlsRejected` instead of retrying forever.
pub async fn tls_against_a_plaintext_intake_halts<B: BuildClient, C: TestCore>(adapter: &B) {
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).tls(true));
    send_lines::<C>(&client.handle(), 0, 0..3).await;
    let halt = match tokio::time::timeout(PATIENCE, client.halts().recv()).await {
        Ok(Ok(halt)) => halt,
        _ => panic!("no halt"),
    };
    assert!(matches!(halt, HaltError::TlsRejected { endpoint: 0, .. }), "{halt:?}");
    let report = client.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.unacknowledged.len(), 3);
}

/// Declares one `#[test]` per scenario of the suite, so every adapter runs the same list.
///
/// `$block_on` runs a future to completion on the adapter's runtime (with a tokio runtime
/// entered, which the intake needs); `$adapter` is its [`BuildClient`]; `$core` a [`TestCore`].
///
/// ```ignore
/// mod stateful {
///     stateful_logs_runtime::e2e_suite!(super::block_on, super::Tokio, stateful_logs::Pipeline);
/// }
/// ```
#[macro_export]
macro_rules! e2e_suite {
    ($block_on:path, $adapter:expr, $core:ty) => {
        $crate::e2e_suite!(@tests $block_on, $adapter, $core;
            happy_path_with_several_pipelines,
            stream_killed_mid_flight_is_retransmitted,
            server_eof_reconnects,
            server_restart_on_the_same_port,
            delayed_acks_are_awaited,
            silent_server_ack_timeout_opens_a_new_stream,
            lifetime_rotation_drains_under_load,
            wrong_api_key_halts_and_resume_delivers,
            wrong_profile_halts,
            slow_server_backpressures_producers,
            graceful_shutdown_delivers_pending_acks,
            server_gone_during_shutdown_reports_unacknowledged,
            failover_to_the_second_endpoint,
            tls_against_a_plaintext_intake_halts,
            wrong_ack_ids_rotate_and_resend,
            dropped_connection_reconnects,
            requests_are_written_before_response_headers
        );
    };
    (@tests $block_on:path, $adapter:expr, $core:ty; $($name:ident),*) => {$(
        #[test]
        fn $name() {
            $block_on($crate::harness::$name::<_, $core>(&$adapter));
        }
    )*};
}

/// Runs every scenario (for adapters that want one test).
pub async fn all<B: BuildClient, C: TestCore>(adapter: &B) {
    happy_path_with_several_pipelines::<B, C>(adapter).await;
    stream_killed_mid_flight_is_retransmitted::<B, C>(adapter).await;
    server_eof_reconnects::<B, C>(adapter).await;
    server_restart_on_the_same_port::<B, C>(adapter).await;
    delayed_acks_are_awaited::<B, C>(adapter).await;
    silent_server_ack_timeout_opens_a_new_stream::<B, C>(adapter).await;
    lifetime_rotation_drains_under_load::<B, C>(adapter).await;
    wrong_api_key_halts_and_resume_delivers::<B, C>(adapter).await;
    wrong_profile_halts::<B, C>(adapter).await;
    slow_server_backpressures_producers::<B, C>(adapter).await;
    graceful_shutdown_delivers_pending_acks::<B, C>(adapter).await;
    server_gone_during_shutdown_reports_unacknowledged::<B, C>(adapter).await;
    failover_to_the_second_endpoint::<B, C>(adapter).await;
    tls_against_a_plaintext_intake_halts::<B, C>(adapter).await;
    wrong_ack_ids_rotate_and_resend::<B, C>(adapter).await;
    dropped_connection_reconnects::<B, C>(adapter).await;
    requests_are_written_before_response_headers::<B, C>(adapter).await;
}

/// The record of line `seq` of `producer`: status, service, host and a tag besides the text.
pub fn test_record(producer: u32, seq: u32) -> stateful_logs::Record {
    stateful_logs::Record::new(1_700_000_000_000 + i64::from(seq), line(producer, seq))
        .with_status(if seq.is_multiple_of(10) { "warn" } else { "info" })
        .with_service("checkout")
        .with_hostname(format!("host-{producer}"))
        .with_tag("env:test")
        .with_ack_token(token(producer, seq))
}

/// Checks that a delivered log carries what [`test_record`] gave it.
pub fn check_test_log(log: &ReceivedLog, producer: u32, seq: u32) {
    assert_eq!(log.timestamp_ms, 1_700_000_000_000 + i64::from(seq));
    let status = if seq.is_multiple_of(10) { "warn" } else { "info" };
    assert_eq!(log.status.as_deref(), Some(status), "line {seq}");
    assert_eq!(log.service_name(), Some("checkout"));
    assert_eq!(log.last_tag_value("hostname:"), Some(format!("host-{producer}").as_str()));
    assert!(log.tags.as_deref().is_some_and(|t| t.split(',').any(|tag| tag == "env:test")), "{:?}", log.tags);
}

/// The JSON baseline as a test core (pass-through intake).
impl TestCore for crate::baseline::JsonCore {
    fn record(producer: u32, seq: u32) -> Self::Record {
        test_record(producer, seq)
    }

    fn intake() -> IntakeBuilder {
        Intake::builder().pass_through()
    }

    fn check_log(log: &ReceivedLog, producer: u32, seq: u32) {
        check_test_log(log, producer, seq)
    }
}

/// The stateful encoding: the core's Pipeline against the core's Receiver.
impl TestCore for stateful_logs::Pipeline {
    fn record(producer: u32, seq: u32) -> Self::Record {
        test_record(producer, seq)
    }

    fn intake() -> IntakeBuilder {
        Intake::builder()
    }

    fn check_log(log: &ReceivedLog, producer: u32, seq: u32) {
        check_test_log(log, producer, seq)
    }
}
