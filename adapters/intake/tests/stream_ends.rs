//! How calls end: a request body the client cut off (reset, broken connection) is counted in
//! `streams_reset_by_client`, a clean end or an unreadable message is not; a graceful
//! shutdown sends every ack the intake owes before it ends the open calls.

mod support;

use std::time::Duration;

use stateful_logs::Profile;
use stateful_logs::status_code as code;
use stateful_logs_intake::{Intake, IntakeShutdown};
use support::{Call, WAIT, connect, intake, request, v1_batch, v1_raw, zstd};
use tokio::net::TcpStream;

fn batch(text: &str) -> Vec<u8> {
    zstd(&v1_batch(vec![v1_raw(1, text)]))
}

/// Waits (bounded) until the intake counts `n` streams reset by their client.
async fn resets_reach(intake: &Intake, n: u64) -> bool {
    tokio::time::timeout(WAIT, async {
        while intake.stats().streams_reset_by_client < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_end_is_not_a_reset_but_a_cancel_and_a_broken_connection_are() {
    let intake = intake(Intake::builder()).await;
    let mut connection = connect(intake.local_addr()).await;

    let mut clean = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    clean.send_batch(1, batch("ended cleanly"), true);
    let outcome = clean.finish().await;
    assert_eq!((outcome.acks.as_slice(), outcome.status), (&[1][..], Some(code::OK)), "{outcome:?}");

    // A message that is not a StatefulBatch: the intake ends the call, the body was not cut.
    let mut unreadable = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    unreadable.send_raw_message(vec![0xff; 16]);
    let outcome = unreadable.finish().await;
    assert_eq!(outcome.status, Some(code::INVALID_ARGUMENT), "{outcome:?}");
    assert_eq!(intake.stats().streams_reset_by_client, 0, "clean ends and refused messages are no resets");

    let mut cancelled = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    cancelled.send_batch(1, batch("then cancelled"), false);
    assert!(cancelled.acks(1).await, "{:?}", cancelled.outcome);
    cancelled.reset();
    assert!(resets_reach(&intake, 1).await, "a CANCEL is counted: {:?}", intake.stats());

    // A connection that breaks under an open call (the client process died).
    let tcp = TcpStream::connect(intake.local_addr()).await.expect("connect");
    let (send, driver) = h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
    let driver = tokio::spawn(async move {
        let _ = driver.await;
    });
    let mut broken = Call::start(&mut send.clone(), request(Profile::V1, "zstd", &[])).await;
    broken.send_batch(1, batch("then the connection broke"), false);
    assert!(broken.acks(1).await, "{:?}", broken.outcome);
    driver.abort();
    assert!(resets_reach(&intake, 2).await, "a broken connection is counted: {:?}", intake.stats());
    assert_eq!(intake.stats().streams_started, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_sends_the_acks_it_owes_then_ends_the_call_and_refuses_connections() {
    // Acks held back: at the shutdown the intake owes all three.
    let mut intake = intake(Intake::builder().ack_delay(Duration::from_millis(300))).await;
    let address = intake.local_addr();
    let mut connection = connect(address).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    for id in 1..=3 {
        call.send_batch(id, batch(&format!("batch {id}")), false);
    }
    let received = tokio::time::timeout(WAIT, async {
        while intake.stats().batches_received < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    assert!(received.await.is_ok(), "the intake received the batches: {:?}", intake.stats());
    assert!(call.outcome.acks.is_empty(), "no ack before the delay");

    // The client reads on meanwhile; once the call ended it drops it (a reset of its side).
    let reading = tokio::spawn(call.finish());
    let IntakeShutdown { calls_ended, connections_cut, stats } =
        tokio::time::timeout(WAIT, intake.shutdown(Duration::from_secs(5))).await.expect("bounded");
    assert_eq!((calls_ended, connections_cut), (1, 0), "the connection closed in time: {stats:?}");
    assert_eq!(stats.acks_sent, 3);
    assert_eq!(stats.streams_reset_by_client, 0, "a reset after the intake ended the call is none");

    let outcome = reading.await.expect("the reader ends");
    assert_eq!(outcome.acks, [1, 2, 3], "every owed ack arrived before the end: {outcome:?}");
    assert_eq!(outcome.status, Some(code::UNAVAILABLE), "{outcome:?}");
    assert!(outcome.message.contains("shutting down"), "{outcome:?}");
    assert!(TcpStream::connect(address).await.is_err(), "no longer listening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_ends_its_side_is_cut_at_the_shutdown_deadline() {
    let mut intake = intake(Intake::builder()).await;
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, batch("and then silence"), false);
    assert!(call.acks(1).await, "{:?}", call.outcome);
    // The call is ended, but this client neither reads on nor ends or resets its side.
    let shutdown =
        tokio::time::timeout(WAIT, intake.shutdown(Duration::from_millis(200))).await.expect("bounded");
    assert_eq!((shutdown.calls_ended, shutdown.connections_cut), (1, 1), "{shutdown:?}");
    drop(call);
}
