#![no_main]
//! binary replies from downstreams: see protocol::binary::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::binary::fuzz::fuzz_response_decoder(data));
