#![no_main]
//! ascii replies from downstreams: see protocol::ascii::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::ascii::fuzz::fuzz_response_decoder(data));
