//! Test support, behind the `testing` feature: what this crate's tests, the fuzz targets, the
//! CLI's checks and the benchmarks share, so that each is written once.
//!
//! **Not a stable API.** It changes with the tests; a driver never needs it.
//!
//! - [`loopback`]: a Pipeline and a Receiver joined in memory, with an explicit clock and a
//!   network ([`network`]) that can hold, delay or lose acks and break streams;
//! - [`equivalence`]: whether a delivered record equals the sent one (`encoding.md` §10.1);
//! - [`round_trip`]: the round-trip property check built on both;
//! - [`transport_model`]: the Transport's reference model (`transport.md` §18);
//! - [`receiver_grammar`]: the receiver's per-stream action grammar (`transport.md` §16).

pub mod equivalence;
pub mod loopback;
pub mod network;
pub mod receiver_grammar;
pub mod round_trip;
pub mod transport_model;

pub use equivalence::{Mismatch, check_equivalent, json_equal};
pub use loopback::Loopback;
pub use network::{AckDelivery, Counters, LoopbackConfig, LoopbackError, Peer, SentBatch};

#[cfg(test)]
mod loopback_tests;
