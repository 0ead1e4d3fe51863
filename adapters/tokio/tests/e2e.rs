//! End-to-end over loopback: the tokio client against the reference intake, through the
//! shared suite of `stateful-logs-runtime` (feature `test-harness`): the stateful encoding
//! (Pipeline → Receiver) once per profile, and the JSON baseline (pass-through intake).

use std::future::Future;

use stateful_logs_runtime::harness::BuildClient;
use stateful_logs_runtime::{Client, ClientBuilder, ClientError};
use stateful_logs_tokio::{BuildTokio, TokioRuntime};

struct Tokio;

impl BuildClient for Tokio {
    type Runtime = TokioRuntime;

    fn runtime(&self) -> TokioRuntime {
        TokioRuntime::current()
    }

    fn build(&self, builder: ClientBuilder) -> Result<Client, ClientError> {
        builder.build_tokio()
    }
}

/// Each scenario on its own two-thread runtime.
fn block_on(scenario: impl Future<Output = ()>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
    runtime.unwrap_or_else(|e| panic!("tokio runtime: {e}")).block_on(scenario);
}

mod stateful_v1 {
    stateful_logs_runtime::e2e_suite!(
        super::block_on,
        super::Tokio,
        stateful_logs::Pipeline,
        stateful_logs::Profile::V1
    );
}

mod stateful_v2 {
    stateful_logs_runtime::e2e_suite!(
        super::block_on,
        super::Tokio,
        stateful_logs::Pipeline,
        stateful_logs::Profile::V2
    );
}

mod json_baseline {
    stateful_logs_runtime::e2e_suite!(
        super::block_on,
        super::Tokio,
        stateful_logs_runtime::harness::HttpJsonBaseline
    );
}
