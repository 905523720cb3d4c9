#![no_main]
//! See `dnsentry::fuzzing::dns_message`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| dnsentry::fuzzing::dns_message(data));
