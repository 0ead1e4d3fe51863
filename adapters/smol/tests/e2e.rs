//! End-to-end over loopback: the smol client against the reference intake (on its own tokio
//! runtime, in other threads), through the shared suite of `stateful-logs-runtime` (feature
//! `test-harness`): the stateful encoding once per profile, and the JSON baseline.

use stateful_logs_runtime::harness::BuildClient;
use stateful_logs_runtime::{Client, ClientBuilder, ClientError};
use stateful_logs_smol::{BuildSmol, SmolRuntime};

struct Smol;

impl BuildClient for Smol {
    type Runtime = SmolRuntime;

    fn runtime(&self) -> SmolRuntime {
        SmolRuntime::global()
    }

    fn build(&self, builder: ClientBuilder) -> Result<Client, ClientError> {
        builder.build_smol()
    }
}

mod stateful_v1 {
    stateful_logs_runtime::e2e_suite!(
        smol::block_on,
        super::Smol,
        stateful_logs::Pipeline,
        stateful_logs::Profile::V1
    );
}

mod stateful_v2 {
    stateful_logs_runtime::e2e_suite!(
        smol::block_on,
        super::Smol,
        stateful_logs::Pipeline,
        stateful_logs::Profile::V2
    );
}

mod json_baseline {
    stateful_logs_runtime::e2e_suite!(
        smol::block_on,
        super::Smol,
        stateful_logs_runtime::harness::HttpJsonBaseline
    );
}
