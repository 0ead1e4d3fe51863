//! The scenarios of the end-to-end suite, each a function generic over the adapter and the core.

use std::time::Duration;

use stateful_logs::Profile;
use stateful_logs::transport::{ApiKey, HaltError};
use stateful_logs_intake::{Intake, IntakeBuilder, StreamFault};

use super::{
    AckCheck, BuildClient, DeliveryCheck, Front, FrontKind, IntakeThread, PATIENCE, Patience, TestCore,
    fast_builder, fast_builder_to, token,
};
use crate::{Client, ClientBuilder, Handle};

/// Sends lines `range` of `producer` as `profile`'s records ([`TestCore::record`]).
pub(super) async fn send_lines<C: TestCore>(
    profile: Profile,
    handle: &Handle,
    producer: u32,
    range: std::ops::Range<u32>,
) {
    for seq in range {
        if handle.send(C::record(profile, producer, seq)).await.is_err() {
            panic!("client refused line {seq} of producer {producer}");
        }
    }
}

pub(super) async fn bind(builder: IntakeBuilder) -> IntakeThread {
    IntakeThread::bind(builder).await.unwrap_or_else(|e| panic!("intake: {e}"))
}

/// Builds `builder`'s client in the adapter's profile ([`BuildClient::profile`]).
pub(super) fn build<B: BuildClient, C: TestCore>(adapter: &B, builder: ClientBuilder) -> Client {
    adapter
        .build(builder.profile(adapter.profile()).batch_format(C::BATCH_FORMAT))
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// Sends `lines` per producer, waits for every delivery and ack, then shuts down cleanly.
async fn deliver_all<C: TestCore>(
    profile: Profile,
    patience: &Patience,
    client: &Client,
    intake: &Intake,
    producers: u32,
    lines: u32,
) -> DeliveryCheck {
    let handles: Vec<_> = (0..producers).map(|_| client.handle()).collect();
    for (producer, handle) in handles.iter().enumerate() {
        send_lines::<C>(profile, handle, producer as u32, 0..lines).await;
    }
    let expected: Vec<(u32, u32)> = (0..producers).map(|p| (p, lines)).collect();
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(intake, &expected).await;
    AckCheck::new(patience).wait_for(client, &expected).await;
    deliveries
}

/// The client's next halt; panics when none comes.
async fn next_halt(patience: &Patience, client: &Client) -> HaltError {
    match patience.within(client.halts().recv()).await {
        Some(Ok(halt)) => halt,
        _ => panic!("no halt after {PATIENCE:?}"),
    }
}

pub(super) async fn shutdown_clean(client: Client) {
    let report = client.shutdown(Duration::from_secs(5)).await;
    assert!(report.unacknowledged.is_empty(), "unacknowledged after delivery: {:?}", report.unacknowledged);
    assert!(report.halted.is_none());
}

/// Several pipelines share the connection; every producer's lines arrive in order.
pub async fn happy_path_with_several_pipelines<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).pipelines(3).header("dd-shadow-only", "true"));
    let check = deliver_all::<C>(profile, patience, &client, &intake, 6, 200).await;
    let headers = intake.last_metadata();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("dd-api-key"), Some("test-key"));
    assert_eq!(header("dd-content-encoding"), Some(C::CONTENT_ENCODING));
    assert_eq!(header("dd-shadow-only"), Some("true"));
    assert!(header("user-agent").is_some_and(|ua| ua.starts_with(crate::DEFAULT_USER_AGENT)), "{headers:?}");
    assert!(check.streams.len() >= 3, "each pipeline has its own stream: {:?}", check.streams);
    assert_eq!(intake.stats().connections_accepted, 1, "the pipelines share one HTTP/2 connection");
    assert_eq!(check.duplicates, 0);
    shutdown_clean(client).await;
}

