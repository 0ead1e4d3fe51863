//! The tokio [`Runtime`].

use std::time::Instant;

use stateful_logs_runtime::{BoxFuture, Runtime};

/// Timers, clock and spawning on a tokio runtime.
#[derive(Clone, Debug)]
pub struct TokioRuntime {
    handle: tokio::runtime::Handle,
}

impl TokioRuntime {
    /// The runtime the caller runs on. Panics outside a tokio runtime, like `tokio::spawn`.
    pub fn current() -> Self {
        TokioRuntime { handle: tokio::runtime::Handle::current() }
    }

    /// A given runtime.
    pub fn new(handle: tokio::runtime::Handle) -> Self {
        TokioRuntime { handle }
    }
}

impl Runtime for TokioRuntime {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)))
    }

    fn spawn(&self, future: BoxFuture) {
        drop(self.handle.spawn(future));
    }
}
