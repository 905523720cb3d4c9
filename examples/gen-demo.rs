//! Writes the demo capture: `cargo run --example gen-demo [OUT.pcap]`
//! (default `pcaps/demo-hijack.pcap`). Deterministic: the same source gives
//! the same bytes, which a test checks against the shipped file.

fn main() -> std::io::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "pcaps/demo-hijack.pcap".to_string());
    dnsentry::synth::demo::demo_scenario().write_pcap_file(std::path::Path::new(&out))?;
    eprintln!("wrote {out}");
    Ok(())
}
