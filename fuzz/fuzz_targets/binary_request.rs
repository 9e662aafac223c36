#![no_main]
//! binary requests from clients: see protocol::binary::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::binary::fuzz::fuzz_request_decoder(data));
