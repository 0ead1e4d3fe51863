//! Fuzz target `transport_events`: see `stateful_logs_fuzz::transport_events` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stateful_logs_fuzz::transport_events::run(data));
