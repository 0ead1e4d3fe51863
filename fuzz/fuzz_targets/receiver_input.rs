//! Fuzz target `receiver_input`: see `stateful_logs_fuzz::receiver_input` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stateful_logs_fuzz::receiver_input::run(data));
