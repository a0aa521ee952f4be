//! `oxmcp::fuzzing::uri_template`: see its documentation for what the target checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oxmcp::fuzzing::uri_template(data));
