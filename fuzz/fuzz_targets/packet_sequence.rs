#![no_main]
//! See `dnsentry::fuzzing::packet_sequence`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsentry::fuzzing::packet_sequence(data));
