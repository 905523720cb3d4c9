#![no_main]
//! See `dnsentry::fuzzing::tcp_stream`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsentry::fuzzing::tcp_stream(data));
