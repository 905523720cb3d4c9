//! Seeds the fuzz corpus (`fuzz/corpus/<target>/`) from real captures:
//! `cargo run --example gen-fuzz-corpus -- ../shared/pcaps`.
//!
//! * `packet`: frames of every capture, prefixed with the index of their
//!   link type in `dnsentry::fuzzing::LINK_TYPES` (at most 12 per capture);
//! * `dns_message`: the DNS responses found in them (at most 12 per capture);
//! * `tcp_stream`: the DNS-over-TCP payloads of each capture, re-encoded as
//!   the target's segment list;
//! * `feed`: the built-in feed and the project's expect files.
//!
//! File names are a hash of the content, so reruns add nothing twice.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use dnsentry::capture::Flow;
use dnsentry::capture::offline::read_file;
use dnsentry::decode::Demux;
use dnsentry::decode::transport::PortSet;
use dnsentry::fuzzing::LINK_TYPES;
use dnsentry::model::PayloadBatch;

const PER_CAPTURE: usize = 12;

fn write(dir: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("{:016x}", h.finish())), data)
}

fn main() -> std::io::Result<()> {
    let src = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "../shared/pcaps".into());
    let corpus = PathBuf::from("fuzz/corpus");
    let mut captures: Vec<PathBuf> = std::fs::read_dir(&src)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    captures.sort();
    for path in &captures {
        let mut frames = 0;
        let mut tcp = Vec::new();
        let mut demux = Demux::new(PortSet::new(&[53, 5353, 8053]));
        let mut batch = PayloadBatch::default();
        let _ = read_file(path, 0, |frame| {
            let Some(pick) = LINK_TYPES.iter().position(|l| *l == frame.link) else {
                return Flow::Continue;
            };
            if frames < PER_CAPTURE {
                let mut seed = vec![pick as u8];
                seed.extend_from_slice(frame.data);
                let _ = write(&corpus.join("packet"), &seed);
                frames += 1;
            }
            let before = batch.len();
            demux.frame(frame.link, frame.source, frame.ts, frame.data, &mut batch);
            if batch.len() > before
                && let Some((meta, msg)) = batch.iter().last()
                && meta.transport == dnsentry::model::Transport::Tcp
            {
                tcp.push(msg.to_vec());
            }
            Flow::Continue
        });
        for (_, msg) in batch.iter().take(PER_CAPTURE) {
            write(&corpus.join("dns_message"), msg)?;
        }
        if !tcp.is_empty() {
            // One stream: SYN, then the messages framed and cut into
            // segments of at most 200 bytes; each step is the previous
            // segment's length (1 after the SYN).
            let mut framed = Vec::new();
            for m in &tcp {
                framed.extend_from_slice(&(m.len() as u16).to_be_bytes());
                framed.extend_from_slice(m);
            }
            let mut stream = vec![1u8, 0, 0, 0];
            let mut step = 1i16;
            for part in framed.chunks(200) {
                stream.push(0);
                stream.extend_from_slice(&step.to_be_bytes());
                stream.push(part.len() as u8);
                stream.extend_from_slice(part);
                step = part.len() as i16;
            }
            write(&corpus.join("tcp_stream"), &stream)?;
        }
    }
    for f in [
        "ioc-feeds/aa19-024a.csv",
        "pcaps/demo-hijack.zones.toml",
        "scripts/bench-zones.toml",
    ] {
        write(&corpus.join("feed"), &std::fs::read(f)?)?;
    }
    eprintln!(
        "seeded {} from {} captures",
        corpus.display(),
        captures.len()
    );
    Ok(())
}
