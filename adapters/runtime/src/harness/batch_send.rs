//! Scenarios of batch send (`Handle::send_many`, `try_send_many`): order and acks across mixes
//! with `send`, a call larger than the memory budget, a halt in the middle of a call.

use std::cell::Cell;
use std::time::Duration;

use futures_lite::future;
use stateful_logs::Record;
use stateful_logs_intake::StreamFault;

use super::scenarios::{bind, build, send_lines, shutdown_clean};
use super::{AckCheck, BuildClient, DeliveryCheck, Patience, TestCore, fast_builder, token};
use crate::{SendManyCause, SendManyError};

/// Lines `range` of producer 0 as records of the adapter's profile.
fn records<B: BuildClient, C: TestCore>(adapter: &B, range: std::ops::Range<u32>) -> Vec<Record> {
    range.map(|seq| C::record(adapter.profile(), 0, seq)).collect()
}

/// The smallest budget the settings allow (two 4 KiB messages beyond the compression
/// context), as in `slow_server_backpressures_producers`: the client holds at most
/// 8192 / 150 + 1 records, as every record costs at least 150 bytes of it.
fn small_budget<C: TestCore>() -> (u64, u32) {
    let codec = stateful_logs::codec::Compression::default();
    let context = match C::BATCH_FORMAT {
        stateful_logs::BatchFormat::Stateful => stateful_logs::pipeline::budget::context_bytes(&codec),
        stateful_logs::BatchFormat::HttpJson => 0,
    };
    (8192 + context, 8192 / 150 + 1)
}

/// `send`, `send_many` (from a vector and from an iterator) and `try_send_many` on one
/// handle, with another handle's `send_many` between them: every line arrives once and in
/// order per producer, every ack token comes back once and in order.
pub async fn send_many_keeps_order_and_acks_across_sends<B: BuildClient, C: TestCore>(adapter: &B) {
    let (patience, profile) = (&Patience::of(adapter.runtime()), adapter.profile());
    let intake = bind(C::intake()).await;
    let client = build::<B, C>(adapter, fast_builder(&intake));
    let (handle, other) = (client.handle(), client.handle());
    send_lines::<C>(profile, &handle, 0, 0..15).await;
    let many =
        |seqs: std::ops::Range<u32>, producer: u32| seqs.map(move |seq| C::record(profile, producer, seq));
    handle.send_many(records::<B, C>(adapter, 15..515)).await.unwrap_or_else(|e| panic!("{e}"));
    other.send_many(many(0..200, 1)).await.unwrap_or_else(|e| panic!("{e}"));
    send_lines::<C>(profile, &handle, 0, 515..520).await;
    handle.send_many(many(520..1_020, 0)).await.unwrap_or_else(|e| panic!("{e}"));
    // An empty call takes nothing and succeeds.
    handle.send_many(Vec::new()).await.unwrap_or_else(|e| panic!("{e}"));
    handle.try_send_many(many(1_020..1_030, 0)).unwrap_or_else(|e| panic!("{e}"));
    send_lines::<C>(profile, &handle, 0, 1_030..1_031).await;
    let expected = [(0, 1_031), (1, 200)];
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &expected).await;
    AckCheck::new(patience).wait_for(&client, &expected).await;
    assert_eq!(deliveries.duplicates, 0);
    shutdown_clean(client).await;
}

