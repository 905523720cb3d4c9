#![no_main]
//! See `dnsentry::fuzzing::feed`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsentry::fuzzing::feed(data));
