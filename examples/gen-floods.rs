//! Writes the flood benchmark's captures: `cargo run --release --example
//! gen-floods DIR PACKETS` writes DIR/KIND.pcap for every kind in
//! `dnsentry::synth::flood` (benign, fragments, syn, out-of-order,
//! compression-bomb), PACKETS packets each, and DIR/with-demo/KIND.pcap: the
//! same with the demo capture's frames (`dnsentry::synth::demo`) spread
//! evenly through it, for the live flood bench (`scripts/bench
//! --floods-live`): do the demo's detections survive the flood?
//! Deterministic.

use std::path::PathBuf;

use dnsentry::synth::demo::demo_scenario;
use dnsentry::synth::flood::{Flood, frames};
use dnsentry::synth::write_pcap;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "bench-data/floods".into()));
    let packets: usize = args
        .next()
        .map(|n| n.parse().map_err(std::io::Error::other))
        .transpose()?
        .unwrap_or(200_000);
    std::fs::create_dir_all(dir.join("with-demo"))?;
    let demo = demo_scenario();
    let demo = demo.frames();
    for kind in Flood::ALL {
        let flood = frames(kind, packets);
        let path = dir.join(format!("{}.pcap", kind.name()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        write_pcap(file, pcap_file::DataLink::ETHERNET, &flood).map_err(std::io::Error::other)?;
        eprintln!("wrote {}", path.display());

        // Demo frame k goes after flood frame k * len / demo_len: replayed
        // at top speed, the demo's traffic arrives in the thick of it.
        let every = (flood.len() / demo.len().max(1)).max(1);
        let mut mixed = Vec::with_capacity(flood.len() + demo.len());
        let mut demo_frames = demo.iter();
        for (i, f) in flood.into_iter().enumerate() {
            if i % every == 0
                && let Some(d) = demo_frames.next()
            {
                mixed.push(d.clone());
            }
            mixed.push(f);
        }
        mixed.extend(demo_frames.cloned());
        let path = dir.join("with-demo").join(format!("{}.pcap", kind.name()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        write_pcap(file, pcap_file::DataLink::ETHERNET, &mixed).map_err(std::io::Error::other)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