/// The intake ends a stream with UNAVAILABLE mid-flight: unacked batches are sent again.
pub async fn stream_killed_mid_flight_is_retransmitted<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::EndWithStatus { after_batches: 2, code: tonic::Code::Unavailable });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all::<C>(profile, patience, &client, &intake, 1, 300).await;
    assert!(check.streams.len() >= 2, "a second stream carried the rest");
    shutdown_clean(client).await;
}

/// The intake ends a stream cleanly (EOF): the client reconnects and delivers everything.
pub async fn server_eof_reconnects<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::Eof { after_batches: 3 });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all::<C>(profile, patience, &client, &intake, 1, 300).await;
    assert!(check.streams.len() >= 2);
    shutdown_clean(client).await;
}

/// The intake stops and starts again on the same port while records flow.
pub async fn server_restart_on_the_same_port<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let mut intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(profile, &handle, 0, 0..100).await;
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, 100)]).await;
    intake.stop();
    send_lines::<C>(profile, &handle, 0, 100..150).await;
    intake.start().await.unwrap_or_else(|e| panic!("restart: {e}"));
    send_lines::<C>(profile, &handle, 0, 150..300).await;
    deliveries.wait_for(&intake, &[(0, 300)]).await;
    AckCheck::new(patience).wait_for(&client, &[(0, 300)]).await;
    shutdown_clean(client).await;
}

/// Acks arrive late; nothing times out, nothing is lost.
pub async fn delayed_acks_are_awaited<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(100))).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let check = deliver_all::<C>(profile, patience, &client, &intake, 1, 200).await;
    assert_eq!(check.streams.len(), 1, "no rotation: the acks were only late");
    shutdown_clean(client).await;
}

/// A silent intake (never acks): the ack timeout moves the batches to a new stream.
pub async fn silent_server_ack_timeout_opens_a_new_stream<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::NeverAck);
    let client = build::<B, C>(adapter, fast_builder(&intake).ack_timeout(Some(Duration::from_millis(300))));
    deliver_all::<C>(profile, patience, &client, &intake, 1, 100).await;
    assert!(intake.stats().streams_started >= 2, "the acks came on a new stream");
    shutdown_clean(client).await;
}

/// Short stream lifetimes under load: streams rotate (draining first) and nothing is lost.
pub async fn lifetime_rotation_drains_under_load<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(5))).await;
    let builder = fast_builder(&intake)
        .stream_lifetime(Duration::from_millis(300), 0)
        .drain_timeout(Duration::from_millis(150));
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    let mut sent = 0;
    let give_up = std::time::Instant::now() + PATIENCE;
    // Keep records flowing until the intake saw at least three streams.
    while intake.stats().streams_started < 3 {
        assert!(std::time::Instant::now() < give_up, "no rotation after {sent} lines");
        send_lines::<C>(profile, &handle, 0, sent..sent + 50).await;
        sent += 50;
        deliveries.wait_for(&intake, &[(0, sent)]).await;
    }
    AckCheck::new(patience).wait_for(&client, &[(0, sent)]).await;
    assert!(deliveries.streams.len() >= 2, "several streams delivered: {:?}", deliveries.streams);
    shutdown_clean(client).await;
}

/// A wrong API key halts the client with a readable error; nothing is lost; after the key
/// is fixed, `resume` delivers everything.
pub async fn wrong_api_key_halts_and_resume_delivers<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().api_key("right-key")).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).api_key("wrong-key"));
    let handle = client.handle();
    send_lines::<C>(profile, &handle, 0, 0..50).await;
    let halt = next_halt(patience, &client).await;
    assert!(matches!(halt, HaltError::Unauthenticated { code: 16, .. }), "{halt:?}");
    // A program that awaits its acks learns of the halt there too, and sends fail with it.
    assert_eq!(client.acks().try_recv().ok(), Some(Err(halt.clone())), "the ack stream carries the halt");
    let refused = handle.send(C::record(profile, 0, 50)).await;
    assert!(matches!(refused, Err(crate::SendError::Halted { .. })), "{refused:?}");
    let message = halt.to_string();
    assert!(message.contains("API key") && !message.contains("wrong-key"), "{message}");
    assert_eq!(client.status().halted, Some(halt));
    assert!(intake.deliveries().is_empty());
    let mut endpoint = fast_builder(&intake).endpoint_list().remove(0);
    endpoint.api_key = ApiKey::new("right-key");
    client.update_endpoint(0, endpoint).await.unwrap_or_else(|e| panic!("{e}"));
    client.resume();
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, 50)]).await;
    AckCheck::new(patience).wait_for(&client, &[(0, 50)]).await;
    assert!(client.status().halted.is_none());
    shutdown_clean(client).await;
}

