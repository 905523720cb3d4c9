//! Two jobs.
//!
//! Build information for `dnsentry --version` and the `dnsentry_build_info`
//! metric (src/buildinfo.rs): the git commit (short hash; "unknown" outside
//! a git checkout, e.g. from a tarball), the build date (UTC; from
//! SOURCE_DATE_EPOCH when set, for reproducible builds), the rustc version
//! and the rustls version from Cargo.lock.
//!
//! And it tells the integration tests whether the public captures are
//! there, so that the tests comparing against them are reported as ignored,
//! rather than passing on nothing, when they are not (tests/suite/truth.rs).
//! Only sets a cfg; the tests themselves find the directory at run time.
//!
//! The choice matches `public_captures_dir` in tests/common/mod.rs:
//! DNSENTRY_PUBLIC_CAPTURES when set (whether or not it exists: the tests
//! then fail loudly on a wrong path), else ../shared/pcaps beside the project.
//!
//! The same for Suricata's EVE schema (`eve_schema`, tests/suite/eve.rs):
//! `schemas/suricata-eve.schema.json` beside that directory. It is
//! GPL-2.0, so it is never part of this repository.
//!
//! And whether a `suricata` is on PATH (`suricata`,
//! tests/suite/suricata_side_by_side.rs, which runs it beside dnsentry).
//! `scripts/install-suricata` installs it; a Suricata installed after the
//! last build is seen once this script reruns (a change of PATH or of
//! build.rs), as for the captures.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn main() {
    build_info();
    println!("cargo::rustc-check-cfg=cfg(public_captures)");
    println!("cargo::rustc-check-cfg=cfg(eve_schema)");
    println!("cargo::rustc-check-cfg=cfg(suricata)");
    suricata();
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DNSENTRY_PUBLIC_CAPTURES");
    let from_env = env::var_os("DNSENTRY_PUBLIC_CAPTURES").is_some_and(|v| !v.is_empty());
    let found = from_env || {
        let shared = env::var_os("CARGO_MANIFEST_DIR")
            .map(|root| Path::new(&root).join("../shared/pcaps"))
            .filter(|dir| dir.is_dir());
        // Watched only when it exists: cargo reruns a build script on every
        // build while a watched path is missing, and with it rebuilds the
        // library. So a ../shared/pcaps that appears after the first build
        // is seen only once something else reruns this script; setting
        // DNSENTRY_PUBLIC_CAPTURES always does.
        if let Some(dir) = &shared {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
        shared.is_some()
    };
    if found {
        println!("cargo::rustc-cfg=public_captures");
    }
    let captures = match env::var_os("DNSENTRY_PUBLIC_CAPTURES").filter(|v| !v.is_empty()) {
        Some(dir) => Some(Path::new(&dir).to_path_buf()),
        None => {
            env::var_os("CARGO_MANIFEST_DIR").map(|root| Path::new(&root).join("../shared/pcaps"))
        }
    };
    if let Some(schema) = captures.and_then(|dir| {
        Some(
            dir.parent()?
                .join("schemas")
                .join("suricata-eve.schema.json"),
        )
    }) {
        // Watched only when it exists, as the captures are (see above).
        if schema.is_file() {
            println!("cargo::rerun-if-changed={}", schema.display());
            println!("cargo::rustc-cfg=eve_schema");
        }
    }
}

/// Sets the `suricata` cfg when an executable `suricata` is on PATH.
fn suricata() {
    println!("cargo::rerun-if-env-changed=PATH");
    let found = env::var_os("PATH")
        .map(|path| env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("suricata"))
        .find(|p| p.is_file());
    if let Some(bin) = found {
        // Watched only when it exists, as the captures are (see above).
        println!("cargo::rerun-if-changed={}", bin.display());
        println!("cargo::rustc-cfg=suricata");
    }
}

/// Sets DNSENTRY_COMMIT, DNSENTRY_BUILD_DATE, DNSENTRY_RUSTC and
/// DNSENTRY_RUSTLS for `env!`.
fn build_info() {
    println!("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH");
    let root = env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from("."), PathBuf::from);
    // Only this project's own checkout: a tarball unpacked inside some
    // other repository (a packaging tree) is not at that repository's HEAD.
    let own_checkout = git(&root, &["rev-parse", "--show-toplevel"])
        .and_then(|top| Path::new(&top).canonicalize().ok())
        .is_some_and(|top| root.canonicalize().is_ok_and(|r| r == top));
    let commit = own_checkout
        .then(|| git(&root, &["rev-parse", "--short=12", "HEAD"]))
        .flatten();
    if commit.is_some() {
        watch_git_head(&root);
    }
    println!(
        "cargo::rustc-env=DNSENTRY_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
    let when = env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or_else(SystemTime::now, |secs| {
            UNIX_EPOCH + Duration::from_secs(secs)
        });
    let stamp = humantime::format_rfc3339_seconds(when).to_string();
    println!(
        "cargo::rustc-env=DNSENTRY_BUILD_DATE={}",
        stamp.get(..10).unwrap_or("unknown")
    );
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc_version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=DNSENTRY_RUSTC={rustc_version}");
    println!("cargo::rerun-if-changed=Cargo.lock");
    let rustls = std::fs::read_to_string(root.join("Cargo.lock"))
        .ok()
        .and_then(|lock| locked_version(&lock, "rustls"))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo::rustc-env=DNSENTRY_RUSTLS={rustls}");
}

/// The output of `git ARGS` in `dir`, when git is there and succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// Reruns this script when HEAD moves: a checkout (HEAD) or a commit on
/// the branch (its ref, loose or packed). Only existing paths are watched:
/// a missing one would rerun the script, and rebuild the library, on every
/// build.
fn watch_git_head(root: &Path) {
    let path = |args: &[&str]| git(root, args).map(|p| root.join(p));
    let mut watched = Vec::new();
    if let Some(dir) = path(&["rev-parse", "--git-dir"]) {
        watched.push(dir.join("HEAD"));
    }
    if let Some(common) = path(&["rev-parse", "--git-common-dir"]) {
        if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(common.join(branch));
        }
        watched.push(common.join("packed-refs"));
    }
    for p in watched.iter().filter(|p| p.exists()) {
        println!("cargo::rerun-if-changed={}", p.display());
    }
}

/// The version of `package` in Cargo.lock's text.
fn locked_version(lock: &str, package: &str) -> Option<String> {
    let wanted = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim().strip_prefix("version = \"")?;
            return version.strip_suffix('"').map(str::to_string);
        }
    }
    None
}
