//! The client's runtime on the shipper's thread: tokio (a current-thread runtime of its own)
//! or smol (an executor of its own, driven by `smol::block_on`).

use stateful_logs_runtime::ClientBuilder;

use crate::guard::{Ready, Serve};

/// Which runtime adapter runs the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `stateful-logs-tokio` on a current-thread tokio runtime owned by the shipper's thread.
    #[cfg(feature = "tokio")]
    Tokio,
    /// `stateful-logs-smol` on an executor owned by the shipper's thread.
    #[cfg(feature = "smol")]
    Smol,
}

impl Flavor {
    /// What the shipper's thread runs: build the client, report, serve until shut down.
    // Without a flavour feature there is no variant, and nothing uses the arguments.
    #[cfg_attr(not(any(feature = "tokio", feature = "smol")), allow(unused_variables))]
    pub(crate) fn run(self, builder: ClientBuilder) -> impl FnOnce(Ready, Serve) + Send + 'static {
        move |ready: Ready, serve: Serve| match self {
            #[cfg(feature = "tokio")]
            Flavor::Tokio => run_tokio(builder, ready, serve),
            #[cfg(feature = "smol")]
            Flavor::Smol => run_smol(builder, ready, serve),
        }
    }
}

#[cfg(feature = "tokio")]
fn run_tokio(builder: ClientBuilder, ready: Ready, serve: Serve) {
    use stateful_logs_tokio::BuildTokio;

    use crate::error::ShipperError;

    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            let _ = ready.send(Err(ShipperError::Runtime(error)));
            return;
        }
    };
    runtime.block_on(async move {
        match builder.build_tokio() {
            Ok(client) => {
                let _ = ready.send(Ok(client.handle()));
                serve(client).await;
            }
            Err(error) => {
                let _ = ready.send(Err(error.into()));
            }
        }
    });
}

#[cfg(feature = "smol")]
fn run_smol(builder: ClientBuilder, ready: Ready, serve: Serve) {
    use std::sync::Arc;

    use stateful_logs_smol::{BuildSmol, SmolRuntime};

    let executor = Arc::new(smol::Executor::new());
    let runtime = SmolRuntime::with_executor(executor.clone());
    smol::block_on(executor.run(async move {
        match builder.build_smol_on(runtime) {
            Ok(client) => {
                let _ = ready.send(Ok(client.handle()));
                serve(client).await;
            }
            Err(error) => {
                let _ = ready.send(Err(error.into()));
            }
        }
    }));
}
