//! The intake's output ([`IntakeBuilder::output`]) takes each batch before it is acked: no
//! ack while the output holds a batch, and a batch it refuses is never acked.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use stateful_logs::Profile;
use stateful_logs::status_code as code;
use stateful_logs_intake::Intake;
use support::{Call, WAIT, connect, intake, request, v1_batch, v1_raw, zstd};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_acknowledged_only_after_the_output_took_it() {
    let (entered, entries) = mpsc::channel::<String>();
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new(gate);
    let intake = intake(Intake::builder().output(move |batch| {
        let text = match &batch.logs[0].body {
            stateful_logs_intake::LogBody::Text(text) => String::from_utf8_lossy(text).into_owned(),
            other => format!("{other:?}"),
        };
        let _ = entered.send(text);
        // Held here until the test lets go: the output is slow.
        let _ = gate.lock().expect("gate").recv_timeout(WAIT);
        Ok(())
    }))
    .await;
    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, "held by the output")])), false);

    let taken = tokio::task::spawn_blocking(move || entries.recv_timeout(WAIT).map(|text| (text, entries)));
    let (text, _entries) = taken.await.expect("joined").expect("the output is handed the batch");
    assert_eq!(text, "held by the output");
    assert_eq!(intake.stats().acks_sent, 0, "no ack while the output holds the batch");
    assert!(intake.deliveries().is_empty(), "with an output, the channel gets nothing");

    release.send(()).expect("release the output");
    assert!(call.acks(1).await, "acknowledged once the output returned: {:?}", call.outcome);
    assert_eq!(call.outcome.acks, [1]);
    call.end();
    let outcome = call.finish().await;
    assert_eq!(outcome.status, Some(code::OK), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_the_output_refuses_is_not_acknowledged_and_its_call_ends_unavailable() {
    let calls = Arc::new(AtomicUsize::new(0));
    let stored = Arc::new(Mutex::new(Vec::new()));
    let (count, store) = (calls.clone(), stored.clone());
    let intake = intake(Intake::builder().output(move |batch| {
        // The first batch finds the disk full; later ones are stored.
        if count.fetch_add(1, Ordering::Relaxed) == 0 {
            return Err(std::io::Error::other("no space left on device"));
        }
        store.lock().expect("store").push(batch.batch_id);
        Ok(())
    }))
    .await;

    let mut connection = connect(intake.local_addr()).await;
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, "refused")])), true);
    let outcome = call.finish().await;
    assert!(outcome.acks.is_empty(), "the refused batch is not acknowledged: {outcome:?}");
    assert_eq!(outcome.status, Some(code::UNAVAILABLE), "{outcome:?}");
    assert!(outcome.message.contains("no space left on device"), "says why: {outcome:?}");
    assert_eq!(intake.stats().acks_sent, 0);

    // The client sends it again on a new call: now the output takes it and it is acked.
    let mut call = Call::start(&mut connection, request(Profile::V1, "zstd", &[])).await;
    call.send_batch(1, zstd(&v1_batch(vec![v1_raw(1, "refused")])), true);
    let outcome = call.finish().await;
    assert_eq!(outcome.acks, [1], "{outcome:?}");
    assert_eq!(outcome.status, Some(code::OK), "{outcome:?}");
    assert_eq!(*stored.lock().expect("store"), [1]);
    assert_eq!(calls.load(Ordering::Relaxed), 2);
}
