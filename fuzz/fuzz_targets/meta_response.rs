#![no_main]
//! Meta replies from downstream servers: see protocol::meta::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::meta::fuzz::fuzz_response_decoder(data));
