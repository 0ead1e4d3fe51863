//! The smol [`Runtime`]: async-io timers and an async-executor to spawn on.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use smol::Executor;
use stateful_logs_runtime::{BoxFuture, Runtime};

/// Timers (async-io), clock and spawning on smol.
///
/// [`SmolRuntime::global`] spawns on smol's global executor (`smol::spawn`, the one most smol
/// programs use; its threads start on first use, `SMOL_THREADS` of them, default one).
/// [`SmolRuntime::with_executor`] spawns on an executor of yours instead: you keep it running
/// (`executor.run(…)` on the threads you choose) for as long as the client lives.
#[derive(Clone, Debug, Default)]
pub struct SmolRuntime {
    executor: Option<Arc<Executor<'static>>>,
}

impl SmolRuntime {
    /// Spawns on smol's global executor.
    pub fn global() -> Self {
        SmolRuntime { executor: None }
    }

    /// Spawns on `executor`, which the embedding program runs.
    pub fn with_executor(executor: Arc<Executor<'static>>) -> Self {
        SmolRuntime { executor: Some(executor) }
    }
}

impl Runtime for SmolRuntime {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        let timer = smol::Timer::at(deadline);
        Box::pin(async move {
            timer.await;
        })
    }

    fn spawn(&self, future: BoxFuture) {
        match &self.executor {
            Some(executor) => executor.spawn(future).detach(),
            None => smol::spawn(future).detach(),
        }
    }
}

/// hyper spawns the HTTP/2 connection's background work through the same executor.
impl<F> hyper::rt::Executor<F> for SmolRuntime
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        self.spawn(Box::pin(future));
    }
}
