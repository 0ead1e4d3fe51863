//! The core issue's cycle benchmark (spec `transport.md` §2.2): one pre-encoded batch pushed,
//! pulled as a transmit, acked, and its token delivered through `Acknowledge`. Bookkeeping
//! only: no encoding, no I/O. Criterion reports the throughput in cycles (elements) per second.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use stateful_logs::transport::testing::{SimpleState, batch};
use stateful_logs::transport::{Action, ApiKey, EndpointConfig, State, Transport, TransportConfig};
use stateful_logs::{StreamId, Timestamp};

/// A transport with its first stream open and the (empty) snapshot already pulled.
fn active_transport() -> (Transport<SimpleState>, StreamId) {
    let config =
        TransportConfig::new(vec![EndpointConfig::new("intake.example", 443, ApiKey::new("bench-key"))]);
    let mut t = Transport::new(config, SimpleState::new(), 1, Timestamp(0)).expect("valid config");
    let mut stream = None;
    while let Some(action) = t.poll_action() {
        if let Action::OpenStream { stream: s, .. } = action {
            stream = Some(s);
        }
    }
    let stream = stream.expect("first OpenStream");
    t.handle_stream_opened(Timestamp(0), stream);
    while t.poll_transmit(Timestamp(0), stream).is_some() {}
    assert_eq!(t.state(), State::Active);
    (t, stream)
}

fn cycle(c: &mut Criterion) {
    // A typical compressed batch; `Bytes::from_static` so the payload is shared, not copied.
    static PAYLOAD: [u8; 4096] = [7; 4096];
    let payload = Bytes::from_static(&PAYLOAD);
    let (mut t, stream) = active_transport();
    let mut token = 0u64;
    let now = Timestamp(1);

    let mut group = c.benchmark_group("transport");
    group.throughput(Throughput::Elements(1));
    group.bench_function("push_pull_ack_deliver_cycle", |b| {
        b.iter(|| {
            token += 1;
            let pushed = t.push_batch(now, batch(payload.clone(), Vec::new(), 1, vec![token]));
            debug_assert!(pushed.is_ok());
            let tx = t.poll_transmit(now, stream).expect("a batch to send");
            t.handle_ack(now, stream, tx.batch_id, 1);
            black_box(tx);
            while let Some(action) = t.poll_action() {
                black_box(action);
            }
        })
    });
    group.finish();
    assert_eq!(t.tracker_len(), 0, "every cycle was acked");
}

criterion_group!(benches, cycle);
criterion_main!(benches);