/// `try_send_many` of more records than the memory budget holds takes a prefix and hands
/// back the rest (`Full`); then one `send_many` call with that rest, far larger than the
/// budget, against a slow intake: it completes as the intake acks, and the client never holds
/// more records than the budget allows (watched at every ack while the call runs).
pub async fn send_many_larger_than_the_budget_stays_within_it<B: BuildClient, C: TestCore>(adapter: &B) {
    let patience = &Patience::of(adapter.runtime());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(20))).await;
    let (budget, bound) = small_budget::<C>();
    let builder = fast_builder(&intake).inflight_capacity(2).max_message_bytes(4096).max_buffer_bytes(budget);
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    const LINES: u32 = 300;
    let refused = handle.try_send_many(records::<B, C>(adapter, 0..LINES));
    let Err(SendManyError { accepted, rest, cause: SendManyCause::Full }) = refused else {
        panic!("the budget cannot take {LINES} records at once: {refused:?}")
    };
    let accepted = accepted as u32;
    assert!(accepted > 0 && accepted <= bound, "{accepted} taken at once, bound {bound}");
    let tokens: Vec<_> = rest.iter().map(|r| r.ack_token).collect();
    let expected: Vec<_> = (accepted..LINES).map(|seq| Some(token(0, seq))).collect();
    assert_eq!(tokens, expected, "the rest comes back unchanged, in order");
    // Records are pulled from the iterator only as the budget takes them: `pulled` bounds
    // from above what the client has taken so far.
    let pulled = Cell::new(accepted);
    let input = rest.into_iter().inspect(|_| pulled.set(pulled.get() + 1));
    let acks = client.acks();
    let mut check = AckCheck::new(patience);
    let max_outstanding = Cell::new(0);
    let sending = async { Some(handle.send_many(input).await) };
    let watching = async {
        while let Some(Ok(Ok(entry))) = patience.within(acks.recv()).await {
            check.take(entry);
            let outstanding = pulled.get() - check.resolved(0);
            max_outstanding.set(max_outstanding.get().max(outstanding));
            assert!(outstanding <= bound + 1, "{outstanding} records held by the client, bound {bound}");
        }
        None
    };
    let sent = patience.within(future::or(sending, watching)).await.flatten();
    assert!(matches!(sent, Some(Ok(()))), "the call completed: {sent:?}");
    assert!(max_outstanding.get() > 8192 / 600, "held back by the budget ({})", max_outstanding.get());
    check.wait_for(&client, &[(0, LINES)]).await;
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, LINES)]).await;
    shutdown_clean(client).await;
}

/// The pipeline halts (the intake ends its stream UNAUTHENTICATED after two batches) while a
/// `send_many` call waits for room: the call fails with the halt, says how many records it
/// took, and hands back the rest in order; after `resume` exactly the taken records arrive,
/// and the rest follows when sent again.
pub async fn halt_during_send_many_reports_what_was_taken<B: BuildClient, C: TestCore>(adapter: &B) {
    let patience = &Patience::of(adapter.runtime());
    let intake = bind(C::intake().ack_delay(Duration::from_millis(20))).await;
    intake.push_fault(StreamFault::EndWithStatus { after_batches: 2, code: tonic::Code::Unauthenticated });
    let (budget, _) = small_budget::<C>();
    let builder = fast_builder(&intake).inflight_capacity(2).max_message_bytes(4096).max_buffer_bytes(budget);
    let client = build::<B, C>(adapter, builder);
    let handle = client.handle();
    const LINES: u32 = 300;
    let result = patience.within(handle.send_many(records::<B, C>(adapter, 0..LINES))).await;
    let Some(Err(SendManyError { accepted, rest, cause })) = result else {
        panic!("the call should fail with the halt: {result:?}")
    };
    assert!(matches!(&cause, SendManyCause::Halted(halt) if halt.label() == "unauthenticated"), "{cause:?}");
    let accepted = accepted as u32;
    // The two acked batches made room, so more than the first chunk went in.
    assert!(accepted > 0 && accepted < LINES, "{accepted} taken");
    assert_eq!(rest.len() as u32, LINES - accepted);
    let tokens: Vec<_> = rest.iter().map(|r| r.ack_token).collect();
    let expected: Vec<_> = (accepted..LINES).map(|seq| Some(token(0, seq))).collect();
    assert_eq!(tokens, expected, "the rest comes back unchanged, in order");
    // The halt also fails a new call at once, taking nothing.
    let refused = handle.try_send_many(records::<B, C>(adapter, accepted..LINES));
    assert!(matches!(&refused, Err(e) if e.accepted == 0 && matches!(e.cause, SendManyCause::Halted(_))));
    // Before the halt, the two batches' acks; then the halt, on the ack stream too.
    let mut check = AckCheck::new(patience);
    let mut halts = 0;
    while let Ok(event) = client.acks().try_recv() {
        match event {
            Ok(entry) => check.take(entry),
            Err(_) => halts += 1,
        }
    }
    assert_eq!(halts, 1, "the halt is on the ack stream once");
    assert!(check.resolved(0) < accepted, "taken records wait for the resume");
    // The next stream is a normal one: resume delivers exactly the taken records.
    client.resume();
    let mut deliveries = DeliveryCheck::new::<C>(patience);
    deliveries.wait_for(&intake, &[(0, accepted)]).await;
    check.wait_for(&client, &[(0, accepted)]).await;
    assert_eq!(deliveries.delivered(0), accepted, "nothing beyond the taken records");
    handle.send_many(rest).await.unwrap_or_else(|e| panic!("{e}"));
    deliveries.wait_for(&intake, &[(0, LINES)]).await;
    check.wait_for(&client, &[(0, LINES)]).await;
    shutdown_clean(client).await;
}
