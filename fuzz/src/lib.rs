//! Fuzz harnesses for `stateful-logs`, one module per cargo-fuzz target (`fuzz_targets/`).
//!
//! Each `run(data)` decodes the fuzzer's bytes into inputs for the core and panics when an
//! invariant breaks (libFuzzer records the input as a crash). The invariants are the property
//! tests' own: both use the core's test support (`stateful_logs::testing`, the `testing`
//! feature), so a fuzz target and its property test check exactly the same thing.
//!
//! `transport_events` decodes its input with `arbitrary`. The other targets read a small,
//! documented byte format ([`input`]) instead, so that seeds written from real traffic
//! (`examples/generate_seeds.rs`) are valid inputs that the fuzzer mutates from.

pub mod input;
pub mod receiver_input;
pub mod roundtrip;
pub mod tokenizer;
pub mod translator_lossless;
pub mod transport_events;
