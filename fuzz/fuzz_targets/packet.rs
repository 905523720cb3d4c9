#![no_main]
//! See `dnsentry::fuzzing::packet`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsentry::fuzzing::packet(data));
