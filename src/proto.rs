//! The wire schemas, generated from `proto/` by `build.rs` (prost + protox).
#![allow(missing_docs, clippy::all, clippy::pedantic)]

/// Package `datadog.intake.stateful`: the envelope (`StatefulBatch`, `BatchStatus`).
pub mod stateful {
    include!(concat!(env!("OUT_DIR"), "/datadog.intake.stateful.rs"));

    /// Profile `v1` datum messages (`datadog.intake.stateful.v1`).
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/datadog.intake.stateful.v1.rs"));
    }

    /// Profile `v2` datum messages (`datadog.intake.stateful.v2`).
    pub mod v2 {
        include!(concat!(env!("OUT_DIR"), "/datadog.intake.stateful.v2.rs"));
    }
}

pub use stateful::{BatchStatus, StatefulBatch, v1, v2};
