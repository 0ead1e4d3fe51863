//! Fuzz target `tokenizer`: see `stateful_logs_fuzz::tokenizer` for the input format and what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| stateful_logs_fuzz::tokenizer::run(data));
