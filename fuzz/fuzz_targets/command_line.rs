#![no_main]
//! the -z / -Z grammar: see config::fuzzing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| config::fuzzing::fuzz_command_line(data));
