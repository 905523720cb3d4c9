//! Writes a long hijack campaign against many zones
//! (`dnsentry::synth::campaign`), for measuring `dnsentry report` at
//! scale: `cargo run --release --example gen-campaign DIR RESPONSES ZONES`
//! writes DIR/campaign.pcap, DIR/campaign.zones.toml (`--expect`) and
//! DIR/campaign-feed.csv (`--ioc`). Deterministic. The default, 820,000
//! responses over 200 zones, makes a million alerts with `--suppress 0`.

use std::path::PathBuf;

use dnsentry::synth::campaign::campaign;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "bench-data/campaign".into()));
    let mut number = |default: usize| -> std::io::Result<usize> {
        args.next()
            .map(|n| n.parse().map_err(std::io::Error::other))
            .transpose()
            .map(|n| n.unwrap_or(default))
    };
    let responses = number(820_000)?;
    let zones = number(200)?;
    std::fs::create_dir_all(&dir)?;
    let c = campaign(responses, zones);
    c.scenario.write_pcap_file(&dir.join("campaign.pcap"))?;
    std::fs::write(dir.join("campaign.zones.toml"), &c.expect_toml)?;
    std::fs::write(dir.join("campaign-feed.csv"), &c.feed_csv)?;
    eprintln!(
        "wrote {}: {responses} responses over {zones} zones",
        dir.display()
    );
    Ok(())
}
