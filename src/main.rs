//! The `dnsentry` binary: flags in, exit status out. Everything else is in
//! the library: `config` validates, `commands` runs.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use dnsentry::buildinfo::BuildInfo;
use dnsentry::commands::{self, CommandError};
use dnsentry::config::args::{BaselineCommand, Cli, Command};
use dnsentry::model::text::escape_text;

/// Nothing ran: bad flags, feed, expect file, config, capture or
/// interface. (0 and 1 come from [`commands::Status`].)
const EXIT_NOT_RUN: u8 = 2;

fn main() -> ExitCode {
    // -V and --version show the whole build, libpcap as loaded now.
    let version = BuildInfo::current().version_text();
    let matches = Cli::command()
        .version(version.clone())
        .long_version(version)
        .get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logging(cli.verbose);
    let result = match &cli.command {
        Command::Analyze(args) => commands::analyze(args),
        Command::Live(args) => commands::live(args),
        Command::Check(args) => commands::check(args),
        Command::Baseline(BaselineCommand::Learn(args)) => commands::learn(args),
        Command::Baseline(BaselineCommand::Diff(args)) => commands::diff(args),
        Command::Report(args) => commands::report(args),
        Command::Audit(args) => commands::audit(args),
    };
    match result {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            report(e);
            ExitCode::from(EXIT_NOT_RUN)
        }
    }
}

/// Each error's message already carries its cause, once. It may quote a
/// file or a capture's name: escaped, as every output is.
fn report(e: CommandError) {
    eprintln!("dnsentry: error: {}", escape_text(&e.to_string()));
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
