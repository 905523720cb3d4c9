//! Seeds the fuzz corpus (`fuzz/corpus/<target>/`) from real captures:
//! `cargo run --example gen-fuzz-corpus -- ../shared/pcaps`.
//!
//! * `packet`: frames of every capture, prefixed with the index of their
//!   link type in `dnsentry::fuzzing::LINK_TYPES` (at most 12 per capture);
//! * `dns_message`: the DNS responses found in them (at most 12 per capture);
//! * `tcp_stream`: the DNS-over-TCP payloads of each capture, re-encoded as
//!   the target's segment list;
//! * `packet_sequence`: each capture's first frames as one sequence (at most
//!   4 KiB, the fuzz runs' input length), and generated sequences that
//!   reach the reassemblers: IPv4 and IPv6 fragments of a response in
//!   reverse order, overlapping and duplicated, each flood of
//!   `dnsentry::synth::flood`, a DNS-over-TCP exchange;
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
use dnsentry::fuzzing::{LINK_TYPES, encode_packet_sequence};
use dnsentry::model::PayloadBatch;

const PER_CAPTURE: usize = 12;
/// The fuzz runs' `-max_len` (scripts/fuzz).
const MAX_LEN: usize = 4096;

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
        let mut sequence: Vec<Vec<u8>> = Vec::new();
        let mut sequence_link = None;
        let mut sequence_len = 1;
        let _ = read_file(path, 0, |frame| {
            let Some(pick) = LINK_TYPES.iter().position(|l| *l == frame.link) else {
                return Flow::Continue;
            };
            if sequence_len + 3 + frame.data.len() <= MAX_LEN
                && *sequence_link.get_or_insert(pick) == pick
            {
                sequence_len += 3 + frame.data.len();
                sequence.push(frame.data.to_vec());
            }
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
        if let Some(pick) = sequence_link {
            let frames = sequence.iter().map(|f| (1u8, f.as_slice()));
            write(
                &corpus.join("packet_sequence"),
                &encode_packet_sequence(pick as u8, frames, MAX_LEN),
            )?;
        }
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
    generated_sequences(&corpus.join("packet_sequence"))?;
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

/// Sequences no public capture has: fragments out of order, overlapping
/// and repeated, floods, DNS over TCP.
fn generated_sequences(dir: &Path) -> std::io::Result<()> {
    use dnsentry::synth::encap::{ethernet_ip, ip_udp, ipv4_fragments, ipv6_fragments};
    use dnsentry::synth::flood::{Flood, frames};
    use dnsentry::synth::{Exchange, Scenario, Via, a, aaaa, rr};
    use hickory_proto::rr::RecordType;

    let ethernet = LINK_TYPES
        .iter()
        .position(|l| *l == dnsentry::decode::link::LinkType::ETHERNET)
        .unwrap_or(0) as u8;
    let seq = |frames: &[Vec<u8>]| {
        encode_packet_sequence(
            ethernet,
            frames.iter().map(|f| (1u8, f.as_slice())),
            MAX_LEN,
        )
    };
    let mut ex = Exchange::new("10.1.2.3", "192.0.2.53", "www.example.org", RecordType::A);
    for i in 0..12 {
        ex = ex.answer(rr("www.example.org", 60, a(&format!("185.20.187.{i}"))));
    }
    let (_, response) = ex.messages(0x4242);
    let server4 = "192.0.2.53"
        .parse()
        .unwrap_or(std::net::IpAddr::from([192, 0, 2, 53]));
    let client4 = std::net::IpAddr::from([10, 1, 2, 3]);
    let v4 = ip_udp(server4, client4, 53, 40000, &response);
    let mut frags: Vec<Vec<u8>> = ipv4_fragments(&v4, 7, 64)
        .iter()
        .map(|f| ethernet_ip(f))
        .collect();
    frags.reverse();
    write(dir, &seq(&frags))?;
    // Every fragment twice, the second copy of one overlapping the next.
    let mut twice: Vec<Vec<u8>> = frags.iter().flat_map(|f| [f.clone(), f.clone()]).collect();
    twice.extend(ipv4_fragments(&v4, 7, 40).iter().map(|f| ethernet_ip(f)));
    write(dir, &seq(&twice))?;

    let mut ex6 = Exchange::new(
        "2001:db8::3",
        "2001:db8::53",
        "www.example.org",
        RecordType::AAAA,
    );
    for i in 0..8 {
        ex6 = ex6.answer(rr(
            "www.example.org",
            60,
            aaaa(&format!("2001:db8:bad::{i}")),
        ));
    }
    let (_, response6) = ex6.messages(0x4343);
    let v6 = ip_udp(
        "2001:db8::53"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0u8; 16])),
        "2001:db8::3"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0u8; 16])),
        53,
        40000,
        &response6,
    );
    let mut frags6: Vec<Vec<u8>> = ipv6_fragments(&v6, 9, 96)
        .iter()
        .map(|f| ethernet_ip(f))
        .collect();
    frags6.reverse();
    write(dir, &seq(&frags6))?;

    for kind in Flood::ALL {
        let frames: Vec<Vec<u8>> = frames(kind, 40).into_iter().map(|(_, f)| f).collect();
        write(dir, &seq(&frames))?;
    }

    let mut s = Scenario::new(1_700_000_000);
    let mut tcp = Exchange::new("10.1.2.3", "192.0.2.53", "mail.example.org", RecordType::A)
        .answer(rr("mail.example.org", 60, a("185.20.187.8")));
    tcp.via = Via::Tcp;
    s.exchange(&tcp);
    let frames: Vec<Vec<u8>> = s.frames().iter().map(|(_, f)| f.clone()).collect();
    write(dir, &seq(&frames))?;
    let mut reversed = frames;
    reversed.reverse();
    write(dir, &seq(&reversed))
}
