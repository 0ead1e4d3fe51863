//! Fuzz target `roundtrip`: see `stateful_logs_fuzz::roundtrip` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stateful_logs_fuzz::roundtrip::run(data));
