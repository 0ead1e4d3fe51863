//! The reference intake on its own tokio runtime, so that the client under test may run on any
//! runtime (or none of tokio's): only the intake's threads know tokio.

use std::ops::{Deref, DerefMut};

use stateful_logs_intake::{Intake, IntakeBuilder, IntakeError};

/// An [`Intake`] serving from its own multi-thread tokio runtime; it derefs to the intake.
/// Dropping it stops the intake and its runtime.
pub struct IntakeThread {
    intake: Option<Intake>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl IntakeThread {
    /// Starts `builder`'s intake on `127.0.0.1:0` on a new runtime. Callable from any executor.
    pub async fn bind(builder: IntakeBuilder) -> Result<IntakeThread, IntakeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("test-intake")
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("the intake's tokio runtime: {e}"));
        let intake = run_on(&runtime, builder.bind("127.0.0.1:0")).await?;
        Ok(IntakeThread { intake: Some(intake), runtime: Some(runtime) })
    }

    /// [`Intake::start`] on the intake's runtime: listens again on the same port.
    pub async fn start(&mut self) -> Result<(), IntakeError> {
        let (Some(mut intake), Some(runtime)) = (self.intake.take(), self.runtime.as_ref()) else {
            unreachable!("present until drop")
        };
        let (intake, result) = run_on(runtime, async move {
            let result = intake.start().await;
            (intake, result)
        })
        .await;
        self.intake = Some(intake);
        result
    }
}

impl IntakeThread {
    /// Runs `future` on the intake's runtime (tokio), from any executor.
    pub async fn run<T: Send + 'static>(&self, future: impl Future<Output = T> + Send + 'static) -> T {
        let runtime = self.runtime.as_ref().unwrap_or_else(|| unreachable!("present until drop"));
        run_on(runtime, future).await
    }
}

/// Runs `future` on `runtime` and awaits its output through a runtime-agnostic channel.
async fn run_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    future: impl Future<Output = T> + Send + 'static,
) -> T {
    let (sender, receiver) = async_channel::bounded(1);
    runtime.spawn(async move {
        let _ = sender.send(future.await).await;
    });
    receiver.recv().await.unwrap_or_else(|_| panic!("the intake's runtime dropped a task"))
}

impl Deref for IntakeThread {
    type Target = Intake;

    fn deref(&self) -> &Intake {
        self.intake.as_ref().unwrap_or_else(|| unreachable!("present until drop"))
    }
}

impl DerefMut for IntakeThread {
    fn deref_mut(&mut self) -> &mut Intake {
        self.intake.as_mut().unwrap_or_else(|| unreachable!("present until drop"))
    }
}

impl Drop for IntakeThread {
    fn drop(&mut self) {
        // The intake aborts its tasks; then the runtime goes without blocking (this may run
        // inside another runtime's task, where blocking is not allowed).
        drop(self.intake.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