/// An intake that serves only the other profile answers UNIMPLEMENTED: the client halts, and
/// the error names the profile tried and the one to use.
pub async fn wrong_profile_halts<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().profiles(&[profile.other()])).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    send_lines::<C>(profile, &client.handle(), 0, 0..5).await;
    let halt = next_halt(patience, &client).await;
    let expected = (profile, profile.other());
    assert!(
        matches!(&halt, HaltError::WrongProfile { profile, other, .. } if (*profile, *other) == expected),
        "{halt:?}"
    );
    let message = halt.to_string();
    assert!(
        message.contains(&format!("does not implement profile {profile} ({})", profile.path())),
        "{message}"
    );
    assert!(message.contains(&format!("switch to profile {}", profile.other())), "{message}");
    let report = client.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.unacknowledged.len(), 5, "every record is reported, none acked");
}

/// A slow intake: producers wait in `send`; what the client holds stays bounded.
pub async fn slow_server_backpressures_producers<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(20))).await;
    // The smallest memory budget the settings allow: two 4 KiB messages beyond the
    // compression context. Every record costs at least 150 bytes of it (queued or in a
    // batch), so the client holds at most 8192 / 150 + 1 records, whatever the producer does.
    let codec = stateful_logs::codec::Compression::default();
    let context = match C::BATCH_FORMAT {
        stateful_logs::BatchFormat::Stateful => stateful_logs::pipeline::budget::context_bytes(&codec),
        stateful_logs::BatchFormat::HttpJson => 0,
    };
    let bound = 8192 / 150 + 1;
    let builder =
        fast_builder(&intake).inflight_capacity(2).max_message_bytes(4096).max_buffer_bytes(8192 + context);
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    let acks = client.acks();
    let mut check = AckCheck::new(patience);
    let mut max_outstanding = 0;
    for seq in 0..300 {
        send_lines::<C>(profile, &handle, 0, seq..seq + 1).await;
        while let Ok(Ok(entry)) = acks.try_recv() {
            check.take(entry);
        }
        let outstanding = seq + 1 - check.resolved(0);
        max_outstanding = max_outstanding.max(outstanding);
        assert!(outstanding <= bound, "{outstanding} records held by the client, bound {bound}");
    }
    // Held back by the budget, not by a trivially small load: no record costs 600 bytes.
    assert!(max_outstanding > 8192 / 600, "the producer really was held back ({max_outstanding})");
    check.wait_for(&client, &[(0, 300)]).await;
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, 300)]).await;
    shutdown_clean(client).await;
}

/// Shutdown right after sending: the pending batches are delivered and acked before it ends.
pub async fn graceful_shutdown_delivers_pending_acks<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(30))).await;
    let client =
        build::<B, C>(adapter, fast_builder(&intake).batching(10, 1_000_000, Duration::from_secs(10)));
    let handle = client.handle();
    send_lines::<C>(profile, &handle, 0, 0..95).await;
    let acks = client.acks();
    let report = client.shutdown(Duration::from_secs(10)).await;
    assert!(report.unacknowledged.is_empty(), "{:?}", report.unacknowledged);
    assert_eq!(report.acked, 95);
    let mut check = AckCheck::new(patience);
    while let Ok(Ok(entry)) = acks.try_recv() {
        check.take(entry);
    }
    assert_eq!(check.resolved(0), 95);
    DeliveryCheck::new::<C>(patience).wait_for(&intake, &[(0, 95)]).await;
    assert!(handle.send(C::record(profile, 0, 95)).await.is_err(), "a shut-down client refuses records");
}

