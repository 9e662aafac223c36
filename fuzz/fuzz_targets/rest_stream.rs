#![no_main]
//! HTTP config streams: see config::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| config::fuzzing::fuzz_rest_stream(data));
