//! Writes what the Debian package ships besides the binary, from the clap
//! definitions in `src/config/args.rs`, so that the man pages and the
//! completions can never describe other flags than the binary has:
//! `cargo run --example gen-package-files OUT_DIR` writes
//!
//! * `OUT_DIR/man/`: `dnsentry.1` and one page per subcommand
//!   (`dnsentry-analyze.1`, ..., `dnsentry-baseline-learn.1`), clap_mangen;
//! * `OUT_DIR/completions/`: `dnsentry.bash`, `_dnsentry` (zsh) and
//!   `dnsentry.fish`, clap_complete.
//!
//! `scripts/package` runs it before `cargo deb`.

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::Shell;
use dnsentry::config::args::Cli;

fn main() -> std::io::Result<()> {
    let Some(out) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: gen-package-files OUT_DIR");
        std::process::exit(2);
    };
    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    clap_mangen::generate_to(Cli::command(), &man)?;
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "dnsentry", &completions)?;
    }
    eprintln!("wrote {} and {}", man.display(), completions.display());
    Ok(())
}