/// The intake disappears during shutdown: the deadline ends it and the unacked tokens are
/// reported, in order, after the acked ones.
pub async fn server_gone_during_shutdown_reports_unacknowledged<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let mut intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(profile, &handle, 0, 0..50).await;
    let mut acks = AckCheck::new(patience);
    acks.wait_for(&client, &[(0, 50)]).await;
    intake.stop();
    send_lines::<C>(profile, &handle, 0, 50..80).await;
    let receiver = client.acks();
    let report = client.shutdown(Duration::from_millis(500)).await;
    while let Ok(Ok(entry)) = receiver.try_recv() {
        acks.take(entry);
    }
    assert_eq!(acks.resolved(0), 80, "every token resolved exactly once");
    assert_eq!(report.unacknowledged, (50..80).map(|s| token(0, s)).collect::<Vec<_>>());
    assert_eq!(acks.unacknowledged, report.unacknowledged);
}

/// The primary is down: after `failover_after` failures the client uses the second endpoint.
pub async fn failover_to_the_second_endpoint<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
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
    deliver_all::<C>(profile, patience, &client, &intake, 1, 100).await;
    shutdown_clean(client).await;
}

/// The intake acks with wrong batch ids: the client rotates and re-sends; nothing is lost.
pub async fn wrong_ack_ids_rotate_and_resend<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::WrongAckIds { after_batches: 2 });
    let client = build::<B, C>(adapter, fast_builder(&intake));
    deliver_all::<C>(profile, patience, &client, &intake, 1, 200).await;
    assert!(intake.stats().streams_started >= 2, "the mismatched ack ended the first stream");
    shutdown_clean(client).await;
}

/// The intake drops every connection (TCP close) mid-stream: the client reconnects.
pub async fn dropped_connection_reconnects<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let handle = client.handle();
    send_lines::<C>(profile, &handle, 0, 0..100).await;
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, 100)]).await;
    intake.drop_connections();
    send_lines::<C>(profile, &handle, 0, 100..200).await;
    deliveries.wait_for(&intake, &[(0, 200)]).await;
    AckCheck::new(patience).wait_for(&client, &[(0, 200)]).await;
    assert!(intake.stats().streams_started >= 2);
    shutdown_clean(client).await;
}

/// The intake sends its response headers only after the first batch: the client writes
/// without waiting for them (`transport.md` §15.1).
pub async fn requests_are_written_before_response_headers<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    intake.push_fault(StreamFault::HeadersAfterFirstBatch);
    let client = build::<B, C>(adapter, fast_builder(&intake).open_timeout(Duration::from_secs(5)));
    deliver_all::<C>(profile, patience, &client, &intake, 1, 100).await;
    assert_eq!(intake.stats().streams_started, 1, "the first stream carried everything");
    shutdown_clean(client).await;
}

/// TLS against a plaintext intake is a configuration error: the client halts with
/// `TlsRejected` instead of retrying forever.
pub async fn tls_against_a_plaintext_intake_halts<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).tls(true));
    send_lines::<C>(profile, &client.handle(), 0, 0..3).await;
    let halt = next_halt(patience, &client).await;
    assert!(matches!(halt, HaltError::TlsRejected { endpoint: 0, .. }), "{halt:?}");
    let report = client.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.unacknowledged.len(), 3);
}

