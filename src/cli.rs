//! Command-line flags, as typed. Validation happens in `config` and
//! `pipeline`; this module only describes the interface.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "dnsentry",
    version,
    about = "Passive DNS sensor that catches DNS infrastructure hijacking (CISA AA19-024A)",
    after_help = "Exit status: 0 = every input analysed; 1 = run finished but an input or output failed part-way \
                  (everything before the failure was analysed and written); 2 = nothing ran (bad flags, feed, \
                  expect file, or capture)."
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Analyse capture files (pcap or pcapng) and print one JSON line per alert.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Capture files, read in the order given.
    #[arg(required = true, value_name = "CAPTURE")]
    pub captures: Vec<PathBuf>,

    /// Add an IOC feed: CSV with `indicator` and `type` columns, or plain text (one indicator per line). Repeatable.
    #[arg(long = "ioc", value_name = "FILE")]
    pub ioc: Vec<PathBuf>,

    /// Leave out the built-in AA19-024A feed.
    #[arg(long)]
    pub no_default_ioc: bool,

    /// Expected records of your own zones (TOML). Repeatable.
    #[arg(long = "expect", value_name = "FILE")]
    pub expect: Vec<PathBuf>,

    /// Where alerts go, one JSON object per line ("-" = stdout).
    #[arg(long, value_name = "PATH", default_value = "-")]
    pub alerts: String,

    /// Also write every decoded DNS response as a JSON line ("-" = stdout).
    #[arg(long, value_name = "PATH")]
    pub dns_log: Option<String>,

    /// Write every anomaly (malformed packet, reassembly bound hit) as a JSON line, as Zeek's weird.log ("-" = stdout).
    #[arg(long, value_name = "PATH")]
    pub weird_log: Option<String>,

    /// Ports carrying DNS (repeatable). mDNS (5353) and LLMNR (5355) only when listed.
    #[arg(long = "dns-port", value_name = "PORT", default_values_t = [53u16])]
    pub dns_ports: Vec<u16>,

    /// Decode-and-match worker threads (default: number of cores).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,

    /// Write the end-of-run summary as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub stats_json: Option<PathBuf>,

    /// Do not print the summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,

    /// Never draw the progress bar (it is drawn only when stderr is a terminal anyway).
    #[arg(long)]
    pub no_progress: bool,
}
