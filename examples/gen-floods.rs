//! Writes the flood benchmark's captures: `cargo run --release --example
//! gen-floods DIR PACKETS` writes DIR/KIND.pcap for every kind in
//! `dnsentry::synth::flood` (benign, fragments, syn, out-of-order,
//! compression-bomb), PACKETS packets each. Deterministic.

use std::path::PathBuf;

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
    std::fs::create_dir_all(&dir)?;
    for kind in Flood::ALL {
        let path = dir.join(format!("{}.pcap", kind.name()));
        let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
        write_pcap(file, pcap_file::DataLink::ETHERNET, &frames(kind, packets))
            .map_err(std::io::Error::other)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