/// TLS with a private CA (`ca_file`): the client checks the intake's certificate, negotiates
/// HTTP/2 and delivers.
pub async fn tls_with_a_private_ca_delivers<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let front = Front::start(&intake, FrontKind::Tls).await;
    let builder = fast_builder_to("localhost", front.port()).tls(true).ca_file(front.ca_file());
    let client = build::<B, C>(adapter, builder.pipelines(2));
    deliver_all::<C>(profile, patience, &client, &intake, 2, 100).await;
    assert_eq!(intake.stats().connections_accepted, 1, "the pipelines share one TLS connection");
    shutdown_clean(client).await;
}

/// A certificate that does not chain to the trusted CA: the client halts with `TlsRejected`
/// instead of retrying forever, and keeps the records.
pub async fn tls_with_an_unknown_issuer_halts<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let front = Front::start(&intake, FrontKind::Tls).await;
    let builder = fast_builder_to("localhost", front.port()).tls(true).ca_file(front.other_ca_file());
    let client = build::<B, C>(adapter, builder);
    // The stream opens at once, so the halt may come before a send: each send either is
    // accepted (and reported unacknowledged at the end) or fails as halted.
    let mut accepted = 0;
    for seq in 0..3 {
        accepted += usize::from(client.handle().send(C::record(profile, 0, seq)).await.is_ok());
    }
    let halt = next_halt(patience, &client).await;
    assert!(matches!(halt, HaltError::TlsRejected { endpoint: 0, .. }), "{halt:?}");
    assert!(halt.to_string().contains("UnknownIssuer"), "{halt}");
    let report = client.shutdown(Duration::from_secs(1)).await;
    assert_eq!(report.unacknowledged.len(), accepted);
}

/// The connection goes silent mid-stream (no FIN, no RST, as behind a dead NAT): HTTP/2
/// keepalive pings find it dead and the client reconnects. The ack timeout is longer than the
/// suite's patience, so only keepalive can save this run.
pub async fn keepalive_detects_a_silent_connection<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let front = Front::start(&intake, FrontKind::Plain).await;
    let builder = fast_builder_to("127.0.0.1", front.port())
        .ack_timeout(Some(PATIENCE * 3))
        .keepalive(Duration::from_millis(100), Duration::from_millis(300));
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    let (mut deliveries, mut acks) = (DeliveryCheck::new::<C>(patience), AckCheck::new(patience));
    send_lines::<C>(profile, &handle, 0, 0..100).await;
    deliveries.wait_for(&intake, &[(0, 100)]).await;
    acks.wait_for(&client, &[(0, 100)]).await;
    front.freeze_connections();
    send_lines::<C>(profile, &handle, 0, 100..200).await;
    deliveries.wait_for(&intake, &[(0, 200)]).await;
    acks.wait_for(&client, &[(0, 200)]).await;
    assert!(intake.stats().connections_accepted >= 2, "a new connection replaced the silent one");
    shutdown_clean(client).await;
}

/// An intake that does not know `zstd-stream` refuses it at the stream's start; the client
/// switches that endpoint to per-batch `zstd` at once (no backoff) and every line arrives.
pub async fn an_intake_without_zstd_stream_gets_zstd_and_every_line<B: BuildClient, C: TestCore>(
    adapter: &B,
) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake().refuse_stream_codec()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake).pipelines(2));
    let check = deliver_all::<C>(profile, patience, &client, &intake, 2, 150).await;
    let headers = intake.last_metadata();
    let encoding = headers.iter().find(|(n, _)| n == "dd-content-encoding").map(|(_, v)| v.as_str());
    assert_eq!(encoding, Some("zstd"), "the last stream announces per-batch zstd");
    assert_eq!(check.duplicates, 0, "nothing was delivered on a refused stream");
    // With zstd-stream, each pipeline's first stream is refused: one more stream each.
    let started = intake.stats().streams_started;
    let refused = if C::CONTENT_ENCODING == "zstd-stream" { 2 } else { 0 };
    assert_eq!(started, 2 + refused, "{:?}", check.streams);
    shutdown_clean(client).await;
}
