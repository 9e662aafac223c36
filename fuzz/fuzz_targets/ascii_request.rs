#![no_main]
//! ascii requests from clients: see protocol::ascii::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::ascii::fuzz::fuzz_request_decoder(data));
