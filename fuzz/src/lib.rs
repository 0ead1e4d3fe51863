//! Fuzz harnesses for `stateful-logs`, one module per cargo-fuzz target (`fuzz_targets/`).
//!
//! Each `run(data)` decodes the fuzzer's bytes into inputs for the core and panics when an
//! invariant breaks (libFuzzer records the input as a crash). The invariants are the property
//! tests' own: `tests/support/*.rs` of the main crate are included here by path, so a fuzz
//! target and its property test check exactly the same thing.
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

/// The transport model of `tests/transport_model.rs`.
#[path = "../../tests/support/transport_sim.rs"]
pub mod transport_sim;

/// The round-trip world of `tests/roundtrip.rs` and `tests/translator_roundtrip.rs`.
#[path = "../../tests/world/mod.rs"]
pub mod roundtrip_world;

/// The receiver action grammar of `tests/receiver_props.rs`.
#[path = "../../tests/support/receiver_check.rs"]
pub mod receiver_check;
