//! The `dnsentry` binary: flags in, exit status out. All work is in the library.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tracing_subscriber::EnvFilter;

mod cli;

use cli::{AnalyzeArgs, Cli, Command};
use dnsentry::config::{RuleSources, load_rules};
use dnsentry::output::{OutputTargets, Target};
use dnsentry::pipeline::{AnalyzeConfig, analyze};

/// Every input analysed.
const EXIT_OK: u8 = 0;
/// The run finished, but an input or output failed part-way.
const EXIT_PARTIAL: u8 = 1;
/// Nothing ran.
const EXIT_NOT_RUN: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Command::Analyze(args) => match run_analyze(args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("dnsentry: error: {e:#}");
                ExitCode::from(EXIT_NOT_RUN)
            }
        },
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<u8> {
    let rules = load_rules(&RuleSources {
        builtin_feed: !args.no_default_ioc,
        ioc_files: args.ioc.clone(),
        expect_files: args.expect.clone(),
    })?;
    let threads = match args.threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let cfg = AnalyzeConfig {
        inputs: args.captures.clone(),
        rules: rules.into(),
        dns_ports: args.dns_ports.clone(),
        threads,
        outputs: OutputTargets {
            alerts: Target::parse(&args.alerts),
            dns_log: args.dns_log.as_deref().map(Target::parse),
            weird_log: args.weird_log.as_deref().map(Target::parse),
        },
        progress: !args.no_progress && !args.quiet,
    };
    let outcome = match analyze(cfg) {
        Ok(o) => o,
        Err(dnsentry::pipeline::PipelineError::Output(e)) if is_partial_output(&e) => {
            eprintln!("dnsentry: error: {e}");
            return Ok(EXIT_PARTIAL);
        }
        Err(e) => return Err(e.into()),
    };
    if !args.quiet {
        eprint!("{}", outcome.summary.render());
    }
    if let Some(path) = &args.stats_json {
        let json = serde_json::to_string_pretty(&outcome.summary)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("{}: cannot write stats", path.display()))?;
    }
    if outcome.input_errors.is_empty() {
        Ok(EXIT_OK)
    } else {
        for e in &outcome.input_errors {
            eprintln!("dnsentry: error: {e}");
        }
        Ok(EXIT_PARTIAL)
    }
}

/// A write that failed mid-run (the run had started) versus an output that
/// could not even be opened.
fn is_partial_output(e: &dnsentry::output::OutputError) -> bool {
    matches!(e, dnsentry::output::OutputError::Write { .. })
}
