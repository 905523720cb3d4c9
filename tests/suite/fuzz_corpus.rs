//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) through the
//! fuzz targets' entry functions on the stable toolchain. A panic on any
//! input fails the test; the corpus holds the seeds made from the shared
//! captures and whatever fuzzing runs found worth keeping.

use std::path::Path;

use crate::common::project_file;

fn replay(target: &str, entry: fn(&[u8]), at_least: usize) {
    let dir = project_file(&format!("fuzz/corpus/{target}"));
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = e.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().map(|f| f.to_string_lossy().into_owned());
        let result = std::panic::catch_unwind(|| entry(&data));
        assert!(result.is_ok(), "{target}: input {name:?} panics");
        n += 1;
    }
    assert!(
        n >= at_least,
        "{}: only {n} inputs",
        Path::new(&dir).display()
    );
}

#[test]
fn packet_corpus() {
    replay("packet", dnsentry::fuzzing::packet, 500);
}

#[test]
fn packet_sequence_corpus() {
    replay("packet_sequence", dnsentry::fuzzing::packet_sequence, 20);
}

#[test]
fn dns_message_corpus() {
    replay("dns_message", dnsentry::fuzzing::dns_message, 200);
}

#[test]
fn tcp_stream_corpus() {
    replay("tcp_stream", dnsentry::fuzzing::tcp_stream, 10);
}

#[test]
fn feed_corpus() {
    replay("feed", dnsentry::fuzzing::feed, 3);
}
