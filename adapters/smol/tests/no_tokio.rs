//! The smol client needs no tokio runtime: while it connects, sends, receives acks and shuts
//! down, no tokio runtime handle is reachable from the smol program or from any of the client's
//! tasks. (The intake runs on its own tokio runtime in other threads.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use smol::Executor;
use stateful_logs_runtime::harness::{
    AckCheck, DeliveryCheck, IntakeThread, Patience, fast_builder, test_record,
};
use stateful_logs_smol::{BoxFuture, Client, Pipeline, Runtime, SmolConnector, SmolRuntime};

fn tokio_runtime_reachable() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// The smol runtime, checking at every poll of every task the client spawns that no tokio
/// runtime is reachable.
#[derive(Clone)]
struct Probe {
    inner: SmolRuntime,
    polls: Arc<AtomicUsize>,
    tokio_seen: Arc<AtomicUsize>,
}

impl Runtime for Probe {
    fn now(&self) -> Instant {
        self.inner.now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        self.inner.sleep_until(deadline)
    }

    fn spawn(&self, mut future: BoxFuture) {
        let (polls, tokio_seen) = (self.polls.clone(), self.tokio_seen.clone());
        self.inner.spawn(Box::pin(std::future::poll_fn(move |cx| {
            polls.fetch_add(1, Ordering::Relaxed);
            if tokio_runtime_reachable() {
                tokio_seen.fetch_add(1, Ordering::Relaxed);
            }
            future.as_mut().poll(cx)
        })));
    }
}

#[test]
fn no_tokio_runtime_while_the_client_runs_and_delivers() {
    // The embedder's own executor on two threads, as a smol program would run it.
    let executor = Arc::new(Executor::<'static>::new());
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (executor, stopped) = (executor.clone(), stopped.clone());
            std::thread::spawn(move || {
                let _stopped = smol::block_on(executor.run(stopped.recv()));
            })
        })
        .collect();
    let smol = SmolRuntime::with_executor(executor.clone());
    let probe = Probe { inner: smol.clone(), polls: Arc::default(), tokio_seen: Arc::default() };

    smol::block_on(async {
        assert!(!tokio_runtime_reachable(), "the smol program starts without tokio");
        let intake = IntakeThread::bind(stateful_logs_intake::Intake::builder()).await;
        let intake = intake.unwrap_or_else(|e| panic!("intake: {e}"));
        assert!(!tokio_runtime_reachable(), "the intake's runtime stays in its own threads");
        let client: Client = fast_builder(&intake)
            .pipelines(2)
            .keepalive(Duration::from_millis(200), Duration::from_secs(1))
            .build(probe.clone(), SmolConnector::new(smol.clone()))
            .unwrap_or_else(|e| panic!("client: {e}"));
        let patience = Patience::of(smol.clone());
        let handle = client.handle();
        for seq in 0..300 {
            if handle.send(test_record(0, seq)).await.is_err() {
                panic!("client refused line {seq}");
            }
            assert!(!tokio_runtime_reachable());
        }
        // A task beside the client's, on the same executor threads.
        let beside = executor.spawn(async { tokio_runtime_reachable() });
        DeliveryCheck::new::<Pipeline>(&patience).wait_for(&intake, &[(0, 300)]).await;
        AckCheck::new(&patience).wait_for(&client, &[(0, 300)]).await;
        assert!(!beside.await, "no tokio runtime on the executor's threads");
        let report = client.shutdown(Duration::from_secs(5)).await;
        assert!(report.unacknowledged.is_empty() && report.halted.is_none());
        assert!(!tokio_runtime_reachable());
    });

    assert!(probe.polls.load(Ordering::Relaxed) > 0, "the client's tasks ran through the probe");
    assert_eq!(probe.tokio_seen.load(Ordering::Relaxed), 0, "a client task saw a tokio runtime");
    drop(stop);
    for thread in threads {
        thread.join().unwrap_or_else(|_| panic!("executor thread panicked"));
    }
}
