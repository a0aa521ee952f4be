//! `oxmcp::fuzzing::server`: see its documentation for what the target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oxmcp::fuzzing::server(data));
