#![no_main]
//! Text requests (meta mixed with ascii) from clients: see protocol::meta::fuzz.
libfuzzer_sys::fuzz_target!(|data: &[u8]| protocol::meta::fuzz::fuzz_request_decoder(data));
