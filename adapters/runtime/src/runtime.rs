//! The few things a driver needs from an async runtime (modelled on quinn's `Runtime`).

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A boxed, sendable future with no output: a spawned task or a timer.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// An async runtime: a monotonic clock, timers and task spawning.
///
/// Implemented by each adapter (tokio, smol); everything else in this crate is runtime-agnostic.
pub trait Runtime: Clone + Send + Sync + 'static {
    /// The current instant of a monotonic clock.
    fn now(&self) -> Instant;
    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> BoxFuture;
    /// Runs `future` in the background until it completes (detached).
    fn spawn(&self, future: BoxFuture);
}
