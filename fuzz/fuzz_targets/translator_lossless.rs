//! Fuzz target `translator_lossless`: see `stateful_logs_fuzz::translator_lossless` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stateful_logs_fuzz::translator_lossless::run(data));
