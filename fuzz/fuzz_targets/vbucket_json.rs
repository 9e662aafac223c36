#![no_main]
//! vBucket JSON and REST bodies: see config::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| config::fuzzing::fuzz_vbucket_json(data));
